"""Reconciliation (账账相符): per county, the households under monitoring in three
books, and the households the books disagree on, by name.

* **Here**: the monitored households under monitoring (`MonitoredHousehold`, status
  "under monitoring").
* **National**: the households of the county's last national import (`NationalRecord`,
  written by each import of the national system's file), less those whose risk the
  national system records as eliminated.
* **Roster**: the roster households the population register marks as monitored
  (`RosterHousehold.monitored`, the roster import's 是否监测户 column).

A household is the same in all three when its head is the same person: the keyed hash of
the head's ID number (`head_id_hash`; in the roster, the member whose relation is the
head). A household whose head changed in one book and not in another is a difference:
the books must name the same head.

Every queryset goes through `visible_to`; callers read through `replica_reads()`.
"""

from dataclasses import dataclass, field

from apps.core.imports import Status
from apps.households.models import (
    MonitoredHousehold,
    NationalImport,
    NationalRecord,
    RosterMember,
)
from apps.households.roster import HEAD
from apps.regions.models import PREFIX_LENGTH, Level, Region

COUNTY_PREFIX = PREFIX_LENGTH[Level.COUNTY]
BOOKS = ("here", "national", "roster")


@dataclass
class Difference:
    """A household not in all three books."""

    name: str
    village: str
    here: bool = False
    national: bool = False
    roster: bool = False


@dataclass
class CountyBooks:
    county: Region
    here: int = 0
    national: int = 0
    roster: int = 0
    national_import: NationalImport | None = None  # the last one done
    differences: list[Difference] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.differences


def counties_of(user, region: Region) -> list[Region]:
    """The counties in `region` (itself if a county) that the user sees."""
    return list(
        Region.objects.visible_to(user)
        .subtree_of(region)
        .filter(level=Level.COUNTY)
        .order_by("code")
    )


def reconcile(user, region: Region) -> list[CountyBooks]:
    """The three books of each county of `region` the user sees; the differences of
    each county by village, then name."""
    books = {c.prefix: CountyBooks(county=c) for c in counties_of(user, region)}
    if not books:
        return []
    prefix = region.prefix
    here = (
        MonitoredHousehold.objects.visible_to(user)
        .monitoring()
        .filter(region_code__startswith=prefix)
        .values_list("head_id_hash", "head_name", "region_code")
    )
    national = (
        NationalRecord.objects.visible_to(user)
        .filter(region_code__startswith=prefix, eliminated=False)
        .values_list("head_id_hash", "head_name", "region_code")
    )
    roster = (
        RosterMember.objects.visible_to(user)
        .filter(
            household__region_code__startswith=prefix,
            household__monitored=True,
            relation=HEAD,
        )
        .values_list("id_hash", "name", "household__region_code")
    )
    # Per county: each head's hash -> (name, village code, the books listing them).
    seen: dict[str, dict[str, tuple[str, str, set]]] = {p: {} for p in books}
    for book, rows in zip(BOOKS, (here, national, roster), strict=True):
        for id_hash, name, code in rows:
            county = seen.get(code[:COUNTY_PREFIX])
            if county is not None:
                county.setdefault(id_hash, (name, code, set()))[2].add(book)
    for p, county in seen.items():
        for book in BOOKS:
            setattr(books[p], book, sum(book in found for _n, _c, found in county.values()))
    villages = dict(
        Region.objects.filter(
            code__in={
                code
                for county in seen.values()
                for _name, code, found in county.values()
                if len(found) < len(BOOKS)
            }
        ).values_list("code", "name")
    )
    for p, county in seen.items():
        books[p].differences = sorted(
            (
                Difference(
                    name=name,
                    village=villages.get(code, code),
                    **{book: book in found for book in BOOKS},
                )
                for name, code, found in county.values()
                if len(found) < len(BOOKS)
            ),
            key=lambda d: (d.village, d.name),
        )
    for imported in (
        NationalImport.objects.visible_to(user)
        .filter(status=Status.DONE, region_code__startswith=prefix)
        .order_by("finished_at")
    ):
        if imported.region_code[:COUNTY_PREFIX] in books:
            books[imported.region_code[:COUNTY_PREFIX]].national_import = imported
    return list(books.values())
