"""Refreshing the summary tables (models.DailyFigures) from the cases, in set-based SQL.

`figures_refresh(since=None)` rebuilds every row; `figures_refresh(since=day)` deletes
and recomputes the rows of `day` and later, in one transaction, from the declarations
submitted since that day and the clocks due since that day. Celery runs the second
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
from django.utils import timezone

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Channel, Declaration, State
from apps.declarations.services import SUBJECT
from apps.regions.models import PREFIX_LENGTH, Level

from .models import DailyFigures, FiguresRefresh

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
]
# Declarations received by channel: one counter each (DailyFigures.received_<channel>).
CHANNEL_COUNTERS = {channel: f"received_{channel}" for channel in Channel.values}
COUNTERS += CHANNEL_COUNTERS.values()
DEFAULT_DAYS = 120
# Any constant: two refreshes never run at once (PostgreSQL; SQLite serialises writers).
LOCK_KEY = 7_341_501


def default_since(today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=getattr(settings, "SUPERVISION_FIGURES_DAYS", DEFAULT_DAYS))


def _villages_sql(since: dt.date | None) -> tuple[str, list]:
    """INSERT … SELECT of the village rows from `since` on (all when None)."""
    q = connection.ops.quote_name
    figures, declarations, clocks = (
        q(m._meta.db_table) for m in (DailyFigures, Declaration, Clock)
    )
    tz = timezone.get_current_timezone_name()
    day_sql, day_params = connection.ops.datetime_cast_date_sql("d.submitted_at", (), tz)
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min)) if since else None
    closing = [State.ENROLLED, State.REJECTED, State.WITHDRAWN]
    marks = ", ".join(["%s"] * len(closing))
    met_verify = "v.met_at IS NOT NULL AND v.cancelled = %s"
    met_enrol = "d.state = %s AND e.met_at IS NOT NULL AND e.cancelled = %s"
    by_channel = ", ".join(
        f"CASE WHEN d.channel = %s THEN 1 ELSE 0 END AS {column}"
        for column in CHANNEL_COUNTERS.values()
    )
    # By submission day: one row per declaration not merged, with its verify and
    # enrolment clocks (at most one each: one_clock_per_stage).
    # Only quoted table names, fixed SQL and placeholders are formatted in (S608).
    submitted = f"""
        SELECT d.region_code AS code, {day_sql} AS day,
            1 AS received,
            CASE WHEN d.state IN ({marks}) THEN 1 ELSE 0 END AS closed,
            CASE WHEN v.met_at IS NOT NULL AND v.breached_at IS NULL AND v.cancelled = %s
                 THEN 1 ELSE 0 END AS accepted_in_time,
            CASE WHEN d.state = %s AND e.breached_at IS NULL THEN 1 ELSE 0 END
                AS enrolled_in_time,
            CASE WHEN {met_verify} THEN COALESCE(v.working_days_taken, 0) ELSE 0 END
                AS accept_days_sum,
            CASE WHEN {met_verify} AND v.working_days_taken IS NOT NULL THEN 1 ELSE 0 END
                AS accept_days_count,
            CASE WHEN {met_enrol} THEN COALESCE(e.working_days_taken, 0) ELSE 0 END
                AS enrol_days_sum,
            CASE WHEN {met_enrol} AND e.working_days_taken IS NOT NULL THEN 1 ELSE 0 END
                AS enrol_days_count,
            0 AS clocks_due, 0 AS clocks_breached,
            {by_channel}
        FROM {declarations} d
        LEFT JOIN {clocks} v ON v.subject_type = %s AND v.subject_id = d.id AND v.stage = %s
        LEFT JOIN {clocks} e ON e.subject_type = %s AND e.subject_id = d.id AND e.stage = %s
        WHERE d.state <> %s {"AND d.submitted_at >= %s" if since else ""}
    """  # noqa: S608
    submitted_params = [
        *day_params,
        *closing,
        False,
        State.ENROLLED,
        False,
        False,
        State.ENROLLED,
        False,
        State.ENROLLED,
        False,
        *CHANNEL_COUNTERS,
        SUBJECT,
        Stage.VERIFY,
        SUBJECT,
        Stage.ENROL,
        State.MERGED,
        *([start] if since else []),
    ]
    # By due day: every clock, except one stopped (case withdrawn or merged) before it
    # ran out — the same test as region_figures_live.
    no_channels = ", 0" * len(CHANNEL_COUNTERS)
    due = f"""
        SELECT c.region_code, c.due_on, 0, 0, 0, 0, 0, 0, 0, 0,
            1, CASE WHEN c.breached_at IS NOT NULL THEN 1 ELSE 0 END{no_channels}
        FROM {clocks} c
        WHERE NOT (c.cancelled = %s AND c.breached_at IS NULL)
            {"AND c.due_on >= %s" if since else ""}
    """  # noqa: S608
    due_params = [True, *([since] if since else [])]
    columns = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM(u.{c})" for c in COUNTERS)
    sql = f"""
        INSERT INTO {figures} ({q("level")}, {q("code")}, {q("day")}, {columns})
        SELECT %s, u.code, u.day, {sums}
        FROM ({submitted} UNION ALL {due}) u
        GROUP BY u.code, u.day
    """  # noqa: S608
    # The union's column names are those of its first SELECT.
    return sql, [int(Level.VILLAGE), *submitted_params, *due_params]


def _rollup_sql(level: Level, since: dt.date | None) -> tuple[str, list]:
    """INSERT … SELECT of `level`'s rows, summed from the level below."""
    q = connection.ops.quote_name
    figures = q(DailyFigures._meta.db_table)
    width = PREFIX_LENGTH[level]
    columns = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    sql = f"""
        INSERT INTO {figures} ({q("level")}, {q("code")}, {q("day")}, {columns})
        SELECT %s, SUBSTR({q("code")}, 1, {width}), {q("day")}, {sums}
        FROM {figures}
        WHERE {q("level")} = %s {f"AND {q('day')} >= %s" if since else ""}
        GROUP BY SUBSTR({q("code")}, 1, {width}), {q("day")}
    """  # noqa: S608
    return sql, [int(level), int(level) + 1, *([since] if since else [])]


def figures_refresh(*, since: dt.date | None) -> FiguresRefresh:
    """Recompute the summary rows of `since` and later (every row when None)."""
    t = time.perf_counter()
    rows = 0
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        stale = DailyFigures.objects.all()
        if since:
            stale = stale.filter(day__gte=since)
        stale.delete()
        for sql, params in (
            _villages_sql(since),
            _rollup_sql(Level.TOWNSHIP, since),
            _rollup_sql(Level.COUNTY, since),
        ):
            cur.execute(sql, params)
            rows += max(cur.rowcount, 0)
        refresh = FiguresRefresh.objects.create(
            finished_at=timezone.now(),
            since=since,
            seconds=round(time.perf_counter() - t, 3),
            rows=rows,
        )
        # Keep a short history.
        old = FiguresRefresh.objects.order_by("-finished_at").values_list("pk", flat=True)[100:]
        FiguresRefresh.objects.filter(pk__in=list(old)).delete()
    return refresh


def last_refresh() -> FiguresRefresh | None:
    return FiguresRefresh.objects.order_by("-finished_at").first()
