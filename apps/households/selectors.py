"""Reads shared by the household pages: what the user sees, each household's current
plan, its visits and reviews, and the deadline clocks and marks of all of them.

Every read starts from a `visible_to` queryset; lists load their clocks in one query
for the whole page (no query per row).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.deadlines.models import Clock
from apps.deadlines.services import Mark, clock_marks
from apps.regions.models import (
    COUNTY_ROLES,
    TOWNSHIP_ROLES,
    VILLAGE_ROLES,
    roles_over,
    user_transitions,
)

from .models import (
    EliminationProposal,
    EliminationState,
    FollowUp,
    HelpPlan,
    HouseholdDocument,
    HouseholdStatus,
    LookBack,
    MeasureStatus,
    MonitoredHousehold,
    PlanMeasure,
    PlanState,
    PolicyMeasure,
)
from .services import FOLLOW_UP_SUBJECT, LOOK_BACK_SUBJECT, PLAN_SUBJECT, elimination_check


def households_visible_to(user):
    return MonitoredHousehold.objects.visible_to(user).select_related("village")


def household_documents_visible_to(user):
    return HouseholdDocument.objects.visible_to(user)


def long_monitored_since(now: dt.datetime | None = None) -> dt.datetime:
    """Households monitored since before this are flagged (over two years, by policy)."""
    return (now or timezone.now()) - dt.timedelta(days=settings.LONG_MONITORED_DAYS)


def is_long_monitored(household: MonitoredHousehold, *, since: dt.datetime) -> bool:
    return household.status == HouseholdStatus.MONITORING and household.monitoring_since < since


def clocks_of(subjects: list[tuple[str, int]]) -> dict[tuple[str, int], Clock]:
    """The clock of each (subject type, id), in one query. Each of this app's subjects
    has one stage, so one clock."""
    condition = Q()
    by_type: dict[str, list[int]] = {}
    for subject_type, subject_id in subjects:
        by_type.setdefault(subject_type, []).append(subject_id)
    for subject_type, ids in by_type.items():
        condition |= Q(subject_type=subject_type, subject_id__in=ids)
    if not by_type:
        return {}
    return {(c.subject_type, c.subject_id): c for c in Clock.objects.filter(condition)}


def marks_of(clocks: dict) -> dict:
    """The mark of each clock of `clocks_of`, under the same keys."""
    return dict(zip(clocks, clock_marks(list(clocks.values())), strict=True))


def current_plan(household: MonitoredHousehold) -> HelpPlan | None:
    """The newest plan: re-identification starts a new one, older ones are history."""
    return household.plans.order_by("-created_at", "-pk").first()


def policies_for(household: MonitoredHousehold):
    """The county's help-policy list in force, for the household's plan."""
    return PolicyMeasure.objects.for_county(household.county_code).active()


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdRow:
    household: MonitoredHousehold
    plan: HelpPlan | None
    plan_mark: Mark | None
    follow_up: FollowUp | None
    follow_up_mark: Mark | None
    long_monitored: bool


LIST_FILTERS = ("monitoring", "eliminated", "long")


def households_list(user, status: str = ""):
    """The user's households, the longest monitored first, optionally filtered."""
    qs = households_visible_to(user)
    if status == "long":
        qs = qs.monitoring().filter(monitoring_since__lt=long_monitored_since())
    elif status in HouseholdStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("status", "monitoring_since", "pk")


def household_rows(households) -> list[HouseholdRow]:
    """A page of households with their plans, visits and marks: four queries in all."""
    households = list(households)
    ids = [h.pk for h in households]
    plans: dict[int, HelpPlan] = {}
    for plan in HelpPlan.objects.filter(household_id__in=ids).order_by("created_at", "pk"):
        plans[plan.household_id] = plan  # the newest wins
    visits = {
        v.household_id: v
        for v in FollowUp.objects.filter(household_id__in=ids).pending().filter(cancelled=False)
    }
    clocks = clocks_of(
        [(PLAN_SUBJECT, p.pk) for p in plans.values()]
        + [(FOLLOW_UP_SUBJECT, v.pk) for v in visits.values()]
    )
    marks, since = marks_of(clocks), long_monitored_since()
    rows = []
    for h in households:
        plan, visit = plans.get(h.pk), visits.get(h.pk)
        rows.append(
            HouseholdRow(
                household=h,
                plan=plan,
                plan_mark=plan and marks.get((PLAN_SUBJECT, plan.pk)),
                follow_up=visit,
                follow_up_mark=visit and marks.get((FOLLOW_UP_SUBJECT, visit.pk)),
                long_monitored=is_long_monitored(h, since=since),
            )
        )
    return rows


# --- one household ------------------------------------------------------------------------


@dataclass(frozen=True)
class Abilities:
    """What the user may do on this household in its current state: the plan's
    transitions their roles allow (`plan_moves`), and the village's and the county's
    other work. The pages show only these; the services check everything again."""

    village: bool
    county: bool
    monitoring: bool
    plan_state: str = ""
    # Life events: moving the household (the township or the county), and whether it
    # is closed (merged into another), when nothing more is done to it.
    move: bool = False
    closed: bool = False
    plan_moves: frozenset = frozenset()  # names of transitions

    @property
    def draft(self) -> bool:
        """Drafting the plan is the work of those who send it to the township."""
        return self.monitoring and "submit" in self.plan_moves

    @property
    def deliver(self) -> bool:
        return self.village and self.plan_state == PlanState.APPROVED

    @property
    def revise(self) -> bool:
        return self.monitoring and "revise" in self.plan_moves

    @property
    def follow_up(self) -> bool:
        return self.village and self.monitoring

    @property
    def reidentify(self) -> bool:
        return self.village and not self.monitoring and not self.closed


