"""What a feed's rules (apps/screening/feeds/ruling.py, the one implementation of every
feed rule, from the definitions' data) know of a matched person or village, and the
hit they make of a record: a warning for the village to verify within 5 days, with its
factors of the risk score, for `warnings_raise`."""

from dataclasses import dataclass
from decimal import Decimal

from apps.households.scoring import Factor


@dataclass(frozen=True)
class Person:
    """A matched person and what the system knows of their household."""

    id_hash: str
    id_number: str
    name: str
    village_id: int
    region_code: str
    roster_household_id: int | None = None
    monitored_household_id: int | None = None
    formerly_poor: bool = False
    capacities: tuple[str, ...] = ()
    annual_income: Decimal | None = None  # net, after rigid expenses, if known
    disability_grade: int | None = None  # already on record

    @property
    def household_key(self) -> str:
        if self.roster_household_id:
            return f"r{self.roster_household_id}"
        if self.monitored_household_id:
            return f"m{self.monitored_household_id}"
        return f"p{self.id_hash}"


@dataclass(frozen=True)
class Village:
    """A village a region record concerns (a disaster: every village under its code)."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Hit:
    rule: str
    summary: str
    household_key: str
    village_id: int
    region_code: str
    person: Person | None = None
    factors: tuple[Factor, ...] = ()
    record_id: int | None = None
