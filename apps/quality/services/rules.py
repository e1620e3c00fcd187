"""The data-quality rules: each a set-based query over the stored data, yielding its
hits as `Hit`s, streamed in chunks so that a run's memory does not grow with the data.

The reads go through `apps.core.replica.replica_reads()`: with a replica configured
they come from it (they may lag a moment behind the primary, which a nightly check can
bear); the items are written on the primary by services.run.

Every rule takes the scope (a region-code prefix, "" for the whole province) and the
run's context, and filters on the subject row's own region code.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, Left
from django.utils import timezone

from apps.core.identity import validate_id_number
from apps.core.replica import replica_reads
from apps.deadlines.calendar import WorkingCalendar, add_period
from apps.deadlines.services import end_of_day, policies_for
from apps.declarations.models import (
    CaseDeclarant,
    Consent,
    ConsentChannel,
    ConsentGiver,
    Declaration,
    DocumentKind,
    State,
    Step,
    StepPolicy,
    VisitDocument,
)
from apps.households.models import (
    HelpPlan,
    HouseholdMember,
    HouseholdStatus,
    IncomeRecord,
    MeasureStatus,
    MemberLeft,
    MonitoredHousehold,
    MonitoringThreshold,
    PlanMeasure,
    RosterMember,
)

from ..models import Rule, Subject

CHUNK = 2000


@dataclass(frozen=True)
class Hit:
    subject_type: str
    subject_id: int
    village_id: int
    region_code: str
    # What the village is shown; its digest recognises the same facts again. Names,
    # counts and dates only: never an ID number.
    details: dict = field(default_factory=dict)


@dataclass
class Context:
    today: dt.date
    scope: str = ""
    # The ID-number check: rows above these keys, and roster households imported since
    # `since`, are new to it (services.run keeps the marks on QualityRun).
    roster_member_after: int = 0
    household_member_after: int = 0
    since: dt.datetime | None = None
    # Subjects of the open ID-number items: checked again, so that a fixed one closes.
    recheck: dict[str, list[int]] = field(default_factory=dict)
    # Set by the ID-number check: the highest keys it saw.
    roster_member_upto: int = 0
    household_member_upto: int = 0


def _stream(qs) -> Iterator:
    """The rows of `qs`, read where the nightly reads go, a chunk at a time."""
    with replica_reads():
        qs = qs.using(qs.db)
    return qs.iterator(chunk_size=CHUNK)


def batched(rows: Iterable, n: int) -> Iterator[list]:
    """Lists of up to `n` rows (itertools.batched, which Python 3.12 adds)."""
    rows = iter(rows)
    while batch := list(islice(rows, n)):
        yield batch


def _scoped(qs, code_field: str, scope: str):
    return qs.filter(**{f"{code_field}__startswith": scope}) if scope else qs


# --- IDs ---------------------------------------------------------------------------------


def invalid_id(ctx: Context) -> Iterator[Hit]:
    """ID numbers that fail the national check (format, birth date, check digit) on
    decryption. Decrypting every row each night would cost minutes, so only the rows
    new since the last run (keys above its marks, roster households imported since it
    started) and the subjects of the items still open are decrypted."""
    recheck_roster = ctx.recheck.get(Subject.ROSTER_MEMBER, [])
    recheck_members = ctx.recheck.get(Subject.HOUSEHOLD_MEMBER, [])
    fresh = Q(pk__gt=ctx.roster_member_after) | Q(pk__in=recheck_roster)
    if ctx.since is not None:
        fresh |= Q(household__updated_at__gte=ctx.since)
    roster = _scoped(RosterMember.objects.filter(fresh), "household__region_code", ctx.scope)
    for pk, village, code, name, number in _stream(
        roster.values_list(
            "pk", "household__village_id", "household__region_code", "name", "id_number"
        )
    ):
        ctx.roster_member_upto = max(ctx.roster_member_upto, pk)
        if not _valid(number):
            yield Hit(Subject.ROSTER_MEMBER, pk, village, code, {"name": name})
    members = _scoped(
        HouseholdMember.objects.filter(
            Q(pk__gt=ctx.household_member_after) | Q(pk__in=recheck_members)
        ).exclude(Q(id_number="") | Q(household__status=HouseholdStatus.MERGED)),
        "household__region_code",
        ctx.scope,
    )
    for pk, village, code, name, number in _stream(
        members.values_list(
            "pk", "household__village_id", "household__region_code", "name", "id_number"
        )
    ):
        ctx.household_member_upto = max(ctx.household_member_upto, pk)
        if not _valid(number):
            yield Hit(Subject.HOUSEHOLD_MEMBER, pk, village, code, {"name": name})


def _valid(number: str) -> bool:
    try:
        validate_id_number(number)
    except ValidationError:
        return False
    return True


def _current_members(scope: str):
    return _scoped(
        HouseholdMember.objects.exclude(id_hash="").exclude(
            household__status=HouseholdStatus.MERGED
        ),
        "household__region_code",
        scope,
    )


def _shared_id(ctx: Context, *, same_name: bool) -> Iterator[Hit]:
    """One ID number (its keyed hash) in two households: a current member of a
    monitored household whose number the roster lists in another household than the
    monitored household's own, or another monitored household lists too. With the same
    name it is one person in two households; with another name, one number held by two
    people. Each side is an item of its own village."""
    roster_twin = RosterMember.objects.filter(id_hash=OuterRef("id_hash"))
    other_monitored = HouseholdMember.objects.filter(id_hash=OuterRef("id_hash")).exclude(
        Q(household_id=OuterRef("household_id")) | Q(household__status=HouseholdStatus.MERGED)
    )
    members = (
        # The scope is not applied here: the other side may lie outside it.
        _current_members("")
        .annotate(
            twin_id=Subquery(roster_twin.values("pk")[:1]),
            twin_name=Subquery(roster_twin.values("name")[:1]),
            twin_household=Subquery(roster_twin.values("household_id")[:1]),
            other_id=Subquery(other_monitored.order_by("pk").values("pk")[:1]),
            other_name=Subquery(other_monitored.order_by("pk").values("name")[:1]),
        )
        .filter(
            Q(twin_id__isnull=False)
            & (
                Q(household__roster_household_id__isnull=True)
                | ~Q(household__roster_household_id=F("twin_household"))
            )
            | Q(other_id__isnull=False)
        )
    )
    rows = members.values_list(
        "pk",
        "household__village_id",
        "household__region_code",
        "name",
        "household__head_name",
        "twin_id",
        "twin_name",
        "twin_household",
        "household__roster_household_id",
        "other_id",
        "other_name",
    )
    for batch in batched(_stream(rows), CHUNK):
        roster_side: dict[int, dict] = {}
        for pk, village, code, name, head, twin, twin_name, twin_hh, own_hh, other, o_name in batch:
            roster_clash = twin is not None and twin_hh != own_hh
            names = {name}
            if roster_clash:
                names.add(twin_name)
            if other is not None:
                names.add(o_name)
            if (len(names) == 1) != same_name:
                continue
            details = {"name": name, "household": head}
            if not ctx.scope or code.startswith(ctx.scope):
                yield Hit(Subject.HOUSEHOLD_MEMBER, pk, village, code, details)
            if roster_clash:
                roster_side[twin] = details
        # The roster's side of the same hits: its own village's item.
        twins = _scoped(
            RosterMember.objects.filter(pk__in=roster_side), "household__region_code", ctx.scope
        )
        for pk, village, code, name in _stream(
            twins.values_list("pk", "household__village_id", "household__region_code", "name")
        ):
            yield Hit(Subject.ROSTER_MEMBER, pk, village, code, {**roster_side[pk], "name": name})


def duplicate_id(ctx: Context) -> Iterator[Hit]:
    return _shared_id(ctx, same_name=False)


def two_households(ctx: Context) -> Iterator[Hit]:
    return _shared_id(ctx, same_name=True)


# --- households ---------------------------------------------------------------------------


def household_size(ctx: Context) -> Iterator[Hit]:
    """The household size of the latest income record differs from the members now."""
    latest = (
        IncomeRecord.objects.filter(household=OuterRef("pk"))
        .order_by("-period_end", "-pk")
        .values("household_size")[:1]
    )
    members = (
        HouseholdMember.objects.filter(household=OuterRef("pk"))
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = (
        _scoped(MonitoredHousehold.objects.monitoring(), "region_code", ctx.scope)
        .annotate(recorded=Subquery(latest), members_now=Coalesce(Subquery(members), 0))
        .filter(recorded__isnull=False)
        .exclude(recorded=F("members_now"))
    )
    for pk, village, code, head, recorded, now in _stream(
        qs.values_list("pk", "village_id", "region_code", "head_name", "recorded", "members_now")
    ):
        yield Hit(
            Subject.HOUSEHOLD,
            pk,
            village,
            code,
            {"household": head, "recorded": recorded, "members": now},
        )


def dead_person(ctx: Context) -> Iterator[Hit]:
    """A person recorded as died (a member who left for that reason) who is still a
    current member of a household, in the roster, or the applicant or a declarant of an
    open declaration."""
    dead = (
        HouseholdMember.on_record.filter(left_reason=MemberLeft.DIED)
        .exclude(id_hash="")
        .values("id_hash")
    )
    members = _current_members(ctx.scope).filter(id_hash__in=dead)
    for pk, village, code, name in _stream(
        members.values_list("pk", "household__village_id", "household__region_code", "name")
    ):
        yield Hit(Subject.HOUSEHOLD_MEMBER, pk, village, code, {"name": name})
    roster = _scoped(
        RosterMember.objects.filter(id_hash__in=dead), "household__region_code", ctx.scope
    )
    for pk, village, code, name in _stream(
        roster.values_list("pk", "household__village_id", "household__region_code", "name")
    ):
        yield Hit(Subject.ROSTER_MEMBER, pk, village, code, {"name": name})
    declarations = _scoped(Declaration.objects.open(), "region_code", ctx.scope).filter(
        Q(id_hash__in=dead)
        | Exists(CaseDeclarant.objects.filter(declaration=OuterRef("pk"), id_hash__in=dead))
    )
    for pk, village, code, name in _stream(
        declarations.values_list("pk", "village_id", "region_code", "name")
    ):
        yield Hit(Subject.DECLARATION, pk, village, code, {"name": name})


def _with_line(ctx: Context):
    """Households with an income, and their county's line for this year."""
    line = MonitoringThreshold.objects.filter(
        county__code=Concat(Left(OuterRef("region_code"), 6), Value("000000")),
        year=ctx.today.year,
    ).values("amount")[:1]
    return (
        _scoped(MonitoredHousehold.objects.all(), "region_code", ctx.scope)
        .filter(per_capita_income__isnull=False)
        .annotate(line=Subquery(line))
        .filter(line__isnull=False)
    )


