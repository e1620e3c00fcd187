"""Self-check rounds (自查自纠): a city opens one over its subtree with chosen rules and
a deadline; the rules run there and the items raised carry the round; each county's
progress (raised, resolved, overdue, share resolved) shows on the round's page; county
staff cannot open one."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import NotPermitted
from apps.quality.models import ItemStatus, QualityItem, Rule, SelfCheckRound
from apps.quality.services import item_resolve, round_open, run_rules
from apps.regions.models import Role

from .conftest import ANDING, DONGGUAN, TAIPING, TONGWEI, WOGOU, make_staff
from .quality_steps import monitored, valid_id

CITY = "621100000000"  # 定西市: 安定区 and 通渭县


@pytest.fixture
def city_staff(regions):
    return make_staff("city-dingxi", regions[CITY], Role.CITY)


@pytest.fixture
def problems(regions, county_anding):
    """Three households of 安定区 and one of 通渭县 without a plan; one of 安定区 with
    an income record of the wrong size, a rule the round does not choose."""
    from decimal import Decimal

    from apps.households.models import IncomeRecord

    found = [
        monitored(regions[village], county_anding, (name, valid_id()), enrolled_days_ago=30)
        for village, name in ((WOGOU, "甲"), (WOGOU, "乙"), (TAIPING, "丙"), (DONGGUAN, "丁"))
    ]
    IncomeRecord.objects.create(
        household=found[0],
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        net_income=Decimal("1"),
        household_size=5,
        per_capita=Decimal("1"),
        source=IncomeRecord.Source.ENROLMENT,
    )
    return found


def round_form(**overrides):
    data = {
        "title": "2026年第四季度自查自纠",
        "region": "",
        "rules": [Rule.NO_PLAN],
        "deadline": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
    }
    data.update(overrides)
    return data


def test_a_city_opens_a_round_its_rules_run_over_its_subtree(
    client, regions, city_staff, problems, django_capture_on_commit_callbacks
):
    client.force_login(city_staff)
    assert client.get(reverse("quality:round_new")).status_code == 200
    data = round_form(region=regions[CITY].pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("quality:round_new"), data)
    check_round = SelfCheckRound.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("quality:round", args=[check_round.pk])
    assert (check_round.region_code, check_round.rules, check_round.opened_by) == (
        CITY,
        [Rule.NO_PLAN],
        city_staff,
    )
    # The chosen rule only, over the city's counties; every item carries the round.
    raised = QualityItem.objects.filter(round=check_round)
    assert sorted(raised.values_list("region_code", flat=True)) == sorted(
        [WOGOU, WOGOU, TAIPING, DONGGUAN]
    )
    assert set(raised.values_list("rule", flat=True)) == {Rule.NO_PLAN}
    assert not QualityItem.objects.filter(rule=Rule.HOUSEHOLD_SIZE).exists()


def test_progress_per_county_on_hand_worked_data(
    client, regions, city_staff, county_anding, problems
):
    check_round = round_open(
        actor=city_staff,
        region=regions[CITY],
        title="自查",
        rules=[Rule.NO_PLAN],
        deadline=timezone.localdate() + dt.timedelta(days=20),
    )
    run_rules(rules=check_round.rules, scope=regions[CITY].prefix, check_round=check_round)
    grid = make_staff("grid-w", regions[WOGOU], Role.GRID)
    first, _second = QualityItem.objects.filter(region_code=WOGOU).order_by("pk")
    item_resolve(item=first, actor=grid, outcome=ItemStatus.CORRECTED, note="已制定计划")
    # 太平村's item is past its due date; 窝沟村's second is not.
    QualityItem.objects.filter(region_code=TAIPING).update(
        due_on=timezone.localdate() - dt.timedelta(days=1)
    )
    client.force_login(city_staff)
    page = client.get(reverse("quality:round", args=[check_round.pk]))
    assert page.status_code == 200
    rows = {
        p.code: (p.raised, p.resolved, p.overdue, p.percent_done) for p in page.context["progress"]
    }
    # 安定区: 3 raised (窝沟 2, 太平 1), 1 resolved, 1 overdue, 33 %; 通渭县: 1, 0, 0, 0 %.
    assert rows == {ANDING: (3, 1, 1, 33), TONGWEI: (1, 0, 0, 0)}
    assert "33%" in page.content.decode()
    # A county follows the round, and sees its own row only.
    client.force_login(county_anding)
    page = client.get(reverse("quality:round", args=[check_round.pk]))
    assert [p.code for p in page.context["progress"]] == [ANDING]
    assert check_round in client.get(reverse("quality:rounds")).context["rounds"]


def test_the_dashboard_shows_each_countys_progress_in_a_running_round(
    client, regions, city_staff, problems
):
    check_round = round_open(
        actor=city_staff,
        region=regions[CITY],
        title="十二月自查",
        rules=[Rule.NO_PLAN],
        deadline=timezone.localdate() + dt.timedelta(days=20),
    )
    run_rules(rules=check_round.rules, scope=regions[CITY].prefix, check_round=check_round)
    grid = make_staff("grid-w", regions[WOGOU], Role.GRID)
    first = QualityItem.objects.filter(region_code=WOGOU).order_by("pk").first()
    item_resolve(item=first, actor=grid, outcome=ItemStatus.CORRECTED, note="已制定计划")
    client.force_login(city_staff)
    page = client.get(reverse("supervision:region", args=[CITY])).content.decode()
    assert "十二月自查" in page
    block = page[page.index("十二月自查") :]
    # 安定区: 3 raised, 1 resolved (33 %); 通渭县: 1 raised, none resolved.
    assert "安定区" in block and "33%" in block and "通渭县" in block and "0%" in block
    # A round past its deadline leaves the dashboard.
    SelfCheckRound.objects.filter(pk=check_round.pk).update(
        deadline=timezone.localdate() - dt.timedelta(days=1)
    )
    assert (
        "十二月自查" not in client.get(reverse("supervision:region", args=[CITY])).content.decode()
    )


def test_county_staff_cannot_open_a_round(client, regions, county_anding):
    client.force_login(county_anding)
    assert client.get(reverse("quality:round_new")).status_code == 403
    response = client.post(reverse("quality:round_new"), round_form(region=regions[CITY].pk))
    assert response.status_code == 403
    with pytest.raises(NotPermitted):
        round_open(
            actor=county_anding,
            region=regions[CITY],
            title="x",
            rules=[Rule.NO_PLAN],
            deadline=timezone.localdate() + dt.timedelta(days=5),
        )
    assert not SelfCheckRound.objects.exists()


def test_a_round_needs_rules_and_a_future_deadline(client, regions, city_staff):
    client.force_login(city_staff)
    response = client.post(
        reverse("quality:round_new"),
        round_form(region=regions[CITY].pk, rules=[], deadline=timezone.localdate().isoformat()),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "请至少选择一条规则。" in body and "截止日期须晚于今天。" in body
    # A region outside the city's is not offered.
    response = client.post(
        reverse("quality:round_new"), round_form(region=regions["620000000000"].pk)
    )
    assert response.status_code == 400
    assert not SelfCheckRound.objects.exists()


def test_an_outsider_sees_no_round(client, regions, city_staff, outsider, problems):
    check_round = round_open(
        actor=city_staff,
        region=regions[CITY],
        title="自查",
        rules=[Rule.NO_PLAN],
        deadline=timezone.localdate() + dt.timedelta(days=20),
    )
    other_city = make_staff("city-tianshui", regions["620500000000"], Role.CITY)
    for user in (outsider, other_city):
        client.force_login(user)
        assert client.get(reverse("quality:round", args=[check_round.pk])).status_code == 404
        assert list(client.get(reverse("quality:rounds")).context["rounds"]) == []
