"""Help plans (一户一策): suggestions from the household's risks and labour, the
measures drawn from the county's policy list, and the chain village → township → county.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, can_proceed

from apps.core.errors import Conflict, InvalidInput, WrongState
from apps.core.identity import mask_name
from apps.deadlines.models import Stage
from apps.deadlines.services import clocks_meet
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import VILLAGE_ROLES, require_role_over, require_transition_role
from apps.regions.services import notice_recipients

from ..models import (
    Difficulty,
    HelpPlan,
    HouseholdDocument,
    HouseholdEvent,
    LabourCapacity,
    MeasureStatus,
    MonitoredHousehold,
    PlanMeasure,
    PlanState,
    PolicyKind,
    PolicyMeasure,
    Schooling,
)
from .common import PLAN_SUBJECT, clean_reason, clean_text

MAX_AMOUNT = Decimal("100000000")
MAX_MEASURES = 40


# --- suggestions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    kind: str
    why: str
    policies: tuple[PolicyMeasure, ...] = ()

    @property
    def label(self) -> str:
        return str(PolicyKind(self.kind).label)


# Which kinds of help each risk type calls for, as the help policy lists them.
RISK_KINDS = {
    "illness": [PolicyKind.MEDICAL],
    "disability": [PolicyKind.BACKSTOP],
    "schooling": [PolicyKind.EDUCATION],
    "disaster": [PolicyKind.HOUSING, PolicyKind.TEMPORARY],
    "accident": [PolicyKind.TEMPORARY, PolicyKind.MEDICAL],
    "unstable_work": [PolicyKind.EMPLOYMENT, PolicyKind.WELFARE_JOB],
    "business_failure": [PolicyKind.INDUSTRY, PolicyKind.MICRO_CREDIT],
    "income_shock": [PolicyKind.TEMPORARY],
}
RISK_WHY = gettext_lazy("the household's risk: %(risk)s")


def plan_suggestions(
    household: MonitoredHousehold, *, policies: list[PolicyMeasure] | None = None
) -> tuple[list[Suggestion], bool]:
    """The kinds of help the policy names for this household, each with why and the
    county's measures of that kind; and whether it is a case for combined help
    (多措并举, several risks at once)."""
    members = list(household.members.all())
    able = [m for m in members if m.labour_capacity != LabourCapacity.NONE]
    kinds: dict[str, str] = {}

    def add(kind, why):
        kinds.setdefault(kind, str(why))

    if members and not able:
        add(PolicyKind.BACKSTOP, _("no member of the household can work: social-security backstop"))
    if able and household.industry_willing:
        add(PolicyKind.INDUSTRY, _("members able to work and willing to farm or run a business"))
    if able and not any(m.has_skills for m in able):
        add(PolicyKind.EMPLOYMENT, _("members able to work but without a skill"))
        add(PolicyKind.SKILLS, _("members able to work but without a skill"))
    labels = dict(Difficulty.choices)
    for risk in household.risk_types:
        for kind in RISK_KINDS.get(risk, []):
            add(kind, RISK_WHY % {"risk": labels.get(risk, risk)})
    students = [m for m in members if m.schooling == Schooling.COLLEGE]
    if students:
        add(PolicyKind.RAIN_DEW, _("a member at college or vocational school"))
    if any(m.disability_grade for m in members):
        add(PolicyKind.BACKSTOP, _("a member with a disability"))
    if policies is None:
        policies = list(PolicyMeasure.objects.for_county(household.county_code).active())
    by_kind: dict[str, list[PolicyMeasure]] = {}
    for policy in policies:
        by_kind.setdefault(policy.kind, []).append(policy)
    suggestions = [
        Suggestion(kind, why, tuple(by_kind.get(kind, ()))) for kind, why in kinds.items()
    ]
    combined = len(set(household.risk_types)) >= 2 or len(kinds) >= 4
    return suggestions, combined


# --- measures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureInput:
    policy: PolicyMeasure | None
    title: str
    responsible: str
    kind: str = ""
    details: str = ""
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    amount: Decimal | None = None


def _require_draft(plan: HelpPlan, actor) -> None:
    require_transition_role(actor, plan, "submit")  # who drafts the plan sends it up
    if plan.state != PlanState.DRAFT:
        raise WrongState


@dataclass(frozen=True)
class CleanHelp:
    """A measure of help checked against the county's list: the fields of HelpGiven."""

    policy: PolicyMeasure | None
    kind: str
    title: str
    details: str
    responsible: str
    amount: Decimal | None
    time_bound: bool

    def fields(self) -> dict:
        return {
            "policy": self.policy,
            "kind": self.kind,
            "title": self.title,
            "details": self.details,
            "responsible": self.responsible,
            "amount": self.amount,
        }


