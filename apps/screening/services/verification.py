"""The village verifies each warning within 5 days ("村级研判、线上问询、入户排查") with
an outcome: no risk (with the reason); a risk, which becomes a declaration (channel:
department warning) entering the review; or a referral to civil affairs."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from apps.core.errors import Conflict, InvalidInput, WrongState
from apps.core.identity import id_hash, validate_id_number, validate_mobile
from apps.deadlines.services import clocks_meet
from apps.declarations.models import Channel, Difficulty
from apps.declarations.scoring import declarations_add_warning_factors
from apps.declarations.services import DeclarationInput, declaration_submit
from apps.households.services.common import clean_text
from apps.regions.models import require_transition_role

from ..models import VerifyMethod, Warning, WarningEvent
from .raising import SUBJECT


class Outcome:
    NO_RISK = "no_risk"
    RISK = "risk"
    REFER = "refer"
    ALL = (NO_RISK, RISK, REFER)
    # The warning's transition for each outcome.
    TRANSITION = {NO_RISK: "find_no_risk", RISK: "convert", REFER: "refer"}


@dataclass(frozen=True)
class Applicant:
    """Who the declaration is for, when the village finds a risk: prefilled from the
    warning; for a village-wide disaster warning, the household the village found."""

    phone: str
    difficulties: list[str]
    address_group: str
    name: str = ""
    id_number: str = ""
    description: str = ""


def warning_verify(
    *,
    warning: Warning,
    actor,
    method: str,
    outcome: str,
    reason: str,
    applicant: Applicant | None = None,
) -> Warning:
    if outcome not in Outcome.ALL:
        raise InvalidInput(_("Choose the outcome."))
    require_transition_role(actor, warning, Outcome.TRANSITION[outcome])
    if not warning.is_open:
        raise WrongState
    if method not in VerifyMethod.values:
        raise InvalidInput(_("Choose how the warning was verified."))
    reason = clean_text(reason, label=_("the finding"), max_length=1000)
    data = _applicant(warning, applicant, reason) if outcome == Outcome.RISK else None

    def close(transition: str) -> None:
        getattr(warning, transition)()
        warning.method = method
        warning.outcome_reason = reason
        warning.verified_by = actor
        warning.verified_at = timezone.now()
        warning.save()
        clocks_meet(subject_type=SUBJECT, subject_id=warning.pk)
        WarningEvent.record(
            warning=warning,
            actor=actor,
            kind=outcome,
            summary=str(VerifyMethod(method).label),
            reason=reason,
        )

    try:
        with transaction.atomic():
            if outcome != Outcome.RISK:
                close(Outcome.TRANSITION[outcome])
            else:
                result = declaration_submit(
                    village=warning.village, data=data, channel=Channel.WARNING, actor=actor
                )
                # Opened now, or the person's case already open: either way the case,
                # whose score takes the warning's factors.
                warning.declaration = result.declaration
                declarations_add_warning_factors(
                    {result.declaration.pk: (result.declaration, list(warning.score_factors))}
                )
                close("convert")
                if warning.monitored_household_id and not result.declaration.household_id:
                    result.declaration.household_id = warning.monitored_household_id
                    result.declaration.save(update_fields=["household"])
    except ConcurrentTransition:
        raise Conflict from None
    return warning


def _applicant(warning: Warning, applicant: Applicant | None, reason: str) -> DeclarationInput:
    if applicant is None:
        raise InvalidInput(_("Enter the applicant's mobile phone and difficulty."))
    try:
        phone = validate_mobile(applicant.phone)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0]) from None
    if not applicant.difficulties or not set(applicant.difficulties) <= set(Difficulty.values):
        raise InvalidInput(_("Choose at least one kind of difficulty."))
    name = warning.person_name or clean_text(applicant.name, label=_("the name"), max_length=30)
    number = warning.id_number or applicant.id_number
    try:
        number = validate_id_number(number)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0]) from None
    if warning.id_hash and id_hash(number) != warning.id_hash:
        raise InvalidInput(_("The ID number is not the one the department's data named."))
    return DeclarationInput(
        name=name,
        phone=phone,
        id_number=number,
        address_group=clean_text(
            applicant.address_group, label=_("the village group"), max_length=30
        ),
        address_house="",
        difficulties=list(applicant.difficulties),
        description=clean_text(
            applicant.description or reason,
            label=_("the description"),
            max_length=500,
            required=False,
        ),
    )
