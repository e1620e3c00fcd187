"""The household's own facts that the village keeps up to date."""

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import WrongState
from apps.regions.models import VILLAGE_ROLES, require_role_over

from ..models import HouseholdStatus, MonitoredHousehold
from .common import log_event


def household_set_industry_willing(
    *, household: MonitoredHousehold, actor, willing: bool
) -> MonitoredHousehold:
    """发展意愿: whether the household wants to develop farming or a business, which the
    plan's suggestions of industry support follow."""
    require_role_over(actor, household.region_code, VILLAGE_ROLES)
    if household.status != HouseholdStatus.MONITORING:
        raise WrongState
    if household.industry_willing == willing:
        return household
    with transaction.atomic():
        household.industry_willing = willing
        household.save(update_fields=["industry_willing"])
        log_event(
            household=household,
            kind="industry_willing",
            actor=actor,
            summary=_("willing to develop farming or a business")
            if willing
            else _("not willing to develop farming or a business"),
        )
    return household
