"""Enrolment (纳入监测对象) and re-identification: the county's approval of a
declaration makes the household monitored, starts its help plan's 10-day clock,
schedules its first follow-up visit and starts the clock of its hand-over to the national
system (5 working days). `apps.households.national` writes the same rows, set-based,
for the households it imports."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.identity import id_hash
from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_start

from ..models import (
    Category,
    HelpPlan,
    HouseholdEvent,
    HouseholdMember,
    HouseholdStatus,
    IncomeRecord,
    MeasureStatus,
    MonitoredHousehold,
    PlanMeasure,
    RosterHousehold,
    RosterMember,
)
from .common import NATIONAL_SUBJECT, PLAN_SUBJECT
from .monitoring import follow_up_schedule


@dataclass(frozen=True)
class MemberFacts:
    name: str
    relation: str
    id_number: str
    labour_capacity: str
    health: str = ""
    disability_grade: int | None = None
    schooling: str = "none"
    has_skills: bool = False


@dataclass(frozen=True)
class DeliveredHelp:
    """Help already given (through the green channel) that the plan keeps on record."""

    kind: str
    title: str
    details: str
    amount: Decimal | None
    delivered_on: object  # datetime.date
    responsible: str
    policy_id: int | None = None


@dataclass(frozen=True)
class IncomeFacts:
    """The income the review calculated (二算): the 12 months before the home visit."""

    period_start: object  # datetime.date
    period_end: object
    net_income: Decimal
    household_size: int
    per_capita: Decimal


class AlreadyMonitored(Exception):
    def __init__(self, household: MonitoredHousehold):
        super().__init__(str(household))
        self.household = household


# Sudden hardship: the causes of the green channel and of most sudden declarations.
SUDDEN_RISKS = {"disaster", "accident", "illness"}


def suggest_category(*, formerly_poor: bool, risk_types: list[str]) -> str:
    """脱贫不稳定户 if the roster knows the household as formerly poor; 突发严重困难户 if
    the risk is sudden; otherwise 边缘易致贫户. The county may change it."""
    if formerly_poor:
        return Category.UNSTABLE
    if SUDDEN_RISKS & set(risk_types):
        return Category.SUDDEN
    return Category.MARGINAL


def plan_start(*, household: MonitoredHousehold, green_help: list[DeliveredHelp] = ()) -> HelpPlan:
    """A new draft plan with its 10-day clock (一户一策 within 10 days of enrolment)."""
    plan = HelpPlan.objects.create(household=household, region_code=household.region_code)
    PlanMeasure.objects.bulk_create(
        [
            PlanMeasure(
                plan=plan,
                policy_id=h.policy_id,
                kind=h.kind,
                title=h.title,
                details=h.details,
                amount=h.amount,
                responsible=h.responsible,
                start_on=h.delivered_on,
                delivered_on=h.delivered_on,
                status=MeasureStatus.DELIVERED,
                green_channel=True,
            )
            for h in green_help
        ]
    )
    clocks_start(
        subject_type=PLAN_SUBJECT,
        subject_id=plan.pk,
        region_code=household.region_code,
        stages=[ClockSpec(Stage.HELP_PLAN)],
        at=plan.created_at,
    )
    return plan


def household_enrol(
    *,
    village,
    head_name: str,
    head_id_number: str,
    risk_types: list[str],
    per_capita_income: Decimal | None,
    members: list[MemberFacts],
    actor,
    category: str | None = None,
    green_help: list[DeliveredHelp] = (),
    income: IncomeFacts | None = None,
    roster_household: RosterHousehold | None = None,
    household: MonitoredHousehold | None = None,
) -> MonitoredHousehold:
    """Make a household monitored, with its members; or monitor again a household whose
    risk had been eliminated (re-identification after a new risk). Callers check who may.

    The household is the one the head heads, else the monitored `household` the case
    was matched to, else the one of its roster household (`roster_household`, else the
    head's in the roster): one roster household has one monitored household at most,
    and AlreadyMonitored refuses a second while the first is monitored.

    Starts the help plan (with any green-channel help already given) and its clock, and
    schedules the first follow-up visit.
    """
    head_hash = id_hash(head_id_number)
    if roster_household is None:
        roster = RosterMember.objects.filter(id_hash=head_hash).select_related("household").first()
        roster_household = roster.household if roster else None
    existing = _same_household(head_hash, household, roster_household)
    if existing and existing.status == HouseholdStatus.MONITORING:
        raise AlreadyMonitored(existing)
    try:
        with transaction.atomic():
            household = _enrol(
                existing,
                village=village,
                head_name=head_name,
                head_id_number=head_id_number,
                head_hash=head_hash,
                risk_types=risk_types,
                per_capita_income=per_capita_income,
                members=members,
                actor=actor,
                category=category,
                roster_household=roster_household,
            )
            if income is not None:
                IncomeRecord.objects.create(
                    household=household,
                    period_start=income.period_start,
                    period_end=income.period_end,
                    net_income=income.net_income,
                    household_size=income.household_size,
                    per_capita=income.per_capita,
                    source=IncomeRecord.Source.ENROLMENT,
                    recorded_by=actor,
                )
            plan_start(household=household, green_help=list(green_help))
            follow_up_schedule(household=household)
    except IntegrityError:
        # Another approval enrolled the same head or roster household at the same time.
        existing = _same_household(head_hash, None, roster_household)
        if existing is None:
            raise
        raise AlreadyMonitored(existing) from None
    return household


def _same_household(
    head_hash: str, household: MonitoredHousehold | None, roster: RosterHousehold | None
) -> MonitoredHousehold | None:
    found = MonitoredHousehold.objects.filter(head_id_hash=head_hash).first()
    if found is None and household is not None:
        found = household
    if found is None and roster is not None:
        found = MonitoredHousehold.objects.filter(roster_household=roster).first()
    return found


def _enrol(
    existing,
    *,
    village,
    head_name,
    head_id_number,
    head_hash,
    risk_types,
    per_capita_income,
    members,
    actor,
    category,
    roster_household,
) -> MonitoredHousehold:
    if existing:
        return _reidentify(existing, risk_types, per_capita_income, members, actor)
    household = MonitoredHousehold.objects.create(
        village=village,
        region_code=village.code,
        head_name=head_name,
        head_id_number=head_id_number,
        head_id_hash=head_hash,
        risk_types=list(risk_types),
        per_capita_income=per_capita_income,
        enrolled_by=actor,
        roster_household=roster_household,
        category=category
        or suggest_category(
            formerly_poor=bool(roster_household and roster_household.formerly_poor),
            risk_types=list(risk_types),
        ),
    )
    _save_members(household, members)
    HouseholdEvent.record(household=household, kind="enrolled", actor=actor)
    # 录入国家系统: the county hands the new household to the national system.
    clocks_start(
        subject_type=NATIONAL_SUBJECT,
        subject_id=household.pk,
        region_code=household.region_code,
        stages=[ClockSpec(Stage.NATIONAL_RECORD)],
        at=household.enrolled_at,
    )
    return household


def _save_members(household: MonitoredHousehold, members: list[MemberFacts]) -> None:
    HouseholdMember.objects.bulk_create(
        [
            HouseholdMember(
                household=household,
                name=m.name,
                relation=m.relation,
                id_number=m.id_number,
                id_hash=id_hash(m.id_number) if m.id_number else "",
                labour_capacity=m.labour_capacity,
                health=m.health,
                disability_grade=m.disability_grade,
                schooling=m.schooling,
                has_skills=m.has_skills,
            )
            for m in members
        ]
    )


def _reidentify(household, risk_types, per_capita_income, members, actor) -> MonitoredHousehold:
    """再识别: a new risk after elimination. The household's history stays; its members
    are those of the new home visit."""
    household.return_to_monitoring()
    household.risk_types = sorted(set(household.risk_types) | set(risk_types))
    household.per_capita_income = per_capita_income
    household.enrolled_at = timezone.now()
    household.save()
    if members:
        household.members.all().delete()
        _save_members(household, members)
    HouseholdEvent.record(household=household, kind="reidentified", actor=actor)
    return household
