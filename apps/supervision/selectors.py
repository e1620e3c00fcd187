"""Supervision figures (督办): per region and period, the rates the province publishes.

Definitions (docs/rates.md): for a region R (its code prefix) and a period P of days,
- received: declarations of R submitted in P, not counting those merged into a twin;
- closed: of those, the ones enrolled, not enrolled (rejected, the applicant told) or
  withdrawn; completion rate (办结率) = closed / received;
- accepted in time: received whose acceptance-and-visit clock was met and never breached;
- enrolled in time: received that are enrolled and whose enrolment clock never breached;
- overdue rate (逾期率) = clocks of R due in P (up to today) that were breached, still
  open or met late, over all clocks of R due in P (up to today);
- currently overdue: clocks of R running past their due time now;
- average working days to accept / to enrol: over received whose clock was met;
- new monitored households: declarations of R enrolled (the county approved: their
  enrolment clock met) on a day of P, by channel, by kind of difficulty declared and by
  month; one-click share = those declared through the public form (QR self-declaration,
  and on someone's behalf: ONE_CLICK_CHANNELS) / all new monitored households.
Every figure is a grouped SQL aggregate, never a loop over cases. `region_figures` sums
the summary rows (models.DailyFigures and OverdueFigures, refreshed by Celery:
summaries.py), "currently overdue" included, as of that refresh; `region_figures_live`
aggregates the cases themselves and gives the same figures for the same data.
"""

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Avg, Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Substr, TruncMonth, TruncWeek
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import (
    CLOSED_STATES,
    Channel,
    Declaration,
    State,
    format_tracking_number,
)
from apps.declarations.services import SUBJECT
from apps.regions.models import PREFIX_LENGTH, Level, Region

from .models import SUMMARY_LEVELS, DailyFigures, OverdueFigures, Span
from .summaries import CAUSE_COUNTERS, CHANNEL_COUNTERS, COUNTERS, ENROLLED_COUNTERS

CLOSING_STATES = [State.ENROLLED, State.REJECTED, State.WITHDRAWN]
# One-click declaration (一键申报): the public form reached from the village's QR code,
# filled in by the household itself or by a relative on its behalf (the form's "on
# someone's behalf" box makes the channel `proxy`). Cadre visits, the hotline, paper and
# department warnings are entered by staff.
ONE_CLICK_CHANNELS = (Channel.QR, Channel.PROXY)
# The province's goal for the one-click share of new monitored households: above 60 %.
ONE_CLICK_GOAL = 0.6


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        start = timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))
        return start, end

    @property
    def query(self) -> str:
        """The page's query string for this period."""
        return urlencode({"start": self.start.isoformat(), "end": self.end.isoformat()})

    @classmethod
    def this_year(cls, today: dt.date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(dt.date(today.year, 1, 1), today)

    @classmethod
    def this_month(cls, today: dt.date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(today.replace(day=1), today)

    @classmethod
    def last_12_months(cls, today: dt.date | None = None) -> "Period":
        """The twelve months up to today: from the day after the same day a year ago."""
        today = today or timezone.localdate()
        try:
            year_ago = today.replace(year=today.year - 1)
        except ValueError:  # 29 February
            year_ago = today.replace(year=today.year - 1, day=28)
        return cls(year_ago + dt.timedelta(days=1), today)

    @classmethod
    def presets(cls, today: dt.date | None = None) -> list[tuple[str, "Period"]]:
        """The periods the page offers at one tap (the first is its default), with
        their labels."""
        return [
            (gettext("This year"), cls.this_year(today)),
            (gettext("This month"), cls.this_month(today)),
            (gettext("Last 12 months"), cls.last_12_months(today)),
        ]


@dataclass
class Figures:
    received: int = 0
    closed: int = 0
    accepted_in_time: int = 0
    enrolled_in_time: int = 0
    clocks_due: int = 0
    clocks_breached: int = 0
    currently_overdue: int = 0
    avg_days_to_accept: float | None = None
    avg_days_to_enrol: float | None = None
    # Received by channel (declarations.Channel values, in their order).
    by_channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNEL_COUNTERS, 0))
    # New monitored households, by channel and by cause (households.Difficulty values,
    # in their order; a household declaring two kinds counts under both).
    enrolled: int = 0
    enrolled_by_channel: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(ENROLLED_COUNTERS, 0)
    )
    enrolled_by_cause: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(CAUSE_COUNTERS, 0)
    )
    # The region's total only (region_figures): its new monitored households (enrolled,
    # by channel and by cause) month by month, oldest first, keyed by the month's first
    # day.
    by_month: dict[dt.date, "Figures"] = field(default_factory=dict)

    @property
    def one_click(self) -> int:
        return sum(self.enrolled_by_channel[c] for c in ONE_CLICK_CHANNELS)

    @property
    def one_click_share(self) -> float | None:
        return self.one_click / self.enrolled if self.enrolled else None

    @property
    def one_click_goal_met(self) -> bool | None:
        share = self.one_click_share
        return None if share is None else share > ONE_CLICK_GOAL

    @property
    def completion_rate(self) -> float | None:
        return self.closed / self.received if self.received else None

    @property
    def overdue_rate(self) -> float | None:
        return self.clocks_breached / self.clocks_due if self.clocks_due else None


