"""Opening a case: the public form's submission, and re-identification by a cadre."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from apps.audit.models import Action, Result
from apps.audit.services import record
from apps.core.identity import id_hash, mask_name, mobile_hash
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import ClockSpec, clocks_start
from apps.households.services import household_match
from apps.notifications.services import OutgoingSms, messages_enqueue, sms_to
from apps.regions.models import CASEWORK_ROLES, Region, require_role_over
from apps.regions.services import notice_recipients

from ..models import (
    CLOSED_STATES,
    NOTICE_VERSION,
    STAFF_CHANNELS,
    CaseDeclarant,
    Channel,
    Declaration,
    Transition,
    new_tracking_number,
)
from ..scoring import score_at_intake
from .consent import form_consent
from .errors import WrongState
from .links import case_link

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
    phone_owner: str = "own"  # PhoneOwner: a relative's or the village's number
    phone_owner_relation: str = ""


@dataclass(frozen=True)
class SubmitResult:
    declaration: Declaration
    created: bool
    # Why nothing was created: "duplicate_submit" (same form submitted twice) or
    # "open_case" (this person, or their household, already has a case in progress).
    reason: str = ""
    # A member of a household with an open case: they joined it, as this row.
    declarant: CaseDeclarant | None = None


def declaration_clocks(declaration: Declaration) -> dict[str, Clock]:
    return {c.stage: c for c in Clock.objects.for_subject(SUBJECT, declaration.pk)}


def verify_due_date(declaration: Declaration) -> dt.date | None:
    clock = declaration_clocks(declaration).get(Stage.VERIFY)
    return clock.due_on if clock else None


def enrol_due_date(declaration: Declaration) -> dt.date | None:
    clock = declaration_clocks(declaration).get(Stage.ENROL)
    return clock.due_on if clock else None


def _existing(*, token: str | None, declaration: Declaration, relation: str) -> SubmitResult | None:
    """The case that made the insert fail: the same form's (a double tap), the person's
    open case, or their household's open case, which they join."""
    household = Q(id_hash=declaration.id_hash)
    if declaration.roster_household_id:
        household |= Q(roster_household_id=declaration.roster_household_id)
    if declaration.household_id:
        household |= Q(household_id=declaration.household_id)
    condition = household & ~Q(state__in=CLOSED_STATES)
    if token:
        condition |= Q(submission_token=token)
    found = list(Declaration.objects.filter(condition)[:4])
    for existing in found:
        if token and existing.submission_token == token:
            return SubmitResult(existing, created=False, reason="duplicate_submit")
    for existing in found:
        if existing.id_hash == declaration.id_hash:
            return SubmitResult(existing, created=False, reason="open_case")
    if found:
        joined = _join(found[0], declaration, relation=relation)
        return SubmitResult(found[0], created=False, reason="open_case", declarant=joined)
    return None


def _join(case: Declaration, declaration: Declaration, *, relation: str) -> CaseDeclarant:
    """Add the unsaved `declaration`'s applicant to their household's open `case`, once
    (declaring again changes nothing), with a line in the case's log."""
    with transaction.atomic():
        declarant, created = CaseDeclarant.objects.get_or_create(
            declaration=case,
            id_hash=declaration.id_hash,
            defaults={
                "name": declaration.name,
                "id_number": declaration.id_number,
                "phone": declaration.phone,
                "phone_hash": declaration.phone_hash,
                "relation": relation[:20],
                "difficulties": declaration.difficulties,
                "description": declaration.description,
                "on_behalf": declaration.on_behalf,
                "declarant_name": declaration.declarant_name,
                "declarant_phone": declaration.declarant_phone,
                "declarant_phone_hash": declaration.declarant_phone_hash,
                "declarant_relation": declaration.declarant_relation,
                "channel": declaration.channel,
                "notice_version": NOTICE_VERSION if form_consent(declaration) else "",
                "declared_at": declaration.submitted_at,
                "created_by": declaration.created_by,
            },
        )
        if created:
            Transition.record(
                declaration=case,
                actor=declaration.created_by,
                actor_label="" if declaration.created_by_id else declaration.get_channel_display(),
                kind="declarant_joined",
                summary=f"{declaration.name}（{relation}）" if relation else declaration.name,
                at=declaration.submitted_at,
            )
    return declarant


