"""Reminders for warnings' clocks: the same sweep as every other clock (declarations'
reminders), with a resolver that also knows whose a warning is — its village."""

from apps.deadlines.models import Clock
from apps.declarations.services.reminders import Holder, clock_holders, deadlines_sweep
from apps.regions.models import Level

from ..models import Warning
from .raising import SUBJECT


def holders(clocks: list[Clock]) -> dict[Clock, tuple[Holder, str]]:
    found = clock_holders([c for c in clocks if c.subject_type != SUBJECT])
    ids = [c.subject_id for c in clocks if c.subject_type == SUBJECT]
    warnings = Warning.objects.select_related("village").in_bulk(ids)
    for clock in clocks:
        warning = warnings.get(clock.subject_id) if clock.subject_type == SUBJECT else None
        if warning is not None:
            holder = Holder(
                warning.village, warning.person_name or warning.village.name, warning.region_code
            )
            found[clock] = (holder, Level.VILLAGE)
    return found


holders.subject_types = clock_holders.subject_types | {SUBJECT}


def sweep(*, now=None) -> dict[str, int]:
    """The periodic step for every clock of the system (the beat runs this one)."""
    return deadlines_sweep(now=now, resolve=holders)
