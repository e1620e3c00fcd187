"""The effects of the shipped feeds other than warnings, service and pages: a death or
hukou move the public security bureau reports waits for the village to confirm —
nothing changes before — and then runs the existing life-event services; businesses,
vehicles and real estate are shown on the case's property check. Outsiders see
nothing."""

import csv
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.urls import reverse

from apps.core.identity import id_hash
from apps.declarations.models import State
from apps.demo.seed import WOGOU, person_id
from apps.households.models import HouseholdEvent, HouseholdMember, MemberLeft
from apps.notifications.models import Message
from apps.regions.models import Role
from apps.screening.effects import Row, life_events_report, property_records_keep
from apps.screening.models import (
    Department,
    FeedBatch,
    PropertyRecord,
    ReportedLifeEvent,
    ReportState,
)

from .conftest import ANDING, TAIPING, make_staff
from .shipped_world import world

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "apps" / "screening" / "samples"
HUKOU = {
    "身份证号": "id_number",
    "姓名": "name",
    "变动类型": "change",
    "变动日期": "date",
    "迁往地区": "moved_to",
}


def sample_rows(code: str, keys: dict[str, str] | None = None) -> list[Row]:
    """The sample's rows as the import checks them: the ID number's hash, not the number."""
    with (SAMPLES / f"{code}.csv").open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    rows = []
    for record in records:
        data = {(keys or {}).get(k, k): v for k, v in record.items()}
        number = data.pop("id_number", None) or data.pop("身份证号")
        key = hashlib.sha256(f"{code}:{number}:{sorted(data.items())}".encode()).hexdigest()
        rows.append(Row(id_hash=id_hash(number), record_key=key, data=data))
    return rows


@pytest.fixture
def people(regions, county_anding):
    return world(regions, county_anding)


@pytest.fixture
def police(regions):
    department = Department.objects.create(
        code="anding-gongan", name="安定区公安局", region=regions[ANDING], kinds=[]
    )
    return FeedBatch.objects.create(
        department=department, kind="hukou", batch_id="b1", source="upload"
    )


def member(household, name) -> HouseholdMember:
    return HouseholdMember.on_record.get(household=household, name=name)


def test_a_death_and_a_move_wait_for_the_village_then_the_household_records_them(
    client, people, police, grid_wogou
):
    households, _cases = people
    sun, zhao = households["孙玉兰"], households["赵德明"]
    events = HouseholdEvent.objects.count()
    reports = life_events_report(batch=police, rows=sample_rows("hukou", HUKOU))
    # 孙福 (孙玉兰's father, found through the roster) and 赵小强; 王秀英 is nobody's case.
    assert sorted((r.person_name, r.kind) for r in reports) == [
        ("孙福", "died"),
        ("赵小强", "moved"),
    ]
    assert {r.region_code for r in reports} == {WOGOU}
    # Nothing changed on the department's word.
    assert member(sun, "孙福").is_current and member(zhao, "赵小强").is_current
    assert HouseholdEvent.objects.count() == events
    # 窝沟村's grid worker is told once, by SMS, in Chinese.
    (sms,) = Message.objects.filter(template="village_life_events_reported")
    assert sms.recipient == "13800138000" and sms.region_code == WOGOU
    assert "窝沟村有2条部门报送的死亡或户口迁出" in sms.text
    # The same file again reports nothing new, and tells nobody again.
    assert life_events_report(batch=police, rows=sample_rows("hukou", HUKOU)) == []
    assert Message.objects.filter(template="village_life_events_reported").count() == 1

    client.force_login(grid_wogou)
    listing = client.get(reverse("screening:life_events")).content.decode()
    assert "孙福" in listing and "赵小强" in listing
    death = ReportedLifeEvent.objects.get(person_name="孙福")
    url = reverse("screening:life_event", args=[death.pk])
    assert client.get(url).status_code == 200
    refused = client.post(url, {"decision": "confirm", "reason": ""})
    assert refused.status_code == 400 and "这个字段是必填项" in refused.content.decode()
    assert member(sun, "孙福").is_current

    response = client.post(url, {"decision": "confirm", "reason": "村委会入户核实，已办理丧葬。"})
    assert response.status_code == 302
    fu = member(sun, "孙福")
    assert (fu.left_on, fu.left_reason) == (dt.date(2026, 11, 20), MemberLeft.DIED)
    assert sun.events.filter(kind="member_died").exists()
    death.refresh_from_db()
    assert death.state == ReportState.CONFIRMED and death.decided_by == grid_wogou
    assert list(death.log.values_list("kind", flat=True)) == ["reported", "confirmed"]

    move = ReportedLifeEvent.objects.get(person_name="赵小强")
    url = reverse("screening:life_event", args=[move.pk])
    client.post(url, {"decision": "dismiss", "reason": "本人仍在村居住，户口未迁。"})
    assert member(zhao, "赵小强").is_current
    move.refresh_from_db()
    assert move.state == ReportState.DISMISSED
    # Decided: the page shows the outcome; no second decision.
    again = client.post(url, {"decision": "confirm", "reason": "再次确认"})
    assert again.status_code == 409 and member(zhao, "赵小强").is_current
    assert "不属实" in client.get(url).content.decode()