def declaration_submit(
    *,
    village: Region,
    data: DeclarationInput,
    channel: str = Channel.QR,
    submission_token: str | None = None,
    actor=None,
    applicant_receipt: bool = True,
) -> SubmitResult:
    """Open a case for a household and tell the village; or return the case that exists.

    The declaration, its consent (the public form's channels: the form's consent box is
    required), its deadline clocks and its SMS are written atomically, so an accepted
    declaration always has its consent and its notices queued, whatever Celery's state.
    Without `applicant_receipt` (the public pages' SMS limits were reached) the applicant
    gets no receipt SMS; the village is told all the same.
    """
    if not village.is_village:
        raise ValueError("declarations belong to a village")
    # No look-up of cases first: the unique constraints on the ID hash and on the
    # household (open cases) and on the form token decide, and the IntegrityError path
    # below says which case already exists, or adds the applicant to their household's.
    person_hash = id_hash(data.id_number)
    match = household_match(person_hash)
    declarant_phone = data.declarant_phone if data.on_behalf else ""
    declaration = Declaration(
        channel=Channel.PROXY if data.on_behalf and channel == Channel.QR else channel,
        village=village,
        region_code=village.code,
        name=data.name,
        phone=data.phone,
        phone_hash=mobile_hash(data.phone),
        phone_owner=data.phone_owner,
        phone_owner_relation=data.phone_owner_relation,
        id_number=data.id_number,
        id_hash=person_hash,
        address_group=data.address_group,
        address_house=data.address_house,
        difficulties=list(data.difficulties),
        description=data.description,
        on_behalf=data.on_behalf,
        declarant_name=data.declarant_name if data.on_behalf else "",
        declarant_phone=declarant_phone,
        declarant_phone_hash=mobile_hash(declarant_phone) if declarant_phone else "",
        declarant_relation=data.declarant_relation if data.on_behalf else "",
        submission_token=submission_token or None,
        created_by=actor,
        roster_household=match.roster,
        household=match.monitored,
    )
    # The risk score, in Python: the INSERT writes it (one more query at most, for the
    # household's members, when the roster or a monitored household knows the applicant).
    score_at_intake(declaration)
    for attempt in range(3):
        declaration.tracking_number = new_tracking_number()
        try:
            _write_submission(declaration, applicant_receipt=applicant_receipt)
        except IntegrityError:
            # A racing twin won (double tap, the same person or household twice at
            # once), a case is open, or — very rarely — the tracking number collided:
            # find out which.
            existing = _existing(
                token=submission_token, declaration=declaration, relation=match.relation
            )
            if existing:
                return existing
            if attempt == 2:
                raise
            declaration.pk = None
            continue
        return SubmitResult(declaration, created=True)
    raise AssertionError("unreachable")


def declaration_enter(
    *,
    village: Region,
    data: DeclarationInput,
    channel: str,
    actor,
    submission_token: str | None = None,
) -> SubmitResult:
    """A new declaration a staff member enters: heard on a cadre visit (干部走访), on the
    12317 hotline, or brought on paper. Anyone who works the village's cases (village to
    county) may enter it; it goes through `declaration_submit`, so it has the same
    deduplication, clocks and SMS, and records its channel and who entered it. Nobody
    ticked the form's consent box: the case waits for the household's signed letter
    (services.consent)."""
    if channel not in STAFF_CHANNELS:
        raise ValueError(channel)
    require_role_over(actor, village.code, CASEWORK_ROLES)
    return declaration_submit(
        village=village,
        data=data,
        channel=channel,
        submission_token=submission_token,
        actor=actor,
    )