def abilities(user, household: MonitoredHousehold, plan: HelpPlan | None) -> Abilities:
    roles = roles_over(user, household.region_code)
    return Abilities(
        village=bool(roles & VILLAGE_ROLES),
        county=bool(roles & COUNTY_ROLES),
        monitoring=household.status == HouseholdStatus.MONITORING,
        move=bool(roles & (TOWNSHIP_ROLES | COUNTY_ROLES)),
        closed=household.status == HouseholdStatus.MERGED,
        plan_state=plan.state if plan else "",
        plan_moves=frozenset(user_transitions(plan, user) if plan else ()),
    )


@dataclass
class HouseholdOverview:
    household: MonitoredHousehold
    plan: HelpPlan | None
    measures: list
    plan_mark: Mark | None
    plan_clock: Clock | None
    follow_up: FollowUp | None
    follow_up_mark: Mark | None
    follow_up_clock: Clock | None
    past_follow_ups: list
    proposals: list
    open_proposal: EliminationProposal | None
    look_backs: list  # (look-back, mark), pending
    long_monitored: bool
    undelivered: int = 0
    events: list = field(default_factory=list)


def household_overview(household: MonitoredHousehold) -> HouseholdOverview:
    plan = current_plan(household)
    measures = (
        list(plan.measures.select_related("policy", "evidence").order_by("pk")) if plan else []
    )
    visits = list(household.follow_ups.filter(cancelled=False).order_by("-due_on", "-pk")[:6])
    pending = next((v for v in visits if v.done_on is None), None)
    look_backs = list(LookBack.objects.filter(household=household).pending())
    proposals = list(household.eliminations.select_related("evidence").order_by("-proposed_at"))
    clocks = clocks_of(
        ([(PLAN_SUBJECT, plan.pk)] if plan else [])
        + ([(FOLLOW_UP_SUBJECT, pending.pk)] if pending else [])
        + [(LOOK_BACK_SUBJECT, lb.pk) for lb in look_backs]
    )
    marks = marks_of(clocks)
    plan_clock = plan and clocks.get((PLAN_SUBJECT, plan.pk))
    visit_clock = pending and clocks.get((FOLLOW_UP_SUBJECT, pending.pk))
    return HouseholdOverview(
        household=household,
        plan=plan,
        measures=measures,
        plan_clock=plan_clock,
        plan_mark=plan and marks.get((PLAN_SUBJECT, plan.pk)),
        follow_up=pending,
        follow_up_clock=visit_clock,
        follow_up_mark=pending and marks.get((FOLLOW_UP_SUBJECT, pending.pk)),
        past_follow_ups=[v for v in visits if v.done_on],
        proposals=proposals,
        open_proposal=next(
            (
                p
                for p in proposals
                if p.state in (EliminationState.PROPOSED, EliminationState.TOWNSHIP_CHECKED)
            ),
            None,
        ),
        look_backs=[(lb, marks.get((LOOK_BACK_SUBJECT, lb.pk))) for lb in look_backs],
        long_monitored=is_long_monitored(household, since=long_monitored_since()),
        undelivered=sum(1 for m in measures if m.status == MeasureStatus.PLANNED),
        events=list(household.events.select_related("actor").order_by("-at", "-pk")[:100]),
    )


@dataclass(frozen=True)
class EliminationOutlook:
    """The service's elimination check, with whether there is anything to say for it."""

    without_labour: bool
    undelivered: list
    delivered: bool  # the plans have measures, and every one is delivered


def elimination_outlook(household: MonitoredHousehold) -> EliminationOutlook:
    check = elimination_check(household)
    has_measures = PlanMeasure.objects.filter(plan__household=household).exists()
    return EliminationOutlook(
        without_labour=check.without_labour,
        undelivered=check.undelivered,
        delivered=has_measures and not check.undelivered,
    )


# What each kind of log row says (the services write the kind; see services/*.py).
EVENT_LABELS = {
    "enrolled": _("enrolled for monitoring"),
    "reidentified": _("re-identified after a new risk"),
    "plan_submitted": _("help plan sent to the township"),
    "plan_township_checked": _("help plan checked by the township"),
    "plan_sent_back": _("help plan sent back"),
    "plan_approved": _("help plan approved by the county"),
    "plan_revised": _("help plan reopened for revision"),
    "measure_added": _("help measure added to the plan"),
    "measure_removed": _("help measure removed from the plan"),
    "measure_delivered": _("help measure delivered"),
    "follow_up": _("follow-up visit"),
    "elimination_proposed": _("risk elimination proposed"),
    "elimination_township_checked": _("risk elimination checked by the township"),
    "elimination_refused": _("risk elimination refused"),
    "eliminated": _("risk eliminated"),
    "look_back": _("look-back review"),
    "returned_to_monitoring": _("back under monitoring"),
    "industry_willing": _("willingness to develop industry changed"),
    "category": _("monitoring category changed by the county"),
    # Life events (services/life_events.py).
    "member_joined": _("a member joined"),
    "member_died": _("a member died"),
    "member_left": _("a member left the household"),
    "split": _("members split off into a household of their own"),
    "split_from": _("split off from another household"),
    "merged": _("absorbed another household"),
    "merged_into": _("merged into another household"),
    "moved": _("moved to another village"),
    "imported": _("imported from the national system"),
    "national_recorded": _("exported for the national system"),
}


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))
