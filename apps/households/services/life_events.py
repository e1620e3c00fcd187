"""Life events of a monitored household (家庭成员变化、分户、合户、迁移): a member dies,
joins or leaves; a household splits, or two merge; a household moves to another village.

Nothing is deleted: a member who died or left keeps their row, with the date and why
(`HouseholdMember.on_record`); a household absorbed by another is closed with a
reference to it. Each function checks who may, works in one transaction and writes one
row of each household's log it changes.

Who may:
- the village (grid worker, village staff) records members joining, leaving or dying:
  the facts of the household it visits;
- the county splits and merges households: each changes the number of monitored
  households it reports, as enrolment does;
- a move to another village is a declarations service (`apps.declarations.services.
  life_events.case_move`: the open case follows); `household_relocate` here is its part
  for the household.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from apps.core.errors import Conflict, InvalidInput, WrongState
from apps.core.identity import id_hash
from apps.deadlines.models import Clock
from apps.deadlines.services import clocks_meet
from apps.notifications.models import Message
from apps.regions.models import COUNTY_ROLES, VILLAGE_ROLES, require_role_over

from ..models import (
    EliminationProposal,
    FollowUp,
    HelpPlan,
    HouseholdEvent,
    HouseholdMember,
    HouseholdStatus,
    LookBack,
    MemberLeft,
    MonitoredHousehold,
)
from .common import (
    FOLLOW_UP_SUBJECT,
    LOOK_BACK_SUBJECT,
    NATIONAL_SUBJECT,
    PLAN_SUBJECT,
    clean_reason,
)
from .enrolment import MemberFacts, plan_start
from .monitoring import _cancel_follow_ups, follow_up_schedule

HOUSEHOLD_SUBJECT = "household"


class FieldRefused(InvalidInput):
    """Bad input the service found, at a field of the form that sent it."""

    def __init__(self, field: str, message):
        self.field = field
        super().__init__(message)


def _check_day(day: dt.date | None, field: str) -> None:
    if day is None:
        raise FieldRefused(field, _("Enter the date."))
    if day > timezone.localdate():
        raise FieldRefused(field, _("The date cannot be in the future."))


def _require_open(household: MonitoredHousehold) -> None:
    if household.status == HouseholdStatus.MERGED:
        raise WrongState(_("This household was merged into another and is closed."))


def is_head(household: MonitoredHousehold, member: HouseholdMember) -> bool:
    if member.id_hash:
        return member.id_hash == household.head_id_hash
    return member.name == household.head_name and member.relation == "户主"


def _current(household: MonitoredHousehold, members) -> list[HouseholdMember]:
    """The members given, each a current member of this household, or a refusal."""
    rows = list(members)
    ids = {m.pk for m in rows}
    found = set(household.members.filter(pk__in=ids).values_list("pk", flat=True))
    if not rows or found != ids:
        raise FieldRefused("members", _("Choose current members of this household."))
    return rows


def _new_member(household: MonitoredHousehold, facts: MemberFacts, joined_on) -> HouseholdMember:
    return HouseholdMember.objects.create(
        household=household,
        name=facts.name,
        relation=facts.relation,
        id_number=facts.id_number,
        id_hash=id_hash(facts.id_number) if facts.id_number else "",
        labour_capacity=facts.labour_capacity,
        health=facts.health,
        disability_grade=facts.disability_grade,
        schooling=facts.schooling,
        has_skills=facts.has_skills,
        joined_on=joined_on,
    )


def _copy_member(member: HouseholdMember, household: MonitoredHousehold, on) -> HouseholdMember:
    """The member's row in the household they move to; their old row is marked left."""
    return _new_member(
        household,
        MemberFacts(
            name=member.name,
            relation=member.relation,
            id_number=member.id_number,
            labour_capacity=member.labour_capacity,
            health=member.health,
            disability_grade=member.disability_grade,
            schooling=member.schooling,
            has_skills=member.has_skills,
        ),
        on,
    )


def _mark_left(members: list[HouseholdMember], on, why: str) -> None:
    for member in members:
        member.left_on, member.left_reason = on, why
        member.save(update_fields=["left_on", "left_reason"])


# --- members ----------------------------------------------------------------------------------


def member_join(
    *, household: MonitoredHousehold, actor, member: MemberFacts, joined_on: dt.date, reason: str
) -> HouseholdMember:
    """A member joins (born, married in, moved in): a current member from `joined_on`."""
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    _require_open(household)
    _check_day(joined_on, "joined_on")
    reason = clean_reason(reason)
    if member.id_number and household.members.filter(id_hash=id_hash(member.id_number)).exists():
        raise FieldRefused("id_number", _("This person is already a member of the household."))
    with transaction.atomic():
        row = _new_member(household, member, joined_on)
        HouseholdEvent.record(
            household=household,
            kind="member_joined",
            actor=actor,
            summary=f"{member.name}（{member.relation}）{joined_on:%Y-%m-%d}",
            reason=reason,
        )
    return row


