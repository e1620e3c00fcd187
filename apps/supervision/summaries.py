"""Refreshing the summary tables (models.DailyFigures) from the cases, in set-based SQL.

`figures_refresh(since=None)` recomputes every row; `figures_refresh(since=day)` the
rows of `day` and later, in one transaction, from the declarations submitted since
that day, the clocks due or breached since that day and the enrolments since that day,
window by window (CHUNK_DAYS): each window's rows are computed into a staging table
(FiguresStaging), then only the rows that differ are deleted, updated or inserted in
DailyFigures. Both rewrite OverdueFigures (currently overdue) whole. Celery runs the second
every few minutes over the last SUPERVISION_FIGURES_DAYS days (default 120: a case's
figures settle within a few months of its submission) and the first every night, which
catches the rarer late changes (a case decided, or reopened on appeal, long after).

The SQL is portable (PostgreSQL and SQLite): the local day of a timestamp comes from
the backend's own conversion (`datetime_cast_date_sql`).
"""

import datetime as dt
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Channel, Declaration, State
from apps.declarations.services import SUBJECT
from apps.households.models import Difficulty
from apps.regions.models import PREFIX_LENGTH, Level

from .models import (
    SUMMARY_LEVELS,
    DailyFigures,
    FiguresRefresh,
    FiguresStaging,
    OverdueFigures,
    Span,
)

# The refresh computes a window's rows into this scratch table (no index; UNLOGGED on
# PostgreSQL), then writes to DailyFigures only the rows that changed.
FRESH = FiguresStaging._meta.db_table

COUNTERS = [
    "received",
    "closed",
    "accepted_in_time",
    "enrolled_in_time",
    "accept_days_sum",
    "accept_days_count",
    "enrol_days_sum",
    "enrol_days_count",
    "clocks_due",
    "clocks_breached",
    "breached",
    "enrolled",
]
# Declarations received by channel: one counter each (DailyFigures.received_<channel>).
CHANNEL_COUNTERS = {channel: f"received_{channel}" for channel in Channel.values}
# New monitored households by channel and by cause (kind of difficulty declared).
ENROLLED_COUNTERS = {channel: f"enrolled_{channel}" for channel in Channel.values}
CAUSE_COUNTERS = {kind: f"cause_{kind}" for kind in Difficulty.values}
COUNTERS += [*CHANNEL_COUNTERS.values(), *ENROLLED_COUNTERS.values(), *CAUSE_COUNTERS.values()]
DEFAULT_DAYS = 120
# Any constant: two refreshes never run at once (PostgreSQL; SQLite serialises writers).
LOCK_KEY = 7_341_501
# PostgreSQL's work_mem for the refresh's own transaction (SET LOCAL).
WORK_MEM = "256MB"
# The refresh groups the days in windows this long.
CHUNK_DAYS = 122


def default_since(today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=getattr(settings, "SUPERVISION_FIGURES_DAYS", DEFAULT_DAYS))


def _arm(code: str, day: tuple[str, tuple], values: dict, source: str, params: list):
    """One SELECT of the union: the code, the day, then every counter in COUNTERS'
    order (`values`: counter -> (SQL, params); 0 for the others), from `source`."""
    day_sql, day_params = day
    columns, out = [], [*day_params]
    for name in COUNTERS:
        sql, sql_params = values.get(name, ("0", []))
        columns.append(f"{sql} AS {name}")
        out += sql_params
    # Only fixed SQL, quoted names and placeholders are formatted in (S608).
    select = f"SELECT {code} AS code, {day_sql} AS day, {', '.join(columns)} {source}"
    return select, [*out, *params]


def _when(condition: str, *params, then: str = "1") -> tuple[str, list]:
    return f"CASE WHEN {condition} THEN {then} ELSE 0 END", list(params)


def _range(column: str, since, until) -> tuple[str, list]:
    """`AND column >= since AND column < until`, each bound when given."""
    sql, params = "", []
    if since is not None:
        sql, params = f"{sql} AND {column} >= %s", [*params, since]
    if until is not None:
        sql, params = f"{sql} AND {column} < %s", [*params, until]
    return sql, params