def _income_hits(qs) -> Iterator[Hit]:
    for pk, village, code, head, income, line in _stream(
        qs.values_list("pk", "village_id", "region_code", "head_name", "per_capita_income", "line")
    ):
        yield Hit(
            Subject.HOUSEHOLD,
            pk,
            village,
            code,
            {"household": head, "income": f"{income:.2f}", "line": f"{line:.2f}"},
        )


def below_line_eliminated(ctx: Context) -> Iterator[Hit]:
    """Risk eliminated, yet the household's per-capita income is below this year's line."""
    return _income_hits(
        _with_line(ctx).filter(status=HouseholdStatus.ELIMINATED, per_capita_income__lt=F("line"))
    )


def above_line_enrolled(ctx: Context) -> Iterator[Hit]:
    """Under monitoring with a per-capita income at or above the line and no risk type
    recorded to explain it. The village's confirmation (with its reason) is the recorded
    reason: the item is not raised again while the facts stay the same."""
    return _income_hits(
        _with_line(ctx).filter(
            status=HouseholdStatus.MONITORING, per_capita_income__gte=F("line"), risk_types=[]
        )
    )


def _past_due_start(stage: str, today: dt.date) -> dt.date:
    """The latest start day whose clock of `stage` ran out before today."""
    policy = policies_for([stage])[stage]
    calendar = WorkingCalendar.spanning(today - dt.timedelta(days=400), today, extra_years=1)
    day = today - dt.timedelta(days=1)
    while add_period(day, policy.limit, policy.unit, calendar)[0] >= today:
        day -= dt.timedelta(days=1)
    return day


