"""Reconciliation (账账相符): per county, the households under monitoring here, in the
last national import and marked monitored in the roster, counted by hand, and the
households the books differ on listed by name; the export; scoping.

The county 安定区, heads of household (one-person households):

    head   here                national import        roster (是否监测户)
    甲一   monitored (import)  listed                 是
    乙二   monitored (import)  listed                 是
    丙三   monitored (import)  listed                 是
    丁四   eliminated here     listed                 否
    戊五   eliminated (import) listed, eliminated     —
    己六   enrolled here       —                      是
    庚七   enrolled here       —                      —
    辛八   —                   —                      是
    壬九   —                   —                      是

Here 5 (甲乙丙己庚), national 4 (甲乙丙丁), roster 6 (甲乙丙己辛壬); the books differ
on 丁四, 己六, 庚七, 辛八, 壬九.
"""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import Action, AuditEntry
from apps.households import services as hs
from apps.households.models import (
    ImportStatus,
    MonitoredHousehold,
    NationalRecord,
    RosterHousehold,
)
from apps.households.national import COLUMNS as NATIONAL_COLUMNS
from apps.households.national import national_import_create
from apps.households.roster import COLUMNS as ROSTER_COLUMNS
from apps.households.roster import roster_import_create
from apps.regions.models import Role

from .conftest import (
    ANDING,
    LUJIAGOU,
    PROVINCE,
    TAIPING,
    TONGWEI,
    WOGOU,
    make_staff,
    require_postgres,
)
from .households_steps import member, new_id

pytestmark = pytest.mark.django_db

NAMES = {
    1: "甲一",
    2: "乙二",
    3: "丙三",
    4: "丁四",
    5: "戊五",
    6: "己六",
    7: "庚七",
    8: "辛八",
    9: "壬九",
}


def village(n: int) -> str:
    return TAIPING if n in (3, 8) else WOGOU


