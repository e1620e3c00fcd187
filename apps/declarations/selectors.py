import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.identity import (
    MOBILE_RE,
    fold,
    id_hash,
    is_ascii_digits,
    mobile_hash,
    normalise_mobile,
)
from apps.deadlines.calendar import WorkingCalendar
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import Mark, clock_marks
from apps.households.models import MonitoredHousehold, PlanMeasure, RosterHousehold, RosterMember
from apps.regions.models import (
    CASEWORK_ROLES,
    Region,
    transition_roles,
    user_memberships,
    user_transitions,
)

from .models import AppealOutcome, Declaration, State, Transition
from .services import STEP_CHECKS, SUBJECT, ActionRefused, WrongState, declaration_clocks


@dataclass(frozen=True)
class PublicStatus:
    """What an applicant may learn of their case: stage and dates, nothing personal."""

    tracking_number: str
    state: str
    state_label: str
    village_name: str
    submitted_at: dt.datetime
    verify_due: dt.date | None
    enrol_due: dt.date | None
    history: list[tuple[dt.datetime, str]]
    declaration_id: int
    rejection_reason: str
    can_appeal: bool
    appeal_pending: bool
    is_open: bool


def declaration_public_status(*, tracking_number: str, phone: str) -> PublicStatus | None:
    phone_key = mobile_hash(phone)
    declaration = (
        Declaration.objects.filter(tracking_number=tracking_number)
        .filter(Q(phone_hash=phone_key) | Q(declarant_phone_hash=phone_key))
        .select_related("village")
        .first()
    )
    if declaration is None:
        return None
    history = [(e.at, e.label) for e in declaration_timeline(declaration) if e.changes_state]
    filed, decided = _("appeal filed"), _("appeal decided")
    for appeal in declaration.appeals.all():
        history.append((appeal.filed_at, filed))
        if appeal.outcome:
            history.append((appeal.decided_at, f"{decided}：{appeal.get_outcome_display()}"))
    history.sort(key=lambda item: item[0])
    pending = declaration.appeals.filter(outcome="").exists()
    clocks = declaration_clocks(declaration)
    return PublicStatus(
        tracking_number=declaration.tracking_number_display,
        state=declaration.state,
        state_label=declaration.get_state_display(),
        village_name=declaration.village.name,
        submitted_at=timezone.localtime(declaration.submitted_at),
        verify_due=clocks[Stage.VERIFY].due_on if Stage.VERIFY in clocks else None,
        enrol_due=clocks[Stage.ENROL].due_on if Stage.ENROL in clocks else None,
        history=history,
        declaration_id=declaration.pk,
        rejection_reason=declaration.rejection_reason,
        can_appeal=declaration.state == State.REJECTED
        and not declaration.appeals.exclude(outcome=AppealOutcome.REOPENED).exists(),
        appeal_pending=pending,
        is_open=declaration.is_open,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    state: str
    label: str  # the state reached, or what was recorded on the case
    actor: object  # a User, or None for the applicant or the system
    actor_label: str
    summary: str
    reason: str
    changes_state: bool


# What each log row that is not a change of state says (the services write the kind);
# a change of state says the state reached.
RECORD_LABELS = {
    "declarant_joined": gettext_lazy("another member of the household declared"),
    "visit_amended": gettext_lazy("home visit recorded again"),
    "income_assessed": gettext_lazy("income calculated"),
    "evaluation_recorded": gettext_lazy("village evaluation recorded again"),
    "property_checked": gettext_lazy("property checked"),
    "authorization_signed": gettext_lazy("signed authorization letter uploaded"),
    "appeal_filed": gettext_lazy("appeal filed"),
    "appeal_upheld": gettext_lazy("rejection upheld on appeal"),
    "green_channel_opened": gettext_lazy("green channel opened"),
    "green_help_recorded": gettext_lazy("green-channel help recorded"),
    "routed": gettext_lazy("case routed"),
    "result_announced": gettext_lazy("result announcement recorded"),
    "routing_received": gettext_lazy("received by civil affairs"),
    "moved": gettext_lazy("household moved to another village"),
    "applicant_died": gettext_lazy("applicant died"),
}


def log_label(t: Transition) -> str:
    return str(RECORD_LABELS.get(t.kind) or t.get_to_state_display())


def declaration_timeline(declaration: Declaration) -> list[TimelineEntry]:
    """The case's whole history: its submission, then every row of its log."""
    labels = dict(State.choices)
    entries = [
        TimelineEntry(
            at=declaration.submitted_at,
            state=State.SUBMITTED,
            label=str(labels[State.SUBMITTED]),
            actor=declaration.created_by,
            actor_label="" if declaration.created_by_id else declaration.get_channel_display(),
            summary="",
            reason="",
            changes_state=True,
        )
    ]
    for t in declaration.transitions.select_related("actor").order_by("at", "pk"):
        entries.append(
            TimelineEntry(
                at=t.at,
                state=t.to_state,
                label=log_label(t),
                actor=t.actor,
                actor_label=t.actor_label,
                summary=t.summary,
                reason=t.reason,
                changes_state=t.changes_state,
            )
        )
    return entries


def declarations_visible_to(user):
    return Declaration.objects.visible_to(user).select_related("village")


def villages_for_entry(user):
    """The villages whose cases the user works (village to county staff): where they may
    enter a new declaration."""
    prefixes = {prefix for prefix, role in user_memberships(user) if role in CASEWORK_ROLES}
    if not prefixes:
        return Region.objects.none()
    condition = Q()
    for prefix in prefixes:
        condition |= Q(code__startswith=prefix)
    return Region.objects.villages().filter(condition).order_by("code")


# --- worker pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    declaration: Declaration
    clock: Clock | None  # the deadline that matters now
    mark: Mark | None

    @property
    def due(self):
        return self.clock.due_on if self.clock else None


# Until the village has visited, the visit is the deadline that matters; after it, enrolment.
VILLAGE_FIRST_STATES = (State.SUBMITTED, State.ACCEPTED)


def clocks_by_declaration(declarations) -> dict[int, dict[str, Clock]]:
    """The clocks of many declarations in one query."""
    by_case: dict[int, dict[str, Clock]] = {}
    ids = [d.pk for d in declarations]
    for clock in Clock.objects.filter(subject_type=SUBJECT, subject_id__in=ids):
        by_case.setdefault(clock.subject_id, {})[clock.stage] = clock
    return by_case


def _rows(declarations) -> list[CaseRow]:
    declarations = list(declarations)
    clocks = clocks_by_declaration(declarations)
    shown = [
        clocks.get(d.pk, {}).get(Stage.VERIFY if d.state in VILLAGE_FIRST_STATES else Stage.ENROL)
        for d in declarations
    ]
    marks = iter(clock_marks([c for c in shown if c]))
    return [
        CaseRow(d, clock, next(marks) if clock else None)
        for d, clock in zip(declarations, shown, strict=True)
    ]


# Every worklist of cases: the highest risk score first, then the oldest.
WORKLIST_ORDER = ("-score", "submitted_at", "pk")


def worker_open_cases(user, *, limit: int = 500) -> list[CaseRow]:
    """A worker's open cases, the highest risk score first, then the oldest."""
    qs = (
        Declaration.objects.visible_to(user)
        .open()
        .select_related("village")
        .order_by(*WORKLIST_ORDER)[:limit]
    )
    return _rows(qs)


def search_filter(qs, query: str):
    """Narrow `qs` to the cases a search term names: a tracking number, an ID number or a
    mobile phone (the applicant's or the declarant's), matched exactly through their
    keyed hashes since both are stored encrypted; anything else is part of a name."""
    query = (query or "").strip()
    if not query:
        return qs
    folded = fold(query).upper()
    if len(folded) == 18 and is_ascii_digits(folded[:17]):
        return qs.filter(id_hash=id_hash(folded))
    if len(folded) == 12 and is_ascii_digits(folded):
        return qs.filter(tracking_number=folded)
    phone = normalise_mobile(query)
    if MOBILE_RE.match(phone):
        key = mobile_hash(phone)
        return qs.filter(Q(phone_hash=key) | Q(declarant_phone_hash=key))
    return qs.filter(name__contains=query[:30])


def declarations_search(user, query: str, *, limit: int = 50):
    """By tracking number, name, ID number or phone, within the user's scope."""
    if not (query or "").strip():
        return Declaration.objects.none()
    qs = Declaration.objects.visible_to(user).select_related("village")
    return search_filter(qs, query).order_by("-submitted_at")[:limit]


# --- queues: filters, counts, the deadline that matters now --------------------------------


def with_due_on(qs):
    """Alias each case's `due_on`, the due date of the deadline that matters now (as
    `_rows` marks it): the visit's until the village has visited, enrolment's after. An
    alias, not an annotation: filtered and ordered on, never selected, so the queryset
    still serves as a subquery of primary keys (the admin's filter counts)."""
    clocks = Clock.objects.filter(
        subject_type=SUBJECT, subject_id=OuterRef("pk"), stage=OuterRef("due_stage")
    )
    return qs.alias(
        due_stage=Case(
            When(state__in=VILLAGE_FIRST_STATES, then=Value(Stage.VERIFY)),
            default=Value(Stage.ENROL),
        ),
        due_on=Subquery(clocks.values("due_on")[:1]),
    )


class DaysLeft(models.TextChoices):
    """The queue's filter by time left, in working days as the marks count them."""

    OVERDUE = "overdue", gettext_lazy("overdue")
    SOON = "soon", gettext_lazy("due today or tomorrow")
    WEEK = "week", gettext_lazy("due within 5 working days")
    LATER = "later", gettext_lazy("more than 5 working days left")


def days_left_conditions(*, today: dt.date | None = None) -> dict[str, Q]:
    """The condition of each band on `due_on` (aliased by `with_due_on`): `n` working
    days or fewer are left exactly when the due date is before the (n+1)th working day
    from today. One read of the calendar for all the bands."""
    today = today or timezone.localdate()
    calendar = WorkingCalendar.spanning(today, extra_years=1)
    soon, week = calendar.add_working_days(today, 2), calendar.add_working_days(today, 6)
    return {
        DaysLeft.OVERDUE: Q(due_on__lt=today),
        DaysLeft.SOON: Q(due_on__gte=today, due_on__lt=soon),
        DaysLeft.WEEK: Q(due_on__gte=today, due_on__lt=week),
        DaysLeft.LATER: Q(due_on__gte=week),
    }


def queue_filter(qs, *, village=None, difficulty="", channel="", days_left="", q=""):
    """The queue's filters other than the stage, each applied when given. `qs` is
    already scoped (`visible_to`), so a filter only ever narrows it, and aliased by
    `with_due_on`."""
    if village is not None:
        qs = qs.filter(region_code=village.code)
    if difficulty:
        qs = qs.filter(difficulties__contains=[difficulty])
    if channel:
        qs = qs.filter(channel=channel)
    if days_left:
        qs = qs.filter(days_left_conditions()[days_left])
    return search_filter(qs, q)


def stage_filter(qs, stage: str):
    """One stage, or (empty) every open case."""
    return qs.filter(state=stage) if stage else qs.open()


def stage_counts(qs) -> dict[str, int]:
    """How many of the cases are at each stage, in one query."""
    rows = qs.order_by().values_list("state").annotate(n=models.Count("pk"))
    return dict(rows)


def queue_ordered(qs):
    """The highest risk score first, then the oldest declaration (the filter by time
    left narrows the queue to the urgent ones)."""
    return qs.order_by(*WORKLIST_ORDER)


def queue_rows(declarations) -> list[CaseRow]:
    """The rows of a page of the queue, with their deadlines' marks (two queries for the
    clocks and the calendar, whatever the number of rows)."""
    return _rows(declarations)


# --- what a user may do on a case ----------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button on a case page: the transition of that name, with its form ("", "reason"
    or "merge"); or a page of its own ("page") for the work done in `states`, offered to
    those who may make `transition`, the one that work leads to."""

    name: str
    label: object
    form: str = ""
    danger: bool = False
    transition: str = ""
    states: tuple = ()


ACTIONS = [
    Action("accept", gettext_lazy("Accept the case")),
    Action(
        "visit",
        gettext_lazy("Record the home visit"),
        "page",
        transition="verify",
        states=(State.ACCEPTED, State.RETURNED),
    ),
    Action(
        "income",
        gettext_lazy("Calculate income"),
        "page",
        transition="start_notice",
        states=(State.VERIFIED, State.RETURNED),
    ),
    Action(
        "evaluation",
        gettext_lazy("Record evaluation and notice"),
        "page",
        transition="start_notice",
        states=(State.VERIFIED, State.RETURNED),
    ),
    Action("pass_to_township", gettext_lazy("Pass to the township")),
    Action("village_reject", gettext_lazy("Do not enrol"), "reason", danger=True),
    Action(
        "property",
        gettext_lazy("Record the property check"),
        "page",
        transition="township_approve",
        states=(State.TOWNSHIP_REVIEW,),
    ),
    Action("township_approve", gettext_lazy("Approve to the county")),
    Action("township_return", gettext_lazy("Return to the village"), "reason"),
    Action("township_reject", gettext_lazy("Do not enrol"), "reason", danger=True),
    Action("county_approve", gettext_lazy("Approve enrolment")),
    Action("county_return", gettext_lazy("Return to the township"), "reason"),
    Action("county_reject", gettext_lazy("Do not enrol"), "reason", danger=True),
    Action("withdraw", gettext_lazy("Withdraw (applicant's wish)"), "reason", danger=True),
    Action("merge", gettext_lazy("Merge into its twin"), "merge", danger=True),
]
BUTTONS = {a.name: a for a in ACTIONS if a.form != "page"}


def available_actions(declaration: Declaration, user) -> list[Action]:
    """The buttons the user may press on the case now: the transitions and pages their
    roles over its region allow in its state."""
    moves = user_transitions(declaration, user)
    return [
        a
        for a in ACTIONS
        if a.name in moves
        or (
            declaration.state in a.states
            and transition_roles(declaration, a.transition)(declaration, user)
        )
    ]


@dataclass(frozen=True)
class Offer:
    """A step offered on a case page: pressable now (`available`), or shown disabled
    with the `reason` it is not possible yet."""

    action: Action
    available: bool = True
    reason: str = ""

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def label(self):
        return self.action.label

    @property
    def form(self) -> str:
        return self.action.form

    @property
    def danger(self) -> bool:
        return self.action.danger


def _fsm_conditions_met(declaration: Declaration, name: str) -> bool:
    meta = getattr(type(declaration), name)._django_fsm
    return meta.conditions_met(declaration, meta.field.get_state(declaration))


def available_steps(declaration: Declaration, user) -> list[Offer]:
    """The steps of the case for this user: those their roles allow in its state
    (available_actions, from the state machine), each available or not by the very
    checks its service refuses on (services.STEP_CHECKS) and the transition's
    conditions; a step not possible yet carries the reason. Steps the user's roles do
    not allow are not listed at all."""
    offers = []
    for action in available_actions(declaration, user):
        check = STEP_CHECKS.get(action.name)
        try:
            if check is not None:
                check(declaration)
            if action.form != "page" and not _fsm_conditions_met(declaration, action.name):
                raise WrongState
        except ActionRefused as exc:
            offers.append(Offer(action, available=False, reason=str(exc.message)))
        else:
            offers.append(Offer(action))
    return offers


# --- the procedure's dates on one line (the township's review) -------------------------

# A step recorded this many days after the day it happened is marked as recorded late.
RECORDED_LATE_AFTER_DAYS = 5


@dataclass(frozen=True)
class ProcedureDate:
    label: str
    day: dt.date
    until: dt.date | None = None
    late: str = ""  # why the date is marked, empty when it is not


def _late(day: dt.date, recorded_at: dt.datetime, due_at: dt.datetime | None = None) -> str:
    if due_at is not None and recorded_at > due_at:
        return _("recorded after its deadline")
    if (timezone.localdate(recorded_at) - day).days > RECORDED_LATE_AFTER_DAYS:
        return _("recorded %(days)d days later") % {
            "days": (timezone.localdate(recorded_at) - day).days
        }
    return ""


def procedure_dates(declaration: Declaration, clocks: dict | None = None) -> list[ProcedureDate]:
    """Declaration, home visit, information comparison, evaluation, notice, property
    check and result announcement, in order, each marked where it was recorded late
    (long after the day, or after its deadline)."""
    clocks = clocks if clocks is not None else declaration_clocks(declaration)
    verify = clocks.get(Stage.VERIFY)
    dates = [ProcedureDate(_("declared"), timezone.localdate(declaration.submitted_at))]
    # Read through .all(), so that a list of cases can prefetch them (PROCEDURE_PREFETCH).
    visits = sorted(declaration.visits.all(), key=lambda v: (v.visit_date, v.pk))
    visit = visits[-1] if visits else None
    if visit:
        dates.append(
            ProcedureDate(
                _("home visit"),
                visit.visit_date,
                late=_late(visit.visit_date, visit.recorded_at, verify.due_at if verify else None),
            )
        )
    income = getattr(declaration, "income", None)
    if income and income.compared_on:
        dates.append(
            ProcedureDate(
                _("information compared"),
                income.compared_on,
                late=_late(income.compared_on, income.assessed_at),
            )
        )
    evaluation = max(declaration.evaluations.all(), key=lambda e: e.pk, default=None)
    if evaluation:
        dates.append(
            ProcedureDate(
                _("evaluation"),
                evaluation.evaluation_date,
                late=_late(evaluation.evaluation_date, evaluation.recorded_at),
            )
        )
        dates.append(
            ProcedureDate(_("public notice"), evaluation.notice_start, evaluation.notice_end)
        )
    check = getattr(declaration, "property_check", None)
    if check:
        dates.append(ProcedureDate(_("property checked"), timezone.localdate(check.checked_at)))
    announcement = max(declaration.announcements.all(), key=lambda a: a.pk, default=None)
    if announcement:
        dates.append(
            ProcedureDate(
                _("result announced"),
                announcement.start,
                announcement.end,
                late=_late(announcement.start, announcement.recorded_at),
            )
        )
    return dates


PROCEDURE_PREFETCH = ("visits", "evaluations", "announcements")


def queue_procedure_dates(rows: list[CaseRow]) -> list[tuple[Declaration, list[ProcedureDate]]]:
    """The dates line of each case of a queue, in a fixed number of queries."""
    from django.db.models import prefetch_related_objects

    declarations = [row.declaration for row in rows]
    prefetch_related_objects(declarations, *PROCEDURE_PREFETCH, "income", "property_check")
    clocks = clocks_by_declaration(declarations)
    return [(d, procedure_dates(d, clocks.get(d.pk, {}))) for d in declarations]


# --- the household of a case ------------------------------------------------------------


@dataclass(frozen=True)
class CaseHousehold:
    """The household of a case (以家庭为单位), as far as the user may see it: its roster
    members, its monitored household, its other cases (earlier or merged) and the help
    its plans gave."""

    roster: RosterHousehold | None
    members: list[RosterMember]
    monitored: MonitoredHousehold | None
    other_cases: list[Declaration]
    measures: list[PlanMeasure]


def case_household(declaration: Declaration, user) -> CaseHousehold:
    roster = (
        RosterHousehold.objects.visible_to(user).filter(pk=declaration.roster_household_id).first()
        if declaration.roster_household_id
        else None
    )
    monitored = MonitoredHousehold.objects.visible_to(user)
    if declaration.household_id:
        monitored = monitored.filter(pk=declaration.household_id).first()
    elif roster is not None:
        monitored = monitored.filter(roster_household=roster).first()
    else:
        monitored = None
    same = Q(id_hash=declaration.id_hash)
    if roster is not None:
        same |= Q(roster_household=roster)
    if monitored is not None:
        same |= Q(household=monitored)
    return CaseHousehold(
        roster=roster,
        members=list(roster.members.order_by("pk")) if roster else [],
        monitored=monitored,
        other_cases=list(
            Declaration.objects.visible_to(user)
            .filter(same)
            .exclude(pk=declaration.pk)
            .select_related("village")
            .order_by("-submitted_at")[:20]
        ),
        measures=list(
            PlanMeasure.objects.filter(plan__household=monitored)
            .select_related("plan")
            .order_by("-plan__created_at", "pk")[:50]
        )
        if monitored
        else [],
    )
