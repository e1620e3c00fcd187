"""The population roster import: CSV and Excel files per village, checked whole before
anything is written, idempotent, scoped to the importer's region, with its progress."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.core.identity import id_check_digit, id_hash
from apps.households.models import (
    ImportStatus,
    LabourCapacity,
    RosterHousehold,
    RosterImport,
    RosterMember,
    Schooling,
)
from apps.households.roster import MAX_ERRORS, roster_import_create, template_csv
from apps.regions.models import Role

from .conftest import DONGGUAN, LUJIAGOU, TAIPING, TONGWEI, WOGOU, make_staff
from .test_outbox import broker, wait_until, worker  # noqa: F401 — the real-worker fixtures

pytestmark = pytest.mark.django_db

HEADER = [
    "村代码",
    "户编号",
    "姓名",
    "身份证号",
    "与户主关系",
    "劳动能力",
    "健康状况",
    "残疾等级",
    "在校情况",
    "是否脱贫户",
    "是否监测户",
    "组",
]


def pid(n: int) -> str:
    """The n-th valid ID number of the tests (born 1960 onwards)."""
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=n // 1000)
    first17 = f"621102{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def person(n, number="001", relation="户主", village=WOGOU, **cells) -> list[str]:
    values = {
        "村代码": village,
        "户编号": number,
        "姓名": f"王{n}",
        "身份证号": pid(n),
        "与户主关系": relation,
        "劳动能力": "全部",
        "健康状况": "健康",
        "残疾等级": "",
        "在校情况": "",
        "是否脱贫户": "否",
        "是否监测户": "否",
        "组": "3组",
    }
    values.update(cells)
    return [values[h] for h in HEADER]


# Two households of 窝沟村: 001 with three people, 002 with two.
FAMILIES = [
    person(1, "001"),
    person(2, "001", "配偶", 劳动能力="弱劳动力", 健康状况="长期慢性病"),
    person(3, "001", "子女", 劳动能力="无劳动力", 在校情况="小学", 残疾等级="二级"),
    person(4, "002", 是否脱贫户="是", 组="5组"),
    person(5, "002", "子女", 在校情况="大专"),
]


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        # The village code as a number, as Excel keeps it when typed in.
        sheet.append([int(row[0]), *row[1:]])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def village_staff(regions):
    return make_staff("village-wogou", regions[WOGOU], Role.VILLAGE)


@pytest.fixture
def township(regions):
    return make_staff("township-lujiagou", regions[LUJIAGOU], Role.TOWNSHIP)


def run_import(user, region, content: bytes, capture, name="roster.csv") -> RosterImport:
    """Upload through the service and run the (eager) task after commit."""
    with capture(execute=True):
        roster_import = roster_import_create(
            actor=user, region=region, upload=SimpleUploadedFile(name, content)
        )
    roster_import.refresh_from_db()
    return roster_import


@pytest.fixture
def imp(django_capture_on_commit_callbacks, township, regions):
    def run(content, name="roster.csv", user=None, region=None):
        return run_import(
            user or township,
            region or regions[LUJIAGOU],
            content,
            django_capture_on_commit_callbacks,
            name,
        )

    return run


def counts(roster_import) -> tuple:
    return (
        roster_import.households_created,
        roster_import.households_updated,
        roster_import.members_created,
        roster_import.members_updated,
        roster_import.members_removed,
    )


def roster() -> dict:
    """The roster as {(village, number): {name: (relation, labour, schooling, disability)}}."""
    out: dict = {}
    for m in RosterMember.objects.select_related("household__village"):
        key = (m.household.village.code, m.household.number)
        out.setdefault(key, {})[m.name] = (
            m.relation,
            m.labour_capacity,
            m.schooling,
            m.disability_grade,
        )
    return out


# --- importing ---------------------------------------------------------------------------


def test_a_township_imports_a_csv_roster_of_its_villages(imp, media):
    result = imp(csv_bytes(FAMILIES))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (2, 0, 5, 0, 0)
    assert result.total_rows == result.processed_rows == 5
    assert roster() == {
        (WOGOU, "001"): {
            "王1": ("户主", LabourCapacity.FULL, Schooling.NONE, None),
            "王2": ("配偶", LabourCapacity.PARTIAL, Schooling.NONE, None),
            "王3": ("子女", LabourCapacity.NONE, Schooling.COMPULSORY, 2),
        },
        (WOGOU, "002"): {
            "王4": ("户主", LabourCapacity.FULL, Schooling.NONE, None),
            "王5": ("子女", LabourCapacity.FULL, Schooling.COLLEGE, None),
        },
    }
    second = RosterHousehold.objects.get(number="002")
    assert (second.head_name, second.address_group, second.formerly_poor) == ("王4", "5组", True)
    assert second.region_code == WOGOU
    member = RosterMember.objects.get(name="王2")
    # Encrypted at rest, found by its keyed hash.
    assert member.id_number == pid(2)
    assert member.id_hash == id_hash(pid(2))
    assert member.health == "长期慢性病"
    # The uploaded file (ID numbers in clear) is gone once imported.
    assert result.file.name == ""
    assert not any(media.rglob("*.csv"))


def test_an_excel_workbook_imports_the_same_way(imp):
    result = imp(xlsx_bytes(FAMILIES), name="花名册.xlsx")
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (2, 0, 5, 0, 0)
    assert result.original_name == "花名册.xlsx"
    assert RosterMember.objects.get(name="王3").id_number == pid(3)


def test_a_gb18030_csv_as_excel_saves_it_in_china_imports(imp):
    result = imp(csv_bytes(FAMILIES, encoding="gb18030"))
    assert result.status == ImportStatus.DONE, result.errors
    assert set(RosterMember.objects.values_list("name", flat=True)) == {
        f"王{n}" for n in range(1, 6)
    }
    assert RosterHousehold.objects.get(number="001").address_group == "3组"


def test_a_utf8_csv_with_bom_and_header_aliases_imports(imp):
    header = ["村级代码", "户号", "姓名", "公民身份号码", "与户主的关系", "劳动技能*", "性别"]
    rows = [[WOGOU, "9", "李一", pid(7), "本人", "普通劳动力", "男"]]
    result = imp(b"\xef\xbb\xbf" + csv_bytes(rows, header=header))
    assert result.status == ImportStatus.DONE, result.errors
    member = RosterMember.objects.get()
    # 本人 is the head; columns the format does not know are ignored.
    assert (member.relation, member.labour_capacity) == ("户主", LabourCapacity.FULL)


def test_importing_the_same_file_again_changes_nothing(imp):
    content = csv_bytes(FAMILIES)
    imp(content)
    before = list(RosterMember.objects.order_by("pk").values())
    households = list(RosterHousehold.objects.order_by("pk").values())
    again = imp(content)
    assert again.status == ImportStatus.DONE
    assert counts(again) == (0, 0, 0, 0, 0)
    assert list(RosterMember.objects.order_by("pk").values()) == before
    assert list(RosterHousehold.objects.order_by("pk").values()) == households


def test_an_updated_file_updates_adds_and_removes_members_of_its_households(imp):
    imp(csv_bytes(FAMILIES))
    untouched = person(9, "003")
    imp(csv_bytes([untouched]))
    updated = [
        person(1, "001", 组="4组"),  # the household's group changed
        person(2, "001", "配偶", 劳动能力="丧失劳动力", 健康状况="长期慢性病"),
        # 王3 has left household 001; 王6 was born
        person(6, "001", "子女", 劳动能力="无"),
        person(4, "002", 是否脱贫户="是", 组="5组"),
        person(5, "002", "子女", 在校情况="大专"),
    ]
    result = imp(csv_bytes(updated))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (0, 1, 1, 1, 1)
    assert set(roster()[(WOGOU, "001")]) == {"王1", "王2", "王6"}
    assert roster()[(WOGOU, "001")]["王2"][1] == LabourCapacity.NONE
    assert RosterHousehold.objects.get(number="001").address_group == "4组"
    # A household the file does not list is not the file's business.
    assert set(roster()[(WOGOU, "003")]) == {"王9"}


def test_a_person_listed_in_another_household_of_the_region_moves_there(imp):
    imp(csv_bytes([person(1, "001"), person(2, "001", "子女"), person(9, "003")]))
    # 王2 married into household 003; the file lists only 003.
    result = imp(csv_bytes([person(9, "003"), person(2, "003", "儿媳")]))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (0, 0, 0, 1, 0)
    assert set(roster()[(WOGOU, "001")]) == {"王1"}
    assert roster()[(WOGOU, "003")]["王2"][0] == "儿媳"
    assert RosterMember.objects.count() == 3


# --- bad rows --------------------------------------------------------------------------------


def first_error(result) -> dict:
    assert result.status == ImportStatus.FAILED
    return result.errors[0]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (person(3, "001", "子女", 身份证号=pid(3)[:17] + "0"), "身份证号", "核对"),
        (person(3, "001", "子女", 身份证号="6211021980"), "身份证号", "18"),
        (person(3, "001", "子女", 姓名=""), "姓名", "必填"),
        (person(3, "001", "子女", 姓名="王" * 31), "姓名", "30"),
        (person(3, "001", "子女", 劳动能力="很强"), "劳动能力", "很强"),
        (person(3, "001", "子女", 残疾等级="5"), "残疾等级", "1、2、3 或 4"),
        (person(3, "001", "子女", 在校情况="私塾"), "在校情况", "私塾"),
        (person(3, "001", "子女", 是否脱贫户="不知道"), "是否脱贫户", "是"),
        (person(3, "009", village="62110210020"), "村代码", "12 位"),
        (person(3, "009", village="621102100299"), "村代码", "621102100299"),
        (person(3, "009", village=DONGGUAN), "村代码", "不在"),
        (person(3, "001", "子女", 身份证号=pid(1)), "身份证号", "第 2 行"),
        (person(3, "001", "户主"), "与户主关系", "第 2 行"),
        (person(3, "007", "子女"), "与户主关系", "户主"),
    ],
    ids=[
        "id-checksum",
        "id-format",
        "name-empty",
        "name-too-long",
        "labour-unknown",
        "disability-grade",
        "schooling-unknown",
        "yes-no",
        "village-code-format",
        "village-unknown",
        "village-outside-region",
        "same-person-twice",
        "two-heads",
        "no-head",
    ],
)
def test_a_bad_row_is_reported_with_its_row_and_column_and_nothing_is_written(
    imp, row, column, message
):
    good = [person(1, "001"), person(2, "001", "配偶")]
    result = imp(csv_bytes([*good, row, person(4, "002")]))
    error = first_error(result)
    assert (error["row"], error["field"]) == (4, column), result.errors
    assert message in error["message"], error["message"]
    assert result.error_count == 1
    assert not RosterHousehold.objects.exists()
    assert not RosterMember.objects.exists()


def test_a_bad_file_leaves_the_existing_roster_exactly_as_it_was(imp):
    imp(csv_bytes(FAMILIES))
    before = roster()
    changed = [person(1, "001", 姓名="王一"), person(6, "001", "子女", 身份证号="123")]
    result = imp(csv_bytes(changed))
    assert result.status == ImportStatus.FAILED
    assert counts(result) == (0, 0, 0, 0, 0)
    assert roster() == before


def test_every_error_is_counted_and_the_first_hundreds_are_kept_in_row_order(imp):
    rows = [person(1, "001")] + [
        person(n, "001", "子女", 身份证号=f"bad{n}") for n in range(2, MAX_ERRORS + 52)
    ]
    result = imp(csv_bytes(rows))
    assert result.error_count == MAX_ERRORS + 50
    assert len(result.errors) == MAX_ERRORS
    assert [e["row"] for e in result.errors] == list(range(3, MAX_ERRORS + 3))


def test_an_id_number_excel_turned_into_a_number_gets_its_own_explanation(imp):
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    workbook.active.append([int(WOGOU), "001", "王一", 621102196001010011, "户主", "全部"])
    out = io.BytesIO()
    workbook.save(out)
    error = first_error(imp(out.getvalue(), name="roster.xlsx"))
    assert (error["row"], error["field"]) == (2, "身份证号")
    assert "文本" in error["message"]


def test_a_person_of_another_regions_roster_is_refused_not_taken(
    imp, regions, django_capture_on_commit_callbacks
):
    county = make_staff("county-tongwei", regions[TONGWEI], Role.COUNTY)
    run_import(
        county,
        regions[TONGWEI],
        csv_bytes([person(1, "001", village=DONGGUAN)]),
        django_capture_on_commit_callbacks,
    )
    result = imp(csv_bytes([person(5, "005"), person(1, "005", "子女")]))
    error = first_error(result)
    assert (error["row"], error["field"]) == (3, "身份证号")
    assert "地区以外" in error["message"]
    assert roster() == {(DONGGUAN, "001"): {"王1": ("户主", "full", "none", None)}}


def test_the_head_of_a_household_the_file_does_not_list_cannot_move(imp):
    imp(csv_bytes([person(1, "001"), person(2, "001", "子女")]))
    error = first_error(imp(csv_bytes([person(9, "003"), person(1, "003", "女婿")])))
    assert (error["row"], error["field"]) == (3, "身份证号")
    assert "001" in error["message"]
    assert set(roster()[(WOGOU, "001")]) == {"王1", "王2"}


def test_a_village_cannot_import_rows_of_another_village(imp, village_staff, regions):
    result = imp(
        csv_bytes([person(1, "001"), person(2, "001", "子女", village=TAIPING)]),
        user=village_staff,
        region=regions[WOGOU],
    )
    error = first_error(result)
    assert (error["row"], error["field"]) == (3, "村代码")
    assert "窝沟村" in error["message"]
    assert not RosterMember.objects.exists()


def test_a_file_with_only_the_header_is_refused(imp):
    error = first_error(imp(csv_bytes([])))
    assert "没有" in error["message"]


# --- pages -------------------------------------------------------------------------------------


def upload(client, user, region_code, content, name="roster.csv", regions=None):
    client.force_login(user)
    region = regions[region_code]
    return client.post(
        reverse("roster:upload"),
        {"region": region.pk, "file": SimpleUploadedFile(name, content)},
    )


def test_the_upload_page_imports_and_shows_the_counts(
    client, township, regions, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, township, LUJIAGOU, csv_bytes(FAMILIES), regions=regions)
    assert response.status_code == 302
    roster_import = RosterImport.objects.get()
    assert response["Location"] == reverse("roster:detail", args=[roster_import.pk])
    page = client.get(response["Location"]).content.decode()
    assert "已导入" in page
    assert "<progress" not in page
    listing = client.get(reverse("roster:list")).content.decode()
    assert "roster.csv" in listing


def test_the_page_of_a_refused_file_lists_each_bad_row(
    client, township, regions, django_capture_on_commit_callbacks
):
    rows = [person(1, "001"), person(2, "001", "子女", 身份证号=pid(2)[:17] + "0")]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, township, LUJIAGOU, csv_bytes(rows), regions=regions)
    page = client.get(response["Location"]).content.decode()
    assert "未导入" in page
    assert "<td>3</td><td>身份证号</td>" in page


def test_a_running_import_shows_a_progress_bar_fed_by_the_progress_endpoint(
    client, township, regions
):
    roster_import = RosterImport.objects.create(
        region=regions[LUJIAGOU],
        region_code=LUJIAGOU,
        original_name="big.csv",
        status=ImportStatus.RUNNING,
        total_rows=400_000,
        processed_rows=100_000,
        uploaded_by=township,
    )
    client.force_login(township)
    page = client.get(reverse("roster:detail", args=[roster_import.pk])).content.decode()
    assert '<progress id="roster-bar" max="100" value="24">' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert "roster_progress.js" in page
    progress = client.get(reverse("roster:progress", args=[roster_import.pk])).json()
    assert progress == {
        "status": "running",
        "status_label": "正在导入",
        "processed_rows": 100_000,
        "total_rows": 400_000,
        "percent": 24,
        "finished": False,
    }
    RosterImport.objects.filter(pk=roster_import.pk).update(status=ImportStatus.DONE)
    progress = client.get(reverse("roster:progress", args=[roster_import.pk])).json()
    assert (progress["finished"], progress["percent"]) == (True, 100)
    page = client.get(reverse("roster:detail", args=[roster_import.pk])).content.decode()
    assert "refresh" not in page


def test_an_outsider_gets_404_on_another_regions_import(client, township, regions):
    roster_import = RosterImport.objects.create(
        region=regions[LUJIAGOU],
        region_code=LUJIAGOU,
        original_name="roster.csv",
        uploaded_by=township,
    )
    tongwei = make_staff("county-tongwei", regions[TONGWEI], Role.COUNTY)
    for user in (tongwei, make_staff("village-taiping", regions[TAIPING], Role.VILLAGE)):
        client.force_login(user)
        for name in ("roster:detail", "roster:progress"):
            assert client.get(reverse(name, args=[roster_import.pk])).status_code == 404
        assert "roster.csv" not in client.get(reverse("roster:list")).content.decode()


def test_a_grid_worker_may_see_the_page_but_not_import(client, grid_wogou, regions):
    client.force_login(grid_wogou)
    page = client.get(reverse("roster:list")).content.decode()
    assert 'name="file"' not in page
    response = upload(client, grid_wogou, WOGOU, csv_bytes(FAMILIES), regions=regions)
    assert response.status_code == 400
    assert not RosterImport.objects.exists()


def test_a_village_cannot_choose_another_region(client, village_staff, regions):
    response = upload(client, village_staff, TAIPING, csv_bytes(FAMILIES), regions=regions)
    assert response.status_code == 400
    assert not RosterImport.objects.exists()


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "roster.csv", "文件为空"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "roster.csv", "CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "roster.xls", ".xls"),
        (zip_bomb(), "roster.xlsx", "CSV"),
        (b"PK\x03\x04broken", "roster.xlsx", "损坏"),
        (
            csv_bytes(FAMILIES, header=["村", "户", "名", "号", "关系", "劳力", *HEADER[6:]]),
            "r.csv",
            "村代码",
        ),
        ("姓名,年龄\n张三,3\n".encode(), "r.csv", "身份证号"),
    ],
    ids=[
        "empty",
        "not-csv",
        "old-xls",
        "zip-bomb",
        "broken-xlsx",
        "wrong-headers",
        "missing-columns",
    ],
)
def test_a_hostile_or_wrong_upload_is_refused_at_the_field_and_nothing_is_saved(
    client, township, regions, media, content, name, message
):
    response = upload(client, township, LUJIAGOU, content, name=name, regions=regions)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="file-error"' in page
    assert message in page
    assert not RosterImport.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_a_file_over_the_limit_is_refused_at_the_field(client, township, regions, settings, media):
    settings.ROSTER_UPLOAD_MAX_BYTES = 100
    response = upload(client, township, LUJIAGOU, csv_bytes(FAMILIES), regions=regions)
    assert response.status_code == 400
    assert "大于" in response.content.decode()
    assert not RosterImport.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_template_has_the_headers_and_opens_in_excel(client, township):
    client.force_login(township)
    response = client.get(reverse("roster:template"))
    assert response["Content-Disposition"].startswith("attachment")
    assert response.content == template_csv()
    assert response.content.decode("utf-8-sig").splitlines()[0] == ",".join(HEADER)


# --- a real Celery worker on Redis -------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_the_uploaded_file_after_commit(
    client,
    regions,
    worker,  # noqa: F811 — the fixture imported above
    media,
):
    township = make_staff("township-lujiagou", regions[LUJIAGOU], Role.TOWNSHIP)
    response = upload(client, township, LUJIAGOU, csv_bytes(FAMILIES), regions=regions)
    assert response.status_code == 302
    roster_import = RosterImport.objects.get()
    assert wait_until(
        lambda: RosterImport.objects.filter(pk=roster_import.pk, status=ImportStatus.DONE).exists()
    )
    roster_import.refresh_from_db()
    assert counts(roster_import) == (2, 0, 5, 0, 0)
    assert not default_storage.exists(roster_import.file.name or "x")
    assert client.get(reverse("roster:progress", args=[roster_import.pk])).json()["finished"]
