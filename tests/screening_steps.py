"""Department data for the screening tests: a department, a batch, records matched to
people of the roster, and the hits the feeds' rules (the engine, apps/screening/feeds/
ruling.py) make of them — without the file import, which has its own tests."""

import hashlib
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.identity import id_hash
from apps.households.models import RosterHousehold, RosterMember
from apps.screening.feeds import spec_of
from apps.screening.feeds.ruling import Rules
from apps.screening.models import (
    Department,
    DepartmentMember,
    FeedBatch,
    FeedDefinition,
    FeedRecord,
    FeedRule,
    FeedThreshold,
)
from apps.screening.services import Hit, Person, Village

from .conftest import ANDING, WOGOU, make_staff
from .households_steps import new_id


@pytest.fixture
def medical_dept(regions):
    return Department.objects.create(
        code="anding-yibao", name="安定区医保局", region=regions[ANDING], kinds=["medical"]
    )


@pytest.fixture
def batch(medical_dept):
    return FeedBatch.objects.create(
        department=medical_dept, kind="medical", batch_id="b1", source="api"
    )


def roster_household(regions, *, number="001", serials=(1, 2), village=WOGOU, poor=False):
    """A roster household of 窝沟村: the head (first serial) and the others."""
    household = RosterHousehold.objects.create(
        village=regions[village],
        region_code=village,
        number=number,
        head_name="张占军",
        formerly_poor=poor,
    )
    for i, serial in enumerate(serials):
        number_ = new_id(serial)
        RosterMember.objects.create(
            household=household,
            name="张占军" if i == 0 else f"家人{i}",
            relation="户主" if i == 0 else "子女",
            id_number=number_,
            id_hash=id_hash(number_),
            labour_capacity="full",
        )
    return household


def person(household, *, serial=1, **extra) -> Person:
    number = new_id(serial)
    values = dict(
        id_hash=id_hash(number),
        id_number=number,
        name="张占军",
        village_id=household.village_id,
        region_code=household.region_code,
        roster_household_id=household.pk,
        formerly_poor=household.formerly_poor,
        capacities=tuple(household.members.values_list("labour_capacity", flat=True)),
    )
    values.update(extra)
    return Person(**values)


def record(batch, who: Person, data: dict, *, row=1) -> FeedRecord:
    key = hashlib.sha256(
        f"{batch.pk}:{row}:{sorted(data.items())}:{who.id_hash}".encode()
    ).hexdigest()
    return FeedRecord.objects.create(
        batch=batch,
        kind=batch.kind,
        record_key=key,
        row_number=row,
        id_hash=who.id_hash,
        region_code=who.region_code,
        data=data,
    )


def medical(paid, total=None, date="2026-11-20") -> dict:
    return {
        "out_of_pocket": str(Decimal(paid)),
        "total_cost": str(Decimal(total or paid * 3)),
        "date": date,
    }


def rule_hits(code: str, data: dict, subject: Person | Village, *, earlier=()) -> list[Hit]:
    """The hits the rules of the definition `code` (as in the database: the builtin or
    shipped one, with the counties' lines) make of a record about a person, or about a
    village for a region feed — the engine's own `Rules`, as the import applies them.
    `data` is the record as staged; `earlier` what earlier deliveries said of the
    subject."""
    spec = spec_of(FeedDefinition.objects.get(code=code))
    region = subject.code if isinstance(subject, Village) else subject.region_code
    county = region[:6] + "000000"
    rules = Rules(spec, county, timezone.localdate().year)
    if isinstance(subject, Village):
        fired = rules.fired(data, None, county, list(earlier))
        return [rules.region_hit(rule, data, subject) for rule in fired]
    fired = rules.fired(data, subject, county, list(earlier))
    return [rules.person_hit(rule, data, subject) for rule in fired]


def rule_hit(code: str, data: dict, subject: Person | Village, **kwargs) -> Hit | None:
    """The one hit of a definition whose rules share one code (or none)."""
    hits = rule_hits(code, data, subject, **kwargs)
    assert len(hits) <= 1
    return hits[0] if hits else None


def medical_line(county, out_of_pocket, income_share="0.5", year=2026) -> None:
    """A county's medical-cost line for the year of the records (`medical`): the two
    medical rules' lines."""
    for kind, value in (("threshold", out_of_pocket), ("income_share", income_share)):
        FeedThreshold.objects.create(
            rule=FeedRule.objects.get(definition__code="medical", kind=kind),
            county=county,
            year=year,
            value=Decimal(str(value)),
        )


def department_user(name, department, region):
    user = make_staff(name, region, "department")
    DepartmentMember.objects.create(user=user, department=department)
    return user
