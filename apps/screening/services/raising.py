"""Turning hits into warnings: one household, one open case, every source listed on it.

For each household hit: if it has an open declaration, the source joins that case (a
warning in state "merged", shown on the declaration); else if it has an open warning,
the source joins the warning and the score is recomputed; else a new warning opens,
with its 5-day clock (村级研判、线上问询、入户排查), and the village hears by SMS — one
message per village and batch, not one per warning. Everything set-based: a batch of
100,000 records costs a handful of queries per chunk of hits, not per hit.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import due_date, end_of_day
from apps.declarations.models import CLOSED_STATES, Declaration
from apps.declarations.scoring import declarations_add_warning_factors
from apps.households.models import RosterMember
from apps.households.scoring import combine
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import Region
from apps.regions.services import notice_recipients

from ..models import Warning, WarningSource, WarningState
from .rules import Hit

# Clocks of warnings are filed under this subject type.
SUBJECT = "warning"


@dataclass
class Raised:
    raised: int = 0  # new open warnings
    added: int = 0  # sources added to an open warning
    merged: int = 0  # sources added to an open declaration


def _open_declarations(hits: list[Hit]) -> dict[str, Declaration]:
    """The open declaration of each hit household, if any: by its members' ID hashes
    (roster) or by the monitored household it belongs to."""
    roster_ids = {
        h.person.roster_household_id for h in hits if h.person and h.person.roster_household_id
    }
    monitored_ids = {
        h.person.monitored_household_id
        for h in hits
        if h.person and h.person.monitored_household_id
    }
    person_hashes = {h.person.id_hash for h in hits if h.person}
    member_of: dict[str, set[str]] = defaultdict(set)  # id hash → household keys
    for household_id, member_hash in RosterMember.objects.filter(
        household_id__in=roster_ids
    ).values_list("household_id", "id_hash"):
        member_of[member_hash].add(f"r{household_id}")
    for h in hits:
        if h.person:
            member_of[h.person.id_hash].add(h.household_key)
    found: dict[str, Declaration] = {}
    open_cases = Declaration.objects.exclude(state__in=CLOSED_STATES).filter(
        Q(id_hash__in=set(member_of) | person_hashes) | Q(household_id__in=monitored_ids)
    )
    # Locked: their scores are rewritten below (a home visit rescoring one waits).
    for declaration in open_cases.select_for_update().only(
        "pk", "id_hash", "household_id", "region_code", "score_factors"
    ):
        for key in member_of.get(declaration.id_hash, ()):
            found.setdefault(key, declaration)
        if declaration.household_id:
            found.setdefault(f"m{declaration.household_id}", declaration)
    return found


def _sources(warning: Warning, hits: list[Hit], department: str) -> list[WarningSource]:
    return [
        WarningSource(
            warning=warning,
            record_id=h.record_id,
            rule=h.rule,
            summary=h.summary[:200],
            department=department[:100],
        )
        for h in hits
    ]


def _factors(hits: list[Hit]) -> list[dict]:
    return [f.as_json() for h in hits for f in h.factors]


def warnings_raise(*, hits: list[Hit], department: str = "", now=None) -> Raised:
    """Raise, merge and route the hits of one chunk, in one transaction."""
    now = now or timezone.now()
    if not hits:
        return Raised()
    by_key: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_key[hit.household_key].append(hit)
    result = Raised()
    with transaction.atomic():
        _serialise()
        declarations = _open_declarations(hits)
        open_warnings = {
            w.household_key: w
            for w in Warning.objects.open()
            .filter(household_key__in=list(by_key))
            .select_for_update()
        }
        merged_warnings = {
            (w.household_key, w.declaration_id): w
            for w in Warning.objects.filter(
                state=WarningState.MERGED,
                household_key__in=list(by_key),
                declaration_id__in=[d.pk for d in declarations.values()],
            )
        }
        new: list[tuple[Warning, list[Hit]]] = []
        sources: list[WarningSource] = []
        # The declarations the hits join, with the factors they bring (their scores).
        rescored_cases: dict[int, tuple[Declaration, list[dict]]] = {}
        for key, group in by_key.items():
            first = group[0]
            declaration = declarations.get(key)
            if declaration is not None:
                warning = merged_warnings.get((key, declaration.pk))
                if warning is None:
                    warning = _new_warning(first, group, state=WarningState.MERGED, now=now)
                    warning.declaration = declaration
                    new.append((warning, group))
                else:
                    _rescore(warning, group)
                    sources += _sources(warning, group, department)
                rescored_cases.setdefault(declaration.pk, (declaration, []))[1].extend(
                    _factors(group)
                )
                result.merged += len(group)
            elif key in open_warnings:
                warning = open_warnings[key]
                _rescore(warning, group)
                sources += _sources(warning, group, department)
                result.added += len(group)
            else:
                new.append((_new_warning(first, group, state=WarningState.OPEN, now=now), group))
                result.raised += 1
        Warning.objects.bulk_create([w for w, _group in new])
        for warning, group in new:
            sources += _sources(warning, group, department)
        # A record already raised for a rule stays raised once (re-imports).
        WarningSource.objects.bulk_create(sources, ignore_conflicts=True)
        rescored = [w for w in open_warnings.values() if getattr(w, "_rescored", False)]
        rescored += [w for w in merged_warnings.values() if getattr(w, "_rescored", False)]
        if rescored:
            Warning.objects.bulk_update(rescored, ["score", "score_factors"])
        if rescored_cases:
            declarations_add_warning_factors(rescored_cases)
        opened = [w for w, _group in new if w.state == WarningState.OPEN]
        _start_clocks(opened, now)
        _tell_villages(opened, now)
    return result


# Any constant: raising runs one chunk at a time across the whole system, so two imports
# never both open a warning for the same household (PostgreSQL; SQLite serialises
# writers anyway).
LOCK_KEY = 7_341_601


def _serialise() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _new_warning(first: Hit, group: list[Hit], *, state: str, now) -> Warning:
    score, factors = combine(_factors(group))
    person = first.person
    return Warning(
        village_id=first.village_id,
        region_code=first.region_code,
        household_key=first.household_key,
        roster_household_id=person.roster_household_id if person else None,
        monitored_household_id=person.monitored_household_id if person else None,
        person_name=person.name if person else "",
        id_number=person.id_number if person else "",
        id_hash=person.id_hash if person else "",
        score=score,
        score_factors=factors,
        created_at=now,
        state=state,
    )


def _rescore(warning: Warning, group: list[Hit]) -> None:
    warning.score, warning.score_factors = combine(list(warning.score_factors) + _factors(group))
    warning._rescored = True


def _start_clocks(warnings: list[Warning], now) -> None:
    if not warnings:
        return
    due_on, provisional = due_date(Stage.WARNING, timezone.localdate(now))
    Clock.objects.bulk_create(
        [
            Clock(
                subject_type=SUBJECT,
                subject_id=w.pk,
                stage=Stage.WARNING,
                region_code=w.region_code,
                started_at=now,
                due_on=due_on,
                due_at=end_of_day(due_on),
                provisional=provisional,
            )
            for w in warnings
        ],
        ignore_conflicts=True,
    )


def _tell_villages(warnings: list[Warning], now) -> None:
    per_village = Counter(w.village_id for w in warnings)
    if not per_village:
        return
    due_on, _provisional = due_date(Stage.WARNING, timezone.localdate(now))
    due = date_format(due_on, "MONTH_DAY_FORMAT")
    villages_tell(per_village, "warnings", "village_new_warnings", now, due=due)


def villages_tell(per_village: Counter, topic: str, template: str, now, **params) -> None:
    """Each village with new items to check (warnings, reported life events) is told
    once, by SMS to its notice recipients, how many."""
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    for village in Region.objects.filter(pk__in=per_village):
        messages_enqueue(
            subject=f"{topic}:{village.code}:{stamp}",
            region_code=village.code,
            messages=sms_to(
                notice_recipients(village),
                template,
                village=village.name,
                count=str(per_village[village.pk]),
                **params,
            ),
        )