def _villages_sql(
    since: dt.date | None, until: dt.date | None = None, into: str = FRESH
) -> tuple[str, list]:
    """INSERT … SELECT into `into` of the village rows of the days from `since` (the
    first when None) to before `until` (the last when None)."""
    q = connection.ops.quote_name
    declarations, clocks = (q(m._meta.db_table) for m in (Declaration, Clock))
    figures = q(into)
    tz = timezone.get_current_timezone_name()

    def local_day(column):
        return connection.ops.datetime_cast_date_sql(column, (), tz)

    def moment(day):
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) if day else None

    start, end = moment(since), moment(until)
    submitted_in, submitted_params = _range("d.submitted_at", start, end)
    due_in, due_params = _range("c.due_on", since, until)
    breached_in, breached_params = _range("c.breached_at", start, end)
    enrolled_in, enrolled_params = _range("e.met_at", start, end)
    closing = [State.ENROLLED, State.REJECTED, State.WITHDRAWN]
    marks = ", ".join(["%s"] * len(closing))
    met_verify = "v.met_at IS NOT NULL AND v.cancelled = %s"
    met_enrol = "d.state = %s AND e.met_at IS NOT NULL AND e.cancelled = %s"
    # By submission day: one row per declaration not merged, with its verify and
    # enrolment clocks (at most one each: one_clock_per_stage).
    submitted = _arm(
        "d.region_code",
        local_day("d.submitted_at"),
        {
            "received": ("1", []),
            "closed": _when(f"d.state IN ({marks})", *closing),
            "accepted_in_time": _when(
                "v.met_at IS NOT NULL AND v.breached_at IS NULL AND v.cancelled = %s", False
            ),
            "enrolled_in_time": _when("d.state = %s AND e.breached_at IS NULL", State.ENROLLED),
            "accept_days_sum": _when(met_verify, False, then="COALESCE(v.working_days_taken, 0)"),
            "accept_days_count": _when(f"{met_verify} AND v.working_days_taken IS NOT NULL", False),
            "enrol_days_sum": _when(
                met_enrol, State.ENROLLED, False, then="COALESCE(e.working_days_taken, 0)"
            ),
            "enrol_days_count": _when(
                f"{met_enrol} AND e.working_days_taken IS NOT NULL", State.ENROLLED, False
            ),
            **{
                column: _when("d.channel = %s", channel)
                for channel, column in CHANNEL_COUNTERS.items()
            },
        },
        f"""FROM {declarations} d
        LEFT JOIN {clocks} v ON v.subject_type = %s AND v.subject_id = d.id AND v.stage = %s
        LEFT JOIN {clocks} e ON e.subject_type = %s AND e.subject_id = d.id AND e.stage = %s
        WHERE d.state <> %s {submitted_in}""",
        [SUBJECT, Stage.VERIFY, SUBJECT, Stage.ENROL, State.MERGED, *submitted_params],
    )
    # By due day: every clock, except one stopped (case withdrawn or merged) before it
    # ran out — the same test as region_figures_live.
    due = _arm(
        "c.region_code",
        ("c.due_on", ()),
        {
            "clocks_due": ("1", []),
            "clocks_breached": _when("c.breached_at IS NOT NULL"),
        },
        f"""FROM {clocks} c WHERE NOT (c.cancelled = %s AND c.breached_at IS NULL)
            {due_in}""",
        [True, *due_params],
    )
    # By breach day: every clock breached (clock_breached_idx), for the weekly chart.
    breached = _arm(
        "c.region_code",
        local_day("c.breached_at"),
        {"breached": ("1", [])},
        f"""FROM {clocks} c WHERE c.breached_at IS NOT NULL
            {breached_in}""",
        breached_params,
    )
    # By enrolment day: enrolled declarations, the day their enrolment clock was met
    # (the county's approval meets every running clock of the case). The kinds of
    # difficulty are a JSON list: matched as the quoted value in its text, which reads
    # the same on PostgreSQL (jsonb) and SQLite (text).
    enrolled = _arm(
        "d.region_code",
        local_day("e.met_at"),
        {
            "enrolled": ("1", []),
            **{
                column: _when("d.channel = %s", channel)
                for channel, column in ENROLLED_COUNTERS.items()
            },
            **{
                column: _when("CAST(d.difficulties AS TEXT) LIKE %s", f'%"{kind}"%')
                for kind, column in CAUSE_COUNTERS.items()
            },
        },
        f"""FROM {declarations} d
        JOIN {clocks} e ON e.subject_type = %s AND e.subject_id = d.id AND e.stage = %s
        WHERE d.state = %s AND e.met_at IS NOT NULL {enrolled_in}""",
        [SUBJECT, Stage.ENROL, State.ENROLLED, *enrolled_params],
    )
    arms = [submitted, due, breached, enrolled]
    columns = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM(u.{c})" for c in COUNTERS)
    union = " UNION ALL ".join(sql for sql, _params in arms)
    sql = f"""
        INSERT INTO {figures} ({q("level")}, {q("code")}, {q("day")}, {columns})
        SELECT %s, u.code, u.day, {sums}
        FROM ({union}) u
        GROUP BY u.code, u.day
    """  # noqa: S608
    return sql, [int(Level.VILLAGE), *(p for _sql, params in arms for p in params)]


