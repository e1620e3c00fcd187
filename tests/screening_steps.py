"""Department data for the screening tests: a department, a batch, records matched to
people of the roster, and the hits the rules make of them — without the file import,
which has its own tests."""

import hashlib
from decimal import Decimal

import pytest

from apps.core.identity import id_hash
from apps.households.models import RosterHousehold, RosterMember
from apps.screening.models import Department, DepartmentMember, FeedBatch, FeedKind, FeedRecord
from apps.screening.services import Person

from .conftest import ANDING, WOGOU, make_staff
from .households_steps import new_id


@pytest.fixture
def medical_dept(regions):
    return Department.objects.create(
        code="anding-yibao", name="安定区医保局", region=regions[ANDING], kinds=[FeedKind.MEDICAL]
    )


@pytest.fixture
def batch(medical_dept):
    return FeedBatch.objects.create(
        department=medical_dept, kind=FeedKind.MEDICAL, batch_id="b1", source="api"
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


def department_user(name, department, region):
    user = make_staff(name, region, "department")
    DepartmentMember.objects.create(user=user, department=department)
    return user
