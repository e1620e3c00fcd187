"""Department data feeds through the import: each feed's rule, matching against the
roster and the monitored households within the department's region, merging into open
warnings and declarations, bad rows with nothing written, idempotent re-imports, the
assistance rolls and the civil-affairs comparison, and the upload pages."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.core.identity import id_hash
from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.households.models import IncomeRecord, RosterHousehold, RosterMember
from apps.regions.models import Level, Region, Role
from apps.screening.feeds import feed_upload_create
from apps.screening.feeds.definitions import county_lines_set
from apps.screening.models import (
    AssistanceRecord,
    BatchStatus,
    Department,
    DepartmentMember,
    FeedBatch,
    FeedRecord,
    Warning,
    WarningSource,
    WarningState,
)

from .conftest import ANDING, DONGGUAN, LUJIAGOU, TAIPING, WOGOU, declaration_input, make_staff
from .households_steps import enrol, new_id
from .test_roster_import import zip_bomb

pytestmark = pytest.mark.django_db

MEDICAL = ["身份证号", "姓名", "就诊日期", "医疗总费用", "个人自付"]
DISABILITY = ["身份证号", "姓名", "残疾等级", "认定日期"]
COLLEGE = ["身份证号", "姓名", "录取院校", "学费"]
DISASTER = ["行政区划代码", "灾害事件", "发生日期", "灾情等级"]
ASSISTANCE = ["身份证号", "姓名", "救助类别", "开始日期"]
HEADERS = {
    "medical": MEDICAL,
    "disability": DISABILITY,
    "college": COLLEGE,
    "disaster": DISASTER,
    "assistance": ASSISTANCE,
}


def day(days_ago: int = 10) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def csv_bytes(kind: str, rows: list[list], encoding="utf-8") -> bytes:
    lines = [",".join(HEADERS[kind]), *(",".join(str(c) for c in r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def department(regions):
    """安定区's departments, as one for the tests: every feed."""
    return Department.objects.create(
        code="anding-data",
        name="安定区医保局",
        region=regions[ANDING],
        kinds=["medical", "disability", "college", "disaster", "assistance"],
    )


@pytest.fixture
def clerk(department):
    user = make_staff_user("yibao-clerk")
    DepartmentMember.objects.create(user=user, department=department)
    return user


def make_staff_user(username):
    from apps.accounts.models import User

    return User.objects.create_user(username=username, password="pw-for-tests-only")


def household(regions, number="001", serials=(101, 102), village=WOGOU, poor=False, grades=()):
    h = RosterHousehold.objects.create(
        village=regions[village],
        region_code=village,
        number=number,
        head_name=f"张{serials[0]}",
        formerly_poor=poor,
    )
    for i, serial in enumerate(serials):
        number_ = new_id(serial)
        RosterMember.objects.create(
            household=h,
            name=f"张{serial}",
            relation="户主" if i == 0 else "子女",
            id_number=number_,
            id_hash=id_hash(number_),
            labour_capacity="none" if i else "full",
            disability_grade=grades[i] if i < len(grades) else None,
        )
    return h


@pytest.fixture
def run(django_capture_on_commit_callbacks, clerk, department):
    def run(kind, content: bytes, name="feed.csv") -> FeedBatch:
        with django_capture_on_commit_callbacks(execute=True):
            batch, _created = feed_upload_create(
                actor=clerk,
                department=department,
                kind=kind,
                upload=SimpleUploadedFile(name, content),
            )
        batch.refresh_from_db()
        return batch

    return run


def medical(serial, paid, total=None, when=None, name=None):
    return [new_id(serial), name or f"张{serial}", when or day(), total or paid * 2, paid]


# --- the rules --------------------------------------------------------------------------