@dataclass
class Row:
    region: Region
    figures: Figures = field(default_factory=Figures)


def _received(region: Region, period: Period):
    start, end = period.bounds
    return Declaration.objects.filter(
        region_code__startswith=region.prefix, submitted_at__gte=start, submitted_at__lt=end
    ).exclude(state=State.MERGED)


def _clock(stage: str, **conditions):
    return Clock.objects.filter(
        subject_type=SUBJECT, subject_id=OuterRef("pk"), stage=stage, **conditions
    )


def _by_prefix(queryset, width: int, field: str = "region_code"):
    return queryset.annotate(prefix=Substr(field, 1, width)).values("prefix")


def _grouping(region: Region, by_child: bool) -> tuple[Level | None, int]:
    """The child level (None for a village) and the width of the prefix grouped by."""
    child_level = Level(region.level + 1) if region.level < Level.VILLAGE else None
    width = PREFIX_LENGTH[child_level] if (by_child and child_level) else len(region.prefix)
    return child_level, width


def overdue_clocks_of(**conditions):
    """Running clocks past their due time (a partial index holds exactly these)."""
    return Clock.objects.filter(met_at__isnull=True, breached_at__isnull=False, **conditions)


def overdue_clocks(region: Region, **conditions):
    """The region's running clocks past their due time."""
    return overdue_clocks_of(region_code__startswith=region.prefix, **conditions)


def late_case_clocks(stage: str):
    """The clocks behind a named list of late cases (超过5日未受理, 超过15日未纳入, …)."""
    return overdue_clocks_of(subject_type=SUBJECT, stage=stage)


# What a named list reads of its clocks.
CLOCK_COLUMNS = ("subject_type", "subject_id", "stage", "due_on")


def _in_due_order(clocks, region: Region):
    """A named list's clocks in the region, the first due (the longest overdue) first."""
    return clocks.filter(region_code__startswith=region.prefix).order_by("due_on", "subject_id")


def first_clocks(clocks, region: Region, limit: int) -> list[tuple]:
    """The first `limit` of a named list's clocks in the region (CLOCK_COLUMNS)."""
    return list(_in_due_order(clocks, region).values_list(*CLOCK_COLUMNS)[:limit])


ADDITIVE = (
    "received",
    "closed",
    "accepted_in_time",
    "enrolled_in_time",
    "clocks_due",
    "clocks_breached",
    "enrolled",
    "currently_overdue",
)
# The Figures attributes that are dicts of counters, and the counters behind them.
BREAKDOWNS = {
    "by_channel": CHANNEL_COUNTERS,
    "enrolled_by_channel": ENROLLED_COUNTERS,
    "enrolled_by_cause": CAUSE_COUNTERS,
}


def _children(region: Region) -> list[Region]:
    return list(Region.objects.filter(parent=region).order_by("code"))


def _result(
    region: Region,
    by_child: bool,
    groups: dict[str, Figures],
    children: list[Region] | None = None,
    **averages,
) -> tuple[Figures, list[Row]]:
    """The region's total (the groups' counts summed, and `averages`) and its rows."""
    total = Figures(
        **{name: sum(getattr(f, name) for f in groups.values()) for name in ADDITIVE},
        **{
            attr: {key: sum(getattr(f, attr)[key] for f in groups.values()) for key in counters}
            for attr, counters in BREAKDOWNS.items()
        },
        **averages,
    )
    child_level, _width = _grouping(region, by_child)
    if not (by_child and child_level):
        return total, []
    if children is None:
        children = _children(region)
    return total, [Row(child, groups.get(child.prefix, Figures())) for child in children]


def _merge(groups: dict[str, Figures], rows) -> None:
    """Set each row's values (but its prefix) on the figures of its prefix."""
    for row in rows:
        figures = groups.setdefault(row.pop("prefix"), Figures())
        for name, value in row.items():
            setattr(figures, name, value)


