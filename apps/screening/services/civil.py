"""The civil-affairs linkage: declarations pushed to civil affairs on a
schedule, compared against its assistance rolls, and verified cases routed to
civil-affairs assistance, to poverty-return monitoring, or both."""

import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import InvalidInput, NotPermitted, WrongState
from apps.core.replica import replica_reads
from apps.core.xlsx import period_line, workbook
from apps.declarations.models import Declaration, State, Transition
from apps.households.models import RosterMember
from apps.households.services.common import clean_text
from apps.regions.models import COUNTY_ROLES, TOWNSHIP_ROLES, Level, Region, require_role_over

from ..models import (
    AssistanceKind,
    AssistanceRecord,
    CaseRouting,
    CivilAffairsExport,
    WarningSource,
)
from .raising import Raised, warnings_raise
from .rules import Hit, Person

# Declarations of this many days back are compared and exported.
WINDOW_DAYS = 365
LOW_INCOME = "low_income"


def assistance_of(id_hash: str) -> list[str]:
    """The assistance a person receives, as labels, from the civil-affairs rolls."""
    kinds = sorted(
        set(AssistanceRecord.objects.filter(id_hash=id_hash).values_list("kind", flat=True))
    )
    return [str(AssistanceKind(k).label) for k in kinds]


def _compared(county_code: str, now) -> list[Declaration]:
    since = now - dt.timedelta(days=WINDOW_DAYS)
    return list(
        Declaration.objects.filter(region_code__startswith=county_code[:6], submitted_at__gte=since)
        .exclude(state__in=[State.MERGED, State.WITHDRAWN, State.ENROLLED])
        .select_related("village")
    )


def civil_affairs_compare(*, county_code: str, now=None) -> Raised:
    """Declarants of the county receiving no assistance at all become low-income
    warnings: on the open case (the township sees it in review), or — for a declaration
    not enrolled — a new warning for the village to verify. Once per declarant."""
    now = now or timezone.now()
    declarations = _compared(county_code, now)
    hashes = {d.id_hash for d in declarations}
    assisted = set(
        AssistanceRecord.objects.filter(id_hash__in=hashes).values_list("id_hash", flat=True)
    )
    already = set(
        WarningSource.objects.filter(rule=LOW_INCOME, warning__id_hash__in=hashes).values_list(
            "warning__id_hash", flat=True
        )
    )
    roster = dict(
        RosterMember.objects.filter(id_hash__in=hashes).values_list("id_hash", "household_id")
    )
    hits = []
    for d in declarations:
        if d.id_hash in assisted or d.id_hash in already:
            continue
        person = Person(
            id_hash=d.id_hash,
            id_number=d.id_number,
            name=d.name,
            village_id=d.village_id,
            region_code=d.region_code,
            roster_household_id=roster.get(d.id_hash),
            monitored_household_id=d.household_id,
        )
        summary = _("Receives none of the civil-affairs assistance (低保, 特困, 临时救助 …)")
        hits.append(
            Hit(LOW_INCOME, summary, person.household_key, d.village_id, d.region_code, person)
        )
        already.add(d.id_hash)
    return warnings_raise(hits=hits, department=_("civil affairs comparison"), now=now)


ROUTING_ROLES = TOWNSHIP_ROLES | COUNTY_ROLES
# A case is verified once the village has visited the household.
VERIFIED_STATES = [
    State.VERIFIED,
    State.IN_NOTICE,
    State.RETURNED,
    State.TOWNSHIP_REVIEW,
    State.COUNTY_REVIEW,
    State.ENROLLED,
    State.REJECTED,
]


def declaration_route(
    *, declaration: Declaration, actor, to_civil_affairs: bool, to_monitoring: bool, note: str = ""
) -> CaseRouting:
    """Route a verified case: to civil-affairs assistance, to monitoring, or both."""
    require_role_over(actor, declaration.region_code, ROUTING_ROLES)
    if declaration.state not in VERIFIED_STATES:
        raise WrongState
    if not (to_civil_affairs or to_monitoring):
        raise InvalidInput(_("Route the case to civil affairs, to monitoring, or both."))
    note = clean_text(note, label=_("the note"), max_length=500, required=False)
    with transaction.atomic():
        routing, _created = CaseRouting.objects.update_or_create(
            declaration=declaration,
            defaults={
                "to_civil_affairs": to_civil_affairs,
                "to_monitoring": to_monitoring,
                "note": note,
                "decided_by": actor,
                "decided_at": timezone.now(),
                "received_at": None,
            },
        )
        Transition.record(
            declaration=declaration,
            actor=actor,
            kind="routed",
            summary="、".join(
                str(CaseRouting._meta.get_field(f).verbose_name)
                for f in ("to_civil_affairs", "to_monitoring")
                if getattr(routing, f)
            ),
            reason=note,
        )
    return routing


def routing_receive(*, routing: CaseRouting, actor) -> CaseRouting:
    """Civil affairs acknowledges a case routed to it."""
    if not CaseRouting.objects.visible_to(actor).filter(pk=routing.pk, to_civil_affairs=True):
        raise NotPermitted
    if routing.received_at is None:
        with transaction.atomic():
            if CaseRouting.objects.filter(pk=routing.pk, received_at__isnull=True).update(
                received_at=timezone.now()
            ):
                Transition.record(
                    declaration=routing.declaration, actor=actor, kind="routing_received"
                )
        routing.refresh_from_db()
    return routing


EXPORT_HEADER = [
    "受理编号",
    "姓名",
    "身份证号",
    "村",
    "申报时间",
    "困难类型",
    "办理环节",
    "已享受救助",
]


def civil_affairs_export(*, county: Region, now=None) -> CivilAffairsExport:
    """The county's declarations of the last year, for civil affairs to compare with its
    rolls (the full ID numbers: the comparison needs them; the file is served only to
    the county and its civil-affairs staff, and each download is logged)."""
    if county.level != Level.COUNTY:
        raise ValueError("a county")
    now = now or timezone.now()
    # Read off the primary (when a replica is configured): a year's declarations may lag
    # a moment; the export's row and file are written to the primary.
    with replica_reads():
        rows = [
            [
                d.tracking_number,
                d.name,
                d.id_number,
                d.village.name,
                timezone.localtime(d.submitted_at).strftime("%Y-%m-%d"),
                d.get_difficulties_display(),
                str(d.get_state_display()),
                "、".join(assistance_of(d.id_hash)),
            ]
            for d in _compared(county.code, now)
        ]
    export = CivilAffairsExport(county=county, rows=len(rows), created_at=now)
    export.file.save(
        f"civil-affairs-{county.code}-{timezone.localtime(now):%Y%m%d%H%M%S}.xlsx",
        ContentFile(
            workbook(
                _("Declarations for comparison with the civil-affairs rolls"),
                period_line(
                    region=county.name,
                    start=timezone.localdate(now - dt.timedelta(days=WINDOW_DAYS)),
                    end=timezone.localdate(now),
                ),
                EXPORT_HEADER,
                rows,
                sheet_name=county.name,
            )
        ),
        save=True,
    )
    return export


def civil_affairs_exports_all(*, now=None) -> int:
    """The scheduled step: one export per county, and the comparison with the rolls."""
    made = 0
    for county in Region.objects.filter(level=Level.COUNTY):
        civil_affairs_export(county=county, now=now)
        civil_affairs_compare(county_code=county.code, now=now)
        made += 1
    return made


def export_downloaded(*, export: CivilAffairsExport, actor, ip: str | None = None) -> None:
    record(Action.DOWNLOAD, actor=actor, ip=ip, target=export, field="id_number")