def test_medical_costs_over_the_county_line_raise_a_warning_for_the_village(run, regions):
    home = household(regions)
    county_lines_set(
        "medical",
        regions[ANDING],
        timezone.localdate().year,
        threshold=Decimal("8000"),
        income_share=Decimal("0.5"),
    )
    batch = run("medical", csv_bytes("medical", [medical(101, 8500, 30000)]))
    assert batch.status == BatchStatus.DONE, batch.errors
    assert (batch.total_rows, batch.records_matched, batch.records_new) == (1, 1, 1)
    assert batch.warnings_raised == 1
    warning = Warning.objects.get()
    assert (warning.village_id, warning.region_code) == (regions[WOGOU].pk, WOGOU)
    assert warning.roster_household_id == home.pk
    assert warning.state == WarningState.OPEN
    # The plaintext the village needs, from the file; never in the record's data.
    assert warning.id_number == new_id(101)
    record = FeedRecord.objects.get()
    assert "id_number" not in record.data and new_id(101) not in str(record.data)
    assert record.id_hash == id_hash(new_id(101))
    assert record.roster_member.name == "张101"
    source = warning.sources.get()
    assert source.rule == "medical_cost" and "8,500" in source.summary
    # The household's second member cannot work: the labour factor counts.
    assert {f["factor"] for f in warning.score_factors} == {"medical", "labour"}


def test_medical_costs_over_the_share_of_a_monitored_households_income(run, regions, county_anding):
    monitored = enrol(regions, county_anding, serial=7)
    IncomeRecord.objects.create(
        household=monitored,
        period_start=timezone.localdate() - dt.timedelta(days=365),
        period_end=timezone.localdate(),
        net_income=Decimal("4000"),
        household_size=2,
        per_capita=Decimal("2000"),
        source=IncomeRecord.Source.ENROLMENT,
    )
    household(regions, serials=(101,))
    rows = [medical(7, 2500), medical(101, 2500)]  # 2,500 > half of 4,000; under 10,000
    batch = run("medical", csv_bytes("medical", rows))
    assert (batch.records_matched, batch.warnings_raised) == (2, 1)
    warning = Warning.objects.get()
    assert warning.monitored_household_id == monitored.pk


def test_medical_costs_under_both_lines_raise_nothing_but_are_kept(run, regions):
    household(regions)
    batch = run("medical", csv_bytes("medical", [medical(101, 9999)]))
    assert (batch.records_matched, batch.records_new, batch.warnings_raised) == (1, 1, 0)
    assert not Warning.objects.exists()


def test_a_new_grade_1_or_2_disability_raises_a_warning_grade_3_or_known_does_not(run, regions):
    household(regions, "001", (101,))
    household(regions, "002", (102,))
    household(regions, "003", (103,), grades=(2,))
    rows = [
        [new_id(101), "张101", "二级", day()],
        [new_id(102), "张102", "3", day()],
        [new_id(103), "张103", "1级", day()],
    ]
    batch = run("disability", csv_bytes("disability", rows))
    assert (batch.records_matched, batch.warnings_raised) == (3, 1)
    assert Warning.objects.get().id_hash == id_hash(new_id(101))
    # Delivered again later, with another date: known now, nothing new.
    again = [[new_id(101), "张101", "一级", day(2)]]
    batch = run("disability", csv_bytes("disability", again))
    assert (batch.records_new, batch.warnings_raised, batch.warnings_merged) == (1, 0, 0)


def test_a_college_student_of_a_monitored_or_formerly_poor_household_raises_a_warning(
    run, regions, county_anding
):
    enrol(regions, county_anding, serial=7)
    household(regions, "001", (101,), poor=True)
    household(regions, "002", (102,))
    rows = [
        [new_id(7), "魏家常", "兰州大学", 5000],
        [new_id(101), "张101", "西北师范大学", "4,800"],
        [new_id(102), "张102", "甘肃农业大学", 4500],
    ]
    batch = run("college", csv_bytes("college", rows))
    assert (batch.records_matched, batch.warnings_raised) == (3, 2)
    assert id_hash(new_id(102)) not in set(Warning.objects.values_list("id_hash", flat=True))