def _rollup_sql(
    level: Level, since: dt.date | None, until: dt.date | None = None, table: str = FRESH
):
    """INSERT … SELECT of `level`'s rows of the days from `since` to before `until`,
    summed from the level below, in `table`."""
    q = connection.ops.quote_name
    figures = q(table)
    width = PREFIX_LENGTH[level]
    days, day_params = _range(q("day"), since, until)
    columns = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    sql = f"""
        INSERT INTO {figures} ({q("level")}, {q("code")}, {q("day")}, {columns})
        SELECT %s, SUBSTR({q("code")}, 1, {width}), {q("day")}, {sums}
        FROM {figures}
        WHERE {q("level")} = %s {days}
        GROUP BY SUBSTR({q("code")}, 1, {width}), {q("day")}
    """  # noqa: S608
    return sql, [int(level), int(level) + 1, *day_params]


def _months_sql(since: dt.date | None) -> tuple[str, list]:
    """INSERT … SELECT into the staging table of the month rows (Span.MONTH, every
    level) of the months from the one holding `since` (the first when None), each the
    sum of the month's day rows in DailyFigures."""
    q = connection.ops.quote_name
    figures = q(DailyFigures._meta.db_table)
    month, month_params = connection.ops.date_trunc_sql("month", q("day"), ())
    days, day_params = _range(q("day"), since and since.replace(day=1), None)
    columns = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    sql = f"""
        INSERT INTO {q(FRESH)} ({q("level")}, {q("span")}, {q("code")}, {q("day")}, {columns})
        SELECT {q("level")}, %s, {q("code")}, {month}, {sums}
        FROM {figures}
        WHERE {q("span")} = %s {days}
        GROUP BY {q("level")}, {q("code")}, {month}
    """  # noqa: S608
    return sql, [int(Span.MONTH), *month_params, int(Span.DAY), *day_params, *month_params]


def _overdue_refresh() -> int:
    """Rewrite OverdueFigures: running clocks past due per village (an index-only count
    of clock_overdue_idx), then summed per township, county and city."""
    OverdueFigures.objects.all().delete()
    villages = (
        Clock.objects.filter(met_at__isnull=True, breached_at__isnull=False)
        .values("region_code")
        .annotate(n=Count("*"))
        .values_list("region_code", "n")
    )
    rows = [OverdueFigures(level=Level.VILLAGE, code=code, overdue=n) for code, n in villages]
    for level in SUMMARY_LEVELS[1:]:
        width = PREFIX_LENGTH[level]
        sums: dict[str, int] = {}
        for row in rows:
            if row.level == Level.VILLAGE:
                sums[row.code[:width]] = sums.get(row.code[:width], 0) + row.overdue
        rows += [OverdueFigures(level=level, code=code, overdue=n) for code, n in sums.items()]
    OverdueFigures.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _windows(since: dt.date | None) -> list[tuple[dt.date | None, dt.date | None]]:
    """[start, end) windows of CHUNK_DAYS days from `since` (from the first day with a
    declaration or a clock when None), the last one without an end."""
    if since is None:
        firsts = [
            Declaration.objects.aggregate(first=Min("submitted_at"))["first"],
            Clock.objects.aggregate(first=Min("due_on"))["first"],
        ]
        firsts = [timezone.localdate(f) if isinstance(f, dt.datetime) else f for f in firsts]
        firsts = [f for f in firsts if f is not None]
        if not firsts:
            return [(None, None)]
        # Breaches and enrolments come after both.
        since = min(firsts)
    windows, start = [], since
    last = timezone.localdate() - dt.timedelta(days=CHUNK_DAYS)
    while start < last:
        windows.append((start, start + dt.timedelta(days=CHUNK_DAYS)))
        start += dt.timedelta(days=CHUNK_DAYS)
    return [*windows, (start, None)]


def _empty_staging_sql() -> str:
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return f"TRUNCATE {q(FRESH)} RESTART IDENTITY"
    return f"DELETE FROM {q(FRESH)}"  # noqa: S608 (a fixed name)


