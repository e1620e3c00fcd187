"""Monitored households for the tests of plans, follow-ups, elimination and their pages:
enrolled straight through the households service (the review that leads there has its
own tests), with the members and risks each test needs, a county user of 安定区 and its
help-policy list. conftest.py makes the fixtures available everywhere."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.identity import id_check_digit
from apps.households import services as hs
from apps.households.models import LabourCapacity, PolicyKind, PolicyMeasure
from apps.regions.models import Role

from .conftest import ANDING, TONGWEI, WOGOU, make_staff


def new_id(serial: int, born: str = "19800101") -> str:
    """A valid 18-digit ID number of 安定区 (621102), one per serial (0–999)."""
    first17 = f"621102{born}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def member(name="魏家常", relation="户主", labour=LabourCapacity.FULL, **extra) -> hs.MemberFacts:
    return hs.MemberFacts(
        name=name, relation=relation, id_number="", labour_capacity=labour, **extra
    )


def people(*capacities: str) -> list[hs.MemberFacts]:
    """Members with these labour capacities: the head, the spouse, a son, a daughter."""
    names = ["魏家常", "李梅", "魏小军", "魏小芳"]
    relations = ["户主", "配偶", "子", "女"]
    return [member(names[i], relations[i], c) for i, c in enumerate(capacities)]


def enrol(regions, actor, *, serial=1, members=None, risks=("illness",), village=WOGOU, **extra):
    return hs.household_enrol(
        village=regions[village],
        head_name="魏家常",
        head_id_number=new_id(serial),
        risk_types=list(risks),
        per_capita_income=Decimal("4200"),
        members=people(LabourCapacity.FULL, LabourCapacity.PARTIAL) if members is None else members,
        actor=actor,
        **extra,
    )


def approve_plan(household, *, grid, township, county, policy=None):
    """The household's plan with one measure, approved through the services."""
    plan = household.plans.get()
    measure = hs.plan_add_measure(
        plan=plan,
        actor=grid,
        measure=hs.MeasureInput(
            policy=policy,
            kind="" if policy else PolicyKind.MEDICAL,
            title="医疗救助",
            responsible="王书记",
        ),
    )
    hs.plan_submit(plan=plan, actor=grid)
    hs.plan_township_pass(plan=plan, actor=township)
    hs.plan_approve(plan=plan, actor=county)
    return plan, measure


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def year_ago() -> dt.date:
    return days_ago(365)


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY, mobile="13600136000")


@pytest.fixture
def township(township_lujiagou):
    return township_lujiagou


@pytest.fixture
def policies(regions) -> dict[str, PolicyMeasure]:
    """安定区's help-policy list, one or two measures of each kind used here, plus one
    measure no longer in force and two of 通渭县 that 安定区 may not use."""
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
    for name, kind in (("通渭产业", PolicyKind.INDUSTRY), ("通渭医疗", PolicyKind.MEDICAL)):
        found[name] = PolicyMeasure.objects.create(
            county=regions[TONGWEI], name=name, kind=kind, department="通渭县"
        )
    return found


@pytest.fixture
def household(regions, county_anding):
    """A household of 窝沟村 just enrolled: two members who can work, ill."""
    return enrol(regions, county_anding)