def test_a_disaster_on_a_township_code_warns_every_village_of_the_township_once(run, regions):
    villages = Region.objects.filter(level=Level.VILLAGE, code__startswith=LUJIAGOU[:9])
    rows = [[LUJIAGOU, "暴雨洪涝", day(1), "Ⅱ"], [WOGOU, "冰雹", day(3), "4"]]
    batch = run("disaster", csv_bytes("disaster", rows))
    assert batch.status == BatchStatus.DONE, batch.errors
    assert batch.warnings_raised == villages.count() + 1
    flood = Warning.objects.filter(sources__summary__contains="暴雨洪涝")
    assert sorted(flood.values_list("region_code", flat=True)) == sorted(
        villages.values_list("code", flat=True)
    )
    assert Warning.objects.filter(region_code=WOGOU).count() == 2
    assert run("disaster", csv_bytes("disaster", rows[::-1])).records_new == 0


# --- matching ---------------------------------------------------------------------------


def test_matching_by_roster_monitored_household_and_region(run, regions, county_anding):
    household(regions, "001", (101,))
    enrol(regions, county_anding, serial=7)  # not in the roster
    household(regions, "009", (109,), village=DONGGUAN)  # 通渭县: outside 安定区
    rows = [
        medical(101, 20000),
        medical(7, 20000),
        medical(109, 20000),
        medical(555, 20000),  # nobody of the rural population
    ]
    batch = run("medical", csv_bytes("medical", rows))
    assert (batch.total_rows, batch.records_matched, batch.records_new) == (4, 2, 2)
    assert batch.warnings_raised == 2
    hashes = set(FeedRecord.objects.values_list("id_hash", flat=True))
    assert hashes == {id_hash(new_id(101)), id_hash(new_id(7))}


# --- merging ----------------------------------------------------------------------------


def test_a_second_record_of_the_same_household_joins_its_open_warning(run, regions):
    household(regions, "001", (101, 102))
    run("medical", csv_bytes("medical", [medical(101, 20000)]))
    batch = run("medical", csv_bytes("medical", [medical(102, 30000)]))
    assert (batch.warnings_raised, batch.warnings_merged) == (0, 1)
    warning = Warning.objects.get()
    assert warning.sources.count() == 2


def test_a_person_with_an_open_declaration_gets_the_source_on_the_declaration(run, regions):
    household(regions, "001", (101,))
    declaration = declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(101))
    ).declaration
    batch = run("medical", csv_bytes("medical", [medical(101, 20000)]))
    assert (batch.warnings_raised, batch.warnings_merged) == (0, 1)
    warning = Warning.objects.get()
    assert (warning.state, warning.declaration_id) == (WarningState.MERGED, declaration.pk)


# --- bad rows, idempotence ----------------------------------------------------------------


def test_bad_rows_are_reported_row_by_row_and_nothing_is_written(run, regions):
    household(regions, "001", (101, 102))
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    rows = [
        medical(101, 20000),
        [new_id(102)[:17] + "0", "张102", day(), 100, 50],
        [new_id(102), "张102", future, 100, 50],
        [new_id(102), "张102", day(), 100, 150],
        [new_id(102), "张102", day(), "-5", 0],
        [new_id(102), "张" * 31, "昨天", "", 1],
    ]
    batch = run("medical", csv_bytes("medical", rows))
    assert batch.status == BatchStatus.FAILED
    cells = [(e["row"], e["field"]) for e in batch.errors]
    assert cells == [
        (3, "身份证号"),
        (4, "就诊日期"),
        (5, "个人自付"),
        (6, "医疗总费用"),
        (7, "姓名"),
        (7, "医疗总费用"),
    ]
    assert "未来" in batch.errors[1]["message"]
    assert not FeedRecord.objects.exists() and not Warning.objects.exists()
    assert not WarningSource.objects.exists()
    assert not batch.file.name  # the file with ID numbers in clear is gone