def _mean(sums: dict, stage: str) -> float | None:
    count = sums[f"{stage}_days_count"]
    return sums[f"{stage}_days_sum"] / count if count else None


def _summary_level(width: int) -> Level:
    """The coarsest summary level whose codes tell prefixes of `width` apart."""
    return min((lv for lv in SUMMARY_LEVELS if PREFIX_LENGTH[lv] >= width), key=PREFIX_LENGTH.get)


def _figures(sums: dict) -> Figures:
    """Figures from summed counters (a group's, or several groups' added up)."""
    return Figures(
        **{name: sums[name] for name in ADDITIVE[:-1]},
        avg_days_to_accept=_mean(sums, "accept"),
        avg_days_to_enrol=_mean(sums, "enrol"),
        **{
            attr: {key: sums[column] for key, column in counters.items()}
            for attr, counters in BREAKDOWNS.items()
        },
    )


def _add(into: dict, sums: dict) -> None:
    for name, value in sums.items():
        into[name] = into.get(name, 0) + value


# What a month of the total carries (the breakdowns of new monitored households).
MONTH_COUNTERS = ["enrolled", *ENROLLED_COUNTERS.values(), *CAUSE_COUNTERS.values()]


def _month_figures(sums: dict) -> Figures:
    return Figures(
        enrolled=sums["enrolled"],
        enrolled_by_channel={key: sums[col] for key, col in ENROLLED_COUNTERS.items()},
        enrolled_by_cause={key: sums[col] for key, col in CAUSE_COUNTERS.items()},
    )


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _summary_rows(level: Level, codes: list[str], period: Period, today: dt.date):
    """The summary rows of `codes` at `level` that cover `period` once: the month rows
    of the whole months inside it (up to today), the day rows of the days outside
    them."""
    rows = DailyFigures.objects.filter(level=level, code__in=codes)
    first = period.start if period.start.day == 1 else _next_month(period.start)
    after = first  # the day after the last whole month
    while _next_month(after) - dt.timedelta(days=1) <= min(period.end, today):
        after = _next_month(after)
    if after == first:
        return rows.filter(span=Span.DAY, day__gte=period.start, day__lte=period.end)
    return rows.filter(
        Q(span=Span.DAY, day__gte=period.start, day__lt=first)
        | Q(span=Span.MONTH, day__gte=first, day__lt=after)
        | Q(span=Span.DAY, day__gte=after, day__lte=period.end)
    )


def region_figures(
    *, region: Region, period: Period, by_child: bool = True
) -> tuple[Figures, list[Row]]:
    """The figures of `region` and, when it has children, of each child, from the
    summary rows (as fresh as the last `figures_refresh`) of the coarsest level that
    still tells the children apart: cities for a province, counties for a city,
    townships for a county, villages below. The total carries the new monitored
    households month by month (`by_month`).

    Four statements whatever the history: the children, the period's rows summed per
    child (a few dozen groups), the new monitored households' counters summed per
    month (their 16 columns only), and the currently overdue per child. Whole months
    are read from their month rows: 12 months are about 14 rows per child, not 365."""
    child_level, width = _grouping(region, by_child)
    level = _summary_level(width)
    today = timezone.localdate()
    # The rows read are the region's own at its level, or its children's (a province
    # has no rows of its own: its cities'). Exact codes, not a prefix: each code's
    # days are a range of the index, where a prefix would pass every day of them all.
    children = _children(region) if (by_child and child_level) else None
    if PREFIX_LENGTH[level] == len(region.prefix):
        codes = [region.prefix]
    else:
        codes = [
            child.prefix for child in (children if children is not None else _children(region))
        ]
    rows_of_period = _summary_rows(level, codes, period, today)
    # Clocks due after today are not due yet: counted only for a period past today.
    due = Q(day__lte=today) if period.end > today else None

    def summed(name):
        # Named apart from the model's fields, which an annotation may not shadow; a
        # group has rows, so only a filtered sum can be NULL.
        if due is not None and name.startswith("clocks_"):
            return Coalesce(Sum(name, filter=due), 0)
        return Sum(name)

    rows = (
        _by_prefix(rows_of_period, width, "code")
        .annotate(**{f"sum_{name}": summed(name) for name in COUNTERS})
        .values_list("prefix", *(f"sum_{name}" for name in COUNTERS))
        .order_by()
    )
    by_prefix = {prefix: dict(zip(COUNTERS, sums, strict=True)) for prefix, *sums in rows}
    total: dict[str, int] = dict.fromkeys(COUNTERS, 0)
    for sums in by_prefix.values():
        _add(total, sums)
    groups = {prefix: _figures(sums) for prefix, sums in by_prefix.items()}
    months = (
        rows_of_period.annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**{f"sum_{name}": Sum(name) for name in MONTH_COUNTERS})
        .values_list("month", *(f"sum_{name}" for name in MONTH_COUNTERS))
        .order_by()
    )
    by_month = {month: dict(zip(MONTH_COUNTERS, sums, strict=True)) for month, *sums in months}
    overdue = (
        _by_prefix(OverdueFigures.objects.filter(level=level, code__in=codes), width, "code")
        .annotate(n=Sum("overdue"))
        .values_list("prefix", "n")
        .order_by()
    )
    for prefix, n in overdue:
        groups.setdefault(prefix, Figures()).currently_overdue = n
    result, rows = _result(
        region,
        by_child,
        groups,
        children,
        avg_days_to_accept=_mean(total, "accept"),
        avg_days_to_enrol=_mean(total, "enrol"),
    )
    nothing = dict.fromkeys(MONTH_COUNTERS, 0)
    result.by_month = {
        month: _month_figures(by_month.get(month, nothing)) for month in _months(period)
    }
    return result, rows


