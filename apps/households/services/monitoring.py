"""Dynamic management (动态管理): follow-up visits on a schedule,
risk elimination through village, township and county, look-back reviews after it."""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from apps.core.errors import Conflict, InvalidInput, WrongState
from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_meet, clocks_start, due_date
from apps.regions.models import VILLAGE_ROLES, require_role_over, require_transition_role

from ..models import (
    Category,
    EliminationProposal,
    EliminationState,
    FollowUp,
    HouseholdDocument,
    HouseholdEvent,
    HouseholdStatus,
    IncomeRecord,
    LabourCapacity,
    LookBack,
    LookBackOutcome,
    MonitoredHousehold,
    MonitoringThreshold,
    PlanMeasure,
    Stability,
)
from .common import FOLLOW_UP_SUBJECT, LOOK_BACK_SUBJECT, clean_reason, clean_text

FINDINGS_MAX = 2000


def follow_up_stage(household: MonitoredHousehold) -> str:
    """Monthly for 脱贫不稳定户, quarterly for the others (the policy table's limits)."""
    return Stage.FOLLOW_UP_CLOSE if household.category == Category.UNSTABLE else Stage.FOLLOW_UP


def follow_up_schedule(*, household: MonitoredHousehold, at: dt.datetime | None = None) -> FollowUp:
    """The household's next visit, due by its schedule, with its clock."""
    at = at or timezone.now()
    stage = follow_up_stage(household)
    due_on, _provisional = due_date(stage, timezone.localdate(at))
    visit = FollowUp.objects.create(
        household=household, region_code=household.region_code, scheduled_at=at, due_on=due_on
    )
    clocks_start(
        subject_type=FOLLOW_UP_SUBJECT,
        subject_id=visit.pk,
        region_code=household.region_code,
        stages=[ClockSpec(stage)],
        at=at,
    )
    return visit


def _cancel_follow_ups(household: MonitoredHousehold) -> None:
    for visit in FollowUp.objects.filter(household=household).pending().filter(cancelled=False):
        visit.cancelled = True
        visit.save(update_fields=["cancelled"])
        clocks_meet(subject_type=FOLLOW_UP_SUBJECT, subject_id=visit.pk, cancel=True)


def is_without_labour(household: MonitoredHousehold) -> bool:
    """整户无劳动能力: every member lacks labour capacity."""
    capacities = [m.labour_capacity for m in household.members.all()]
    return bool(capacities) and all(c == LabourCapacity.NONE for c in capacities)


def _validate_date(day: dt.date, *, not_before: dt.date | None = None) -> None:
    if day > timezone.localdate():
        raise InvalidInput(_("The date cannot be in the future."))
    if not_before and day < not_before:
        raise InvalidInput(_("The date cannot be before %(date)s.") % {"date": not_before})


# --- follow-up visits (走访) ------------------------------------------------------------


def follow_up_record(
    *,
    follow_up: FollowUp,
    actor,
    done_on: dt.date,
    findings: str,
    stability: str,
    new_risk_types: list[str] = (),
) -> FollowUp:
    """Record a visit: its clock is met and the next one scheduled. A new risk is added
    to the household's risk types, for the plan to be revised."""
    household = follow_up.household
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    if follow_up.done_on or follow_up.cancelled or household.status != HouseholdStatus.MONITORING:
        raise WrongState
    if stability not in Stability.values:
        raise InvalidInput(_("Choose how stable the household is."))
    findings = clean_text(findings, label=_("the findings"), max_length=FINDINGS_MAX)
    _validate_date(done_on, not_before=timezone.localdate(follow_up.scheduled_at))
    new_risks = sorted(set(new_risk_types))
    if stability == Stability.NEW_RISK and not new_risks:
        raise InvalidInput(_("Choose the new risk."))
    with transaction.atomic():
        updated = FollowUp.objects.filter(pk=follow_up.pk, done_on__isnull=True).update(
            done_on=done_on,
            findings=findings,
            stability=stability,
            new_risk_types=new_risks if stability == Stability.NEW_RISK else [],
            recorded_by=actor,
        )
        if not updated:
            raise Conflict
        follow_up.refresh_from_db()
        clocks_meet(subject_type=FOLLOW_UP_SUBJECT, subject_id=follow_up.pk)
        if stability == Stability.NEW_RISK:
            household.risk_types = sorted(set(household.risk_types) | set(new_risks))
            household.save(update_fields=["risk_types"])
        HouseholdEvent.record(
            household=household,
            kind="follow_up",
            actor=actor,
            summary=f"{done_on.isoformat()} {Stability(stability).label}",
        )
        follow_up_schedule(household=household)
    return follow_up


# --- risk elimination (风险消除) -----------------------------------------------------------


@dataclass(frozen=True)
class EliminationEvidence:
    period_start: dt.date
    period_end: dt.date
    net_income: Decimal  # over the period, after rigid expenses
    household_size: int
    risk_removed: str
    measures_in_place: str
    evidence: HouseholdDocument | None = None


