"""Life events that reach a case: the household moves to another village, and the
applicant dies while the case is reviewed. The household-only ones (members, split,
merge) are in apps/households/services/life_events.py.

A move (迁移) is decided by the county, or by the township when both villages are
in it: the actor must hold a township or county role over both the old village and the
new one (so a township cannot move a household out of its township, and nobody moves
one to another county: there, the household declares anew). The open case and the
monitored household follow together; everything that carries a region code for
scoping takes the new village's, so the old village loses sight of them at once. The
case's running clocks keep their due dates and go to the new village (its reminders
follow the case's village), and the new village's grid workers are told by SMS.
Screening warnings of the household follow through the `case_moved` signal (a higher
app). The roster (花名册) is the statistical register's: its next import records the
move.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed

from apps.core.identity import id_hash, mask_name, mobile_hash
from apps.deadlines.models import Clock
from apps.deadlines.services import clocks_meet
from apps.households.models import (
    HouseholdMember,
    HouseholdStatus,
    MonitoredHousehold,
    RosterMember,
)
from apps.households.services.common import clean_reason
from apps.households.services.life_events import (
    FieldRefused,
    household_relocate,
    messages_follow,
)
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import (
    CASEWORK_ROLES,
    COUNTY_ROLES,
    TOWNSHIP_ROLES,
    Region,
    require_role_over,
)
from apps.regions.services import notice_recipients

from ..models import Appeal, Declaration, State, Transition
from ..signals import case_moved
from .errors import Conflict, WrongState
from .intake import SUBJECT

MOVE_ROLES = TOWNSHIP_ROLES | COUNTY_ROLES


def open_case_of(household: MonitoredHousehold) -> Declaration | None:
    return Declaration.objects.open().filter(household=household).first()


def case_move(
    *,
    actor,
    village: Region,
    reason: str,
    declaration: Declaration | None = None,
    household: MonitoredHousehold | None = None,
) -> tuple[Declaration | None, MonitoredHousehold | None]:
    """Move a household to another village: its open case (given, or found from the
    household) and its monitored household (given, or the case's) follow."""
    if declaration is None and household is not None:
        declaration = open_case_of(household)
    if household is None and declaration is not None:
        household = declaration.household
    if declaration is not None and not declaration.is_open:
        raise WrongState(_("A closed case does not move; move the household instead."))
    if household is not None and household.status == HouseholdStatus.MERGED:
        raise WrongState(_("This household was merged into another and is closed."))
    subject = declaration or household
    if subject is None:
        raise WrongState
    old_code = subject.region_code
    require_role_over(actor, old_code, MOVE_ROLES)
    if village is None or not village.is_village:
        raise FieldRefused("village", _("Choose a village."))
    if village.code == old_code:
        raise FieldRefused("village", _("The household is already in this village."))
    if not Region.objects.visible_to(actor).filter(pk=village.pk).exists():
        raise FieldRefused("village", _("Choose a village of your own county or township."))
    require_role_over(actor, village.code, MOVE_ROLES)
    reason = clean_reason(reason)
    old_village = subject.village
    clocks: list[Clock] = []
    try:
        with transaction.atomic():
            if household is not None:
                clocks += household_relocate(
                    household=household, village=village, actor=actor, reason=reason
                )
            if declaration is not None:
                clocks += _relocate_case(declaration, village, old_village, actor, reason)
            case_moved.send(
                sender=Declaration,
                declaration=declaration,
                household=household,
                village=village,
            )
            _tell_new_village(declaration, household, village, old_village, clocks)
    except ConcurrentTransition:
        raise Conflict from None
    return declaration, household


def _relocate_case(declaration, village, old_village, actor, reason) -> list[Clock]:
    declaration.village, declaration.region_code = village, village.code
    declaration.save(update_fields=["village", "region_code"])
    appeals = list(Appeal.objects.filter(declaration=declaration).values_list("pk", flat=True))
    clocks = list(
        Clock.objects.running().filter(
            Q(subject_type=SUBJECT, subject_id=declaration.pk)
            | Q(subject_type="appeal", subject_id__in=appeals)
        )
    )
    Clock.objects.filter(pk__in=[c.pk for c in clocks]).update(region_code=village.code)
    messages_follow(
        subjects=[f"{SUBJECT}:{declaration.pk}"], clocks=clocks, region_code=village.code
    )
    Transition.record(
        declaration=declaration,
        kind="moved",
        actor=actor,
        summary=_("moved from %(old)s to %(new)s") % {"old": old_village.name, "new": village.name},
        reason=reason,
    )
    return clocks


def _tell_new_village(declaration, household, village, old_village, clocks) -> None:
    """The new village's grid workers learn of the household and its next deadline."""
    name = declaration.name if declaration is not None else household.head_name
    next_due = min((c.due_on for c in clocks), default=None)
    subject = (
        f"{SUBJECT}:{declaration.pk}" if declaration is not None else f"household:{household.pk}"
    )
    messages_enqueue(
        subject=f"{subject}:moved:{village.code}:{timezone.now():%Y%m%d%H%M%S}",
        region_code=village.code,
        messages=sms_to(
            notice_recipients(village),
            "village_household_moved_in",
            village=village.name,
            from_village=old_village.name,
            name=mask_name(name),
            due=date_format(next_due, "MONTH_DAY_FORMAT") if next_due else "—",
        ),
    )


# --- the applicant dies during the review -----------------------------------------------------


@dataclass(frozen=True)
class Successor:
    """The member who carries the declaration on: one of the household's."""

    id_number: str  # normalised
    phone: str  # normalised
    name: str = ""


def known_members(declaration: Declaration) -> dict[str, str]:
    """The household's members the system knows, other than the applicant: ID hash →
    name. From the case's latest home visit, the monitored household, and the roster
    household of the applicant."""
    found: dict[str, str] = {}
    visit = declaration.visits.order_by("-visit_date", "-pk").first()
    if visit is not None:
        found.update({m.id_hash: m.name for m in visit.members.exclude(id_hash="")})
    if declaration.household_id:
        found.update(
            {
                m.id_hash: m.name
                for m in HouseholdMember.objects.filter(household_id=declaration.household_id)
                .exclude(id_hash="")
                .only("id_hash", "name")
            }
        )
    applicant = RosterMember.objects.filter(id_hash=declaration.id_hash).first()
    if applicant is not None:
        found.update(
            {
                m.id_hash: m.name
                for m in RosterMember.objects.filter(household_id=applicant.household_id)
            }
        )
    found.pop(declaration.id_hash, None)
    return found


def declaration_applicant_died(
    *,
    declaration: Declaration,
    actor,
    died_on: dt.date,
    reason: str,
    successor: Successor | None = None,
) -> Transition:
    """申请人在审核期间死亡: the declaration continues with another member of the
    household as its applicant (`successor`, whom the system must know as a member);
    with none, the case is closed (withdrawn, its clocks stopped) with the reason. The
    log row records the death either way."""
    require_role_over(actor, declaration.region_code, CASEWORK_ROLES)
    if not declaration.is_open:
        raise WrongState
    if died_on is None or died_on > timezone.localdate():
        raise FieldRefused("died_on", _("The date cannot be in the future."))
    if died_on < timezone.localdate(declaration.submitted_at) - dt.timedelta(days=366):
        raise FieldRefused("died_on", _("The date is out of range."))
    reason = clean_reason(reason)
    deceased = declaration.name
    try:
        with transaction.atomic():
            if successor is None:
                return _close_on_death(declaration, actor, deceased, reason)
            return _hand_over(declaration, actor, deceased, successor, reason)
    except ConcurrentTransition:
        raise Conflict from None


def _hand_over(declaration, actor, deceased, successor: Successor, reason) -> Transition:
    members = known_members(declaration)
    new_hash = id_hash(successor.id_number)
    if new_hash not in members:
        raise FieldRefused(
            "id_number",
            _(
                "This person is not a member of the household on the home visit or in the "
                "roster. Record the home visit with the household's members first."
            ),
        )
    if Declaration.objects.open().filter(id_hash=new_hash).exclude(pk=declaration.pk).exists():
        raise FieldRefused("id_number", _("This person already has an open declaration."))
    declaration.name = successor.name or members[new_hash]
    declaration.id_number, declaration.id_hash = successor.id_number, new_hash
    declaration.phone, declaration.phone_hash = successor.phone, mobile_hash(successor.phone)
    declaration.save(update_fields=["name", "id_number", "id_hash", "phone", "phone_hash"])
    return Transition.record(
        declaration=declaration,
        kind="applicant_died",
        actor=actor,
        summary=_("%(dead)s died; %(new)s continues the declaration")
        % {"dead": deceased, "new": declaration.name},
        reason=reason,
    )


def _close_on_death(declaration, actor, deceased, reason) -> Transition:
    if not can_proceed(declaration.withdraw):
        raise WrongState
    from_state = declaration.state
    declaration.withdraw()
    declaration.save()
    clocks_meet(subject_type=SUBJECT, subject_id=declaration.pk, cancel=True)
    return Transition.record(
        declaration=declaration,
        from_state=from_state,
        to_state=State.WITHDRAWN,
        kind="applicant_died",
        actor=actor,
        summary=_("%(dead)s died; no member continues: case closed") % {"dead": deceased},
        reason=reason,
    )