def _write_submission(declaration: Declaration, *, applicant_receipt: bool = True) -> None:
    """Write the declaration, its consent, its two clocks and its SMS in one
    transaction; the SMS are dispatched after commit. Raises IntegrityError, with
    nothing written, when a unique constraint (one open case per person, the form
    token, the tracking number) refuses it."""
    with transaction.atomic():
        # The row itself records the creation (when, channel, entered by):
        # Transition rows record every change after it.
        declaration.save(force_insert=True)
        consent = form_consent(declaration)
        if consent is not None:
            consent.save(force_insert=True)
        clocks = clocks_start(
            subject_type=SUBJECT,
            subject_id=declaration.pk,
            region_code=declaration.region_code,
            stages=[ClockSpec(Stage.VERIFY), ClockSpec(Stage.ENROL)],
            at=declaration.submitted_at,
        )
        messages_enqueue(
            subject=f"{SUBJECT}:{declaration.pk}",
            region_code=declaration.region_code,
            messages=_submission_sms(
                declaration, verify_due=clocks[0].due_on, applicant_receipt=applicant_receipt
            ),
        )


def _submission_sms(
    declaration: Declaration, *, verify_due: dt.date, applicant_receipt: bool = True
) -> list[OutgoingSms]:
    """The grid worker's notice and the applicant's receipt (and the declarant's)."""
    due = date_format(verify_due, "MONTH_DAY_FORMAT")
    village = declaration.village
    receipts = declaration.applicant_phones if applicant_receipt else []
    return sms_to(
        notice_recipients(village, group=declaration.address_group),
        "grid_new_declaration",
        village=village.name,
        name=mask_name(declaration.name),
        kinds=declaration.get_difficulties_display(),
        due=due,
        link=case_link(declaration.pk),
    ) + sms_to(
        receipts,
        "applicant_receipt",
        tracking=declaration.tracking_number_display,
        due=due,
    )


def open_case_notify(*, declaration: Declaration) -> bool:
    """Someone declared for a person whose case is open: the page shows nothing of the
    case, and its tracking number goes by SMS to the phones on file instead, at most
    once a day per case. True when an SMS was queued."""
    day = timezone.localdate().isoformat()
    try:
        with transaction.atomic():
            return bool(
                messages_enqueue(
                    subject=f"{SUBJECT}:{declaration.pk}:open-case:{day}",
                    region_code=declaration.region_code,
                    messages=sms_to(
                        declaration.applicant_phones,
                        "applicant_open_case",
                        tracking=declaration.tracking_number_display,
                    ),
                    ignore_existing=True,
                )
            )
    except IntegrityError:  # a simultaneous attempt queued it
        return False


def declaration_to_recover(*, id_number: str, phone: str) -> Declaration | None:
    """The latest declaration of this ID number made with this phone (the applicant's
    or the declarant's), for a lost tracking number; None when there is none."""
    phone_key = mobile_hash(phone)
    return (
        Declaration.objects.filter(id_hash=id_hash(id_number))
        .filter(Q(phone_hash=phone_key) | Q(declarant_phone_hash=phone_key))
        .select_related("village")
        .order_by("-submitted_at", "-pk")
        .first()
    )


def tracking_number_send(*, declaration: Declaration, phone: str) -> bool:
    """A lost tracking number goes by SMS to the phone that asked for it (one found on
    the declaration: `declaration_to_recover`), at most once a day per case and phone.
    True when an SMS was queued."""
    day = timezone.localdate().isoformat()
    try:
        with transaction.atomic():
            return bool(
                messages_enqueue(
                    subject=f"{SUBJECT}:{declaration.pk}:recover:{mobile_hash(phone)[:16]}:{day}",
                    region_code=declaration.region_code,
                    messages=sms_to(
                        [phone],
                        "applicant_tracking_recovered",
                        tracking=declaration.tracking_number_display,
                        village=declaration.village.name,
                    ),
                    ignore_existing=True,
                )
            )
    except IntegrityError:  # a simultaneous request queued it
        return False


REVEALABLE_FIELDS = ("id_number", "phone", "declarant_phone")


def declaration_reveal(
    *, declaration: Declaration, field: str, actor, ip: str | None = None
) -> str:
    """The full value of a masked field, for a permitted user; every look is logged."""
    if field not in REVEALABLE_FIELDS:
        raise ValueError(field)
    if not (
        actor.has_perm("declarations.reveal_personal_data")
        and Declaration.objects.visible_to(actor).filter(pk=declaration.pk).exists()
    ):
        record(
            Action.REVEAL, actor=actor, ip=ip, target=declaration, field=field, result=Result.DENIED
        )
        raise PermissionDenied
    record(Action.REVEAL, actor=actor, ip=ip, target=declaration, field=field)
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