def _apply_sql(
    since: dt.date | None, until: dt.date | None, span: Span = Span.DAY
) -> list[tuple[str, list]]:
    """Make DailyFigures' rows of `span` of the days from `since` to before `until`
    those of the staging table, writing only what differs: delete the rows no longer
    there, update the rows whose counters changed, insert the new ones. Between two
    refreshes a few cases move; rewriting every row of the window (hundreds of
    thousands, two indexes each) was most of a refresh's time."""
    q = connection.ops.quote_name
    figures, fresh = q(DailyFigures._meta.db_table), q(FRESH)
    days, params = _range(f"{figures}.{q('day')}", since, until)
    days, params = f"AND {figures}.{q('span')} = %s {days}", [int(span), *params]
    same_key = " AND ".join(
        f"n.{q(c)} = {figures}.{q(c)}" for c in ("level", "span", "code", "day")
    )
    changed = " OR ".join(f"n.{q(c)} <> {figures}.{q(c)}" for c in COUNTERS)
    assign = ", ".join(f"{q(c)} = n.{q(c)}" for c in COUNTERS)
    columns = ", ".join(q(c) for c in ["level", "span", "code", "day", *COUNTERS])
    fresh_days, fresh_params = _range(f"n.{q('day')}", since, until)
    # Only fixed SQL, quoted names and placeholders are formatted in (S608).
    return [
        (
            f"""DELETE FROM {figures} WHERE 1 = 1 {days}
            AND NOT EXISTS (SELECT 1 FROM {fresh} n WHERE {same_key})""",  # noqa: S608
            params,
        ),
        (
            f"""UPDATE {figures} SET {assign} FROM {fresh} n
            WHERE {same_key} {days} AND ({changed})""",  # noqa: S608
            params,
        ),
        (
            f"""INSERT INTO {figures} ({columns}) SELECT {columns} FROM {fresh} n
            WHERE 1 = 1 {fresh_days} AND NOT EXISTS (
                SELECT 1 FROM {figures} WHERE {same_key} {days})""",  # noqa: S608
            [*fresh_params, *params],
        ),
    ]


def _apply(cur, since: dt.date | None, until: dt.date | None, span: Span) -> int:
    """Write what differs between the staging table and DailyFigures' rows of `span`
    from `since` to before `until`; the number of rows deleted, changed or added."""
    if connection.vendor == "postgresql":
        # Just filled: the comparison's joins are planned on these statistics.
        cur.execute(f"ANALYZE {connection.ops.quote_name(FRESH)}")
    rows = 0
    for sql, params in _apply_sql(since, until, span):
        cur.execute(sql, params)
        rows += max(cur.rowcount, 0)
    return rows


def figures_refresh(*, since: dt.date | None) -> FiguresRefresh:
    """Recompute the summary rows of `since` and later (every row when None); `rows`
    counts the rows deleted, changed or added."""
    t = time.perf_counter()
    rows = 0
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            # Hundreds of thousands of (village, day) groups: hashed in memory.
            cur.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        windows = _windows(since)
        if since is None and windows[0][0] is not None:
            # Days before the first declaration or clock: nothing to count.
            rows += DailyFigures.objects.filter(span=Span.DAY, day__lt=windows[0][0]).delete()[0]
        # In windows of CHUNK_DAYS days (the last one open-ended: clocks fall due in
        # the future), so that each grouping fits in memory: each computed into the
        # staging table, then compared with the stored rows.
        for start, end in windows:
            cur.execute(_empty_staging_sql())
            for sql, params in (
                _villages_sql(start, end),
                *(_rollup_sql(level, start, end) for level in SUMMARY_LEVELS[1:]),
            ):
                cur.execute(sql, params)
            rows += _apply(cur, start, end, Span.DAY)
        # Then the month rows of the months touched, summed from their day rows.
        cur.execute(_empty_staging_sql())
        cur.execute(*_months_sql(since))
        rows += _apply(cur, since and since.replace(day=1), None, Span.MONTH)
        cur.execute(_empty_staging_sql())
        rows += _overdue_refresh()
        refresh = FiguresRefresh.objects.create(
            finished_at=timezone.now(),
            since=since,
            seconds=round(time.perf_counter() - t, 3),
            rows=rows,
        )
        # Keep a short history.
        old = FiguresRefresh.objects.order_by("-pk").values_list("pk", flat=True)[100:]
        FiguresRefresh.objects.filter(pk__in=list(old)).delete()
    return refresh


def last_refresh() -> FiguresRefresh | None:
    """The refresh recorded last (refreshes run one at a time, under a lock)."""
    return FiguresRefresh.objects.order_by("-pk").first()