@dataclass(frozen=True)
class EliminationCheck:
    """What stands in the way of eliminating a household's risk, said plainly."""

    without_labour: bool
    undelivered: list[PlanMeasure] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.without_labour and not self.undelivered


def elimination_check(household: MonitoredHousehold) -> EliminationCheck:
    undelivered = list(
        PlanMeasure.objects.filter(plan__household=household).undelivered().order_by("pk")
    )
    return EliminationCheck(without_labour=is_without_labour(household), undelivered=undelivered)


def _refuse_without_labour(household: MonitoredHousehold) -> None:
    if is_without_labour(household):
        raise InvalidInput(
            _(
                "No member of this household can work: its risk is not marked eliminated, "
                "and it stays under monitoring (整户无劳动能力)."
            )
        )


def elimination_propose(
    *, household: MonitoredHousehold, actor, evidence: EliminationEvidence
) -> EliminationProposal:
    """The village proposes to mark the risk eliminated, with the income over the period
    against the county's line, how the risk went away and the measures in place.

    Refused for a household wholly without labour capacity. Undelivered measures do not
    stop a proposal, but the county must override them with a written reason."""
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    if household.status != HouseholdStatus.MONITORING:
        raise WrongState
    if EliminationProposal.objects.filter(household=household).open().exists():
        raise InvalidInput(_("An elimination of this household's risk is already under review."))
    _refuse_without_labour(household)
    e = evidence
    if not e.period_start < e.period_end <= timezone.localdate():
        raise InvalidInput(_("The income period must end after it starts, and not in the future."))
    if (e.period_end - e.period_start).days > 400:
        raise InvalidInput(_("The income period can be at most a year."))
    if not 1 <= e.household_size <= 30:
        raise InvalidInput(_("The household size must be between 1 and 30."))
    if abs(e.net_income) > Decimal("100000000"):
        raise InvalidInput(_("Amounts must be between 0 and 100,000,000 yuan."))
    if e.evidence is not None and e.evidence.household_id != household.pk:
        raise InvalidInput(_("The evidence document belongs to another household."))
    risk_removed = clean_text(e.risk_removed, label=_("how the risk was removed"), max_length=1000)
    measures = clean_text(e.measures_in_place, label=_("the measures in place"), max_length=1000)
    line = MonitoringThreshold.objects.for_county(household.county_code, e.period_end.year)
    if line is None:
        raise InvalidInput(
            _(
                "The county has not set its monitoring line for %(year)d; ask the county to enter it."
            )
            % {"year": e.period_end.year}
        )
    per_capita = (e.net_income / e.household_size).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if per_capita < line.amount:
        raise InvalidInput(
            _(
                "The per-capita income (%(income)s yuan) is below the county's line "
                "(%(line)s yuan): the risk is not eliminated."
            )
            % {"income": per_capita, "line": line.amount}
        )
    with transaction.atomic():
        IncomeRecord.objects.create(
            household=household,
            period_start=e.period_start,
            period_end=e.period_end,
            net_income=e.net_income,
            household_size=e.household_size,
            per_capita=per_capita,
            source=IncomeRecord.Source.ELIMINATION,
            recorded_by=actor,
        )
        proposal = EliminationProposal.objects.create(
            household=household,
            region_code=household.region_code,
            period_start=e.period_start,
            period_end=e.period_end,
            per_capita_income=per_capita,
            threshold=line.amount,
            risk_removed=risk_removed,
            measures_in_place=measures,
            evidence=e.evidence,
            proposed_by=actor,
        )
        HouseholdEvent.record(
            household=household,
            kind="elimination_proposed",
            actor=actor,
            summary=_("%(per_capita)s yuan a head against the line of %(line)s")
            % {"per_capita": per_capita, "line": line.amount},
        )
    return proposal


def _elimination_transition(proposal: EliminationProposal, method: str, before=None) -> None:
    bound = getattr(proposal, method)
    if not can_proceed(bound):
        raise WrongState
    try:
        with transaction.atomic():
            if before:
                before()
            bound()
            proposal.save()
    except ConcurrentTransition:
        raise Conflict from None


def elimination_township_pass(*, proposal: EliminationProposal, actor) -> EliminationProposal:
    require_transition_role(actor, proposal, "township_pass")
    with transaction.atomic():
        _elimination_transition(proposal, "township_pass")
        HouseholdEvent.record(
            household=proposal.household, kind="elimination_township_checked", actor=actor
        )
    return proposal


def elimination_refuse(*, proposal: EliminationProposal, actor, reason: str) -> EliminationProposal:
    """The township (while it checks) or the county (once checked) refuses."""
    if proposal.state not in (EliminationState.PROPOSED, EliminationState.TOWNSHIP_CHECKED):
        raise WrongState
    require_transition_role(actor, proposal, "refuse")
    reason = clean_reason(reason)

    def before():
        proposal.refusal_reason = reason
        proposal.decided_by = actor
        proposal.decided_at = timezone.now()

    with transaction.atomic():
        _elimination_transition(proposal, "refuse", before)
        HouseholdEvent.record(
            household=proposal.household, kind="elimination_refused", actor=actor, reason=reason
        )
    return proposal