def no_plan(ctx: Context) -> Iterator[Hit]:
    """Under monitoring, past the help-plan period since enrolment, and no plan at all."""
    started = _past_due_start("help_plan", ctx.today)
    qs = _scoped(MonitoredHousehold.objects.monitoring(), "region_code", ctx.scope).filter(
        ~Exists(HelpPlan.objects.filter(household=OuterRef("pk"))),
        enrolled_at__lt=end_of_day(started),
    )
    for pk, village, code, head in _stream(
        qs.values_list("pk", "village_id", "region_code", "head_name")
    ):
        yield Hit(Subject.HOUSEHOLD, pk, village, code, {"household": head})


def measure_undelivered(ctx: Context) -> Iterator[Hit]:
    """A measure whose end date has passed with neither an evidence document nor a note
    of evidence (stopped measures and merged households aside)."""
    qs = _scoped(
        PlanMeasure.objects.filter(
            end_on__lt=ctx.today, evidence__isnull=True, evidence_note=""
        ).exclude(
            Q(status=MeasureStatus.STOPPED) | Q(plan__household__status=HouseholdStatus.MERGED)
        ),
        "plan__region_code",
        ctx.scope,
    )
    for pk, village, code, head, title, end in _stream(
        qs.values_list(
            "pk",
            "plan__household__village_id",
            "plan__region_code",
            "plan__household__head_name",
            "title",
            "end_on",
        )
    ):
        yield Hit(
            Subject.MEASURE,
            pk,
            village,
            code,
            {"household": head, "measure": title, "end_on": end.isoformat()},
        )


