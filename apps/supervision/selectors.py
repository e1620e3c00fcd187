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
- average working days to accept / to enrol: over received whose clock was met.
Every figure is a grouped SQL aggregate, never a loop over cases. `region_figures` sums
the summary rows (models.DailyFigures, refreshed by Celery: summaries.py) except
"currently overdue", which is about now and counted live; `region_figures_live`
aggregates the cases themselves and gives the same figures for the same data.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Substr, TruncWeek
from django.utils import timezone

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import CLOSED_STATES, Declaration, State
from apps.declarations.services import SUBJECT
from apps.regions.models import PREFIX_LENGTH, Level, Region

from .models import SUMMARY_LEVELS, DailyFigures
from .summaries import CHANNEL_COUNTERS, COUNTERS

CLOSING_STATES = [State.ENROLLED, State.REJECTED, State.WITHDRAWN]


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        start = timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))
        return start, end

    @classmethod
    def this_year(cls, today: dt.date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(dt.date(today.year, 1, 1), today)


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


def overdue_clocks(region: Region, **conditions):
    """Running clocks of the region past their due time (a partial index holds exactly
    these)."""
    return Clock.objects.filter(
        region_code__startswith=region.prefix,
        met_at__isnull=True,
        breached_at__isnull=False,
        **conditions,
    )


def late_clocks(region: Region, limit: int, *fields: str, **conditions) -> list[tuple]:
    """`fields` of the region's overdue clocks, longest overdue first."""
    return list(
        overdue_clocks(region, **conditions)
        .order_by("due_on", "subject_id")
        .values_list(*fields)[:limit]
    )


def _currently_overdue(region: Region, width: int) -> dict[str, int]:
    return dict(
        _by_prefix(overdue_clocks(region), width)
        # COUNT(*), not of the key: an index-only scan of clock_overdue_idx.
        .annotate(n=Count("*"))
        .values_list("prefix", "n")
    )


ADDITIVE = (
    "received",
    "closed",
    "accepted_in_time",
    "enrolled_in_time",
    "clocks_due",
    "clocks_breached",
    "currently_overdue",
)


def _result(
    region: Region, by_child: bool, groups: dict[str, Figures], **averages
) -> tuple[Figures, list[Row]]:
    """The region's total (the groups' counts summed, and `averages`) and its rows."""
    total = Figures(
        **{name: sum(getattr(f, name) for f in groups.values()) for name in ADDITIVE},
        by_channel={
            channel: sum(f.by_channel[channel] for f in groups.values())
            for channel in CHANNEL_COUNTERS
        },
        **averages,
    )
    child_level, _width = _grouping(region, by_child)
    if not (by_child and child_level):
        return total, []
    children = Region.objects.filter(parent=region).order_by("code")
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


def region_figures(
    *, region: Region, period: Period, by_child: bool = True
) -> tuple[Figures, list[Row]]:
    """The figures of `region` and, when it has children, of each child, from the
    summary rows (as fresh as the last `figures_refresh`) of the coarsest level that
    still tells the children apart: counties for a province or city, townships for a
    county, villages below."""
    _child_level, width = _grouping(region, by_child)
    level = min((lv for lv in SUMMARY_LEVELS if PREFIX_LENGTH[lv] >= width), key=PREFIX_LENGTH.get)
    due = Q(day__lte=min(period.end, timezone.localdate()))
    rows = list(
        _by_prefix(
            DailyFigures.objects.filter(
                level=level,
                code__startswith=region.prefix,
                day__gte=period.start,
                day__lte=period.end,
            ),
            width,
            "code",
        ).annotate(
            # Named apart from the model's fields, which an annotation may not shadow.
            **{
                f"sum_{name}": Coalesce(
                    Sum(name, filter=due if name.startswith("clocks_") else None), 0
                )
                for name in COUNTERS
            }
        )
    )
    groups: dict[str, Figures] = {}
    for row in rows:
        sums = {name: row[f"sum_{name}"] for name in COUNTERS}
        groups[row["prefix"]] = Figures(
            **{name: sums[name] for name in ADDITIVE[:-1]},
            avg_days_to_accept=_mean(sums, "accept"),
            avg_days_to_enrol=_mean(sums, "enrol"),
            by_channel={channel: sums[column] for channel, column in CHANNEL_COUNTERS.items()},
        )
    for prefix, n in _currently_overdue(region, width).items():
        groups.setdefault(prefix, Figures()).currently_overdue = n
    sums = {name: sum(row[f"sum_{name}"] for row in rows) for name in COUNTERS}
    return _result(
        region,
        by_child,
        groups,
        avg_days_to_accept=_mean(sums, "accept"),
        avg_days_to_enrol=_mean(sums, "enrol"),
    )


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


def late_cases(*, region: Region, stage: str, limit: int = 2000) -> list[Declaration]:
    """Named lists: open cases whose clock for `stage` has run out (超过5日未受理,
    超过15日未纳入), longest overdue first.

    Starts from the clocks (a partial index holds exactly the running, breached ones):
    a running clock belongs to an open case, since closing a case stops its clocks.
    """
    late = late_clocks(region, limit, "subject_id", "due_on", subject_type=SUBJECT, stage=stage)
    declarations = Declaration.objects.select_related("village").in_bulk([pk for pk, _due in late])
    cases = []
    for pk, due_on in late:
        declaration = declarations.get(pk)
        if declaration is not None and declaration.state not in CLOSED_STATES:
            declaration.due_on = due_on
            cases.append(declaration)
    return cases


def weekly_trend(*, region: Region, weeks: int = 12) -> list[dict]:
    """Declarations received (from the summary rows, as fresh as the figures beside the
    chart) and clocks breached per week, for the chart."""
    today = timezone.localdate()
    start = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    start_at = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    level = min(
        (lv for lv in SUMMARY_LEVELS if PREFIX_LENGTH[lv] >= len(region.prefix)),
        key=PREFIX_LENGTH.get,
    )
    received = dict(
        DailyFigures.objects.filter(level=level, code__startswith=region.prefix, day__gte=start)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(n=Sum("received"))
        .values_list("week", "n")
    )
    breached = dict(
        Clock.objects.filter(region_code__startswith=region.prefix, breached_at__gte=start_at)
        .annotate(week=TruncWeek("breached_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
    )

    def by_day(counts):
        return {
            timezone.localdate(k) if isinstance(k, dt.datetime) else k: v for k, v in counts.items()
        }

    received, breached = by_day(received), by_day(breached)
    return [
        {
            "week": start + dt.timedelta(weeks=i),
            "received": received.get(start + dt.timedelta(weeks=i), 0),
            "breached": breached.get(start + dt.timedelta(weeks=i), 0),
        }
        for i in range(weeks)
    ]