def elimination_approve(
    *, proposal: EliminationProposal, actor, override_reason: str = ""
) -> EliminationProposal:
    """The county marks the risk eliminated. A household wholly without labour capacity
    never is. While the plan has undelivered measures the county must override, and say
    why. Time-bound measures keep running until their end dates; follow-up visits stop
    and look-back reviews take over."""
    require_transition_role(actor, proposal, "approve")
    household = proposal.household
    if proposal.state != EliminationState.TOWNSHIP_CHECKED:
        raise WrongState
    _refuse_without_labour(household)
    check = elimination_check(household)
    override_reason = (override_reason or "").strip()
    if check.undelivered and not override_reason:
        raise InvalidInput(
            _(
                "%(count)d measures of the plan are not yet delivered. Deliver them first, "
                "or override with a written reason."
            )
            % {"count": len(check.undelivered)}
        )
    if override_reason:
        override_reason = clean_reason(override_reason)

    def before():
        proposal.decided_by = actor
        proposal.decided_at = timezone.now()
        proposal.override_reason = override_reason if check.undelivered else ""

    try:
        with transaction.atomic():
            _elimination_transition(proposal, "approve", before)
            household.eliminate()
            household.save()
            _cancel_follow_ups(household)
            HouseholdEvent.record(
                household=household,
                kind="eliminated",
                actor=actor,
                reason=proposal.override_reason,
            )
    except ConcurrentTransition:
        raise Conflict from None
    return proposal


# --- look-back reviews (回头看) ------------------------------------------------------------


def lookback_round(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def lookbacks_sample(
    *, now: dt.datetime | None = None, rate: float | None = None, window_days: int | None = None
) -> int:
    """Draw this month's look-back reviews: in each county, a share (at least one) of
    the households whose risk was eliminated within the window and that are still
    eliminated. Once per county and round: running it again the same month draws none.
    Returns the number drawn."""
    now = now or timezone.now()
    rate = settings.LOOKBACK_SAMPLE_RATE if rate is None else rate
    window_days = settings.LOOKBACK_WINDOW_DAYS if window_days is None else window_days
    today = timezone.localdate(now)
    round_ = lookback_round(today)
    candidates: dict[str, list[tuple[int, str]]] = {}
    rows = MonitoredHousehold.objects.eliminated().filter(
        eliminated_at__gte=now - dt.timedelta(days=window_days)
    )
    for pk, code in rows.values_list("pk", "region_code").iterator():
        candidates.setdefault(code[:6], []).append((pk, code))
    done_counties = {
        code[:6]
        for code in LookBack.objects.filter(round=round_).values_list("region_code", flat=True)
    }
    due_on, _provisional = due_date(Stage.LOOK_BACK, today)
    drawn = 0
    rng = random.SystemRandom()
    for county, households in sorted(candidates.items()):
        if county in done_counties:
            continue
        size = min(len(households), max(1, math.ceil(rate * len(households))))
        chosen = rng.sample(households, size)
        with transaction.atomic():
            reviews = LookBack.objects.bulk_create(
                [
                    LookBack(household_id=pk, region_code=code, round=round_, due_on=due_on)
                    for pk, code in chosen
                ]
            )
            for review in reviews:
                clocks_start(
                    subject_type=LOOK_BACK_SUBJECT,
                    subject_id=review.pk,
                    region_code=review.region_code,
                    stages=[ClockSpec(Stage.LOOK_BACK)],
                    at=now,
                )
        drawn += len(chosen)
    return drawn


def lookback_record(
    *, look_back: LookBack, actor, reviewed_on: dt.date, outcome: str, findings: str
) -> LookBack:
    """The village records the review. Not stable: the household goes back under
    monitoring (回退), with follow-up visits again; its plan goes on."""
    household = look_back.household
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    if look_back.outcome:
        raise WrongState
    if outcome not in LookBackOutcome.values:
        raise InvalidInput(_("Choose the outcome of the review."))
    findings = clean_text(findings, label=_("the findings"), max_length=FINDINGS_MAX)
    _validate_date(reviewed_on, not_before=timezone.localdate(look_back.sampled_at))
    try:
        with transaction.atomic():
            updated = LookBack.objects.filter(pk=look_back.pk, outcome="").update(
                outcome=outcome, findings=findings, reviewed_on=reviewed_on, reviewed_by=actor
            )
            if not updated:
                raise Conflict
            look_back.refresh_from_db()
            clocks_meet(subject_type=LOOK_BACK_SUBJECT, subject_id=look_back.pk)
            # One row: the outcome "not stable" says the household is back under monitoring.
            HouseholdEvent.record(
                household=household,
                kind="look_back",
                actor=actor,
                summary=str(LookBackOutcome(outcome).label),
            )
            if (
                outcome == LookBackOutcome.UNSTABLE
                and household.status == HouseholdStatus.ELIMINATED
            ):
                household.return_to_monitoring()
                household.save()
                follow_up_schedule(household=household)
    except ConcurrentTransition:
        raise Conflict from None
    return look_back
