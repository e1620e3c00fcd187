"""The review workflow: village verification, township review, county approval,
withdrawal and merging.

Every function checks the actor's role over the case's region (the roles its transition
declares on the model) and the case's state,
changes it in one transaction with optimistic locking (the state a case was loaded in
is part of the UPDATE: of two people acting at once, one wins and the other gets
Conflict, nothing half-done), writes the log row and queues its SMS in the outbox.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed

from apps.core.identity import id_hash, mask_name, validate_id_number
from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_meet, clocks_resume, clocks_start
from apps.households.models import LabourCapacity, MonitoredHousehold, MonitoringThreshold
from apps.households.roster import HEAD, HEAD_WORDS
from apps.households.services import (
    AlreadyMonitored,
    MemberFacts,
    RosterMemberFacts,
    household_enrol,
    household_match,
    roster_household_add,
)
from apps.households.services.enrolment import IncomeFacts
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import require_transition_role
from apps.regions.services import notice_recipients

from ..models import (
    Declaration,
    EvaluationOutcome,
    HouseholdVisit,
    IncomeAssessment,
    Level,
    PropertyCheck,
    State,
    Step,
    Transition,
    VillageEvaluation,
    VisitDocument,
    VisitMember,
)
from ..models.review import EXPENSE_FIELDS, INCOME_FIELDS
from ..scoring import score_after_visit
from .errors import Conflict, InvalidInput, WrongState
from .green import green_help_for_plan
from .intake import SUBJECT
from .procedure import (
    DateRefused,
    check_evaluation_dates,
    check_period,
    not_in_future,
    require_documents,
)

# What each transition does to the case's clocks: (stages met, stages started,
# stages resumed). None means every running clock: the case is decided. Withdrawing and
# merging stop the running clocks without meeting them (CANCELLING).
CANCELLING = {"withdraw", "merge"}
CLOCK_EFFECTS = {
    "verify": ([Stage.VERIFY], [Stage.FEEDBACK], []),
    "pass_to_township": ([Stage.FEEDBACK], [], []),
    "village_reject": (None, [], []),
    "township_reject": (None, [], []),
    "county_reject": (None, [], []),
    "county_approve": (None, [], []),
    "withdraw": (None, [], []),
    "merge": (None, [], []),
    # Reopened on appeal: the original enrolment deadline stands.
    "reopen": ([], [], [Stage.ENROL]),
}

APPLICANT = "applicant"
REASON_MAX = 500
SMS_REASON_MAX = 30  # providers cap a template variable's length


# --- what each step needs of the case's data -----------------------------------------
# One function per step, raising the refusal the user sees. The services call them
# (after the actor's role) and the case page calls them to offer a step, or to show it
# disabled with its reason (selectors.available_steps): one copy of each rule.


def check_visit(declaration: Declaration) -> None:
    if declaration.state not in (State.ACCEPTED, State.RETURNED):
        raise WrongState


def check_income(declaration: Declaration) -> None:
    if declaration.state not in (State.VERIFIED, State.RETURNED):
        raise WrongState
    if not declaration.visits.exists():
        raise WrongState(_("Record the home visit first."))
    require_documents(declaration, Step.INCOME)


def check_evaluation(declaration: Declaration) -> None:
    if declaration.state not in (State.VERIFIED, State.RETURNED):
        raise WrongState
    if not IncomeAssessment.objects.filter(declaration=declaration).exists():
        raise InvalidInput(_("Calculate the household's income first."))


def check_pass_to_township(declaration: Declaration) -> None:
    """The income calculated, the evaluation agreed, its public notice (公示) over and
    run as the policy wants, and the documents on file."""
    if not IncomeAssessment.objects.filter(declaration=declaration).exists():
        raise InvalidInput(_("Calculate the household's income first."))
    evaluation = declaration.evaluations.order_by("-pk").first()
    if evaluation is None or evaluation.outcome != EvaluationOutcome.AGREED:
        raise InvalidInput(
            _("Only a case the village evaluation agreed to can be passed up; otherwise reject it.")
        )
    if evaluation.notice_end >= timezone.localdate():
        raise InvalidInput(
            _("The public notice runs until %(date)s; the case can be passed up after that.")
            % {"date": formats.date_format(evaluation.notice_end, "DATE_FORMAT")}
        )
    # Recorded under the rules, but the policy may have changed since: checked again.
    if evaluation.notice_start < timezone.localdate(declaration.submitted_at):
        raise InvalidInput(_("The public notice cannot start before the declaration."))
    check_period(
        "notice_start", "notice_end", evaluation.notice_start, evaluation.notice_end, Step.NOTICE
    )
    require_documents(declaration, Step.PASS_UP)


def check_property(declaration: Declaration) -> None:
    if declaration.state != State.TOWNSHIP_REVIEW:
        raise WrongState
    require_documents(declaration, Step.PROPERTY)


def check_township_approve(declaration: Declaration) -> None:
    check = getattr(declaration, "property_check", None)
    if declaration.state == State.TOWNSHIP_REVIEW and (check is None or not check.is_complete):
        raise InvalidInput(
            _("Record the property check (vehicles, housing, business registration) first.")
        )


def check_county_approve(declaration: Declaration) -> None:
    # No household is enrolled without the documents its file needs.
    if declaration.state == State.COUNTY_REVIEW:
        require_documents(declaration, Step.PASS_UP)


# The checks of the steps a case page offers, by the name of the button or page.
STEP_CHECKS = {
    "visit": check_visit,
    "income": check_income,
    "evaluation": check_evaluation,
    "pass_to_township": check_pass_to_township,
    "property": check_property,
    "township_approve": check_township_approve,
    "county_approve": check_county_approve,
}


# --- the mechanism shared by every state change ----------------------------------------


def _clean_reason(reason: str, *, required: bool = True) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(_("Give a reason."))
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason is too long (at most 500 characters)."))
    return reason


def _transition(
    *,
    declaration: Declaration,
    actor,
    method: str,
    reason: str = "",
    actor_label: str = "",
    before=None,
    after=None,
) -> Transition:
    """Check, transition, save, log; `before`/`after` run inside the same transaction
    (records that go with the change, SMS). The caller's instance is updated. The actor
    needs a role the transition declares, unless it is the applicant (`actor_label`),
    whom the status page identified."""
    if actor_label != APPLICANT:
        require_transition_role(actor, declaration, method)
    bound = getattr(declaration, method)
    try:
        with transaction.atomic():
            if before:
                before()
            if not can_proceed(bound):
                raise WrongState
            from_state = declaration.state
            try:
                bound()
            except TransitionNotAllowed:
                raise WrongState from None
            declaration.save()
            _move_clocks(declaration, method)
            log = Transition.record(
                declaration=declaration,
                from_state=from_state,
                kind=method,
                actor=actor,
                actor_label=actor_label,
                reason=reason,
            )
            if after:
                after(log)
    except ConcurrentTransition:
        raise Conflict from None
    return log


def _move_clocks(declaration: Declaration, method: str) -> None:
    met, started, resumed = CLOCK_EFFECTS.get(method, ([], [], []))
    if met is None or met:
        clocks_meet(
            subject_type=SUBJECT, subject_id=declaration.pk, stages=met, cancel=method in CANCELLING
        )
    if started:
        clocks_start(
            subject_type=SUBJECT,
            subject_id=declaration.pk,
            region_code=declaration.region_code,
            stages=[ClockSpec(stage) for stage in started],
        )
    if resumed:
        clocks_resume(subject_type=SUBJECT, subject_id=declaration.pk, stages=resumed)


def _applicant_sms(declaration: Declaration, log: Transition, template: str, params: dict) -> None:
    messages_enqueue(
        subject=f"declaration:{declaration.pk}:t{log.pk}",
        region_code=declaration.region_code,
        messages=sms_to(
            declaration.applicant_phones,
            template,
            tracking=declaration.tracking_number_display,
            **params,
        ),
    )


def _village_staff_sms(
    declaration: Declaration, log: Transition, template: str, params: dict
) -> None:
    messages_enqueue(
        subject=f"declaration:{declaration.pk}:t{log.pk}",
        region_code=declaration.region_code,
        messages=sms_to(
            notice_recipients(declaration.village, group=declaration.address_group),
            template,
            village=declaration.village.name,
            name=mask_name(declaration.name),
            **params,
        ),
    )


def _reject(*, declaration: Declaration, actor, reason: str, level: Level) -> Transition:
    """Not enrolled, at any level (its transition `<level>_reject`): the reason is kept
    on the case and told by SMS, with how to appeal."""
    reason = _clean_reason(reason)

    def before():
        declaration.rejection_reason = reason

    def after(log):
        params = {"level": str(level.label), "reason": reason[:SMS_REASON_MAX]}
        _applicant_sms(declaration, log, "applicant_rejected", params)

    return _transition(
        declaration=declaration,
        actor=actor,
        method=f"{level.value}_reject",
        reason=reason,
        before=before,
        after=after,
    )


# --- village -------------------------------------------------------------------------


def declaration_accept(*, declaration: Declaration, actor) -> Transition:
    """受理: the village takes the case on."""
    return _transition(declaration=declaration, actor=actor, method="accept")


@dataclass(frozen=True)
class MemberInput:
    name: str
    relation: str
    labour_capacity: str
    id_number: str = ""
    health: str = ""
    disability_grade: int | None = None
    schooling: str = "none"


@dataclass(frozen=True)
class VisitInput:
    visit_date: dt.date
    findings: str
    members: list[MemberInput]
    risk_types: list[str] = field(default_factory=list)
    income_wages: Decimal = Decimal(0)
    income_farming: Decimal = Decimal(0)
    income_business: Decimal = Decimal(0)
    income_property: Decimal = Decimal(0)
    income_transfer: Decimal = Decimal(0)
    expense_medical: Decimal = Decimal(0)
    expense_education: Decimal = Decimal(0)
    expense_disaster: Decimal = Decimal(0)
    # "latitude,longitude,accuracy" from the phone, with the worker's consent; "": none.
    location: str = ""


def _validate_visit(declaration: Declaration, visit: VisitInput) -> None:
    not_in_future("visit_date", visit.visit_date)
    if visit.visit_date < timezone.localdate(declaration.submitted_at):
        raise DateRefused("visit_date", _("The visit date cannot be before the declaration."))
    if not visit.members:
        raise InvalidInput(_("List the household's members."))
    if len(visit.members) > 30:
        raise InvalidInput(_("A household of more than 30 people cannot be right."))
    if not visit.findings.strip():
        raise InvalidInput(_("Write down what the visit found."))
    for m in visit.members:
        if m.labour_capacity not in LabourCapacity.values:
            raise InvalidInput(_("Choose each member's labour capacity."))
        if m.id_number:
            try:
                validate_id_number(m.id_number)
            except Exception:
                raise InvalidInput(
                    _("The ID number of %(name)s is not valid.") % {"name": m.name}
                ) from None
    amounts = [getattr(visit, f) for f in INCOME_FIELDS + EXPENSE_FIELDS]
    if any(a < 0 or a > Decimal("100000000") for a in amounts):
        raise InvalidInput(_("Amounts must be between 0 and 100,000,000 yuan."))


def declaration_record_visit(
    *, declaration: Declaration, actor, visit: VisitInput
) -> HouseholdVisit:
    """入户核查: record the home visit; a first visit moves the case to "verified",
    a visit while the case is back from the township amends it."""
    require_transition_role(actor, declaration, "verify")
    check_visit(declaration)
    _validate_visit(declaration, visit)
    created: list[HouseholdVisit] = []

    def save_visit():
        record = HouseholdVisit.objects.create(
            declaration=declaration,
            recorded_by=actor,
            visit_date=visit.visit_date,
            findings=visit.findings.strip(),
            risk_types=list(visit.risk_types),
            location=visit.location,
            **{f: getattr(visit, f) for f in INCOME_FIELDS + EXPENSE_FIELDS},
        )
        VisitMember.objects.bulk_create(
            [
                VisitMember(
                    visit=record,
                    name=m.name,
                    relation=m.relation,
                    labour_capacity=m.labour_capacity,
                    id_number=validate_id_number(m.id_number) if m.id_number else "",
                    id_hash=id_hash(m.id_number) if m.id_number else "",
                    health=m.health,
                    disability_grade=m.disability_grade,
                    schooling=m.schooling,
                )
                for m in visit.members
            ]
        )
        created.append(record)
        # The visit's facts (members, figures, risk types found) make the score now.
        score_after_visit(declaration, record, members=visit.members)
        if declaration.roster_household_id is None:
            _roster_from_visit(declaration, visit)

    if declaration.state == State.ACCEPTED:
        _transition(
            declaration=declaration,
            actor=actor,
            method="verify",
            before=save_visit,
        )
    else:
        with transaction.atomic():
            save_visit()
            # The income was calculated from the visit this one amends: calculate again.
            IncomeAssessment.objects.filter(declaration=declaration).delete()
            declaration._state.fields_cache.pop("income", None)
            Transition.record(
                declaration=declaration,
                actor=actor,
                kind="visit_amended",
                summary=visit.visit_date.isoformat(),
            )
    return created[0]


# The 户编号 of a household added to the roster at its home visit, until the village
# register lists it: "D" and the tracking number of its case.
VISIT_ROSTER_NUMBER = "D{tracking_number}"


def _roster_from_visit(declaration: Declaration, visit: VisitInput) -> None:
    """A household the roster did not know when it declared: the roster has it now
    (imported since), or it is added to the roster with the members the visit listed
    with an ID number, the applicant among them. The case is linked to it, and so is
    its monitored household if that had no roster household."""
    roster = household_match(declaration.id_hash).roster
    if roster is None:
        members = [
            RosterMemberFacts(
                name=m.name,
                relation=m.relation,
                # The applicant listed without an ID number: the case has theirs.
                id_number=validate_id_number(m.id_number)
                if m.id_number
                else (declaration.id_number if m.name == declaration.name else ""),
                labour_capacity=m.labour_capacity,
                health=m.health,
                disability_grade=m.disability_grade,
                schooling=m.schooling,
            )
            for m in visit.members
        ]
        members = [m for m in members if m.id_number]
        if declaration.id_hash not in {id_hash(m.id_number) for m in members}:
            head = not any(m.relation in HEAD_WORDS for m in members)
            members.insert(
                0,
                RosterMemberFacts(
                    name=declaration.name,
                    relation=HEAD if head else "",
                    id_number=declaration.id_number,
                    labour_capacity=next(
                        (m.labour_capacity for m in visit.members if m.name == declaration.name),
                        LabourCapacity.FULL,
                    ),
                ),
            )
        roster = roster_household_add(
            village=declaration.village,
            number=VISIT_ROSTER_NUMBER.format(tracking_number=declaration.tracking_number),
            address_group=declaration.address_group,
            members=members,
        )
    try:
        with transaction.atomic():
            declaration.roster_household = roster
            declaration.save(update_fields=["roster_household"])
    except IntegrityError:
        # The roster household imported since has an open case of its own: the two are
        # the same household, which the village merges (declaration_merge).
        declaration.roster_household = None
        return
    household = declaration.household
    if (
        household is not None
        and household.roster_household_id is None
        and not MonitoredHousehold.objects.filter(roster_household=roster).exists()
    ):
        household.roster_household = roster
        household.save(update_fields=["roster_household"])


def _county_code(declaration: Declaration) -> str:
    return declaration.region_code[:6] + "000000"


def declaration_assess_income(
    *, declaration: Declaration, actor, household_size: int, compared_on: dt.date | None = None
) -> IncomeAssessment:
    """二算: net income (last 12 months, less rigid expenses) per head, against the
    county's line for the year of the visit; `compared_on`, the day the household's
    information was compared (信息比对), by default today."""
    require_transition_role(actor, declaration, "start_notice")
    check_income(declaration)
    visit = declaration.visits.order_by("-visit_date", "-pk").first()
    compared_on = compared_on or timezone.localdate()
    not_in_future("compared_on", compared_on)
    if compared_on < timezone.localdate(declaration.submitted_at):
        raise DateRefused(
            "compared_on", _("The information comparison cannot be before the declaration.")
        )
    if not 1 <= household_size <= 30:
        raise InvalidInput(_("The household size must be between 1 and 30."))
    line = MonitoringThreshold.objects.for_county(_county_code(declaration), visit.visit_date.year)
    if line is None:
        raise InvalidInput(
            _(
                "The county has not set its monitoring line for %(year)d; ask the county to enter it."
            )
            % {"year": visit.visit_date.year}
        )
    net = visit.income_total - visit.rigid_expenses
    per_capita = (net / household_size).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    with transaction.atomic():
        assessment, _created = IncomeAssessment.objects.update_or_create(
            declaration=declaration,
            defaults={
                "household_size": household_size,
                "net_income": net,
                "per_capita": per_capita,
                "threshold": line.amount,
                "threshold_year": line.year,
                "below_threshold": per_capita < line.amount,
                "assessed_by": actor,
                "assessed_at": timezone.now(),
                "compared_on": compared_on,
            },
        )
        Transition.record(
            declaration=declaration,
            actor=actor,
            kind="income_assessed",
            summary=_("%(per_capita)s yuan a head against the line of %(line)s")
            % {"per_capita": per_capita, "line": line.amount},
        )
    return assessment


def declaration_record_evaluation(
    *,
    declaration: Declaration,
    actor,
    evaluation_date: dt.date,
    outcome: str,
    notice_start: dt.date,
    notice_end: dt.date,
    minutes: VisitDocument | None = None,
) -> VillageEvaluation:
    """四评议五公示: the democratic evaluation and the public notice that follows it."""
    require_transition_role(actor, declaration, "start_notice")
    check_evaluation(declaration)
    if outcome not in EvaluationOutcome.values:
        raise InvalidInput
    check_evaluation_dates(
        declaration,
        evaluation_date=evaluation_date,
        notice_start=notice_start,
        notice_end=notice_end,
    )
    if minutes is not None and minutes.declaration_id != declaration.pk:
        raise InvalidInput
    created: list[VillageEvaluation] = []

    def save_evaluation():
        created.append(
            VillageEvaluation.objects.create(
                declaration=declaration,
                evaluation_date=evaluation_date,
                outcome=outcome,
                minutes=minutes,
                notice_start=notice_start,
                notice_end=notice_end,
                recorded_by=actor,
            )
        )

    if declaration.state == State.VERIFIED:
        _transition(
            declaration=declaration,
            actor=actor,
            method="start_notice",
            before=save_evaluation,
        )
    else:
        with transaction.atomic():
            save_evaluation()
            Transition.record(
                declaration=declaration,
                actor=actor,
                kind="evaluation_recorded",
                summary=str(EvaluationOutcome(outcome).label),
            )
    return created[0]


def declaration_pass_to_township(*, declaration: Declaration, actor) -> Transition:
    """The village passes the case up once the notice has run and the evaluation agreed."""
    require_transition_role(actor, declaration, "pass_to_township")
    check_pass_to_township(declaration)
    return _transition(
        declaration=declaration,
        actor=actor,
        method="pass_to_township",
        after=lambda log: _applicant_sms(declaration, log, "applicant_village_passed", {}),
    )


def declaration_village_reject(*, declaration: Declaration, actor, reason: str) -> Transition:
    return _reject(declaration=declaration, actor=actor, reason=reason, level=Level.VILLAGE)


# --- township ------------------------------------------------------------------------


def declaration_record_property_check(
    *,
    declaration: Declaration,
    actor,
    vehicles: str | None,
    housing: str | None,
    business: str | None,
) -> PropertyCheck:
    """财产核查: each item is None while unchecked, or the result found."""
    require_transition_role(actor, declaration, "township_approve")
    check_property(declaration)
    values = {"vehicles": vehicles, "housing": housing, "business": business}
    if any(v is not None and len(v) > 200 for v in values.values()):
        raise InvalidInput(_("Each result may have at most 200 characters."))
    defaults = {"checked_by": actor, "checked_at": timezone.now()}
    for item, result in values.items():
        defaults[f"{item}_checked"] = result is not None
        defaults[f"{item}_result"] = (result or "").strip()
    with transaction.atomic():
        check, _created = PropertyCheck.objects.update_or_create(
            declaration=declaration, defaults=defaults
        )
        Transition.record(
            declaration=declaration,
            actor=actor,
            kind="property_checked",
            summary="；".join(
                f"{PropertyCheck._meta.get_field(f'{item}_result').verbose_name}：{result or '—'}"
                for item, result in values.items()
                if result is not None
            ),
        )
    return check


def declaration_township_approve(*, declaration: Declaration, actor) -> Transition:
    require_transition_role(actor, declaration, "township_approve")
    check_township_approve(declaration)
    return _transition(declaration=declaration, actor=actor, method="township_approve")


def declaration_township_return(*, declaration: Declaration, actor, reason: str) -> Transition:
    """Back to the village to amend; the case's clocks keep running."""
    reason = _clean_reason(reason)
    return _transition(
        declaration=declaration,
        actor=actor,
        method="township_return",
        reason=reason,
        after=lambda log: _village_staff_sms(
            declaration, log, "village_case_returned", {"reason": reason[:SMS_REASON_MAX]}
        ),
    )


