"""The green channel (绿色通道): for a disaster, an accident or a severe illness that
leaves a family plainly and urgently in need, help is given at once and recorded, and
the identification must finish within one month on its own (urgent) clock, through the
normal review. Whatever the outcome, the help given stays on record; if the household is
enrolled, it opens the household's plan as delivered help.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.core.errors import InvalidInput, WrongState
from apps.core.identity import mask_name
from apps.deadlines.models import Stage
from apps.deadlines.services import ClockSpec, clocks_start
from apps.households.models import PolicyMeasure
from apps.households.services import DeliveredHelp
from apps.households.services.common import clean_text
from apps.households.services.plans import clean_help
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import CASEWORK_ROLES, Role, require_role_over
from apps.regions.services import notice_recipients

from ..models import (
    Declaration,
    GreenCause,
    GreenChannel,
    GreenChannelHelp,
    Transition,
    VisitDocument,
)
from .intake import SUBJECT

# Village staff or anyone above them.
GREEN_ROLES = CASEWORK_ROLES | {Role.CITY, Role.PROVINCE}


def declaration_open_green_channel(
    *,
    declaration: Declaration,
    actor,
    cause: str,
    reason: str,
    evidence: VisitDocument | None = None,
) -> GreenChannel:
    require_role_over(actor, declaration.region_code, GREEN_ROLES)
    if not declaration.is_open:
        raise WrongState
    if cause not in GreenCause.values:
        raise InvalidInput(_("Choose the cause: a disaster, an accident or a severe illness."))
    reason = clean_text(reason, label=_("why the hardship is plain and urgent"), max_length=1000)
    if evidence is not None and evidence.declaration_id != declaration.pk:
        raise InvalidInput(_("The evidence document belongs to another case."))
    try:
        with transaction.atomic():
            green = GreenChannel.objects.create(
                declaration=declaration,
                cause=cause,
                reason=reason,
                evidence=evidence,
                opened_by=actor,
            )
            Transition.record(
                declaration=declaration,
                actor=actor,
                kind="green_channel_opened",
                summary=str(GreenCause(cause).label),
                reason=reason,
            )
            (clock,) = clocks_start(
                subject_type=SUBJECT,
                subject_id=declaration.pk,
                region_code=declaration.region_code,
                stages=[ClockSpec(Stage.GREEN_CHANNEL, urgent=True)],
                at=green.opened_at,
            )
            messages_enqueue(
                subject=f"declaration:{declaration.pk}:green",
                region_code=declaration.region_code,
                messages=sms_to(
                    notice_recipients(declaration.village, group=declaration.address_group),
                    "green_channel_opened",
                    village=declaration.village.name,
                    name=mask_name(declaration.name),
                    due=date_format(clock.due_on, "MONTH_DAY_FORMAT"),
                ),
            )
    except IntegrityError:
        raise InvalidInput(_("The green channel is already open for this case.")) from None
    return green


@dataclass(frozen=True)
class HelpInput:
    title: str
    responsible: str
    delivered_on: dt.date
    policy: PolicyMeasure | None = None
    kind: str = ""
    details: str = ""
    amount: Decimal | None = None


def green_channel_record_help(
    *, declaration: Declaration, actor, help: HelpInput
) -> GreenChannelHelp:
    """Help given at once (先行帮扶), before the household is identified."""
    require_role_over(actor, declaration.region_code, GREEN_ROLES)
    green = getattr(declaration, "green_channel", None)
    if green is None:
        raise WrongState
    h = help
    given = clean_help(
        county_code=declaration.region_code[:6] + "000000",
        policy=h.policy,
        kind=h.kind,
        title=h.title,
        details=h.details,
        responsible=h.responsible,
        amount=h.amount,
    )
    if h.delivered_on > timezone.localdate():
        raise InvalidInput(_("The date cannot be in the future."))
    if h.delivered_on < timezone.localdate(declaration.submitted_at) - dt.timedelta(days=31):
        raise InvalidInput(_("Help given long before the declaration does not belong here."))
    with transaction.atomic():
        Transition.record(
            declaration=declaration, actor=actor, kind="green_help_recorded", summary=given.title
        )
        return GreenChannelHelp.objects.create(
            green_channel=green, delivered_on=h.delivered_on, recorded_by=actor, **given.fields()
        )


def green_help_for_plan(declaration: Declaration) -> list[DeliveredHelp]:
    """The green channel's help, to open the household's plan with."""
    green = getattr(declaration, "green_channel", None)
    if green is None:
        return []
    return [
        DeliveredHelp(
            kind=h.kind,
            title=h.title,
            details=h.details,
            amount=h.amount,
            delivered_on=h.delivered_on,
            responsible=h.responsible,
            policy_id=h.policy_id,
        )
        for h in green.help.all()
    ]
