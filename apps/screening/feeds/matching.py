"""The apply of a feed batch: the staged rows, in row order and in chunks of
`CHUNK_ROWS`, matched by keyed hash against the roster (`RosterMember.id_hash`) and the
monitored households (head and members), within the department's region subtree only —
a disaster by its region code, one record per affected village. Each chunk costs a
handful of queries whatever its size: the people are built in bulk, the rule of the
feed runs in Python, the records of matches are inserted with ON CONFLICT (record_key)
DO NOTHING, and only the records that are new raise warnings (`warnings_raise`), so
importing the same data again — the same file, another file, the same API batch —
changes nothing. For the hits of a chunk, and only those, a second pass over the stored
file (in the same row order, so it advances with the chunks) picks up the plaintext ID
number the warning needs; it is checked against the staged hash. Records that match
nobody are counted on the batch, not kept.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from apps.core import crypto, tabular
from apps.core.identity import validate_id_number
from apps.core.imports import rows
from apps.households.models import HouseholdMember, IncomeRecord, RosterMember
from apps.regions.models import Level, Region

from ..models import AssistanceRecord, FeedRecord, FeedSubject, FieldType
from ..services import Hit, Person, Village, warnings_raise
from .ruling import Rules

CHUNK_ROWS = 5_000  # staged rows matched, ruled and written at a time
RAISE_HITS = 1_000  # hits raised at a time (one SMS per village and call)


@dataclass(frozen=True)
class Staged:
    """A checked row as staged: no ID number, its keyed hash."""

    rownum: int
    id_hash: str | None
    region_prefix: str | None  # disaster: the code's prefix (a village, township …)
    record_key: str
    data: dict


def _staged_chunks() -> Iterator[list[Staged]]:
    """The staged rows in row order, CHUNK_ROWS at a time (keyset pagination)."""
    last = -1
    while True:
        chunk = rows(
            "SELECT rownum, id_hash, region_prefix, record_key, data FROM feed_stage "
            "WHERE rownum > %s ORDER BY rownum LIMIT %s",
            [last, CHUNK_ROWS],
        )
        if not chunk:
            return
        last = chunk[-1][0]
        yield [Staged(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in chunk]


class PlaintextReader:
    """The second pass: the plaintext ID number of given rows, in ascending row order."""

    def __init__(self, importer, spec):
        self.fileobj = importer.obj.file.open("rb")
        self.rows = importer.rows(self.fileobj)
        header = next(self.rows, (1, []))[1]
        self.index = importer.map_columns(header).get(spec.key_of(FieldType.ID_NUMBER))
        self.hash = crypto.keyed_hasher("id")

    def id_number(self, rownum: int, id_hash: str) -> str:
        for n, values in self.rows:
            if n == rownum:
                number = validate_id_number(tabular.cell(values[self.index]))
                if self.hash(number) != id_hash:
                    raise RuntimeError("the batch's file changed during the import")
                return number
        raise RuntimeError(f"row {rownum} not found again in the batch's file")

    def close(self) -> None:
        self.rows.close()  # the reader first: it detaches from the file
        self.fileobj.close()


# --- matching ---------------------------------------------------------------------------


@dataclass
class Counts:
    records_new: int = 0
    records_matched: int = 0
    records_unmatched: int = 0  # rows matching no one of the region
    records_known: int = 0  # rows whose records had all been received before
    warnings_raised: int = 0
    warnings_merged: int = 0


ROSTER_SQL = """SELECT s.id_hash, m.id, m.name, m.disability_grade, h.id, h.village_id,
        h.region_code, h.formerly_poor
    FROM feed_stage s
    JOIN households_rostermember m ON m.id_hash = s.id_hash
    JOIN households_rosterhousehold h ON h.id = m.household_id
    WHERE s.rownum > %s AND s.rownum <= %s AND h.region_code LIKE %s"""
# The monitored households of the chunk's people: by their head, by a member, or as
# the monitored household of their roster household. (pk, village, region code,
# roster household, head hash, person's hash, grade, name)
MONITORED_SQL = """SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id,
        mh.head_id_hash, s.id_hash, NULL, ''
    FROM feed_stage s JOIN households_monitoredhousehold mh ON mh.head_id_hash = s.id_hash
    WHERE s.rownum > %s AND s.rownum <= %s AND mh.region_code LIKE %s
    UNION ALL
    SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id, mh.head_id_hash,
        s.id_hash, hm.disability_grade, hm.name
    FROM feed_stage s JOIN households_householdmember hm ON hm.id_hash = s.id_hash
    JOIN households_monitoredhousehold mh ON mh.id = hm.household_id
    WHERE s.rownum > %s AND s.rownum <= %s AND mh.region_code LIKE %s
    UNION ALL
    SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id, mh.head_id_hash,
        NULL, NULL, ''
    FROM households_monitoredhousehold mh
    WHERE mh.region_code LIKE %s AND mh.roster_household_id IN (
        SELECT m.household_id FROM feed_stage s
        JOIN households_rostermember m ON m.id_hash = s.id_hash
        WHERE s.rownum > %s AND s.rownum <= %s)"""


def _people(lo: int, hi: int, prefix: str) -> tuple[dict[str, Person], dict[str, int]]:
    """What is known of each person of the staged rows lo < row <= hi who is of the
    rural population of the region: from the roster, else from the monitored
    households; and the roster member of each. Joined against the staging table: a
    few queries for the whole chunk, no lists of parameters."""
    like = prefix + "%"
    found: dict[str, Person] = {}
    members: dict[str, int] = {}
    for h, member_id, name, grade, household_id, village_id, code, poor in rows(
        ROSTER_SQL, [lo, hi, like]
    ):
        members[h] = member_id
        found[h] = Person(
            id_hash=h,
            id_number="",
            name=name,
            village_id=village_id,
            region_code=code,
            roster_household_id=household_id,
            formerly_poor=poor,
            disability_grade=grade,
        )
    by_roster: dict[int, int] = {}
    by_person: dict[str, tuple] = {}
    for pk, village_id, code, roster_id, _head, h, grade, name in rows(
        MONITORED_SQL, [lo, hi, like, lo, hi, like, like, lo, hi]
    ):
        if roster_id:
            by_roster[roster_id] = pk
        if h:
            by_person.setdefault(h, (pk, village_id, code, grade, name))
    for h, person in list(found.items()):
        monitored = by_person.get(h, (by_roster.get(person.roster_household_id),))[0]
        if monitored:
            found[h] = replace(person, monitored_household_id=monitored)
    for h, (pk, village_id, code, grade, name) in by_person.items():
        if h not in found:
            found[h] = Person(
                id_hash=h,
                id_number="",
                name=name or "",
                village_id=village_id,
                region_code=code,
                monitored_household_id=pk,
                disability_grade=grade,
            )
    _incomes(found)
    return found, members


def _incomes(found: dict[str, Person]) -> None:
    """The monitored households' latest net income, for the medical income share."""
    ids = {p.monitored_household_id for p in found.values() if p.monitored_household_id}
    if not ids:
        return
    latest: dict[int, Decimal] = {}
    for household_id, net in (
        IncomeRecord.objects.filter(household_id__in=ids)
        .order_by("household_id", "-period_end", "-pk")
        .values_list("household_id", "net_income")
    ):
        latest.setdefault(household_id, net)
    for h, p in list(found.items()):
        if p.monitored_household_id in latest:
            found[h] = replace(p, annual_income=latest[p.monitored_household_id])