def test_a_region_outside_the_department_and_an_unknown_grade_are_bad_rows(run, regions):
    rows = [[DONGGUAN, "暴雨", day(), "Ⅰ"], ["621102999999", "暴雨", day(), "Ⅴ"]]
    batch = run("disaster", csv_bytes("disaster", rows))
    assert [(e["row"], e["field"]) for e in batch.errors] == [
        (2, "行政区划代码"),
        (3, "行政区划代码"),
        (3, "灾情等级"),
    ]
    assert not Warning.objects.exists()


def test_importing_the_same_file_again_changes_nothing(run, regions, clerk, department):
    household(regions, "001", (101,))
    content = csv_bytes("medical", [medical(101, 20000), medical(555, 20000)])
    first = run("medical", content)
    again = run("medical", content)
    assert again.pk == first.pk and FeedBatch.objects.count() == 1
    # The same records in another file (a cumulative export) with one more.
    household(regions, "002", (102,))
    bigger = csv_bytes("medical", [medical(555, 20000), medical(102, 20000), medical(101, 20000)])
    batch = run("medical", bigger)
    assert (batch.records_matched, batch.records_new, batch.warnings_raised) == (2, 1, 1)
    assert Warning.objects.count() == 2
    assert WarningSource.objects.count() == 2


def test_an_excel_workbook_with_real_dates_imports(run, regions):
    household(regions, "001", (101,))
    book = openpyxl.Workbook()
    book.active.append(MEDICAL)
    book.active.append([new_id(101), "张101", dt.date(2026, 3, 1), 50000.0, 21000.5])
    out = io.BytesIO()
    book.save(out)
    batch = run("medical", out.getvalue(), name="yibao.xlsx")
    assert batch.status == BatchStatus.DONE, batch.errors
    assert FeedRecord.objects.get().data["date"] == "2026-03-01"
    assert batch.warnings_raised == 1


def test_a_gb18030_csv_with_header_variants_imports(run, regions):
    household(regions, "001", (101,))
    header = "公民身份号码,患者姓名,结算日期,总费用,个人负担\r\n"
    row = f"{new_id(101)},张101,{day().replace('-', '/')},30000,12000\r\n"
    batch = run("medical", (header + row).encode("gb18030"))
    assert (batch.status, batch.warnings_raised) == (BatchStatus.DONE, 1)


# --- the civil-affairs rolls ---------------------------------------------------------------


def test_an_assistance_roll_is_kept_and_declarants_receiving_nothing_become_warnings(run, regions):
    household(regions, "001", (101,))
    receiving = declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(101))
    ).declaration
    nothing = declaration_submit(
        village=regions[TAIPING], data=declaration_input(id_number=new_id(102), phone="13912340000")
    ).declaration
    rows = [[new_id(101), "张101", "低保", day(300)], [new_id(555), "李五", "临时救助", ""]]
    batch = run("assistance", csv_bytes("assistance", rows))
    assert batch.status == BatchStatus.DONE, batch.errors
    assert (batch.records_new, batch.records_matched) == (2, 1)
    assert set(AssistanceRecord.objects.values_list("kind", "county_code")) == {
        ("dibao", ANDING),
        ("temporary", ANDING),
    }
    low_income = WarningSource.objects.filter(rule="low_income")
    assert [s.warning.id_hash for s in low_income] == [nothing.id_hash]
    assert receiving.id_hash not in {s.warning.id_hash for s in low_income}
    assert Declaration.objects.count() == 2


# --- the pages ----------------------------------------------------------------------------


def upload(client, user, department, kind, content, name="feed.csv"):
    client.force_login(user)
    return client.post(
        reverse("feeds:upload"),
        {"feed": f"{department.pk}:{kind}", "file": SimpleUploadedFile(name, content)},
    )


