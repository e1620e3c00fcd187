"""Each shipped feed definition imported with its own sample file
(apps/screening/samples/<code>.csv), through the upload and the real import task, into
the demo's 窝沟村 (tests/shipped_world.py): the warnings each raises, with their
reasons and scores, for the right villages; the deaths and moves waiting for the
village's confirmation, nothing changed before; the businesses, vehicles and real
estate on the property check. And a bad row of each type of field refused, with a
Chinese message and nothing written."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.demo.seed import WOGOU, person_id
from apps.households.models import HouseholdEvent, HouseholdMember
from apps.screening.feeds import feed_upload_create
from apps.screening.feeds.definitions import county_lines_set
from apps.screening.models import (
    AssistanceRecord,
    BatchStatus,
    Department,
    DepartmentMember,
    FeedBatch,
    FeedDefinition,
    FeedRecord,
    PropertyRecord,
    ReportedLifeEvent,
    Warning,
    WarningSource,
)

from .conftest import ANDING
from .shipped_world import NANCHUAN, XIAOCHAKOU, world
from .test_feeds import make_staff_user

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "apps" / "screening" / "samples"
SHIPPED = [
    "medical",
    "disability",
    "college",
    "disaster",
    "assistance",
    "unemployed",
    "serious_illness",
    "unsafe_housing",
    "drinking_water",
    "hukou",
    "business",
    "vehicle",
    "real_estate",
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def department(regions):
    return Department.objects.create(
        code="anding-data", name="安定区数据共享", region=regions[ANDING], kinds=SHIPPED
    )


@pytest.fixture
def clerk(department):
    user = make_staff_user("data-clerk")
    DepartmentMember.objects.create(user=user, department=department)
    return user


@pytest.fixture
def people(regions, county_anding):
    county_lines_set("medical", regions[ANDING], 2026, threshold="15000", income_share="0.5")
    return world(regions, county_anding)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks, clerk, department):
    def deliver(code: str, content: bytes | None = None) -> FeedBatch:
        content = content if content is not None else (SAMPLES / f"{code}.csv").read_bytes()
        with django_capture_on_commit_callbacks(execute=True):
            batch, _created = feed_upload_create(
                actor=clerk,
                department=department,
                kind=code,
                upload=SimpleUploadedFile(f"{code}.csv", content),
            )
        batch.refresh_from_db()
        return batch

    return deliver


def sources(code: str) -> dict[str, WarningSource]:
    """The warning sources of a definition's records, by the name of the record."""
    found = {}
    for s in WarningSource.objects.filter(record__definition=code).select_related(
        "warning", "record"
    ):
        found[s.record.data.get("name") or s.record.region_code] = s
    return found


def test_every_shipped_definition_has_its_sample_and_is_delivered_by_the_demo():
    codes = set(FeedDefinition.objects.filter(active=True).values_list("code", flat=True))
    assert set(SHIPPED) <= codes
    assert {p.stem for p in SAMPLES.glob("*.csv")} == set(SHIPPED)
    from apps.demo.seed import DEMO_DEPARTMENTS

    assert {kind for _c, _n, kind, _u in DEMO_DEPARTMENTS} == set(SHIPPED)


def test_the_clerk_downloads_the_sample_of_a_feed_they_deliver(client, clerk, regions):
    client.force_login(clerk)
    page = client.get(reverse("feeds:list")).content.decode()
    assert reverse("feeds:sample", args=["hukou"]) in page
    response = client.get(reverse("feeds:sample", args=["hukou"]))
    assert response.status_code == 200
    assert response.content.decode("utf-8").startswith("身份证号,姓名,变动类型")
    other = make_staff_user("stranger")
    client.force_login(other)
    assert client.get(reverse("feeds:sample", args=["hukou"])).status_code == 404


# --- warnings -----------------------------------------------------------------------------


def test_medical_costs_over_the_county_line(people, deliver):
    batch = deliver("medical")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("medical")
    assert set(found) == {"张建华", "魏家常"}  # 马占山 paid 800 yuan: under the line
    zhang = found["张建华"]
    assert zhang.summary == "2026-11-02医疗总费用82,000元，个人自付26,000元"
    assert zhang.warning.region_code == WOGOU and zhang.warning.score > 0
    # 魏家常 has an open case: the source joins it.
    assert found["魏家常"].warning.declaration is not None


