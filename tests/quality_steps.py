"""Stored data for the data-quality tests, written straight through the models: each
test builds the few rows its rule looks at (the services that normally write them have
their own tests), with the keyed hashes the services would compute."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from apps.core.identity import id_check_digit, id_hash
from apps.households.models import (
    HouseholdMember,
    HouseholdStatus,
    LabourCapacity,
    MonitoredHousehold,
    RosterHousehold,
    RosterMember,
)

_serial = iter(range(1, 10**6))


def valid_id(serial: int | None = None) -> str:
    first17 = f"62110219800101{(serial or next(_serial)) % 1000:03d}"
    return first17 + id_check_digit(first17)


def invalid_id() -> str:
    """A well-formed number whose check digit is wrong."""
    number = valid_id()
    wrong = "0" if number[-1] != "0" else "1"
    return number[:17] + wrong


def roster_household(village, number: str, *people: tuple[str, str]) -> RosterHousehold:
    household = RosterHousehold.objects.create(
        village=village, region_code=village.code, number=number, head_name=people[0][0]
    )
    for name, id_number in people:
        RosterMember.objects.create(
            household=household,
            name=name,
            relation="户主",
            id_number=id_number,
            id_hash=id_hash(id_number),
            labour_capacity=LabourCapacity.FULL,
        )
    return household


def monitored(
    village,
    actor,
    *people: tuple[str, str],
    status=HouseholdStatus.MONITORING,
    income: str | None = "4000",
    risks=("illness",),
    roster: RosterHousehold | None = None,
    enrolled_days_ago: int = 60,
) -> MonitoredHousehold:
    head_name, head_id = people[0]
    household = MonitoredHousehold.objects.create(
        village=village,
        region_code=village.code,
        head_name=head_name,
        head_id_number=head_id,
        head_id_hash=id_hash(head_id),
        risk_types=list(risks),
        per_capita_income=Decimal(income) if income is not None else None,
        enrolled_by=actor,
        enrolled_at=timezone.now() - dt.timedelta(days=enrolled_days_ago),
        status=status,
        roster_household=roster,
    )
    for name, id_number in people:
        member_of(household, name, id_number)
    return household


def member_of(household, name: str, id_number: str, **extra) -> HouseholdMember:
    return HouseholdMember.objects.create(
        household=household,
        name=name,
        relation="户主",
        id_number=id_number,
        id_hash=id_hash(id_number) if id_number else "",
        labour_capacity=LabourCapacity.FULL,
        **extra,
    )
