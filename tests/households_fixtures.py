"""Monitored households for the page tests: enrolled straight through the households
service (the review that leads there has its own tests), with a county user of 安定区
and its help-policy list."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.identity import id_check_digit
from apps.households import services as hs
from apps.households.models import LabourCapacity, PolicyKind, PolicyMeasure
from apps.regions.models import Role

from .conftest import ANDING, TONGWEI, WOGOU, make_staff


def id_number(serial: int) -> str:
    """A valid ID number of 安定区, one per serial (0–9999)."""
    body = f"6211021975{serial // 1000 % 10 + 1:02d}{serial % 28 + 1:02d}{serial % 1000:03d}"
    return body + id_check_digit(body)


def people(*capacities: str) -> list[hs.MemberFacts]:
    names = ["魏家常", "李梅", "魏小军", "魏小芳"]
    relations = ["户主", "配偶", "子", "女"]
    return [
        hs.MemberFacts(name=names[i], relation=relations[i], id_number="", labour_capacity=c)
        for i, c in enumerate(capacities)
    ]


def enrol(regions, actor, *, serial: int = 1, members=None, risks=("illness",), village=WOGOU):
    return hs.household_enrol(
        village=regions[village],
        head_name="魏家常",
        head_id_number=id_number(serial),
        risk_types=list(risks),
        per_capita_income=Decimal("4200"),
        members=people(LabourCapacity.FULL, LabourCapacity.PARTIAL) if members is None else members,
        actor=actor,
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


def year_ago() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=365)


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY, mobile="13600136000")


@pytest.fixture
def policies(regions) -> dict[str, PolicyMeasure]:
    """安定区's help-policy list, and one measure of 通渭县 that 安定区 may not use."""
    rows = [
        ("医疗救助", PolicyKind.MEDICAL, False),
        ("劳务输转就业帮扶", PolicyKind.EMPLOYMENT, False),
        ("职业技能培训", PolicyKind.SKILLS, False),
        ("公益性岗位安置", PolicyKind.WELFARE_JOB, True),
        ("临时救助", PolicyKind.TEMPORARY, False),
    ]
    found = {
        name: PolicyMeasure.objects.create(
            county=regions[ANDING],
            name=name,
            kind=kind,
            department="县乡村振兴局",
            time_bound=bound,
        )
        for name, kind, bound in rows
    }
    found["通渭医疗"] = PolicyMeasure.objects.create(
        county=regions[TONGWEI], name="通渭医疗", kind=PolicyKind.MEDICAL, department="通渭县"
    )
    return found


@pytest.fixture
def household(regions, county_anding):
    """A household of 窝沟村 just enrolled: two members who can work, ill."""
    return enrol(regions, county_anding)
