"""The household's own facts: what the village keeps up to date, the category the
county decides."""

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import InvalidInput, WrongState
from apps.regions.models import COUNTY_ROLES, VILLAGE_ROLES, require_role_over

from ..models import Category, HouseholdEvent, HouseholdStatus, MonitoredHousehold
from .common import clean_reason


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
        HouseholdEvent.record(
            household=household,
            kind="industry_willing",
            actor=actor,
            summary=_("willing to develop farming or a business")
            if willing
            else _("not willing to develop farming or a business"),
        )
    return household


def household_set_category(
    *, household: MonitoredHousehold, actor, category: str, reason: str
) -> MonitoredHousehold:
    """监测类型: suggested at enrolment, decided by the county, with why. The schedule of
    follow-up visits follows it from the next visit on."""
    require_role_over(actor, household.region_code, COUNTY_ROLES)
    if category not in Category.values:
        raise InvalidInput(_("Choose the monitoring category."))
    reason = clean_reason(reason)
    if household.category == category:
        return household
    with transaction.atomic():
        household.category = category
        household.save(update_fields=["category"])
        HouseholdEvent.record(
            household=household,
            kind="category",
            actor=actor,
            summary=str(Category(category).label),
            reason=reason,
        )
    return household