def test_new_grade_one_or_two_disability(people, deliver):
    households, _cases = people
    batch = deliver("disability")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("disability")
    assert set(found) == {"孙福", "赵小强"}  # 张伟's grade 4 raises nothing
    assert found["孙福"].summary == "2026-10-20认定为1级残疾"
    assert found["孙福"].warning.monitored_household == households["孙玉兰"]
    assert any(f["factor"] == "disability" for f in found["孙福"].warning.score_factors)


def test_college_students_of_monitored_or_formerly_poor_households(people, deliver):
    batch = deliver("college")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("college")
    assert set(found) == {"赵小强", "马玉梅"}  # 张伟's household is neither
    assert found["马玉梅"].summary == "考入甘肃农业大学，学费每年4,500元"


def test_disasters_warn_every_village_of_the_region(people, deliver, regions):
    batch = deliver("disaster")
    assert batch.status == BatchStatus.DONE, batch.errors
    villages = set(
        Warning.objects.filter(sources__rule="disaster").values_list("region_code", flat=True)
    )
    xiangquan = {c for c in regions if c.startswith("621102101") and not c.endswith("000")}
    assert villages == {WOGOU} | xiangquan
    hail = Warning.objects.get(region_code=WOGOU, sources__rule="disaster")
    assert hail.sources.get().summary == "2026-07-18发生冰雹（Ⅲ级）"


def test_the_assistance_rolls_are_kept(people, deliver):
    batch = deliver("assistance")
    assert batch.status == BatchStatus.DONE, batch.errors
    assert sorted(AssistanceRecord.objects.values_list("kind", flat=True)) == [
        "dibao",
        "tekun",
        "temporary",
    ]
    # The rolls raise no warning of their own (the comparison with the cases may).
    assert not WarningSource.objects.filter(record__definition="assistance").exists()


def test_unemployment_is_a_warning_with_the_labour_factor(people, deliver):
    batch = deliver("unemployed")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("unemployed")
    assert set(found) == {"张建华", "刘桂芳"}
    zhang = found["张建华"]
    assert zhang.summary == "2026-10-28登记失业，原就业单位：定西市某建材有限公司"
    assert [f["factor"] for f in zhang.warning.score_factors if f["factor"] == "labour"]
    assert zhang.warning.score > 0
    # Delivered again: nothing new.
    deliver("unemployed", (SAMPLES / "unemployed.csv").read_bytes() + b"\r\n")
    assert WarningSource.objects.filter(record__definition="unemployed").count() == 2


def test_serious_illness_in_the_list(people, deliver):
    batch = deliver("serious_illness")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("serious_illness")
    assert set(found) == {"李梅", "赵德明"}  # 王秀英's hypertension is not in the list
    assert found["赵德明"].summary == "2026-11-01确诊尿毒症（定西市人民医院）"
    assert found["赵德明"].warning.region_code == WOGOU


def test_unsafe_housing_graded_c_or_d(people, deliver):
    batch = deliver("unsafe_housing")
    assert batch.status == BatchStatus.DONE, batch.errors
    found = sources("unsafe_housing")
    assert set(found) == {"马占山"}  # 张建华's house is grade B
    assert found["马占山"].summary == "2026-09-20住房鉴定为D级危房（鲁家沟镇窝沟村4组）"
    assert found["马占山"].warning.score > 0


def test_drinking_water_problems_warn_the_village(people, deliver):
    batch = deliver("drinking_water")
    assert batch.status == BatchStatus.DONE, batch.errors
    warnings = Warning.objects.filter(sources__rule="drinking_water")
    assert set(warnings.values_list("region_code", flat=True)) == {WOGOU, XIAOCHAKOU}
    wogou = warnings.get(region_code=WOGOU)
    assert wogou.person_name == "" and wogou.score > 0
    assert wogou.sources.get().summary == "2026-11-15发现饮水水量不足，影响23户"


# --- life events ----------------------------------------------------------------------------