def declaration_township_reject(*, declaration: Declaration, actor, reason: str) -> Transition:
    return _reject(declaration=declaration, actor=actor, reason=reason, level=Level.TOWNSHIP)


# --- county --------------------------------------------------------------------------


def declaration_county_approve(*, declaration: Declaration, actor) -> Transition:
    """审批: enrol the household as monitored, with the members the visit found."""
    require_transition_role(actor, declaration, "county_approve")
    check_county_approve(declaration)

    def enrol(log):
        visit = (
            declaration.visits.order_by("-visit_date", "-pk").prefetch_related("members").first()
        )
        income = getattr(declaration, "income", None)
        members = [
            MemberFacts(
                name=m.name,
                relation=m.relation,
                id_number=m.id_number,
                labour_capacity=m.labour_capacity,
                health=m.health,
                disability_grade=m.disability_grade,
                schooling=m.schooling,
            )
            for m in (visit.members.all() if visit else [])
        ]
        try:
            household = household_enrol(
                village=declaration.village,
                head_name=declaration.name,
                head_id_number=declaration.id_number,
                risk_types=(
                    visit.risk_types if visit and visit.risk_types else declaration.difficulties
                ),
                per_capita_income=income.per_capita if income else None,
                members=members,
                actor=actor,
                green_help=green_help_for_plan(declaration),
                income=IncomeFacts(
                    period_start=visit.visit_date - dt.timedelta(days=365),
                    period_end=visit.visit_date,
                    net_income=income.net_income,
                    household_size=income.household_size,
                    per_capita=income.per_capita,
                )
                if income and visit
                else None,
                roster_household=declaration.roster_household,
                household=declaration.household,
            )
        except AlreadyMonitored as exc:
            raise InvalidInput(
                _(
                    "This household is already monitored (the household of %(head)s): one "
                    "household cannot be enrolled twice."
                )
                % {"head": mask_name(exc.household.head_name)}
            ) from None
        if declaration.household_id != household.pk:
            declaration.household = household
            declaration.save(update_fields=["household"])
        _applicant_sms(declaration, log, "applicant_enrolled", {})

    return _transition(
        declaration=declaration,
        actor=actor,
        method="county_approve",
        after=enrol,
    )