def member_leave(
    *,
    member: HouseholdMember,
    actor,
    why: str,
    left_on: dt.date,
    reason: str,
    new_head: HouseholdMember | None = None,
) -> HouseholdMember:
    """A member died (`MemberLeft.DIED`) or left the household (`MemberLeft.LEFT`). The
    row stays, marked with the date and why. When the head goes, another current member
    with an ID number becomes the head (`new_head`)."""
    household = member.household
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    _require_open(household)
    if why not in (MemberLeft.DIED, MemberLeft.LEFT):
        raise FieldRefused("why", _("Say whether the member died or left the household."))
    if not member.is_current:
        raise WrongState(_("This person is no longer a member of the household."))
    _check_day(left_on, "left_on")
    reason = clean_reason(reason)
    head_changes = is_head(household, member)
    if head_changes:
        if (
            new_head is None
            or new_head.pk == member.pk
            or new_head.household_id != household.pk
            or not new_head.is_current
        ):
            raise FieldRefused("new_head", _("The head is leaving: choose the new head."))
        if not new_head.id_number:
            raise FieldRefused("new_head", _("The new head needs an ID number on record."))
        if (
            MonitoredHousehold.objects.filter(head_id_hash=new_head.id_hash)
            .exclude(pk=household.pk)
            .exists()
        ):
            raise FieldRefused("new_head", _("This person already heads a monitored household."))
    with transaction.atomic():
        _mark_left([member], left_on, why)
        summary = f"{member.name}（{member.relation}）{left_on:%Y-%m-%d}"
        if head_changes:
            household.head_name = new_head.name
            household.head_id_number = new_head.id_number
            household.head_id_hash = new_head.id_hash
            household.save(update_fields=["head_name", "head_id_number", "head_id_hash"])
            summary += _("; new head: %(name)s") % {"name": new_head.name}
        HouseholdEvent.record(
            household=household,
            kind="member_died" if why == MemberLeft.DIED else "member_left",
            actor=actor,
            summary=summary,
            reason=reason,
        )
    return member


# --- split and merge --------------------------------------------------------------------------


def household_split(
    *,
    household: MonitoredHousehold,
    actor,
    members: list[HouseholdMember],
    head: HouseholdMember,
    split_on: dt.date,
    reason: str,
) -> MonitoredHousehold:
    """分户: some members form a household of their own. It starts its own monitoring,
    in the same village, category and risks, with a new help plan (its 10-day clock)
    and its first follow-up visit; the plan and visits of the household it left stay
    with that household. The members' old rows are marked as having left; the head of
    the old household stays in it."""
    require_role_over(actor, household.region_code, COUNTY_ROLES)
    if household.status != HouseholdStatus.MONITORING:
        raise WrongState(_("Only a household under monitoring can split."))
    members = _current(household, members)
    if any(is_head(household, m) for m in members):
        raise FieldRefused("members", _("The head stays; choose the members who leave."))
    if household.members.exclude(pk__in=[m.pk for m in members]).count() == 0:
        raise FieldRefused("members", _("At least one member must stay in the household."))
    if head.pk not in {m.pk for m in members}:
        raise FieldRefused("head", _("The new head must be one of the members who leave."))
    if not head.id_number:
        raise FieldRefused("head", _("The new head needs an ID number on record."))
    if MonitoredHousehold.objects.filter(head_id_hash=head.id_hash).exists():
        raise FieldRefused("head", _("This person already heads a monitored household."))
    _check_day(split_on, "split_on")
    reason = clean_reason(reason)
    try:
        with transaction.atomic():
            new = MonitoredHousehold.objects.create(
                village=household.village,
                region_code=household.region_code,
                head_name=head.name,
                head_id_number=head.id_number,
                head_id_hash=head.id_hash,
                risk_types=list(household.risk_types),
                enrolled_by=actor,
                category=household.category,
                industry_willing=household.industry_willing,
                # A household of its own in the register too (分户): not the old one's
                # roster household, which may have one monitored household only.
                roster_household=None,
                split_from=household,
            )
            for member in members:
                copy = _copy_member(member, new, split_on)
                if member.pk == head.pk:
                    copy.relation = "户主"
                    copy.save(update_fields=["relation"])
            _mark_left(members, split_on, MemberLeft.SPLIT)
            names = "、".join(m.name for m in members)
            HouseholdEvent.record(
                household=household,
                kind="split",
                actor=actor,
                summary=_("%(names)s formed the household of %(head)s")
                % {"names": names, "head": head.name},
                reason=reason,
            )
            HouseholdEvent.record(
                household=new,
                kind="split_from",
                actor=actor,
                summary=_("split off from the household of %(head)s (%(date)s)")
                % {"head": household.head_name, "date": f"{split_on:%Y-%m-%d}"},
                reason=reason,
            )
            plan_start(household=new)
            follow_up_schedule(household=new)
    except IntegrityError:  # the same head made a household at the same moment
        raise Conflict from None
    return new


