"""The effects of a feed other than a warning, on the checked rows of a batch (each with
the keyed hash of its ID number, its record key and its data — never the number):

- `life_events_report` (effect "life_event", 公安): a death or a hukou move of the head
  or a member of a monitored household, or of the applicant of an open case, becomes a
  `ReportedLifeEvent` for the village to confirm. Nothing else changes: the village
  confirms (`life_event_confirm`), then the existing life-event services run — a member
  died or left the household (`member_leave`), the applicant died during the review
  (`declaration_applicant_died`) — or it does not (`life_event_dismiss`), with a reason.
- `property_records_keep` (effect "property_check", 市场监管, 公安交管, 不动产登记): a
  business, vehicle or real estate of such a person becomes a `PropertyRecord`, shown on
  the case's property check and on the household's page.

People are matched within the department's region subtree only, like every feed.
A record key already known (the same record delivered again) changes nothing.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import WrongState
from apps.declarations.models import Declaration
from apps.declarations.services.life_events import Successor, declaration_applicant_died
from apps.households.models import (
    HouseholdMember,
    HouseholdStatus,
    MemberLeft,
    MonitoredHousehold,
    RosterMember,
)
from apps.households.services.common import clean_reason
from apps.households.services.life_events import is_head, member_leave
from apps.regions.models import VILLAGE_ROLES, require_role_over

from .models_effects import (
    LifeEventKind,
    PropertyRecord,
    ReportedLifeEvent,
    ReportedLifeEventLog,
    ReportState,
)
from .services.raising import villages_tell

# The sample file of each shipped feed, <code>.csv: the upload page offers it.
SAMPLES = Path(__file__).resolve().with_name("samples")

# The words of the 公安 feed's "change" field, and the life event each is.
CHANGE_WORDS = {
    "died": LifeEventKind.DIED,
    "moved": LifeEventKind.MOVED,
    "死亡": LifeEventKind.DIED,
    "迁出": LifeEventKind.MOVED,
}


@dataclass(frozen=True)
class Row:
    """A checked row: what the effects need of it (the engine's staged row fits)."""

    id_hash: str
    record_key: str
    data: dict


@dataclass(frozen=True)
class Target:
    """Whom a record concerns: a member of a monitored household, and/or the applicant
    of an open case."""

    village_id: int
    region_code: str
    household_id: int | None = None
    member_id: int | None = None
    declaration_id: int | None = None


def _head_member(household: MonitoredHousehold) -> HouseholdMember | None:
    return next((m for m in household.members.all() if is_head(household, m)), None)


def match(hashes: set[str], prefix: str) -> dict[str, Target]:
    """The monitored household member and the open case of each hash, within the region
    of `prefix`: a member by their own hash, the head by the household's, anyone of the
    roster by the monitored household of their roster household (a member of that name);
    an applicant by the case's hash. A handful of queries per call."""
    like = {"region_code__startswith": prefix}
    found: dict[str, dict] = {}
    live = MonitoredHousehold.objects.exclude(status=HouseholdStatus.MERGED).filter(**like)
    for member in HouseholdMember.objects.filter(
        id_hash__in=hashes, household__in=live
    ).select_related("household"):
        found[member.id_hash] = {"household": member.household, "member": member}
    for household in live.filter(head_id_hash__in=hashes - set(found)).prefetch_related("members"):
        found[household.head_id_hash] = {"household": household, "member": _head_member(household)}
    rest = hashes - set(found)
    if rest:
        roster = {
            m.id_hash: m
            for m in RosterMember.objects.filter(
                id_hash__in=rest, household__region_code__startswith=prefix
            )
        }
        by_roster = {
            h.roster_household_id: h
            for h in live.filter(
                roster_household_id__in={m.household_id for m in roster.values()}
            ).prefetch_related("members")
        }
        for h, person in roster.items():
            household = by_roster.get(person.household_id)
            if household is None:
                continue
            member = next(
                (
                    m
                    for m in household.members.all()
                    if m.name == person.name and m.id_hash in ("", h)
                ),
                None,
            )
            found[h] = {"household": household, "member": member}
    for case in Declaration.objects.open().filter(id_hash__in=hashes, **like):
        found.setdefault(case.id_hash, {})["declaration"] = case
    targets = {}
    for h, what in found.items():
        household, case = what.get("household"), what.get("declaration")
        place = case or household
        member = what.get("member")
        targets[h] = Target(
            village_id=place.village_id,
            region_code=place.region_code,
            household_id=household.pk if household else None,
            member_id=member.pk if member else None,
            declaration_id=case.pk if case else None,
        )
    return targets


def _new(model, rows: list) -> list:
    """Insert the rows whose record key is not known yet; the ones inserted."""
    known = set(
        model.objects.filter(record_key__in=[r.record_key for r in rows]).values_list(
            "record_key", flat=True
        )
    )
    fresh = [r for r in rows if r.record_key not in known]
    model.objects.bulk_create(fresh, ignore_conflicts=True)
    return list(model.objects.filter(record_key__in=[r.record_key for r in fresh]))


def _count(counts, *, matched: int = 0, new: int = 0) -> None:
    """Add to the batch's counts (the engine's `Counts`), when given."""
    if counts is not None:
        counts.records_matched += matched
        counts.records_new += new


# --- life events --------------------------------------------------------------------------


def life_events_report(
    *, batch, rows: Iterable[Row], now=None, counts=None
) -> list[ReportedLifeEvent]:
    """The deaths and moves of the rows that concern a monitored household or an open
    case, kept for the village to confirm. The row's data: change (死亡/迁出), date,
    name, moved_to (optional)."""
    now = now or timezone.now()
    rows = [r for r in rows if r.id_hash and str(r.data.get("change")) in CHANGE_WORDS]
    targets = match({r.id_hash for r in rows}, batch.department.region_prefix)
    reports = []
    for row in rows:
        target = targets.get(row.id_hash)
        if target is None:
            continue  # nobody the system follows: counted on the batch, not kept
        reports.append(
            ReportedLifeEvent(
                batch=batch,
                department=batch.department.name,
                record_key=row.record_key,
                kind=CHANGE_WORDS[str(row.data["change"])],
                person_name=str(row.data.get("name") or "")[:30],
                id_hash=row.id_hash,
                happened_on=dt.date.fromisoformat(str(row.data["date"])),
                moved_to=str(row.data.get("moved_to") or "")[:100],
                village_id=target.village_id,
                region_code=target.region_code,
                household_id=target.household_id,
                member_id=target.member_id,
                declaration_id=target.declaration_id,
                created_at=now,
            )
        )
    _count(counts, matched=len(reports))
    if not reports:
        return []
    with transaction.atomic():
        new = _new(ReportedLifeEvent, reports)
        _count(counts, new=len(new))
        villages_tell(
            Counter(r.village_id for r in new), "life-events", "village_life_events_reported", now
        )
        for report in new:
            ReportedLifeEventLog.record(
                report=report,
                actor=None,
                actor_label=report.department[:50],
                kind="reported",
                summary=_summary(report),
            )
    return new


def _summary(report: ReportedLifeEvent) -> str:
    what = _("%(name)s %(what)s on %(date)s") % {
        "name": report.person_name,
        "what": report.get_kind_display(),
        "date": report.happened_on.isoformat(),
    }
    if report.moved_to:
        what += _(" (to %(place)s)") % {"place": report.moved_to}
    return what[:200]


def _locked(report: ReportedLifeEvent, actor) -> ReportedLifeEvent:
    require_role_over(actor, report.region_code, VILLAGE_ROLES)
    report = ReportedLifeEvent.objects.select_for_update().get(pk=report.pk)
    if not report.is_pending:
        raise WrongState(_("This report was decided already."))
    return report


def life_event_confirm(
    *,
    report: ReportedLifeEvent,
    actor,
    reason: str,
    new_head: HouseholdMember | None = None,
    successor: Successor | None = None,
) -> ReportedLifeEvent:
    """The village confirms what the department reported; then the existing services
    act: the member died or left the household (the head's going needs `new_head`);
    the applicant of the open case died (the case continues with `successor`, or
    closes). A move of an applicant leaves the case as it is: moving a case to another
    village is the township's or the county's (`case_move`)."""
    reason = clean_reason(reason)
    with transaction.atomic():
        report = _locked(report, actor)
        member = (
            HouseholdMember.on_record.filter(pk=report.member_id)
            .select_related("household")
            .first()
        )
        done = []
        if member is not None and member.is_current:
            why = MemberLeft.DIED if report.kind == LifeEventKind.DIED else MemberLeft.LEFT
            member_leave(
                member=member,
                actor=actor,
                why=why,
                left_on=report.happened_on,
                reason=reason,
                new_head=new_head,
            )
            done.append(_("recorded on the household"))
        case = report.declaration
        if (
            report.kind == LifeEventKind.DIED
            and case is not None
            and case.is_open
            and case.id_hash == report.id_hash
        ):
            declaration_applicant_died(
                declaration=case,
                actor=actor,
                died_on=report.happened_on,
                reason=reason,
                successor=successor,
            )
            done.append(_("recorded on the case"))
        report.state = ReportState.CONFIRMED
        report.decided_by, report.decided_at = actor, timezone.now()
        report.save(update_fields=["state", "decided_by", "decided_at"])
        ReportedLifeEventLog.record(
            report=report,
            actor=actor,
            kind="confirmed",
            summary="；".join(done) or _("confirmed"),
            reason=reason,
        )
    return report


def life_event_dismiss(*, report: ReportedLifeEvent, actor, reason: str) -> ReportedLifeEvent:
    """The village finds the report wrong (not this person, not so): nothing changes but
    the report, closed with the reason."""
    reason = clean_reason(reason)
    with transaction.atomic():
        report = _locked(report, actor)
        report.state = ReportState.DISMISSED
        report.decided_by, report.decided_at = actor, timezone.now()
        report.save(update_fields=["state", "decided_by", "decided_at"])
        ReportedLifeEventLog.record(report=report, actor=actor, kind="dismissed", reason=reason)
    return report


def needs_new_head(report: ReportedLifeEvent) -> bool:
    member = HouseholdMember.objects.filter(pk=report.member_id).select_related("household").first()
    return member is not None and is_head(member.household, member)


# --- property -----------------------------------------------------------------------------


def _shown(definition) -> list[tuple[str, str, dict]]:
    """The fields a property record shows: (key, label, choice value → label), the ID
    number and the name apart."""
    from .feeds.definitions import parse_choices

    shown = []
    for field in definition.fields.all():
        if field.type in ("id_number", "name"):
            continue
        labels = {c.value: c.label for c in parse_choices(field.choices)} if field.choices else {}
        shown.append((field.key, field.label, labels))
    return shown


def property_records_keep(
    *, batch, rows: Iterable[Row], now=None, counts=None
) -> list[PropertyRecord]:
    """The businesses, vehicles or real estate of the rows that concern a monitored
    household or an open case, kept for the property check, each with what the
    department says of it (its fields other than the ID number and the name)."""
    now = now or timezone.now()
    rows = [r for r in rows if r.id_hash]
    targets = match({r.id_hash for r in rows}, batch.department.region_prefix)
    shown = _shown(batch.definition)
    records = []
    for row in rows:
        target = targets.get(row.id_hash)
        if target is None:
            continue
        summary = "；".join(
            f"{label}：{choices.get(str(row.data[key]), row.data[key])}"
            for key, label, choices in shown
            if row.data.get(key) not in (None, "")
        )
        records.append(
            PropertyRecord(
                batch=batch,
                department=batch.department.name,
                record_key=row.record_key,
                definition_id=batch.definition_id,
                person_name=str(row.data.get("name") or "")[:30],
                id_hash=row.id_hash,
                summary=summary[:300],
                region_code=target.region_code,
                household_id=target.household_id,
                declaration_id=target.declaration_id,
                created_at=now,
            )
        )
    _count(counts, matched=len(records))
    new = _new(PropertyRecord, records) if records else []
    _count(counts, new=len(new))
    return new


def property_records_of(*, user, declaration=None, household=None):
    """The property records the user may see of a case (its applicant's, its household's)
    or of a monitored household."""
    from django.db.models import Q

    condition = Q(pk__in=[])
    if declaration is not None:
        condition |= Q(declaration=declaration) | Q(id_hash=declaration.id_hash)
        if declaration.household_id:
            condition |= Q(household_id=declaration.household_id)
    if household is not None:
        condition |= Q(household=household)
    return (
        PropertyRecord.objects.visible_to(user)
        .filter(condition)
        .select_related("definition")
        .order_by("definition", "pk")
    )


# --- the engine's handlers (feeds/effects.py) -------------------------------------------------


# Each keeps the matched people's records as the engine's default does (and counts
# them on the batch), then reports the life events or keeps the property records.


def life_event_handler(applier, chunk) -> None:
    applier.keep(chunk)
    life_events_report(batch=applier.batch, rows=chunk, now=applier.now)


def property_check_handler(applier, chunk) -> None:
    applier.keep(chunk)
    property_records_keep(batch=applier.batch, rows=chunk, now=applier.now)