def declaration_county_return(*, declaration: Declaration, actor, reason: str) -> Transition:
    reason = _clean_reason(reason)
    return _transition(
        declaration=declaration,
        actor=actor,
        method="county_return",
        reason=reason,
    )


def declaration_county_reject(*, declaration: Declaration, actor, reason: str) -> Transition:
    return _reject(declaration=declaration, actor=actor, reason=reason, level=Level.COUNTY)


def declaration_recheck(*, declaration: Declaration, actor, reason: str, after=None) -> Transition:
    """A spot check disagreed with the rejection: the county reopens the case for its
    own review again (`after(log)` runs in the same transaction: the spot check's own
    record). One open case per person and household still holds."""
    reason = _clean_reason(reason)
    try:
        return _transition(
            declaration=declaration, actor=actor, method="recheck", reason=reason, after=after
        )
    except IntegrityError:
        declaration.refresh_from_db()
        raise WrongState(
            _("Another case of this person or household is open: this one cannot be reopened.")
        ) from None


# --- withdrawal and merging ----------------------------------------------------------


def declaration_withdraw(
    *, declaration: Declaration, actor=None, reason: str, by_applicant: bool = False
) -> Transition:
    """The applicant withdraws (from the status page: no actor), or staff record that
    they did, with a reason."""
    reason = _clean_reason(reason)
    if by_applicant:
        return _transition(
            declaration=declaration,
            actor=None,
            method="withdraw",
            reason=reason,
            actor_label=APPLICANT,
        )
    return _transition(declaration=declaration, actor=actor, method="withdraw", reason=reason)


def declaration_merge(
    *, declaration: Declaration, into: Declaration, actor, reason: str
) -> Transition:
    """A duplicate (the same household declared twice) is merged into its twin."""
    reason = _clean_reason(reason)
    require_transition_role(actor, into, "merge")
    if (
        into.pk == declaration.pk
        or not into.is_open
        or into.region_code[:9] != declaration.region_code[:9]
    ):
        raise InvalidInput(_("Merge into another open case of the same township."))

    def before():
        declaration.merged_into = into

    return _transition(
        declaration=declaration,
        actor=actor,
        method="merge",
        reason=reason,
        before=before,
    )
