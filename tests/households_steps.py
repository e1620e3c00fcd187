"""Monitored households for the tests of plans, follow-ups and elimination: enrolled
straight through the households service (the review that leads there has its own
tests), with the members and risks each test needs."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.core.identity import id_check_digit
from apps.households.models import LabourCapacity, PolicyKind, PolicyMeasure
from apps.households.services import MemberFacts, household_enrol
from apps.regions.models import Role

from .conftest import ANDING, TONGWEI, WOGOU, make_staff


def new_id(serial: int, born: str = "19800101") -> str:
    """A valid 18-digit ID number of 安定区 (621102), one per serial."""
    first17 = f"621102{born}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def member(name="魏家常", relation="户主", labour=LabourCapacity.FULL, **extra) -> MemberFacts:
    return MemberFacts(name=name, relation=relation, id_number="", labour_capacity=labour, **extra)


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY, mobile="13600136000")


@pytest.fixture
def township(township_lujiagou):
    return township_lujiagou


@pytest.fixture
def policies(regions) -> dict[str, PolicyMeasure]:
    """安定区's help-policy list, one or two measures of each kind used here, plus one
    measure of another county and one no longer in force."""
    county = regions[ANDING]
    rows = [
        ("马铃薯产业奖补", PolicyKind.INDUSTRY, False),
        ("到户产业贷款贴息", PolicyKind.MICRO_CREDIT, True),
        ("公益性岗位安置", PolicyKind.WELFARE_JOB, True),
        ("劳务输转就业帮扶", PolicyKind.EMPLOYMENT, False),
        ("职业技能培训", PolicyKind.SKILLS, False),
        ("农村低保兜底", PolicyKind.BACKSTOP, False),
        ("医疗救助", PolicyKind.MEDICAL, False),
        ("临时救助", PolicyKind.TEMPORARY, False),
        ("雨露计划职业教育补助", PolicyKind.RAIN_DEW, True),
    ]
    found = {
        name: PolicyMeasure.objects.create(
            county=county, name=name, kind=kind, department="县乡村振兴局", time_bound=bound
        )
        for name, kind, bound in rows
    }
    found["旧政策"] = PolicyMeasure.objects.create(
        county=county,
        name="旧政策",
        kind=PolicyKind.INDUSTRY,
        department="县农业农村局",
        active=False,
    )
    found["通渭产业"] = PolicyMeasure.objects.create(
        county=regions[TONGWEI], name="通渭产业", kind=PolicyKind.INDUSTRY, department="通渭县"
    )
    return found


def enrol(regions, actor, *, serial=1, members=None, risks=("illness",), **extra):
    return household_enrol(
        village=regions[WOGOU],
        head_name="魏家常",
        head_id_number=new_id(serial),
        risk_types=list(risks),
        per_capita_income=Decimal("4200"),
        members=members if members is not None else [member(), member("李梅", "配偶")],
        actor=actor,
        **extra,
    )


def days_ago(days: int) -> dt.date:
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=days)