def workbook(header: list[str], rows: list[dict]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append([row.get(h, "") for h in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def national_row(n: int, **cells) -> dict:
    return {
        "村代码": village(n),
        "户编号": f"62110200{n:02d}",
        "姓名": NAMES[n],
        "证件号码": new_id(n),
        "与户主关系": "户主",
        "劳动技能": "普通劳动力",
        "监测对象类别": "边缘易致贫户",
        "风险类型": "因病",
        "识别时间": "2025-06-01",
        **cells,
    }


def roster_row(n: int, monitored: bool) -> dict:
    return {
        "村代码": village(n),
        "户编号": f"{n:03d}",
        "姓名": NAMES[n],
        "身份证号": new_id(n),
        "与户主关系": "户主",
        "劳动能力": "全部",
        "是否监测户": "是" if monitored else "否",
    }


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY)


@pytest.fixture
def books(regions, county_anding, township_lujiagou, django_capture_on_commit_callbacks, media):
    """The three books of 安定区 as in the table above."""
    require_postgres()  # the imports' set-based apply is PostgreSQL's
    roster = workbook(
        [c.header for c in ROSTER_COLUMNS],
        [roster_row(n, monitored=n != 4) for n in (1, 2, 3, 4, 6, 8, 9)],
    )
    national = workbook(
        [c.header for c in NATIONAL_COLUMNS],
        [national_row(n) for n in (1, 2, 3, 4)]
        + [national_row(5, 风险消除状态="已消除", 风险消除时间="2026-01-10")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        roster_import = roster_import_create(
            actor=township_lujiagou,
            region=regions[LUJIAGOU],
            upload=SimpleUploadedFile("花名册.xlsx", roster),
        )
        national_import = national_import_create(
            actor=county_anding,
            county=regions[ANDING],
            upload=SimpleUploadedFile("监测对象信息.xlsx", national),
        )
    for done in (roster_import, national_import):
        done.refresh_from_db()
        assert done.status == ImportStatus.DONE, done.errors
    for n in (6, 7):
        hs.household_enrol(
            village=regions[WOGOU],
            head_name=NAMES[n],
            head_id_number=new_id(n),
            risk_types=["illness"],
            per_capita_income=Decimal("4200"),
            members=[member(NAMES[n])],
            actor=county_anding,
        )
    eliminated = MonitoredHousehold.objects.get(head_name=NAMES[4])
    eliminated.eliminate()  # the county approved the elimination here
    eliminated.save()
    return national_import


def page(client, user, code):
    client.force_login(user)
    return client.get(reverse("supervision:reconciliation", args=[code]))


def test_the_imports_keep_what_reconciliation_compares(books):
    assert sorted(NationalRecord.objects.values_list("head_name", "eliminated")) == sorted(
        [(NAMES[n], n == 5) for n in (1, 2, 3, 4, 5)]
    )
    assert sorted(
        RosterHousehold.objects.filter(monitored=True).values_list("head_name", flat=True)
    ) == sorted(NAMES[n] for n in (1, 2, 3, 6, 8, 9))


def test_a_county_sees_its_counts_and_the_differing_households_by_name(
    client, books, county_anding
):
    response = page(client, county_anding, ANDING)
    assert response.status_code == 200
    county = response.context["county"]
    assert (county.here, county.national, county.roster) == (5, 4, 6)
    assert county.national_import == books
    differences = {(d.name, d.village, d.here, d.national, d.roster) for d in county.differences}
    assert differences == {
        ("丁四", "窝沟村", False, True, False),
        ("己六", "窝沟村", True, False, True),
        ("庚七", "窝沟村", True, False, False),
        ("辛八", "太平村", False, False, True),
        ("壬九", "窝沟村", False, False, True),
    }
    text = response.content.decode()
    for name in ("丁四", "己六", "庚七", "辛八", "壬九"):
        assert name in text
    for name in ("甲一", "乙二", "丙三", "戊五"):  # agreed on, or in no book
        assert name not in text


def test_a_re_import_replaces_the_countys_national_records(
    books, county_anding, regions, django_capture_on_commit_callbacks
):
    national = workbook(
        [c.header for c in NATIONAL_COLUMNS],
        [national_row(n) for n in (1, 2, 3, 4)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        again = national_import_create(
            actor=county_anding,
            county=regions[ANDING],
            upload=SimpleUploadedFile("监测对象信息.xlsx", national),
        )
    again.refresh_from_db()
    assert again.status == ImportStatus.DONE, again.errors
    assert set(NationalRecord.objects.values_list("national_import", flat=True)) == {again.pk}
    assert NationalRecord.objects.count() == 4


def test_the_province_sees_a_row_per_county_and_drills_into_one(client, books, regions):
    province = make_staff("province", regions[PROVINCE], Role.PROVINCE)
    response = page(client, province, PROVINCE)
    assert response.status_code == 200
    assert response.context["county"] is None
    rows = {
        b.county.code: (b.here, b.national, b.roster, len(b.differences))
        for b in response.context["books"]
    }
    assert rows[ANDING] == (5, 4, 6, 5)
    assert rows[TONGWEI] == (0, 0, 0, 0)
    assert reverse("supervision:reconciliation", args=[ANDING]) in response.content.decode()
    assert page(client, province, ANDING).context["county"].here == 5


def test_the_export_lists_the_counts_and_the_differences_and_is_audited(
    client, books, county_anding, regions
):
    client.force_login(county_anding)
    response = client.get(reverse("supervision:reconciliation_export", args=[ANDING]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "账账相符核对 · 安定区"  # the title, then the moment and region
    assert "安定区" in sheet["A2"].value
    assert sheet["A3"].value == "县（区）"  # the header
    rows = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    assert rows[0] == ["安定区", "户数", None, 5, 4, 6]
    assert sorted(r[1] for r in rows[1:]) == sorted(["丁四", "己六", "庚七", "辛八", "壬九"])
    assert ["安定区", "己六", "窝沟村", "是", "否", "是"] in rows
    entry = AuditEntry.objects.get(action=Action.EXPORT, actor=county_anding)
    assert entry.target == f"regions.region:{regions[ANDING].pk}"
    assert entry.detail == {"file": f"reconciliation-{ANDING}", "rows": 6}


def test_outsiders_get_nothing(client, books, regions, outsider, township_lujiagou):
    other_county = make_staff("county-tongwei", regions[TONGWEI], Role.COUNTY)
    for user in (outsider, other_county, township_lujiagou):
        client.force_login(user)
        for name in ("reconciliation", "reconciliation_export"):
            assert client.get(reverse(f"supervision:{name}", args=[ANDING])).status_code == 404
    # Another county's staff sees only their own county, with none of 安定区's names.
    response = page(client, other_county, TONGWEI)
    assert response.status_code == 200
    assert (response.context["county"].here, response.context["county"].differences) == (0, [])
    assert "己六" not in response.content.decode()
    # A township has no books of its own.
    assert page(client, township_lujiagou, LUJIAGOU).status_code == 404