def _months(period: Period) -> list[dt.date]:
    """The first day of each month the period touches, in order."""
    months, month = [], period.start.replace(day=1)
    while month <= period.end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def region_figures_live(
    *, region: Region, period: Period, by_child: bool = True
) -> tuple[Figures, list[Row]]:
    """The figures of `region` and, when it has children, of each child, aggregated
    from the cases at the time of the call (the summaries' reference)."""
    _child_level, width = _grouping(region, by_child)
    groups: dict[str, Figures] = {}
    received = _received(region, period)
    accepted = Exists(
        _clock(Stage.VERIFY, met_at__isnull=False, breached_at__isnull=True, cancelled=False)
    )
    enrolled = Q(state=State.ENROLLED) & ~Q(Exists(_clock(Stage.ENROL, breached_at__isnull=False)))
    _merge(
        groups,
        _by_prefix(received, width).annotate(
            received=Count("pk"),
            closed=Count("pk", filter=Q(state__in=CLOSING_STATES)),
            accepted_in_time=Count("pk", filter=Q(accepted)),
            enrolled_in_time=Count("pk", filter=enrolled),
        ),
    )
    for row in _by_prefix(received, width).annotate(
        **{column: Count("pk", filter=Q(channel=c)) for c, column in CHANNEL_COUNTERS.items()}
    ):
        figures = groups.setdefault(row["prefix"], Figures())
        figures.by_channel = {c: row[column] for c, column in CHANNEL_COUNTERS.items()}
    clocks = Clock.objects.filter(region_code__startswith=region.prefix)
    due = clocks.filter(
        due_on__gte=period.start, due_on__lte=min(period.end, timezone.localdate())
    ).exclude(cancelled=True, breached_at__isnull=True)
    _merge(
        groups,
        _by_prefix(due, width).annotate(
            clocks_due=Count("pk"),
            clocks_breached=Count("pk", filter=Q(breached_at__isnull=False)),
        ),
    )
    _merge(
        groups, _by_prefix(overdue_clocks(region), width).annotate(currently_overdue=Count("pk"))
    )
    start, end = period.bounds
    enrolled = Declaration.objects.filter(
        region_code__startswith=region.prefix,
        state=State.ENROLLED,
        pk__in=Clock.objects.filter(
            subject_type=SUBJECT, stage=Stage.ENROL, met_at__gte=start, met_at__lt=end
        ).values("subject_id"),
    )
    for row in _by_prefix(enrolled, width).annotate(
        n=Count("pk"),
        **{column: Count("pk", filter=Q(channel=c)) for c, column in ENROLLED_COUNTERS.items()},
        **{
            column: Count("pk", filter=Q(difficulties__contains=[kind]))
            for kind, column in CAUSE_COUNTERS.items()
        },
    ):
        figures = groups.setdefault(row["prefix"], Figures())
        figures.enrolled = row["n"]
        figures.enrolled_by_channel = {c: row[col] for c, col in ENROLLED_COUNTERS.items()}
        figures.enrolled_by_cause = {k: row[col] for k, col in CAUSE_COUNTERS.items()}

    averages = {}
    for stage, ids, attr in (
        (Stage.VERIFY, received, "avg_days_to_accept"),
        (Stage.ENROL, received.filter(state=State.ENROLLED), "avg_days_to_enrol"),
    ):
        met = Clock.objects.filter(
            subject_type=SUBJECT,
            stage=stage,
            met_at__isnull=False,
            cancelled=False,
            subject_id__in=Subquery(ids.values("pk")),
        )
        _merge(groups, _by_prefix(met, width).annotate(**{attr: Avg("working_days_taken")}))
        averages[attr] = met.aggregate(avg=Avg("working_days_taken"))["avg"]
    return _result(region, by_child, groups, **averages)