# The declarations past a step, which must have its documents on file
# (apps.declarations.services.procedure.missing_documents, here for all cases at once).
PAST_STEPS = {
    Step.INCOME: [State.TOWNSHIP_REVIEW, State.COUNTY_REVIEW, State.ENROLLED],
    Step.PROPERTY: [State.TOWNSHIP_REVIEW, State.COUNTY_REVIEW, State.ENROLLED],
    Step.PASS_UP: [State.TOWNSHIP_REVIEW, State.COUNTY_REVIEW, State.ENROLLED],
}


def _on_file(kind: str):
    """A declaration has a document of `kind` (documents_on_file, as a subquery)."""
    if kind == DocumentKind.CONSENT:
        return Exists(
            Consent.objects.filter(
                declaration=OuterRef("pk"),
                channel=ConsentChannel.HOME_VISIT,
                given_by=ConsentGiver.APPLICANT,
            )
        )
    return Exists(VisitDocument.objects.filter(declaration=OuterRef("pk"), kind=kind))


def missing_documents(ctx: Context) -> Iterator[Hit]:
    """A declaration past a step whose required documents (StepPolicy) are not on file."""
    states_needing: dict[str, set[str]] = {}
    for step, states in PAST_STEPS.items():
        for kind in StepPolicy.for_step(step).required_documents:
            states_needing.setdefault(kind, set()).update(states)
    if not states_needing:
        return
    kinds = sorted(states_needing)
    lacking = {
        f"lacks_{i}": Case(
            When(Q(state__in=sorted(states_needing[kind])) & ~_on_file(kind), then=True),
            default=False,
        )
        for i, kind in enumerate(kinds)
    }
    any_lacking = Q()
    for name in lacking:
        any_lacking |= Q(**{name: True})
    qs = (
        _scoped(Declaration.objects.all(), "region_code", ctx.scope)
        .filter(state__in=sorted(set().union(*states_needing.values())))
        .annotate(**lacking)
        .filter(any_lacking)
    )
    for pk, village, code, name, *flags in _stream(
        qs.values_list("pk", "village_id", "region_code", "name", *lacking)
    ):
        missing = [kind for kind, flag in zip(kinds, flags, strict=True) if flag]
        yield Hit(Subject.DECLARATION, pk, village, code, {"name": name, "documents": missing})


RULES = {
    Rule.INVALID_ID: invalid_id,
    Rule.DUPLICATE_ID: duplicate_id,
    Rule.TWO_HOUSEHOLDS: two_households,
    Rule.HOUSEHOLD_SIZE: household_size,
    Rule.DEAD_PERSON: dead_person,
    Rule.BELOW_LINE_ELIMINATED: below_line_eliminated,
    Rule.ABOVE_LINE_ENROLLED: above_line_enrolled,
    Rule.NO_PLAN: no_plan,
    Rule.MEASURE_UNDELIVERED: measure_undelivered,
    Rule.MISSING_DOCUMENTS: missing_documents,
}


def today() -> dt.date:
    return timezone.localdate()