def _capacities(people: list[Person]) -> dict[str, tuple[str, ...]]:
    """The labour capacities of the members of each hit's household (the score's labour
    factor): the monitored household's, else the roster's."""
    monitored = {p.monitored_household_id for p in people if p.monitored_household_id}
    roster = {
        p.roster_household_id
        for p in people
        if p.roster_household_id and not p.monitored_household_id
    }
    of: dict[str, list[str]] = defaultdict(list)
    for household_id, capacity in HouseholdMember.objects.filter(
        household_id__in=monitored
    ).values_list("household_id", "labour_capacity"):
        of[f"m{household_id}"].append(capacity)
    for household_id, capacity in RosterMember.objects.filter(household_id__in=roster).values_list(
        "household_id", "labour_capacity"
    ):
        of[f"r{household_id}"].append(capacity)
    return {
        p.id_hash: tuple(
            of[f"m{p.monitored_household_id}"]
            if p.monitored_household_id
            else of[f"r{p.roster_household_id}"]
        )
        for p in people
    }


class Applier:
    """Matches the staged rows of one batch chunk by chunk, and hands each chunk to
    the handler of its definition's effect (effects.py), which rules and writes."""

    def __init__(self, importer, now):
        self.batch = batch = importer.obj
        self.spec = importer.spec
        self.definition = batch.definition
        self.department = batch.department
        self.prefix = self.department.region_prefix
        self.now = now
        self.counts = Counts()
        self.counties: set[str] = set()  # of the assistance records
        self.pending: list[Hit] = []
        self.by_person = self.definition.subject == FeedSubject.PERSON
        self.plaintext = PlaintextReader(importer, self.spec) if self.by_person else None
        self.rules = Rules(self.spec, self.prefix, timezone.localdate(now).year)

    def run(self) -> Counts:
        from .effects import handler

        handle = handler(self.definition.effect)
        self.last = -1  # the row before the chunk
        try:
            for chunk in _staged_chunks():
                handle(self, chunk)
                self.last = chunk[-1].rownum
            self._raise([], flush=True)
        finally:
            if self.plaintext:
                self.plaintext.close()
        return self.counts

    def people(self, chunk: list[Staged]) -> tuple[dict[str, Person], dict[str, int]]:
        """The chunk's people of the rural population of the region, and their roster
        members."""
        return _people(self.last, chunk[-1].rownum, self.prefix)

    def earlier(self, field: str, keys) -> dict[str, list[dict]]:
        """What this definition's earlier deliveries said of these people (by ID hash)
        or villages (by code)."""
        found: dict[str, list[dict]] = defaultdict(list)
        if not self.rules.needs_earlier or not keys:
            return found
        for key, data in (
            FeedRecord.objects.filter(definition=self.definition, **{f"{field}__in": list(keys)})
            .exclude(batch=self.batch)
            .values_list(field, "data")
        ):
            found[key].append(data)
        return found

    def keep(self, chunk: list[Staged]) -> tuple[list, dict[str, Person], dict[str, int]]:
        """Keep the records of the chunk's matched people (the new ones: record key ->
        id); nothing is raised."""
        people, members = self.people(chunk)
        records = [
            self._record(
                row, row.record_key, people[row.id_hash].region_code, members.get(row.id_hash)
            )
            for row in chunk
            if row.id_hash in people
        ]
        self.counts.records_matched += len(records)
        self.counts.records_unmatched += len(chunk) - len(records)
        new = self._insert(records)
        self.counts.records_known += len(records) - len(new)
        return new, people, members

    def warn_people(self, chunk: list[Staged]) -> None:
        people, members = self.people(chunk)
        earlier = self.earlier("id_hash", people)
        records, hits = [], []
        for row in chunk:
            person = people.get(row.id_hash)
            if person is None:
                continue  # not of the rural population in the region: counted, not kept
            records.append(
                self._record(row, row.record_key, person.region_code, members.get(row.id_hash))
            )
            county = person.region_code[:6] + "000000"
            fired = self.rules.fired(row.data, person, county, earlier.get(row.id_hash, []))
            if fired:
                hits.append((row, person, fired))
        self.counts.records_matched += len(records)
        self.counts.records_unmatched += len(chunk) - len(records)
        new = self._insert(records)
        self.counts.records_known += len(records) - len(new)
        hits = [hit for hit in hits if hit[0].record_key in new]
        capacities = _capacities([p for _row, p, _fired in hits])
        final = []
        for row, person, fired in hits:
            number = self.plaintext.id_number(row.rownum, row.id_hash)
            person = replace(
                person,
                id_number=number,
                name=person.name or row.data.get("name", ""),
                capacities=capacities.get(person.id_hash, ()),
            )
            for rule in fired:
                hit = self.rules.person_hit(rule, row.data, person)
                final.append(replace(hit, record_id=new[row.record_key]))
        self._raise(final)

    def warn_regions(self, chunk: list[Staged]) -> None:
        """A record about a region concerns every village under its code: one record,
        and one warning, per village."""
        prefixes = {r.region_prefix for r in chunk}
        villages: dict[str, list[Village]] = defaultdict(list)
        condition = Q()
        for prefix in prefixes:
            condition |= Q(code__startswith=prefix)
        for pk, code, name in (
            Region.objects.filter(condition, level=Level.VILLAGE)
            .order_by("code")
            .values_list("pk", "code", "name")
        ):
            for prefix in prefixes:
                if code.startswith(prefix):
                    villages[prefix].append(Village(pk, code, name))
        codes = {v.code for vs in villages.values() for v in vs}
        earlier = self.earlier("region_code", codes)
        records, hits, keys_of = [], [], []
        for row in chunk:
            keys = []
            for village in villages[row.region_prefix]:
                key = hashlib.sha256(f"{row.record_key}:{village.code}".encode()).hexdigest()
                keys.append(key)
                records.append(self._record(row, key, village.code))
                county = village.code[:6] + "000000"
                for rule in self.rules.fired(row.data, None, county, earlier.get(village.code, [])):
                    hits.append((key, self.rules.region_hit(rule, row.data, village)))
            keys_of.append(keys)
        self.counts.records_matched += len(records)
        new = self._insert(records)
        self.counts.records_unmatched += sum(1 for keys in keys_of if not keys)
        self.counts.records_known += sum(
            1 for keys in keys_of if keys and not any(k in new for k in keys)
        )
        self._raise([replace(hit, record_id=new[key]) for key, hit in hits if key in new])

    def assistance(self, chunk: list[Staged]) -> None:
        """Civil affairs' rolls are kept whole (declarants need not be in the roster),
        each under the county of the person, else the department's, else the ID's."""
        people, _members = self.people(chunk)
        own_county = (
            self.department.region.code[:6] + "000000"
            if self.department.region.level >= Level.COUNTY
            else ""
        )
        records = []
        for row in chunk:
            person = people.get(row.id_hash)
            if person is not None:
                county = person.region_code[:6] + "000000"
            else:
                county = own_county or self.plaintext.id_number(row.rownum, row.id_hash)[:6].ljust(
                    12, "0"
                )
            records.append(
                AssistanceRecord(
                    batch=self.batch,
                    record_key=row.record_key,
                    id_hash=row.id_hash,
                    kind=row.data["assistance_kind"],
                    county_code=county,
                    since=row.data.get("since"),
                )
            )
            self.counts.records_matched += person is not None
            self.counts.records_unmatched += person is None
        before = AssistanceRecord.objects.filter(batch=self.batch).count()
        AssistanceRecord.objects.bulk_create(records, ignore_conflicts=True)
        inserted = AssistanceRecord.objects.filter(batch=self.batch).count() - before
        self.counts.records_new += inserted
        self.counts.records_known += len(records) - inserted
        self.counties |= {r.county_code for r in records}

    def _record(self, row: Staged, key: str, region_code: str, member_id=None) -> FeedRecord:
        return FeedRecord(
            batch=self.batch,
            definition=self.definition,
            record_key=key,
            row_number=row.rownum,
            id_hash=row.id_hash or "",
            region_code=region_code,
            data=row.data,
            roster_member_id=member_id,
            created_at=self.now,
        )

    def _insert(self, records: list[FeedRecord]) -> dict[str, int]:
        """Insert the records not already known (the same record of any earlier batch:
        the same key); record key -> id of the new ones."""
        if not records:
            return {}
        FeedRecord.objects.bulk_create(records, ignore_conflicts=True, batch_size=CHUNK_ROWS)
        new = dict(
            FeedRecord.objects.filter(
                batch=self.batch, record_key__in=[r.record_key for r in records]
            ).values_list("record_key", "pk")
        )
        self.counts.records_new += len(new)
        return new

    def _raise(self, hits: list[Hit], flush: bool = False) -> None:
        """Raise the hits a few thousand at a time: each call merges, opens, starts
        the clocks and tells each village once, whatever the number of its hits."""
        self.pending += hits
        if not self.pending or (len(self.pending) < RAISE_HITS and not flush):
            return
        hits, self.pending = self.pending, []
        raised = warnings_raise(hits=hits, department=self.department.name, now=self.now)
        self.counts.warnings_raised += raised.raised
        self.counts.warnings_merged += raised.added + raised.merged