# What a line of a named list shows of its case (the encrypted fields stay unread).
LIST_FIELDS = ("tracking_number", "name", "state", "submitted_at", "village__name")


@dataclass(frozen=True)
class CaseRow:
    """A line of a named list of late cases (templates/supervision/_late_table.html, the
    late lists' export), its labels and link made once, not per cell."""

    name: str
    village: str
    stage: str
    submitted: dt.date
    due: dt.date | None
    tracking_number: str
    url: str


def late_clocks_of_lists(
    region: Region, limit: int, lists: dict[str, object]
) -> dict[str, list[tuple]]:
    """Several named lists' clocks in one statement: for each list (name -> a Clock
    queryset), its first `limit` clocks (CLOCK_COLUMNS) by
    due day, each a LIMIT subquery of its own index, the lists joined by UNION ALL (the
    LIMIT inside `pk IN (…)`, which every database takes in a compound statement)."""
    from django.db.models import CharField, Value

    parts = [
        queryset.model.objects.filter(pk__in=_in_due_order(queryset, region).values("pk")[:limit])
        .annotate(list_name=Value(name, output_field=CharField()))
        .order_by()
        .values_list("list_name", *CLOCK_COLUMNS)
        for name, queryset in lists.items()
    ]
    out: dict[str, list[tuple]] = {name: [] for name in lists}
    if not parts:
        return out
    for name, *row in parts[0].union(*parts[1:], all=True):
        out[name].append(tuple(row))
    for rows in out.values():  # the union keeps no order of its own
        rows.sort(key=lambda row: (row[3], row[1]))
    return out


def late_cases(*, region: Region, stage: str, limit: int = 2000) -> list[CaseRow]:
    """Named lists: open cases whose clock for `stage` has run out (超过5日未受理,
    超过15日未纳入), longest overdue first.

    Starts from the clocks (a partial index holds exactly the running, breached ones):
    a running clock belongs to an open case, since closing a case stops its clocks.
    """
    return late_cases_of({stage: first_clocks(late_case_clocks(stage), region, limit)})[stage]


def late_cases_of(lists: dict[str, list[tuple]]) -> dict[str, list[CaseRow]]:
    """The lines of named lists of cases from their clocks (CLOCK_COLUMNS, in the
    lists' order): the cases of every list in one statement, each stage's label
    translated once."""
    ids = {pk for clocks in lists.values() for _type, pk, _stage, _due in clocks}
    cases = {
        pk: row
        for pk, *row in Declaration.objects.filter(pk__in=ids)
        .exclude(state__in=CLOSED_STATES)
        .values_list("pk", *LIST_FIELDS)
    }
    stages = {value: str(label) for value, label in State.choices}

    def line(pk, due_on) -> CaseRow:
        tracking_number, name, state, submitted_at, village = cases[pk]
        return CaseRow(
            name,
            village,
            stages.get(state, state),
            timezone.localdate(submitted_at),
            due_on,
            format_tracking_number(tracking_number),
            reverse("staff:detail", args=[tracking_number]),
        )

    return {
        key: [line(pk, due_on) for _type, pk, _stage, due_on in clocks if pk in cases]
        for key, clocks in lists.items()
    }


def weekly_trend(*, region: Region, weeks: int = 12) -> list[dict]:
    """Declarations received and clocks breached per week, for the chart: one statement
    over the summary rows (as fresh as the figures beside the chart)."""
    today = timezone.localdate()
    start = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    counts = {
        row["week"]: row
        for row in DailyFigures.objects.filter(
            level=_summary_level(len(region.prefix)),
            span=Span.DAY,
            code__startswith=region.prefix,
            day__gte=start,
        )
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(n_received=Sum("received"), n_breached=Sum("breached"))
        .order_by()
    }
    out = []
    for i in range(weeks):
        week = start + dt.timedelta(weeks=i)
        row = counts.get(week, {})
        out.append(
            {
                "week": week,
                "received": row.get("n_received", 0),
                "breached": row.get("n_breached", 0),
            }
        )
    return out
