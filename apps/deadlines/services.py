import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, F, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .calendar import WorkingCalendar, add_period, working_days_between
from .defaults import DEFAULT_POLICIES
from .models import Clock, DeadlinePolicy


def policies_for(stages: list[str]) -> dict[str, DeadlinePolicy]:
    """Each stage's policy row, or the built-in default while it has none."""
    policies = {p.stage: p for p in DeadlinePolicy.objects.filter(stage__in=stages)}
    for stage in set(stages) - set(policies):
        limit, unit, starts_on, source = DEFAULT_POLICIES[stage]
        policies[stage] = DeadlinePolicy(
            stage=stage, limit=limit, unit=unit, starts_on=starts_on, source=source
        )
    return policies


def end_of_day(day: dt.date, tz: dt.tzinfo | None = None) -> dt.datetime:
    """The first instant after `day`, local time (in `tz`, by default the current time
    zone): a deadline "by the 5th" runs out then."""
    return timezone.make_aware(
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min),
        tz or timezone.get_current_timezone(),
    )


def due_date(stage: str, start: dt.date) -> tuple[dt.date, bool]:
    """When a clock of `stage` starting on `start` falls due, and whether that date is
    provisional (a year without a confirmed calendar)."""
    policy = policies_for([stage])[stage]
    return add_period(start, policy.limit, policy.unit)


@dataclass(frozen=True)
class ClockSpec:
    stage: str
    urgent: bool = False


def clocks_start(
    *,
    subject_type: str,
    subject_id: int,
    region_code: str,
    stages: list[ClockSpec],
    at: dt.datetime | None = None,
) -> list[Clock]:
    """Start clocks; their due dates are fixed now, by today's policy and calendar.
    A stage that already has a clock for this subject keeps it."""
    at = at or timezone.now()
    tz = timezone.get_current_timezone()
    start = timezone.localdate(at, tz)
    policies = policies_for([spec.stage for spec in stages])
    calendar = WorkingCalendar.spanning(start, extra_years=1)
    rows = []
    for spec in stages:
        policy = policies[spec.stage]
        due_on, provisional = add_period(start, policy.limit, policy.unit, calendar)
        rows.append(
            Clock(
                subject_type=subject_type,
                subject_id=subject_id,
                stage=spec.stage,
                region_code=region_code,
                started_at=at,
                due_on=due_on,
                due_at=end_of_day(due_on, tz),
                provisional=provisional,
                urgent=spec.urgent,
            )
        )
    Clock.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


def clocks_meet(
    *,
    subject_type: str,
    subject_id: int,
    stages: list[str] | None = None,
    at=None,
    cancel: bool = False,
) -> int:
    """Stop running clocks; one met after its due time counts as breached (met late).
    With `cancel`, the stage was not done but is no longer needed (the case closed).

    A subject has a handful of clocks, so this goes row by row: each keeps the working
    days it took, which the dashboards average.
    """
    at = at or timezone.now()
    qs = Clock.objects.for_subject(subject_type, subject_id).running()
    if stages is not None:
        qs = qs.filter(stage__in=stages)
    met = 0
    for clock in qs:
        taken = max(
            working_days_between(timezone.localdate(clock.started_at), timezone.localdate(at)), 0
        )
        met += Clock.objects.filter(pk=clock.pk, met_at__isnull=True).update(
            met_at=at,
            cancelled=cancel,
            working_days_taken=None if cancel else min(taken, 32767),
            breached_at=Coalesce(
                F("breached_at"), Case(When(due_at__lt=at, then=F("due_at")), default=None)
            ),
        )
    return met


def clocks_resume(*, subject_type: str, subject_id: int, stages: list[str]) -> int:
    """Run stopped clocks again (a case reopened on appeal keeps its original deadline)."""
    return (
        Clock.objects.for_subject(subject_type, subject_id)
        .filter(stage__in=stages, met_at__isnull=False)
        .update(met_at=None, cancelled=False, working_days_taken=None)
    )


def clocks_sweep(*, now: dt.datetime | None = None) -> int:
    """Flag every running clock past its due time: one UPDATE, whatever the number of
    rows. Idempotent, and safe when two sweeps run at once (the second finds nothing)."""
    now = now or timezone.now()
    return Clock.objects.filter(
        Q(met_at__isnull=True) & Q(breached_at__isnull=True) & Q(due_at__lt=now)
    ).update(breached_at=F("due_at"))


# --- marks: 受理核查时限标注 --------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    status: str  # "on_time", "due_soon", "overdue", "met", "met_late", "stopped"
    working_days: int  # left (on time, due soon) or over (overdue, met late)

    @property
    def css(self) -> str:
        return self.status.replace("_", "-")


def clock_mark(
    clock: Clock, *, today: dt.date | None = None, calendar: WorkingCalendar | None = None
) -> Mark:
    today = today or timezone.localdate()
    if clock.cancelled:
        return Mark("stopped", 0)
    if clock.met_at:
        met_on = timezone.localdate(clock.met_at)
        if clock.met_at > clock.due_at:
            late = working_days_between(clock.due_on, met_on, calendar)
            return Mark("met_late", max(late, 1))
        return Mark("met", 0)
    left = working_days_between(today, clock.due_on, calendar)
    if today > clock.due_on:
        return Mark("overdue", max(-left, 1))
    if left <= 1:
        return Mark("due_soon", left)
    return Mark("on_time", left)


def clock_marks(clocks: list[Clock], *, today: dt.date | None = None) -> list[Mark]:
    """The marks of many clocks, the calendar read once for them all."""
    if not clocks:
        return []
    today = today or timezone.localdate()
    calendar = WorkingCalendar.spanning(today, *(c.due_on for c in clocks), extra_years=1)
    return [clock_mark(c, today=today, calendar=calendar) for c in clocks]