def test_a_reported_move_confirmed_is_the_member_leaving(client, people, police, grid_wogou):
    zhao = people[0]["赵德明"]
    life_events_report(batch=police, rows=sample_rows("hukou", HUKOU))
    move = ReportedLifeEvent.objects.get(person_name="赵小强")
    client.force_login(grid_wogou)
    url = reverse("screening:life_event", args=[move.pk])
    assert (
        client.post(url, {"decision": "confirm", "reason": "已迁往兰州上学。"}).status_code == 302
    )
    assert member(zhao, "赵小强").left_reason == MemberLeft.LEFT
    assert zhao.events.filter(kind="member_left").exists()


def head_death(name, village=WOGOU) -> Row:
    number = person_id(village, name)
    data = {"name": name, "change": "死亡", "date": "2026-11-25", "moved_to": ""}
    return Row(id_hash(number), hashlib.sha256(f"d{name}".encode()).hexdigest(), data)


def test_the_heads_death_needs_the_new_head_and_an_applicants_death_closes_or_hands_over(
    client, people, police, grid_wogou
):
    households, cases = people
    zhao = households["赵德明"]
    life_events_report(batch=police, rows=[head_death("赵德明"), head_death("魏家常")])
    client.force_login(grid_wogou)
    report = ReportedLifeEvent.objects.get(person_name="赵德明")
    url = reverse("screening:life_event", args=[report.pk])
    refused = client.post(url, {"decision": "confirm", "reason": "已核实"})
    assert refused.status_code == 400 and "请选择新户主" in refused.content.decode()
    assert member(zhao, "赵德明").is_current
    report.refresh_from_db()
    assert report.state == ReportState.PENDING
    new_head = member(zhao, "刘桂芳")
    new_head.id_number = person_id(WOGOU, "刘桂芳")
    new_head.id_hash = id_hash(new_head.id_number)
    new_head.save()
    assert (
        client.post(
            url, {"decision": "confirm", "reason": "已核实", "new_head": new_head.pk}
        ).status_code
        == 302
    )
    zhao.refresh_from_db()
    assert zhao.head_name == "刘桂芳" and not member(zhao, "赵德明").is_current

    case = cases["魏家常"]
    report = ReportedLifeEvent.objects.get(person_name="魏家常")
    assert report.declaration == case
    url = reverse("screening:life_event", args=[report.pk])
    assert client.post(url, {"decision": "confirm", "reason": "已核实"}).status_code == 400
    case.refresh_from_db()
    assert case.is_open
    response = client.post(url, {"decision": "confirm", "continues": "close", "reason": "已核实"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.WITHDRAWN
    assert case.transitions.filter(kind="applicant_died").exists()


def test_outsiders_see_no_reported_life_event(client, regions, people, police):
    life_events_report(batch=police, rows=sample_rows("hukou", HUKOU))
    report = ReportedLifeEvent.objects.get(person_name="孙福")
    other = make_staff("grid-taiping", regions[TAIPING], Role.GRID)
    client.force_login(other)
    assert "孙福" not in client.get(reverse("screening:life_events")).content.decode()
    url = reverse("screening:life_event", args=[report.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "confirm", "reason": "x"}).status_code == 404
    report.refresh_from_db()
    assert report.state == ReportState.PENDING


PROPERTY = {
    "business": {
        "统一社会信用代码": "credit_code",
        "市场主体名称": "entity",
        "主体类型": "entity_type",
    },
    "vehicle": {"号牌号码": "plate", "车辆类型": "vehicle_type"},
    "real_estate": {"坐落": "location", "用途": "use"},
}


def test_businesses_vehicles_and_real_estate_are_on_the_property_check(
    client, regions, people, police, township_lujiagou
):
    _households, cases = people
    for code, keys in PROPERTY.items():
        batch = FeedBatch.objects.create(
            department=police.department, kind=code, batch_id=code, source="upload"
        )
        rows = sample_rows(code, {"姓名": "name", **keys})
        assert property_records_keep(batch=batch, rows=rows)
    yang = cases["杨树林"]
    assert set(
        PropertyRecord.objects.filter(declaration=yang).values_list("definition", flat=True)
    ) == {
        "business",
        "vehicle",
        "real_estate",
    }
    numbers = [person_id("621102100203", "杨树林"), person_id(WOGOU, "魏家常")]
    assert not any(n in r.summary for r in PropertyRecord.objects.all() for n in numbers)
    client.force_login(township_lujiagou)
    page = client.get(reverse("staff:property", args=[yang.tracking_number])).content.decode()
    assert "甘J·D7215" in page and "安定区小岔口中药材种植专业合作社" in page
    assert "安定区魏家常马铃薯种植部" not in page  # 魏家常's, another case
    other = make_staff("grid-taiping", regions[TAIPING], Role.GRID)
    client.force_login(other)
    assert client.get(reverse("staff:property", args=[yang.tracking_number])).status_code == 404
