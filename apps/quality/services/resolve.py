"""The village resolves its items; a province or city opens a self-check round."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import record
from apps.core.errors import InvalidInput, WrongState
from apps.deadlines.services import clocks_meet
from apps.regions.models import (
    VILLAGE_ROLES,
    Level,
    Region,
    Role,
    RolesOver,
    require_role_over,
)

from ..models import ItemEvent, ItemStatus, QualityItem, Rule, SelfCheckRound
from .run import CLOCK_SUBJECT

# Who may run the rules now over their region (the button): county staff and above.
RUN_ROLES = RolesOver({Role.COUNTY, Role.CITY, Role.PROVINCE})
# Who opens a self-check round: province and city staff.
ROUND_ROLES = RolesOver({Role.CITY, Role.PROVINCE})

OUTCOMES = (ItemStatus.CORRECTED, ItemStatus.CONFIRMED)


def item_resolve(*, item: QualityItem, actor, outcome: str, note: str) -> QualityItem:
    """Village staff close an item: the data corrected (and what was corrected), or
    confirmed as right (and why). Either way who, when and what stay in its log."""
    note = (note or "").strip()
    if outcome not in OUTCOMES:
        raise InvalidInput
    if not note:
        raise InvalidInput(_("Say what was corrected, or why the data is right."))
    require_role_over(actor, item.region_code, VILLAGE_ROLES)
    now = timezone.now()
    with transaction.atomic():
        item = QualityItem.objects.select_for_update().get(pk=item.pk)
        if item.status != ItemStatus.OPEN:
            raise WrongState(_("This item is already closed."))
        item.status = outcome
        item.resolved_by = actor
        item.resolution = note
        item.closed_at = now
        item.save(update_fields=["status", "resolved_by", "resolution", "closed_at"])
        ItemEvent.record(
            item=item,
            actor=actor,
            kind=outcome,
            summary=str(item.get_status_display()),
            reason=note,
        )
        clocks_meet(subject_type=CLOCK_SUBJECT, subject_id=item.pk, at=now)
        record(
            "quality.item_resolved",
            actor=actor,
            target=item,
            rule=item.rule,
            outcome=outcome,
        )
    return item


def round_open(
    *, actor, region: Region, title: str, rules: list[str], deadline: dt.date
) -> SelfCheckRound:
    """Open a self-check round over a province or city; its rules run over the subtree
    at once (services.tasks.run_round, after the commit)."""
    if region.level not in (Level.PROVINCE, Level.CITY):
        raise InvalidInput(_("A self-check round covers a province or a city."))
    require_role_over(actor, region.code, ROUND_ROLES)
    if not rules or any(r not in Rule.values for r in rules):
        raise InvalidInput(_("Choose at least one rule."))
    if deadline <= timezone.localdate():
        raise InvalidInput(_("The deadline must be after today."))
    with transaction.atomic():
        check_round = SelfCheckRound.objects.create(
            region=region,
            region_code=region.code,
            title=title.strip(),
            rules=list(rules),
            deadline=deadline,
            opened_by=actor,
        )
        record(
            "quality.round_opened",
            actor=actor,
            target=check_round,
            region=region.code,
            rules=list(rules),
            deadline=deadline.isoformat(),
        )
    return check_round
