"""Reads of the warning pages: the village's worklist with the 5-day clock of each
warning, one warning with its sources, and what civil-affairs staff see.

Every read starts from a `visible_to` queryset, or — for civil-affairs department staff,
who see no casework — from the regions of their civil-affairs departments. Lists load
their clocks in one query for the whole page (no query per row).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from apps.deadlines.models import Clock
from apps.deadlines.services import Mark, clock_mark, clock_marks
from apps.households.scoring import WEIGHTS, factor_label
from apps.regions.models import Level, Region, roles_over

from .models import (
    AssistanceRecord,
    CaseRouting,
    CivilAffairsExport,
    Warning,
    WarningSource,
    WarningState,
    civil_affairs_prefixes,
)
from .services import SUBJECT, assistance_of
from .services.civil import ROUTING_ROLES, VERIFIED_STATES

# --- the worklist and the warning ---------------------------------------------------------


def warnings_visible_to(user):
    return Warning.objects.visible_to(user).select_related("village")


def worklist(user):
    """The open warnings the user sees: highest risk score first, then the oldest."""
    return warnings_visible_to(user).open().order_by("-score", "created_at", "pk")


def marks_of(warnings, today: dt.date | None = None) -> list[tuple[Warning, Mark | None]]:
    """Each warning with the mark of its 5-day clock: one query for the whole page."""
    warnings = list(warnings)
    clocks = {
        c.subject_id: c
        for c in Clock.objects.filter(subject_type=SUBJECT, subject_id__in=[w.pk for w in warnings])
    }
    marks = dict(zip(clocks, clock_marks(list(clocks.values()), today=today), strict=True))
    return [(w, marks.get(w.pk)) for w in warnings]


def warning_clock(warning: Warning) -> tuple[Clock | None, Mark | None]:
    clock = Clock.objects.for_subject(SUBJECT, warning.pk).first()
    return clock, clock_mark(clock) if clock else None


def is_village_wide(warning: Warning) -> bool:
    """A disaster warning for a whole village names nobody: the village finds the
    households it hit and declares for each."""
    return not warning.id_hash


@dataclass(frozen=True)
class WeightRow:
    factor: str
    label: str
    weight: int


def score_weights() -> list[WeightRow]:
    """The weights of the score, as the page explains it (they add up to 100)."""
    return [WeightRow(f, factor_label(f), w) for f, w in WEIGHTS.items()]


def score_rows(warning: Warning) -> list[dict]:
    """The warning's kept factors, each with its label."""
    return [{**f, "label": factor_label(f["factor"])} for f in warning.score_factors]


# --- on the declaration's page ------------------------------------------------------------


@dataclass(frozen=True)
class CasePanel:
    sources: list[WarningSource]
    assistance: list[str]
    rolls_received: bool  # the county's assistance rolls are in the system at all
    routing: CaseRouting | None
    can_route: bool
    # The warnings of the case's household that are not on this case: its history.
    household_warnings: list[Warning]


def declaration_panel(declaration, user) -> CasePanel:
    """The department warnings of a case, the assistance its applicant receives and where
    the case is routed: what the township sees in review."""
    sources = list(
        WarningSource.objects.filter(warning__declaration=declaration)
        .select_related("warning")
        .order_by("at", "pk")
    )
    assistance = assistance_of(declaration.id_hash)
    rolls = bool(assistance) or (
        AssistanceRecord.objects.filter(
            county_code__startswith=declaration.region_code[:6]
        ).exists()
    )
    return CasePanel(
        sources=sources,
        assistance=assistance,
        rolls_received=rolls,
        routing=CaseRouting.objects.filter(declaration=declaration).first(),
        can_route=may_route(declaration, user),
        household_warnings=household_warnings(declaration, user),
    )


def household_warnings(declaration, user) -> list[Warning]:
    """Every warning raised for the case's household (its roster household or its
    monitored household) other than those on the case, newest first."""
    household = Q(pk__in=[])
    if declaration.roster_household_id:
        household |= Q(roster_household_id=declaration.roster_household_id)
    if declaration.household_id:
        household |= Q(monitored_household_id=declaration.household_id)
    return list(
        Warning.objects.visible_to(user)
        .filter(household)
        .exclude(declaration=declaration)
        .order_by("-created_at", "-pk")[:20]
    )


def may_route(declaration, user) -> bool:
    """Township and county staff route a case once the village has verified it."""
    return declaration.state in VERIFIED_STATES and bool(
        roles_over(user, declaration.region_code) & ROUTING_ROLES
    )


# --- civil affairs ------------------------------------------------------------------------


def _under(prefixes: list[str], field: str) -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{field}__startswith": prefix})
    return condition


def routed_to_civil_affairs(user):
    return (
        CaseRouting.objects.visible_to(user)
        .filter(to_civil_affairs=True)
        .select_related("declaration__village", "decided_by")
        .order_by("received_at", "-decided_at", "pk")
    )


def referred_warnings(user, prefixes: list[str]):
    """The warnings the villages referred to civil affairs, in the user's regions."""
    qs = Warning.objects.filter(state=WarningState.REFERRED)
    if not user.is_superuser:
        qs = qs.filter(_under(prefixes, "region_code"))
    return qs.select_related("village").prefetch_related("sources").order_by("-verified_at", "pk")


def exports_visible_to(user):
    """Civil-affairs exports of the counties of the user's civil-affairs departments."""
    qs = CivilAffairsExport.objects.select_related("county")
    if user.is_superuser:
        return qs
    return qs.filter(_under(civil_affairs_prefixes(user), "county__code"))


def export_counties(user, prefixes: list[str]):
    """The counties the user may make an export for."""
    qs = Region.objects.filter(level=Level.COUNTY)
    return qs if user.is_superuser else qs.filter(_under(prefixes, "code"))