def clean_help(
    *,
    county_code: str,
    policy: PolicyMeasure | None,
    kind: str,
    title: str,
    details: str,
    responsible: str,
    amount: Decimal | None,
) -> CleanHelp:
    """A measure from the county's list in force (its kind, and its name unless another
    title is given), or another kind of help; texts and amount checked."""
    if policy is not None:
        if policy.county.code != county_code or not policy.active:
            raise InvalidInput(_("Choose a measure from the county's policy list."))
        kind, time_bound, title = policy.kind, policy.time_bound, title.strip() or policy.name
    else:
        if kind not in PolicyKind.values:
            raise InvalidInput(_("Choose the kind of help."))
        time_bound = False
    if amount is not None and not Decimal(0) <= amount <= MAX_AMOUNT:
        raise InvalidInput(_("Amounts must be between 0 and 100,000,000 yuan."))
    return CleanHelp(
        policy=policy,
        kind=kind,
        title=clean_text(title, label=_("the measure"), max_length=100),
        details=clean_text(details, label=_("the details"), max_length=1000, required=False),
        responsible=clean_text(responsible, label=_("the responsible person"), max_length=30),
        amount=amount,
        time_bound=time_bound,
    )


def plan_add_measure(*, plan: HelpPlan, actor, measure: MeasureInput) -> PlanMeasure:
    """Add a measure to a draft plan, from the county's list (or another kind of help)."""
    _require_draft(plan, actor)
    m = measure
    help = clean_help(
        county_code=plan.household.county_code,
        policy=m.policy,
        kind=m.kind,
        title=m.title,
        details=m.details,
        responsible=m.responsible,
        amount=m.amount,
    )
    # Help of another kind is time-bound when it is given an end date.
    time_bound = help.time_bound or (m.policy is None and bool(m.end_on))
    if time_bound and not (m.start_on and m.end_on):
        raise InvalidInput(_("A time-bound measure needs its start and end dates."))
    if m.start_on and m.end_on and m.end_on < m.start_on:
        raise InvalidInput(_("The end date cannot be before the start date."))
    if (m.start_on and m.start_on.year < 2000) or (m.end_on and m.end_on.year > 2100):
        raise InvalidInput(_("The dates are out of range."))
    if plan.measures.count() >= MAX_MEASURES:
        raise InvalidInput(_("A plan can have at most 40 measures."))
    with transaction.atomic():
        HouseholdEvent.record(
            household=plan.household, kind="measure_added", actor=actor, summary=help.title
        )
        return PlanMeasure.objects.create(
            plan=plan,
            time_bound=time_bound,
            start_on=m.start_on,
            end_on=m.end_on,
            **help.fields(),
        )


def plan_remove_measure(*, measure: PlanMeasure, actor) -> None:
    _require_draft(measure.plan, actor)
    if measure.status != MeasureStatus.PLANNED or measure.green_channel:
        raise InvalidInput(_("Help already given stays on the plan."))
    with transaction.atomic():
        measure.delete()
        HouseholdEvent.record(
            household=measure.plan.household,
            kind="measure_removed",
            actor=actor,
            summary=measure.title,
        )


def measure_record_delivery(
    *,
    measure: PlanMeasure,
    actor,
    delivered_on: dt.date,
    evidence_note: str,
    evidence: HouseholdDocument | None = None,
) -> PlanMeasure:
    """The measure reached the household (落实). A time-bound one is then running until
    its end date; another is delivered."""
    plan = measure.plan
    require_role_over(actor, plan.region_code, VILLAGE_ROLES)
    if plan.state != PlanState.APPROVED:
        raise InvalidInput(_("Measures are delivered once the county has approved the plan."))
    if measure.status != MeasureStatus.PLANNED:
        raise WrongState
    if delivered_on > timezone.localdate():
        raise InvalidInput(_("The date cannot be in the future."))
    note = clean_text(evidence_note, label=_("the evidence of delivery"), max_length=300)
    if evidence is not None and evidence.household_id != plan.household_id:
        raise InvalidInput(_("The evidence document belongs to another household."))
    running = measure.time_bound and measure.end_on and measure.end_on >= timezone.localdate()
    status = MeasureStatus.RUNNING if running else MeasureStatus.DELIVERED
    with transaction.atomic():
        updated = PlanMeasure.objects.filter(pk=measure.pk, status=MeasureStatus.PLANNED).update(
            status=status, delivered_on=delivered_on, evidence_note=note, evidence=evidence
        )
        if not updated:
            raise Conflict
        measure.refresh_from_db()
        HouseholdEvent.record(
            household=plan.household, kind="measure_delivered", actor=actor, summary=measure.title
        )
    return measure


