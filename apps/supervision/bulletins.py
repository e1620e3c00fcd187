"""Issuing a bulletin (通报): township and higher offices issue the bulletin of their own
region for a period. The number (〔2026〕12号) is the office's next of the year, taken
under a row lock of its sequence in the same transaction as the bulletin, so numbers
run without gaps or twins however many issue at once; the content is stored as it is
at issue."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import InvalidInput, NotPermitted
from apps.regions.models import Level, Region, Role, user_memberships

from .models_bulletins import Bulletin, BulletinSequence

# Who issues for the region of their membership (the office's own staff).
ISSUE_ROLES = frozenset({Role.TOWNSHIP, Role.COUNTY, Role.CITY, Role.PROVINCE})


def may_issue(user, region: Region) -> bool:
    """Township and higher staff, for the region they are staff of (not one below)."""
    if region.level > Level.TOWNSHIP or not user.is_authenticated:
        return False
    return any(
        prefix == region.prefix and role in ISSUE_ROLES for prefix, role in user_memberships(user)
    )


def office_name(region: Region) -> str:
    """The issuing office: the region's rural-revitalisation bureau, or for a township
    its office."""
    if region.level == Level.TOWNSHIP:
        return _("%(region)s Rural Revitalisation Office") % {"region": region.name}
    return _("%(region)s Rural Revitalisation Bureau") % {"region": region.name}


def _next_serial(region: Region, year: int) -> int:
    """The office's next number of the year, its sequence row locked until commit."""
    try:
        with transaction.atomic():
            BulletinSequence.objects.get_or_create(region=region, year=year)
    except IntegrityError:  # a simultaneous first issue of the year created it
        pass
    sequence = BulletinSequence.objects.select_for_update().get(region=region, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


def bulletin_issue(
    *,
    region: Region,
    actor,
    title: str,
    period_start: dt.date,
    period_end: dt.date,
    figures: dict,
    content: str,
    now=None,
) -> Bulletin:
    """Number, date and archive the bulletin. Refuses (NotPermitted) anyone but the
    region's own township-or-higher staff, and a period that is not one."""
    if not may_issue(actor, region):
        raise NotPermitted(_("Only the region's own township or higher staff may issue it."))
    if period_end < period_start:
        raise InvalidInput(_("The end is before the start."))
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        serial = _next_serial(region, today.year)
        bulletin = Bulletin.objects.create(
            region=region,
            region_code=region.code,
            region_prefix=region.prefix,
            office=office_name(region),
            year=today.year,
            serial=serial,
            issued_on=today,
            issued_at=now,
            issued_by=actor,
            title=title[:200],
            period_start=period_start,
            period_end=period_end,
            figures=figures,
            content=content,
        )
        # Its named lists go to every recipient: audited like an export, in the same
        # transaction as the bulletin.
        record(Action.EXPORT, actor=actor, target=bulletin, kind="bulletin", number=str(bulletin))
    return bulletin
