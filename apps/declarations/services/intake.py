"""Every change to a declaration is one of these functions (STYLE.md)."""

import datetime as dt
import functools
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import get_language

from apps.accounts.models import PersonalDataAccess
from apps.core import crypto
from apps.core.identity import id_hash, mask_name, mobile_hash
from apps.core.sql import (
    Insert,
    InsertedId,
    insert_together,
    new_row,
    supports_insert_together,
)
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import ClockSpec, clocks_build, clocks_start
from apps.notifications.services import (
    OutgoingSms,
    messages_build,
    messages_dispatch_on_commit,
    messages_enqueue,
)
from apps.regions.models import Region
from apps.regions.services import notice_recipients

from ..models import CLOSED_STATES, Channel, Declaration, new_tracking_number
from .errors import WrongState

# Clocks of declarations are filed under this subject type.
SUBJECT = "declaration"


@dataclass(frozen=True)
class DeclarationInput:
    """What the public form (or a cadre) collected; numbers already normalised."""

    name: str
    phone: str
    id_number: str
    address_group: str
    address_house: str
    difficulties: list[str]
    description: str
    on_behalf: bool = False
    declarant_name: str = ""
    declarant_phone: str = ""
    declarant_relation: str = ""


@dataclass(frozen=True)
class SubmitResult:
    declaration: Declaration
    created: bool
    # Why nothing was created: "duplicate_submit" (same form submitted twice) or
    # "open_case" (this person already has a case in progress).
    reason: str = ""


def declaration_clocks(declaration: Declaration) -> dict[str, Clock]:
    return {c.stage: c for c in Clock.objects.for_subject(SUBJECT, declaration.pk)}


def verify_due_date(declaration: Declaration) -> dt.date | None:
    clock = declaration_clocks(declaration).get(Stage.VERIFY)
    return clock.due_on if clock else None


def enrol_due_date(declaration: Declaration) -> dt.date | None:
    clock = declaration_clocks(declaration).get(Stage.ENROL)
    return clock.due_on if clock else None


def _existing(*, token: str | None, person_hash: str) -> SubmitResult | None:
    condition = Q(id_hash=person_hash) & ~Q(state__in=CLOSED_STATES)
    if token:
        condition |= Q(submission_token=token)
    found = list(Declaration.objects.filter(condition)[:2])
    for declaration in found:
        if token and declaration.submission_token == token:
            return SubmitResult(declaration, created=False, reason="duplicate_submit")
    if found:
        return SubmitResult(found[0], created=False, reason="open_case")
    return None


def declaration_submit(
    *,
    village: Region,
    data: DeclarationInput,
    channel: str = Channel.QR,
    submission_token: str | None = None,
    actor=None,
) -> SubmitResult:
    """Open a case for a household and tell the village; or return the case that exists.

    The declaration, its deadline clocks and its SMS are written atomically, so an
    accepted declaration always has its notices queued, whatever Celery's state.
    """
    if not village.is_village:
        raise ValueError("declarations belong to a village")
    # No look-up first: the unique constraints on the ID hash (open cases) and the form
    # token decide, and the IntegrityError path below says which case already exists.
    person_hash = id_hash(data.id_number)
    # Sealed: encrypted and hashed once for the declaration and the receipt SMS alike.
    phone = crypto.seal(data.phone)
    declaration = new_row(
        Declaration,
        tracking_number=new_tracking_number(),
        channel=Channel.PROXY if data.on_behalf and channel == Channel.QR else channel,
        village_id=village.pk,
        region_code=village.code,
        name=data.name,
        phone=phone,
        phone_hash=mobile_hash(phone),
        id_number=data.id_number,
        id_hash=person_hash,
        address_group=data.address_group,
        address_house=data.address_house,
        difficulties=list(data.difficulties),
        description=data.description,
        on_behalf=data.on_behalf,
        declarant_name=data.declarant_name if data.on_behalf else "",
        declarant_phone=crypto.seal(data.declarant_phone)
        if data.on_behalf and data.declarant_phone
        else "",
        declarant_phone_hash=mobile_hash(data.declarant_phone)
        if data.on_behalf and data.declarant_phone
        else "",
        declarant_relation=data.declarant_relation if data.on_behalf else "",
        submission_token=submission_token or None,
        created_by_id=actor.pk if actor else None,
    )
    declaration.village = village  # the SMS and the receipt name it: no query for it
    if actor:
        declaration.created_by = actor
    for attempt in range(3):
        try:
            _write_submission(declaration)
        except IntegrityError:
            # A racing twin won (double tap, or the same person twice at once), or —
            # once in 10^11 — the tracking number collided: find out which.
            existing = _existing(token=submission_token, person_hash=person_hash)
            if existing:
                return existing
            if attempt == 2:
                raise
            declaration.pk = None
            declaration.tracking_number = new_tracking_number()
            continue
        return SubmitResult(declaration, created=True)
    raise AssertionError("unreachable")


# The name of the declaration's INSERT in the one-statement path, for the clocks and
# messages that refer to its id.
_NEW_DECLARATION = "new_declaration"