def measures_end_expired(*, today: dt.date | None = None) -> int:
    """The daily step: time-bound measures past their end date have ended. They ran on
    after the household's risk was eliminated, as the policy asks."""
    today = today or timezone.localdate()
    return PlanMeasure.objects.filter(status=MeasureStatus.RUNNING, end_on__lt=today).update(
        status=MeasureStatus.ENDED
    )


# --- the plan's chain: village → township → county -----------------------------------------


def _plan_transition(plan: HelpPlan, method: str) -> None:
    bound = getattr(plan, method)
    if not can_proceed(bound):
        raise WrongState
    try:
        bound()
        plan.save()
    except ConcurrentTransition:
        raise Conflict from None


def plan_submit(*, plan: HelpPlan, actor) -> HelpPlan:
    """The village sends its draft to the township for checking."""
    _require_draft(plan, actor)
    if not plan.measures.exists():
        raise InvalidInput(_("Add at least one measure to the plan."))
    with transaction.atomic():
        _plan_transition(plan, "submit")
        HouseholdEvent.record(household=plan.household, kind="plan_submitted", actor=actor)
    return plan


def plan_township_pass(*, plan: HelpPlan, actor) -> HelpPlan:
    require_transition_role(actor, plan, "township_pass")
    with transaction.atomic():
        _plan_transition(plan, "township_pass")
        HouseholdEvent.record(household=plan.household, kind="plan_township_checked", actor=actor)
    return plan


def plan_send_back(*, plan: HelpPlan, actor, reason: str) -> HelpPlan:
    """The township (checking) or the county (approving) sends the plan back to the
    village, with why; the village hears by SMS."""
    if plan.state not in (PlanState.TOWNSHIP_CHECK, PlanState.COUNTY_APPROVAL):
        raise WrongState
    require_transition_role(actor, plan, "send_back")
    reason = clean_reason(reason)
    with transaction.atomic():
        plan.returned_reason = reason
        _plan_transition(plan, "send_back")
        event = HouseholdEvent.record(
            household=plan.household, kind="plan_sent_back", actor=actor, reason=reason
        )
        _village_sms(plan, event.pk, "village_plan_returned", {"reason": reason[:30]})
    return plan


def plan_approve(*, plan: HelpPlan, actor) -> HelpPlan:
    """The county approves: the plan's 10-day clock is met."""
    require_transition_role(actor, plan, "approve")
    with transaction.atomic():
        plan.approved_by = actor
        _plan_transition(plan, "approve")
        clocks_meet(subject_type=PLAN_SUBJECT, subject_id=plan.pk, stages=[Stage.HELP_PLAN])
        event = HouseholdEvent.record(household=plan.household, kind="plan_approved", actor=actor)
        _village_sms(plan, event.pk, "village_plan_approved", {})
    return plan


def plan_revise(*, plan: HelpPlan, actor, reason: str) -> HelpPlan:
    """The village reopens an approved plan (a new risk, a measure that does not fit)."""
    require_transition_role(actor, plan, "revise")
    reason = clean_reason(reason)
    with transaction.atomic():
        _plan_transition(plan, "revise")
        HouseholdEvent.record(
            household=plan.household, kind="plan_revised", actor=actor, reason=reason
        )
    return plan


def _village_sms(plan: HelpPlan, event_id: int, template: str, params: dict) -> None:
    household = plan.household
    roster = household.roster_household
    messages_enqueue(
        subject=f"household:{household.pk}:e{event_id}",
        region_code=household.region_code,
        messages=sms_to(
            notice_recipients(household.village, group=roster.address_group if roster else ""),
            template,
            village=household.village.name,
            name=mask_name(household.head_name),
            **params,
        ),
    )
