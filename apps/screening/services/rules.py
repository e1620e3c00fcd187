"""The rule of each feed: when a department's record, matched to a person of the rural
population, becomes a warning for the village to verify within 5 days.

- medical: out-of-pocket costs at or above the county's line for the year, or above its
  share of the household's annual income;
- disability: a new grade 1–2 disability;
- college: a new college student from a monitored or formerly poor household;
- disaster: a disaster affecting a village (matched by region, not by person).
Each hit carries its factors of the risk score.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from apps.households.scoring import (
    Factor,
    burden_factor,
    disability_factor,
    disaster_factor,
    labour_factor,
)


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
class Hit:
    rule: str
    summary: str
    household_key: str
    village_id: int
    region_code: str
    person: Person | None = None
    factors: tuple[Factor, ...] = ()
    record_id: int | None = None


@dataclass(frozen=True)
class MedicalLine:
    out_of_pocket: Decimal
    income_share: Decimal
    provisional: bool = False  # the county has not set its line: the defaults apply


def default_medical_line() -> MedicalLine:
    return MedicalLine(
        Decimal(str(settings.MEDICAL_OUT_OF_POCKET_DEFAULT)),
        Decimal(str(settings.MEDICAL_INCOME_SHARE_DEFAULT)),
        provisional=True,
    )


def _with_labour(person: Person, factors: list[Factor]) -> tuple[Factor, ...]:
    labour = labour_factor(list(person.capacities))
    return tuple(factors + ([labour] if labour else []))


def medical_rule(data: dict, person: Person, line: MedicalLine) -> Hit | None:
    paid = Decimal(str(data["out_of_pocket"]))
    total = Decimal(str(data["total_cost"]))
    over_line = paid >= line.out_of_pocket
    over_share = (
        person.annual_income is not None
        and person.annual_income > 0
        and paid > line.income_share * person.annual_income
    )
    if not (over_line or over_share):
        return None
    summary = _("Medical costs %(total)s yuan on %(date)s, %(paid)s yuan paid out of pocket") % {
        "total": f"{total:,.0f}",
        "date": data["date"],
        "paid": f"{paid:,.0f}",
    }
    factors = [burden_factor("medical", paid, person.annual_income, _("out-of-pocket costs"))]
    return Hit(
        "medical_cost",
        summary,
        person.household_key,
        person.village_id,
        person.region_code,
        person,
        _with_labour(person, factors),
    )


def disability_rule(data: dict, person: Person) -> Hit | None:
    grade = int(data["grade"])
    if grade not in (1, 2) or person.disability_grade in (1, 2):
        return None
    summary = _("Certified with a grade %(grade)d disability on %(date)s") % {
        "grade": grade,
        "date": data["date"],
    }
    return Hit(
        "new_disability",
        summary,
        person.household_key,
        person.village_id,
        person.region_code,
        person,
        _with_labour(person, [disability_factor(grade)]),
    )


def college_rule(data: dict, person: Person) -> Hit | None:
    if not (person.monitored_household_id or person.formerly_poor):
        return None
    tuition = Decimal(str(data["tuition"]))
    summary = _("Admitted to %(school)s, tuition %(tuition)s yuan a year") % {
        "school": data["school"],
        "tuition": f"{tuition:,.0f}",
    }
    factors = [burden_factor("education", tuition, person.annual_income, _("tuition"))]
    return Hit(
        "new_college_student",
        summary,
        person.household_key,
        person.village_id,
        person.region_code,
        person,
        _with_labour(person, factors),
    )


@dataclass(frozen=True)
class Village:
    id: int
    code: str
    name: str


def disaster_rule(data: dict, village: Village) -> Hit:
    """Every village a disaster affects gets one warning for the event: the village
    judges which households it hit (村级研判) and declares for them."""
    severity = int(data["severity"])
    event = str(data["event"])
    summary = _("%(event)s on %(date)s (severity %(severity)s)") % {
        "event": event,
        "date": data["date"],
        "severity": "ⅠⅡⅢⅣ"[severity - 1],
    }
    return Hit(
        "disaster",
        summary,
        f"v{village.code}:{data['date']}:{event}"[:80],
        village.id,
        village.code,
        None,
        (disaster_factor(severity, event),),
    )