def _write_submission(declaration: Declaration) -> None:
    """Write the declaration, its two clocks and its SMS atomically; dispatch the SMS
    after commit. Raises IntegrityError, with nothing written, when a unique constraint
    (one open case per person, the form token, the tracking number) refuses it.

    On PostgreSQL this is one statement of three INSERTs (apps/core/sql.py), which is
    its own transaction: a third of the CPU of the ORM's three INSERTs between BEGIN and
    COMMIT (docs/benchmarks.md). Elsewhere (SQLite, the embedded default), or with
    INTAKE_SINGLE_STATEMENT off, the same rows go through the ORM in
    `transaction.atomic()`. The rows come from the same builders either way.
    """
    stages = [ClockSpec(Stage.VERIFY), ClockSpec(Stage.ENROL)]
    if settings.INTAKE_SINGLE_STATEMENT and supports_insert_together():
        new_id = InsertedId(_NEW_DECLARATION)
        clocks = clocks_build(
            subject_type=SUBJECT,
            subject_id=new_id,
            region_code=declaration.region_code,
            stages=stages,
            at=declaration.submitted_at,
        )
        messages = messages_build(
            subject=new_id.text(prefix=f"{SUBJECT}:"),
            region_code=declaration.region_code,
            messages=_submission_sms(declaration, verify_due=clocks[0].due_on),
        )
        ids = insert_together(
            [
                Insert(_NEW_DECLARATION, [declaration], returning=True),
                # No ON CONFLICT: the declaration is new in this very statement, so
                # no clock of it can exist, and PostgreSQL's speculative insertion
                # (probe every unique index, insert, confirm) would be paid for nothing.
                Insert("clocks", clocks),
                Insert("messages", messages, returning=True),
            ]
        )
        messages_dispatch_on_commit(message_ids=ids["messages"])
        return
    with transaction.atomic():
        # The row itself records the creation (when, channel, entered by):
        # Transition rows record every change after it.
        declaration.save(force_insert=True)
        clocks = clocks_start(
            subject_type=SUBJECT,
            subject_id=declaration.pk,
            region_code=declaration.region_code,
            stages=stages,
            at=declaration.submitted_at,
        )
        messages_enqueue(
            subject=f"{SUBJECT}:{declaration.pk}",
            region_code=declaration.region_code,
            messages=_submission_sms(declaration, verify_due=clocks[0].due_on),
        )


@functools.lru_cache(maxsize=32)
def _month_day(day: dt.date, language: str | None) -> str:
    """ "12月9日": every case opened on a day has the same visit date in its SMS."""
    return date_format(day, "MONTH_DAY_FORMAT")


def _submission_sms(declaration: Declaration, *, verify_due: dt.date) -> list[OutgoingSms]:
    """The grid worker's notice and the applicant's receipt (and the declarant's)."""
    due = _month_day(verify_due, get_language())
    village = declaration.village
    messages = [
        OutgoingSms(
            template="grid_new_declaration",
            recipient=phone,
            params={
                "village": village.name,
                "name": mask_name(declaration.name),
                "kinds": declaration.get_difficulties_display(),
                "due": due,
            },
        )
        for phone in notice_recipients(village)
    ]
    receipt = {"tracking": declaration.tracking_number_display, "due": due}
    messages.append(
        OutgoingSms(template="applicant_receipt", recipient=declaration.phone, params=receipt)
    )
    if declaration.on_behalf and declaration.declarant_phone:
        messages.append(
            OutgoingSms(
                template="applicant_receipt", recipient=declaration.declarant_phone, params=receipt
            )
        )
    return messages


REVEALABLE_FIELDS = ("id_number", "phone", "declarant_phone")


def declaration_reveal(
    *, declaration: Declaration, field: str, actor, ip: str | None = None
) -> str:
    """The full value of a masked field, for a permitted user; every look is logged."""
    if field not in REVEALABLE_FIELDS:
        raise ValueError(field)
    if not actor.has_perm("declarations.reveal_personal_data"):
        raise PermissionDenied
    if not Declaration.objects.visible_to(actor).filter(pk=declaration.pk).exists():
        raise PermissionDenied
    PersonalDataAccess.objects.create(
        user=actor, subject=f"declaration:{declaration.pk}", field=field, ip=ip or None
    )
    return getattr(declaration, field)


def declaration_reidentify(
    *, household, actor, phone: str, difficulties: list[str], description: str
) -> SubmitResult:
    """A new risk in a household whose risk was eliminated (按程序重新识别): a cadre opens
    a new declaration for it, linked to the household's history, and the review starts
    again from the village. The household is monitored again once the county approves."""
    from apps.households.models import HouseholdStatus
    from apps.regions.models import VILLAGE_ROLES, require_role_over

    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    if household.status != HouseholdStatus.ELIMINATED:
        raise WrongState
    data = DeclarationInput(
        name=household.head_name,
        phone=phone,
        id_number=household.head_id_number,
        address_group=(
            household.roster_household.address_group if household.roster_household else ""
        )
        or "—",
        address_house="",
        difficulties=difficulties,
        description=description,
    )
    with transaction.atomic():
        result = declaration_submit(
            village=household.village, data=data, channel=Channel.VISIT, actor=actor
        )
        if result.created:
            result.declaration.household = household
            result.declaration.save(update_fields=["household"])
    return result