def test_deaths_and_moves_wait_for_the_village(people, deliver, client, grid_wogou):
    households, _cases = people
    events = HouseholdEvent.objects.count()
    batch = deliver("hukou")
    assert batch.status == BatchStatus.DONE, batch.errors
    reports = ReportedLifeEvent.objects.order_by("person_name")
    assert [(r.person_name, r.kind, r.region_code) for r in reports] == [
        ("孙福", "died", WOGOU),
        ("赵小强", "moved", WOGOU),
    ]
    assert all(r.is_pending for r in reports)
    assert HouseholdEvent.objects.count() == events
    assert HouseholdMember.objects.filter(name__in=["孙福", "赵小强"]).count() == 2
    assert not Warning.objects.exists()

    client.force_login(grid_wogou)
    death = reports.get(person_name="孙福")
    url = reverse("screening:life_event", args=[death.pk])
    assert client.post(url, {"decision": "confirm", "reason": "已入户核实"}).status_code == 302
    assert not HouseholdMember.objects.filter(name="孙福").exists()
    assert households["孙玉兰"].events.filter(kind="member_died").exists()


# --- the property check ---------------------------------------------------------------------


def test_businesses_vehicles_and_real_estate_reach_the_property_check(
    people, deliver, client, township_lujiagou
):
    _households, cases = people
    for code in ("business", "vehicle", "real_estate"):
        batch = deliver(code)
        assert batch.status == BatchStatus.DONE, batch.errors
    yang, he, wei = cases["杨树林"], cases["何建军"], cases["魏家常"]
    assert set(yang.property_records.values_list("definition", flat=True)) == {
        "business",
        "vehicle",
        "real_estate",
    }
    assert set(wei.property_records.values_list("definition", flat=True)) == {"business", "vehicle"}
    assert he.property_records.get().region_code == NANCHUAN
    numbers = [person_id(XIAOCHAKOU, "杨树林"), person_id(WOGOU, "魏家常")]
    assert not any(n in r.summary for r in PropertyRecord.objects.all() for n in numbers)
    client.force_login(township_lujiagou)
    page = client.get(reverse("staff:property", args=[yang.tracking_number])).content.decode()
    assert "号牌号码：甘J·D7215" in page and "车辆类型：小型汽车" in page
    # Full-width brackets are read as ASCII ones, as every cell.
    assert "不动产权证号：甘(2020)安定区不动产权第0004567号" in page
    assert "魏家常马铃薯种植部" not in page


# --- bad rows: one of each type of field -----------------------------------------------------

GOOD = {
    "hukou": "{id},孙福,死亡,2026-11-20,",
    "real_estate": "{id},杨树林,甘（2020）安定区不动产权第0004567号,小岔口村1组,住宅,120,2020-09-30",
    "business": "{id},魏家常,92621102MA7XK3PL1Q,种植部,个体工商户,2021-04-12,50000",
    "drinking_water": "621102100201,水量不足,2026-11-15,23",
}
BAD = [
    # (type, definition, the row, the field)
    ("id_number", "hukou", "621102195607171990,孙福,死亡,2026-11-20,", "身份证号"),
    ("name", "hukou", "{id}," + "孙" * 31 + ",死亡,2026-11-20,", "姓名"),
    ("date", "hukou", "{id},孙福,死亡,2026-13-45,", "变动日期"),
    ("choice", "hukou", "{id},孙福,失踪,2026-11-20,", "变动类型"),
    (
        "text",
        "real_estate",
        "{id},杨树林," + "号" * 61 + ",小岔口村1组,住宅,120,2020-09-30",
        "不动产权证号",
    ),
    (
        "integer",
        "real_estate",
        "{id},杨树林,甘（2020）第1号,小岔口村1组,住宅,一百二,2020-09-30",
        "建筑面积",
    ),
    (
        "money",
        "business",
        "{id},魏家常,92621102MA7XK3PL1Q,种植部,个体工商户,2021-04-12,五万元",
        "注册资本",
    ),
    ("region", "drinking_water", "6211021002,水量不足,2026-11-15,23", "行政区划代码"),
]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("type_", "code", "row", "field"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_row_of_each_type_is_refused_in_chinese(people, deliver, type_, code, row, field):
    header = (SAMPLES / f"{code}.csv").read_text(encoding="utf-8").splitlines()[0]
    number = person_id(WOGOU, "孙福")
    good = GOOD[code].format(id=number)
    content = "\r\n".join([header, good, row.format(id=number)]) + "\r\n"
    batch = deliver(code, content.encode())
    assert batch.status == BatchStatus.FAILED
    assert [(e["row"], e["field"]) for e in batch.errors] == [(3, field)]
    assert CHINESE.search(batch.errors[0]["message"]), batch.errors
    # Nothing written, not even the good row.
    assert not FeedRecord.objects.exists()
    assert not ReportedLifeEvent.objects.exists() and not PropertyRecord.objects.exists()