def household_merge(
    *,
    household: MonitoredHousehold,
    into: MonitoredHousehold,
    actor,
    merged_on: dt.date,
    reason: str,
) -> MonitoredHousehold:
    """合户: `into` absorbs the members of `household`, which is closed with a reference
    to `into`. Its running clocks stop (cancelled, not met) and its pending visit is
    cancelled; its plans, visits and log stay as its history. Both must be in the same
    village: a household elsewhere moves first."""
    require_role_over(actor, household.region_code, COUNTY_ROLES)
    _require_open(household)
    if into.pk == household.pk or into.status == HouseholdStatus.MERGED:
        raise FieldRefused("into", _("Choose another open monitored household."))
    if into.village_id != household.village_id:
        raise FieldRefused("into", _("Both households must be in the same village."))
    if EliminationProposal.objects.open().filter(household=household).exists():
        raise WrongState(_("Decide the open risk-elimination proposal first."))
    # Its cases, through the reverse relation (declarations is a higher app).
    if household.declarations.open().exists():
        raise WrongState(_("This household has an open case: decide it first."))
    _check_day(merged_on, "merged_on")
    reason = clean_reason(reason)
    members = list(household.members.order_by("pk"))
    try:
        with transaction.atomic():
            household.merge_into(into)
            household.save()
            for member in members:
                _copy_member(member, into, merged_on)
            _mark_left(members, merged_on, MemberLeft.MERGED)
            _stop_clocks(household)
            HouseholdEvent.record(
                household=household,
                kind="merged_into",
                actor=actor,
                summary=_("merged into the household of %(head)s") % {"head": into.head_name},
                reason=reason,
            )
            HouseholdEvent.record(
                household=into,
                kind="merged",
                actor=actor,
                summary=_("absorbed the household of %(head)s (%(count)d members)")
                % {"head": household.head_name, "count": len(members)},
                reason=reason,
            )
    except ConcurrentTransition:
        raise Conflict from None
    return into


def _work_clocks(household: MonitoredHousehold):
    """The clocks of the household's plans, follow-up visits and look-back reviews, and
    its own (the hand-over to the national system)."""
    return Clock.objects.filter(
        Q(subject_type=NATIONAL_SUBJECT, subject_id=household.pk)
        | Q(
            subject_type=PLAN_SUBJECT,
            subject_id__in=HelpPlan.objects.filter(household=household).values("pk"),
        )
        | Q(
            subject_type=FOLLOW_UP_SUBJECT,
            subject_id__in=FollowUp.objects.filter(household=household).values("pk"),
        )
        | Q(
            subject_type=LOOK_BACK_SUBJECT,
            subject_id__in=LookBack.objects.filter(household=household).values("pk"),
        )
    )


def _stop_clocks(household: MonitoredHousehold) -> None:
    _cancel_follow_ups(household)
    for clock in _work_clocks(household).running():
        clocks_meet(subject_type=clock.subject_type, subject_id=clock.subject_id, cancel=True)


# --- a move to another village ------------------------------------------------------------------


def household_relocate(*, household: MonitoredHousehold, village, actor, reason: str) -> list:
    """The household's part of a move (迁移): it, its plans, visits, proposals and
    reviews take the new village's code, and so do its running clocks and its SMS (the
    old village no longer sees them: scoping is by code). Clocks already met stay with
    the old village's figures. Callers check who may. Returns the running clocks moved."""
    _require_open(household)
    old = household.village
    code = village.code
    household.village, household.region_code = village, code
    household.save(update_fields=["village", "region_code"])
    for model in (HelpPlan, FollowUp, EliminationProposal, LookBack):
        model.objects.filter(household=household).update(region_code=code)
    clocks = list(_work_clocks(household).running())
    Clock.objects.filter(pk__in=[c.pk for c in clocks]).update(region_code=code)
    messages_follow(
        subjects=[f"{HOUSEHOLD_SUBJECT}:{household.pk}"], clocks=clocks, region_code=code
    )
    HouseholdEvent.record(
        household=household,
        kind="moved",
        actor=actor,
        summary=_("moved from %(old)s to %(new)s") % {"old": old.name, "new": village.name},
        reason=reason,
    )
    return clocks


def messages_follow(*, subjects: list[str], clocks: list, region_code: str) -> int:
    """The SMS about a case (subject "<kind>:<id>" or "<kind>:<id>:…") and about its
    clocks ("clock:<id>:…") take the case's new region code."""
    condition = Q()
    for subject in subjects:
        condition |= Q(subject=subject) | Q(subject__startswith=f"{subject}:")
    for clock in clocks:
        condition |= Q(subject__startswith=f"clock:{clock.pk}:")
    return Message.objects.filter(condition).update(region_code=region_code)