def test_a_department_user_uploads_and_sees_the_counts(
    client, clerk, department, regions, django_capture_on_commit_callbacks
):
    household(regions, "001", (101,))
    content = csv_bytes("medical", [medical(101, 20000)])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, clerk, department, "medical", content)
    assert response.status_code == 302
    batch = FeedBatch.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "已导入" in page and 'id="feed-warnings">1<' in page
    listing = client.get(reverse("feeds:list")).content.decode()
    assert "feed.csv" in listing and reverse("feeds:list") in listing  # the nav link
    assert client.get(reverse("feeds:progress", args=[batch.pk])).json()["finished"]
    # Again: the batch already received.
    response = upload(client, clerk, department, "medical", content)
    assert response["Location"] == reverse("feeds:detail", args=[batch.pk])


def test_a_running_batch_shows_the_progress_bar(client, clerk, department):
    batch = FeedBatch.objects.create(
        department=department,
        kind="medical",
        batch_id="x",
        source="upload",
        status=BatchStatus.RUNNING,
        total_rows=100_000,
        processed_rows=50_000,
    )
    client.force_login(clerk)
    page = client.get(reverse("feeds:detail", args=[batch.pk])).content.decode()
    assert '<progress id="roster-bar" max="100" value="49">' in page
    assert "roster_progress.js" in page
    assert client.get(reverse("feeds:progress", args=[batch.pk])).json()["percent"] == 49


def test_the_refused_file_page_lists_each_bad_row(
    client, clerk, department, django_capture_on_commit_callbacks
):
    content = csv_bytes("medical", [[new_id(1)[:17] + "0", "张", day(), 1, 1]])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, clerk, department, "medical", content)
    page = client.get(response["Location"]).content.decode()
    assert "未导入" in page and "<td>2</td><td>身份证号</td>" in page


def test_others_do_not_see_the_department_pages(client, clerk, department, regions, grid_wogou):
    batch = FeedBatch.objects.create(
        department=department, kind="medical", batch_id="x", source="upload"
    )
    other = Department.objects.create(
        code="tongwei",
        name="通渭县医保局",
        region=regions[DONGGUAN[:6] + "000000"],
        kinds=["medical"],
    )
    stranger = make_staff_user("tongwei-clerk")
    DepartmentMember.objects.create(user=stranger, department=other)
    county = make_staff("county-anding-x", regions[ANDING], Role.COUNTY)
    for user in (grid_wogou, county):
        client.force_login(user)
        assert client.get(reverse("feeds:list")).status_code == 404
        assert reverse("feeds:list") not in client.get(reverse("staff:home")).content.decode()
    for user in (grid_wogou, county, stranger):
        client.force_login(user)
        for name in ("feeds:detail", "feeds:progress"):
            assert client.get(reverse(name, args=[batch.pk])).status_code == 404
    # Nor may a member upload a feed of another department.
    response = upload(client, stranger, department, "medical", b"x")
    assert response.status_code == 400 and not FeedBatch.objects.exclude(pk=batch.pk).exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "f.csv", "文件为空"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "f.csv", "CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "f.xls", ".xls"),
        (zip_bomb(), "f.xlsx", "CSV"),
        (b"PK\x03\x04broken", "f.xlsx", "损坏"),
        ("姓名,金额\n张三,3\n".encode(), "f.csv", "身份证号"),
    ],
    ids=["empty", "not-csv", "old-xls", "zip-bomb", "broken-xlsx", "missing-columns"],
)
def test_a_hostile_or_wrong_upload_is_refused_at_the_field_and_nothing_is_saved(
    client, clerk, department, media, content, name, message
):
    response = upload(client, clerk, department, "medical", content, name=name)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert not FeedBatch.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_template_of_each_feed_has_its_headers(client, clerk):
    client.force_login(clerk)
    for kind, header in HEADERS.items():
        response = client.get(reverse("feeds:template", args=[kind]))
        assert response.content.decode("utf-8-sig").splitlines()[0] == ",".join(header)
