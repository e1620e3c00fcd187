"""Household identity (以家庭为单位): which household a person belongs to, by the keyed
hash of their ID number, in the population roster and among the monitored households;
and a household the roster lacks, added to it when a home visit has listed its
members."""

from dataclasses import dataclass

from django.db import transaction

from apps.core.identity import id_hash

from ..models import HouseholdMember, MonitoredHousehold, RosterHousehold, RosterMember
from ..roster import HEAD, HEAD_WORDS


@dataclass(frozen=True)
class HouseholdMatch:
    """The person's roster household and monitored household, either possibly None,
    and their relation to the head as whichever knows them says."""

    roster: RosterHousehold | None = None
    monitored: MonitoredHousehold | None = None
    relation: str = ""


def household_match(person_hash: str) -> HouseholdMatch:
    """The households of the person whose ID number has this keyed hash.

    The roster household is the one listing them (a person is in one household of the
    roster). The monitored household is the one they head, else one listing them as a
    member (still monitored first, then the latest enrolled), else the one of their
    roster household. A monitored household that knows its roster household gives it
    when the roster does not list the person.
    """
    member = RosterMember.objects.filter(id_hash=person_hash).select_related("household").first()
    roster = member.household if member else None
    relation = member.relation if member else ""
    monitored = MonitoredHousehold.objects.filter(head_id_hash=person_hash).first()
    if monitored is not None:
        relation = relation or HEAD
    else:
        listed = (
            HouseholdMember.objects.filter(id_hash=person_hash)
            .select_related("household")
            .order_by("-household__status", "-household__enrolled_at")  # "monitoring" first
            .first()
        )
        if listed is not None:
            monitored, relation = listed.household, relation or listed.relation
        elif roster is not None:
            monitored = MonitoredHousehold.objects.filter(roster_household=roster).first()
    if roster is None and monitored is not None and monitored.roster_household_id:
        roster = monitored.roster_household
    return HouseholdMatch(roster=roster, monitored=monitored, relation=relation)


@dataclass(frozen=True)
class RosterMemberFacts:
    name: str
    relation: str
    id_number: str  # validated
    labour_capacity: str
    health: str = ""
    disability_grade: int | None = None
    schooling: str = "none"


def roster_household_add(
    *, village, number: str, address_group: str, members: list[RosterMemberFacts]
) -> RosterHousehold:
    """Add a household the roster lacks, with those of its members whom the roster does
    not list yet (a person is in one household of the roster: one listed elsewhere
    stays there). Its head is the member whose relation says so, else the first.
    Callers check who may; `number` is its 户编号 until the village register lists it."""
    head = next((m for m in members if m.relation in HEAD_WORDS), members[0])
    hashes = {id_hash(m.id_number): m for m in members}
    listed = set(RosterMember.objects.filter(id_hash__in=hashes).values_list("id_hash", flat=True))
    with transaction.atomic():
        household = RosterHousehold.objects.create(
            village=village,
            region_code=village.code,
            number=number,
            head_name=head.name,
            address_group=address_group[:30],
        )
        RosterMember.objects.bulk_create(
            [
                RosterMember(
                    household=household,
                    name=m.name,
                    relation=HEAD if m.relation in HEAD_WORDS else m.relation,
                    id_number=m.id_number,
                    id_hash=h,
                    labour_capacity=m.labour_capacity,
                    health=m.health,
                    disability_grade=m.disability_grade,
                    schooling=m.schooling,
                )
                for h, m in hashes.items()
                if h not in listed
            ]
        )
    return household
