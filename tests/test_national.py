"""The hand-over with the national monitoring system: the import of its export of a
county's monitored households (checked whole, all or nothing, idempotent by household
code, scoped to the county), what imported households get (plans, visits, clocks,
look-backs, dashboards), the export in its layout with each household marked, and the
"enrolled, not yet recorded nationally" list with its clock."""

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, AuditEntry
from apps.core.identity import id_check_digit, id_hash
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import clocks_sweep
from apps.households import services as hs
from apps.households.models import (
    Category,
    FollowUp,
    HelpPlan,
    HouseholdEvent,
    HouseholdMember,
    HouseholdStatus,
    ImportStatus,
    LabourCapacity,
    LookBack,
    MeasureStatus,
    MonitoredHousehold,
    NationalExport,
    NationalImport,
    PlanState,
    Stability,
)
from apps.households.national import COLUMNS, export_header, national_import_create
from apps.regions.models import Role
from apps.supervision.monitoring import monitoring_load, work_rows

from .conftest import ANDING, DONGGUAN, TAIPING, TONGWEI, WOGOU, make_staff, require_postgres
from .households_steps import enrol

pytestmark = pytest.mark.django_db

HEADER = [c.header for c in COLUMNS]
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _postgres(media):
    require_postgres()  # the import's set-based apply is PostgreSQL's


def pid(n: int) -> str:
    """The n-th valid ID number of these tests (born 1970 onwards)."""
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000)
    first17 = f"621102{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def ago(days: int) -> str:
    return (TODAY() - dt.timedelta(days=days)).isoformat()


def person(n, code, relation="户主", village=WOGOU, **cells) -> list:
    values = {
        "村代码": village,
        "户编号": code,
        "姓名": f"李{n}",
        "证件号码": pid(n),
        "与户主关系": relation,
        "劳动技能": "普通劳动力",
        "监测对象类别": "",
        "风险类型": "",
        "识别时间": "",
        "帮扶措施": "",
        "风险消除状态": "",
        "风险消除时间": "",
        "家庭人均纯收入": "",
    }
    if relation == "户主":
        values.update({"监测对象类别": "边缘易致贫户", "风险类型": "因病", "识别时间": ago(400)})
    values.update(cells)
    return [values[h] for h in HEADER]


# Three households of 安定区: one not yet stable with measures in place, one whose risk
# was eliminated, one in sudden hardship with no measure yet.
HOUSEHOLDS = [
    person(
        1,
        "6211020001",
        监测对象类别="脱贫不稳定户",
        风险类型="因病、因残",
        帮扶措施="健康帮扶、公益岗位",
        家庭人均纯收入="5600",
    ),
    person(2, "6211020001", "配偶", 劳动技能="丧失劳动力"),
    person(3, "6211020002", 风险消除状态="已消除", 风险消除时间=ago(100), 帮扶措施="产业帮扶"),
    person(4, "6211020002", "子女", 劳动技能="弱劳动力"),
    person(
        5,
        "6211020003",
        village=TAIPING,
        监测对象类别="突发严重困难户",
        风险类型="因灾",
        识别时间=ago(20),
    ),
]


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def imp(django_capture_on_commit_callbacks, county_anding, regions):
    def run(content, user=None, county=ANDING, name="监测对象信息.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            obj = national_import_create(
                actor=user or county_anding,
                county=regions[county],
                upload=SimpleUploadedFile(name, content),
            )
        obj.refresh_from_db()
        return obj

    return run


def counts(obj) -> tuple:
    return (
        obj.households_created,
        obj.households_updated,
        obj.members_created,
        obj.members_updated,
    )


def running_clocks(stage) -> list[Clock]:
    return list(Clock.objects.filter(stage=stage, met_at__isnull=True).order_by("subject_id"))


# --- the import ------------------------------------------------------------------------------


def test_a_county_imports_the_national_file(imp, media):
    result = imp(xlsx_bytes(HOUSEHOLDS))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (3, 0, 5, 0)
    assert result.total_rows == result.processed_rows == 5

    unstable = MonitoredHousehold.objects.get(national_code="6211020001")
    assert unstable.imported and unstable.national_recorded_at is not None
    assert (unstable.head_name, unstable.region_code) == ("李1", WOGOU)
    assert unstable.head_id_number == pid(1) and unstable.head_id_hash == id_hash(pid(1))
    assert unstable.category == Category.UNSTABLE
    assert unstable.risk_types == ["disability", "illness"]
    assert str(unstable.per_capita_income) == "5600.00"
    assert timezone.localdate(unstable.enrolled_at) == TODAY() - dt.timedelta(days=400)
    assert unstable.monitoring_since == unstable.enrolled_at
    spouse = unstable.members.get(relation="配偶")
    # Encrypted at rest, found by its keyed hash, like every ID number.
    assert (spouse.id_number, spouse.id_hash) == (pid(2), id_hash(pid(2)))
    assert spouse.labour_capacity == LabourCapacity.NONE
    assert unstable.members.get(relation="户主").labour_capacity == LabourCapacity.FULL

    eliminated = MonitoredHousehold.objects.get(national_code="6211020002")
    assert eliminated.status == HouseholdStatus.ELIMINATED
    assert timezone.localdate(eliminated.eliminated_at) == TODAY() - dt.timedelta(days=100)
    sudden = MonitoredHousehold.objects.get(national_code="6211020003")
    assert (sudden.category, sudden.region_code, sudden.risk_types) == (
        Category.SUDDEN,
        TAIPING,
        ["disaster"],
    )
    assert set(HouseholdEvent.objects.values_list("kind", flat=True)) == {"imported"}
    # The file (ID numbers in clear) is gone once imported.
    assert result.file.name == ""
    assert not any(media.rglob("*.xlsx"))


def test_imported_households_get_plans_visits_and_clocks_like_enrolled_ones(imp):
    imp(xlsx_bytes(HOUSEHOLDS))
    unstable, eliminated, sudden = MonitoredHousehold.objects.order_by("national_code")

    # Measures the national system lists are in place; a household without any drafts
    # its plan within 10 days, as after enrolment.
    plan = unstable.plans.get()
    assert plan.state == PlanState.APPROVED
    assert [(m.kind, m.title, m.status) for m in plan.measures.all()] == [
        ("medical", "健康帮扶", MeasureStatus.RUNNING),
        ("welfare_job", "公益岗位", MeasureStatus.RUNNING),
    ]
    draft = sudden.plans.get()
    assert draft.state == PlanState.DRAFT and not draft.measures.exists()
    (plan_clock,) = running_clocks(Stage.HELP_PLAN)
    assert (plan_clock.subject_type, plan_clock.subject_id) == (hs.PLAN_SUBJECT, draft.pk)
    assert plan_clock.due_on == TODAY() + dt.timedelta(days=10)
    assert eliminated.plans.get().state == PlanState.APPROVED

    # Follow-up visits: monthly for 脱贫不稳定户, quarterly for the others; none once the
    # risk is eliminated.
    assert not FollowUp.objects.filter(household=eliminated).exists()
    close = FollowUp.objects.get(household=unstable)
    usual = FollowUp.objects.get(household=sudden)
    assert close.due_on.month != TODAY().month or close.due_on > TODAY()
    assert usual.due_on > close.due_on
    clocks = {c.subject_id: c for c in Clock.objects.filter(subject_type=hs.FOLLOW_UP_SUBJECT)}
    assert (clocks[close.pk].stage, clocks[close.pk].due_on) == (
        Stage.FOLLOW_UP_CLOSE,
        close.due_on,
    )
    assert (clocks[usual.pk].stage, clocks[usual.pk].due_on) == (Stage.FOLLOW_UP, usual.due_on)
    # Already in the national system: nothing to hand over.
    assert not Clock.objects.filter(stage=Stage.NATIONAL_RECORD).exists()


def test_imported_households_go_through_the_same_services(imp, regions, grid_wogou):
    imp(xlsx_bytes(HOUSEHOLDS))
    unstable = MonitoredHousehold.objects.get(national_code="6211020001")
    visit = FollowUp.objects.get(household=unstable)
    hs.follow_up_record(
        follow_up=visit,
        actor=grid_wogou,
        done_on=TODAY(),
        findings="病情稳定，公益岗位在岗。",
        stability=Stability.STABLE,
    )
    assert FollowUp.objects.filter(household=unstable).pending().count() == 1
    # The household eliminated 100 days ago is drawn for the look-back review.
    assert hs.lookbacks_sample(rate=1.0) == 1
    assert LookBack.objects.get().household.national_code == "6211020002"
    # Identified 400 days ago: not yet on the two-year list; the dashboards count its work.
    loads = {load.stage: load for load in monitoring_load(region=regions[ANDING])}
    assert loads[Stage.FOLLOW_UP].running == 2
    assert loads[Stage.HELP_PLAN].running == 1


def test_importing_the_same_file_again_changes_nothing(imp):
    content = xlsx_bytes(HOUSEHOLDS)
    imp(content)
    tables = (MonitoredHousehold, HouseholdMember, HelpPlan, FollowUp, Clock, HouseholdEvent)
    before = {m: list(m.objects.order_by("pk").values()) for m in tables}
    again = imp(content)
    assert again.status == ImportStatus.DONE, again.errors
    assert counts(again) == (0, 0, 0, 0)
    assert {m: list(m.objects.order_by("pk").values()) for m in tables} == before


def test_a_later_file_updates_the_households_it_knows_by_their_code(imp):
    imp(xlsx_bytes(HOUSEHOLDS))
    later = [
        person(1, "6211020001", 监测对象类别="边缘易致贫户", 风险类型="因病"),
        person(2, "6211020001", "配偶", 姓名="王秀英", 劳动技能="丧失劳动力"),
        person(6, "6211020001", "子女"),  # born since
    ]
    result = imp(xlsx_bytes(later))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result) == (0, 1, 1, 1)
    household = MonitoredHousehold.objects.get(national_code="6211020001")
    assert (household.category, household.risk_types) == (Category.MARGINAL, ["illness"])
    assert set(household.members.values_list("name", flat=True)) == {"李1", "王秀英", "李6"}
    assert household.plans.count() == 1 and MonitoredHousehold.objects.count() == 3


def first_errors(result) -> list[tuple]:
    assert result.status == ImportStatus.FAILED
    return [(e["row"], e["field"], e["message"]) for e in result.errors]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (person(9, "7", 监测对象类别="贫困户"), "监测对象类别", "贫困户"),
        (person(9, "7", 监测对象类别=""), "监测对象类别", "户主所在行"),
        (person(9, "7", 风险类型="因懒"), "风险类型", "因懒"),
        (person(9, "7", 识别时间="明年"), "识别时间", "2026-05-01"),
        (person(9, "7", 识别时间=ago(-3)), "识别时间", "未来"),
        (person(9, "7", 风险消除状态="已消除"), "风险消除时间", "须填写"),
        (person(9, "7", 风险消除状态="已消除", 风险消除时间=ago(500)), "风险消除时间", "识别"),
        (person(9, "7", 风险消除状态="大概"), "风险消除状态", "已消除"),
        (person(9, "7", 家庭人均纯收入="很多"), "家庭人均纯收入", "元"),
        (person(9, "7", 证件号码=pid(9)[:17] + "0"), "证件号码", "核对"),
        (person(9, "7", 劳动技能="很强"), "劳动技能", "很强"),
        (person(9, "7", village=DONGGUAN), "村代码", "不在"),
        (person(9, "6211020001"), "与户主关系", "第 2 行"),
        (person(9, "6211020001", "子女", village=TAIPING), "村代码", "第 2 行"),
        (person(9, "6211020001", "子女", 证件号码=pid(1)), "证件号码", "第 2 行"),
    ],
    ids=[
        "category-unknown",
        "category-missing",
        "risk-unknown",
        "date-unreadable",
        "date-future",
        "eliminated-without-date",
        "eliminated-before-identified",
        "eliminated-word",
        "income",
        "id-checksum",
        "labour",
        "village-other-county",
        "two-heads",
        "two-villages",
        "same-person-twice",
    ],
)
def test_a_bad_row_is_reported_in_chinese_with_its_row_and_nothing_is_applied(
    imp, row, column, message
):
    good = [person(1, "6211020001"), person(2, "6211020001", "配偶")]
    result = imp(xlsx_bytes([*good, row, person(4, "6211020004")]))
    errors = first_errors(result)
    assert errors[0][:2] == (4, column), errors
    assert message in errors[0][2], errors
    assert not MonitoredHousehold.objects.exists()
    assert not HouseholdMember.objects.exists() and not Clock.objects.exists()


def test_every_bad_row_is_listed(imp):
    rows = [person(1, "1", 监测对象类别="贫困户"), person(2, "2"), person(3, "3", 识别时间="x")]
    assert [e[0] for e in first_errors(imp(xlsx_bytes(rows)))] == [2, 4]


def test_a_household_of_another_county_or_a_person_monitored_elsewhere_is_refused(
    imp, regions, county_anding, county_tongwei
):
    enrol(regions, county_anding, serial=7)  # 魏家常, enrolled here, not yet recorded
    other = imp(
        xlsx_bytes([person(1, "6211210001", village=DONGGUAN)]),
        user=county_tongwei,
        county=TONGWEI,
    )
    assert other.status == ImportStatus.DONE, other.errors
    from .households_steps import new_id

    rows = [
        person(1, "6211210001"),  # Tongwei's household code
        person(2, "6211020009", 证件号码=new_id(7)),  # heads a household enrolled here
    ]
    errors = first_errors(imp(xlsx_bytes(rows)))
    assert [(row, field) for row, field, _m in errors] == [(2, "户编号"), (2, "证件号码")]
    assert "另一个县" in errors[0][2], errors


def test_a_household_enrolled_here_is_recognised_by_its_head_and_takes_its_code(
    imp, regions, county_anding
):
    from .households_steps import new_id

    household = enrol(regions, county_anding, serial=7)
    rows = [person(1, "6211020009", 证件号码=new_id(7), 姓名="魏家常")]
    result = imp(xlsx_bytes(rows))
    assert result.status == ImportStatus.DONE, result.errors
    assert counts(result)[:2] == (0, 1)
    household.refresh_from_db()
    assert household.national_code == "6211020009"
    assert MonitoredHousehold.objects.count() == 1
    # The national system has it: its hand-over is done.
    assert household.national_recorded_at is not None
    assert not running_clocks(Stage.NATIONAL_RECORD)


def test_only_county_staff_import_and_only_for_their_county(imp, regions, township_lujiagou):
    with pytest.raises(PermissionDenied):
        imp(xlsx_bytes(HOUSEHOLDS), user=township_lujiagou)
    county_tongwei = make_staff("tongwei-clerk", regions[TONGWEI], Role.COUNTY)
    with pytest.raises(PermissionDenied):
        imp(xlsx_bytes(HOUSEHOLDS), user=county_tongwei)


def test_the_upload_page_queues_the_import_and_audits_it(
    client, county_anding, django_capture_on_commit_callbacks, regions
):
    client.force_login(county_anding)
    page = client.get(reverse("national:list"))
    assert page.status_code == 200 and "监测对象信息" in page.content.decode()
    upload = SimpleUploadedFile("安定区监测对象.xlsx", xlsx_bytes(HOUSEHOLDS))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("national:upload"), {"county": regions[ANDING].pk, "file": upload}
        )
    obj = NationalImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("national:detail", args=[obj.pk])
    assert obj.status == ImportStatus.DONE
    entry = AuditEntry.objects.get(action=Action.IMPORT)
    assert (entry.actor, entry.target) == (county_anding, f"households.nationalimport:{obj.pk}")
    progress = client.get(reverse("national:progress", args=[obj.pk])).json()
    assert (progress["finished"], progress["percent"]) == (True, 100)
    detail = client.get(reverse("national:detail", args=[obj.pk])).content.decode()
    assert "national-result" in detail


def test_another_county_does_not_see_the_import(client, imp, regions):
    obj = imp(xlsx_bytes(HOUSEHOLDS))
    client.force_login(make_staff("tongwei-clerk", regions[TONGWEI], Role.COUNTY))
    assert client.get(reverse("national:detail", args=[obj.pk])).status_code == 404
    assert client.get(reverse("national:progress", args=[obj.pk])).status_code == 404


# --- the export -------------------------------------------------------------------------------


def read_sheet(content: bytes) -> list[list]:
    """The header and the rows, under the title and the period (tests/test_exports.py)."""
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [
        ["" if v is None else str(v) for v in row]
        for row in sheet.iter_rows(min_row=3, values_only=True)
    ]


def export(client, county_anding, regions, start, end):
    client.force_login(county_anding)
    return client.post(
        reverse("national:export"),
        {"county": regions[ANDING].pk, "start": start, "end": end},
    )


def test_the_export_has_the_national_layout_and_marks_each_household(
    client, imp, regions, county_anding, grid_wogou
):
    imp(xlsx_bytes(HOUSEHOLDS))
    imported = MonitoredHousehold.objects.get(national_code="6211020001")
    recorded_before = imported.national_recorded_at
    members = [
        hs.MemberFacts("魏家常", "户主", "", LabourCapacity.FULL),
        hs.MemberFacts("李梅", "配偶", pid(50), LabourCapacity.PARTIAL),
    ]
    new = enrol(regions, county_anding, serial=7, members=members, risks=("illness", "schooling"))
    hs.household_set_category(
        household=imported, actor=county_anding, category=Category.MARGINAL, reason="收入回升"
    )

    response = export(client, county_anding, regions, ago(0), ago(0))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = read_sheet(response.content)
    assert rows[0] == export_header() == ["变更类型", *HEADER]
    by_name = {r[3]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {"魏家常", "李梅", "李1", "李2"}
    head = by_name["魏家常"]
    assert head["变更类型"] == "新增" and head["户编号"] == ""
    assert (head["村代码"], head["与户主关系"], head["监测对象类别"]) == (
        WOGOU,
        "户主",
        "突发严重困难户",
    )
    assert head["证件号码"] == new.head_id_number
    assert (head["风险类型"], head["风险消除状态"]) == ("因病、因学", "未消除")
    assert head["识别时间"] == ago(0) and head["劳动技能"] == "普通劳动力"
    assert by_name["李梅"]["证件号码"] == pid(50)
    assert by_name["李梅"]["劳动技能"] == "弱劳动力或半劳动力"
    changed = by_name["李1"]
    assert (changed["变更类型"], changed["户编号"], changed["监测对象类别"]) == (
        "变更",
        "6211020001",
        "边缘易致贫户",
    )
    assert changed["帮扶措施"] == "健康帮扶、公益岗位"

    # Each exported household is marked with the date; its clock is met.
    new.refresh_from_db()
    imported.refresh_from_db()
    assert new.national_recorded_at is not None
    assert imported.national_recorded_at > recorded_before
    assert not running_clocks(Stage.NATIONAL_RECORD)
    assert HouseholdEvent.objects.filter(kind="national_recorded").count() == 2
    record = NationalExport.objects.get()
    assert (record.enrolled, record.changed, record.eliminated) == (1, 1, 0)
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert entry.target == f"households.nationalexport:{record.pk}"
    assert entry.detail == {"households": 2}


def test_the_export_lists_households_eliminated_in_the_period(client, imp, regions, county_anding):
    imp(xlsx_bytes(HOUSEHOLDS))
    rows = read_sheet(export(client, county_anding, regions, ago(101), ago(99)).content)
    assert [(r[0], r[2], r[11], r[12]) for r in rows[1:]] == [
        ("风险消除", "6211020002", "已消除", ago(100)),
        ("风险消除", "6211020002", "已消除", ago(100)),
    ]


def test_the_exported_file_imports_back_once_the_national_system_gave_codes(
    client, imp, regions, county_anding
):
    """The round trip: the export's columns are the import's; once the national system
    has given the new household its code, importing its file links the two."""
    members = [
        hs.MemberFacts("魏家常", "户主", "", LabourCapacity.FULL),
        hs.MemberFacts("李梅", "配偶", pid(50), LabourCapacity.PARTIAL),
    ]
    household = enrol(regions, county_anding, serial=7, members=members)
    rows = read_sheet(export(client, county_anding, regions, ago(0), ago(0)).content)
    for row in rows[1:]:
        row[2] = "6211020077"  # the code the national system gave
    result = imp(xlsx_bytes([r for r in rows[1:]], header=rows[0]))
    assert result.status == ImportStatus.DONE, result.errors
    # The household gains its code, its head member the ID number it lacked; the spouse
    # was already a member.
    assert counts(result) == (0, 1, 0, 1)
    household.refresh_from_db()
    assert household.national_code == "6211020077"
    assert household.members.count() == 2
    assert household.members.get(relation="户主").id_number == household.head_id_number


def test_the_export_form_refuses_a_period_ending_before_it_starts(client, county_anding, regions):
    response = export(client, county_anding, regions, ago(0), ago(3))
    assert response.status_code == 400
    assert "结束" in response.content.decode()
    assert not NationalExport.objects.exists()


def test_only_the_county_exports(client, regions, township_lujiagou):
    client.force_login(township_lujiagou)
    response = client.post(
        reverse("national:export"), {"county": regions[ANDING].pk, "start": ago(3), "end": ago(0)}
    )
    assert response.status_code == 400  # not a county it may choose
    assert not NationalExport.objects.exists()


# --- enrolled, not yet recorded nationally ---------------------------------------------------


def test_a_new_household_waits_on_the_national_record_clock_on_the_dashboards(
    client, regions, county_anding, province_user
):
    monday = dt.datetime(2026, 11, 2, 10, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(monday, tick=False):
        household = enrol(regions, county_anding, serial=7)
    (clock,) = running_clocks(Stage.NATIONAL_RECORD)
    assert (clock.subject_type, clock.subject_id) == (hs.NATIONAL_SUBJECT, household.pk)
    assert clock.due_on == dt.date(2026, 11, 9)  # 5 working days

    anding = regions[ANDING]
    with time_machine.travel(monday + dt.timedelta(days=3), tick=False):
        rows = work_rows(region=anding, kind="national")
        assert [(r.name, r.due) for r in rows] == [("魏家常", dt.date(2026, 11, 9))]
        assert {x.stage: x.overdue for x in monitoring_load(region=anding)}[
            Stage.NATIONAL_RECORD
        ] == 0
    with time_machine.travel(monday + dt.timedelta(days=8), tick=False):
        clocks_sweep()
        load = {x.stage: x for x in monitoring_load(region=anding)}[Stage.NATIONAL_RECORD]
        assert (load.running, load.overdue) == (1, 1)
        client.force_login(province_user)
        page = client.get(reverse("supervision:region", args=[anding.code])).content.decode()
        assert "已纳入未录入国家系统" in page and "魏家常" in page
        listed = client.get(reverse("supervision:late", args=[anding.code, "national"]))
        assert "魏家常" in listed.content.decode()
        export(client, county_anding, regions, "2026-11-01", "2026-11-10")
        assert work_rows(region=anding, kind="national") == []
        assert {x.stage: x.running for x in monitoring_load(region=anding)}[
            Stage.NATIONAL_RECORD
        ] == 0


def test_the_county_is_reminded_before_and_told_when_the_hand_over_is_late(regions, county_anding):
    from apps.declarations.services.reminders import deadlines_sweep
    from apps.notifications.models import Message

    tz = timezone.get_current_timezone()
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, tzinfo=tz), tick=False):
        household = enrol(regions, county_anding, serial=7)  # due Mon 9 Nov
    clock = Clock.objects.get(subject_type=hs.NATIONAL_SUBJECT, subject_id=household.pk)
    with time_machine.travel(dt.datetime(2026, 11, 6, 10, tzinfo=tz), tick=False):
        deadlines_sweep()  # Friday: the working day before
    mine = Message.objects.filter(subject__startswith=f"clock:{clock.pk}:")
    assert [(m.template, m.recipient) for m in mine] == [("deadline_tomorrow", "13600136000")]
    with time_machine.travel(dt.datetime(2026, 11, 10, 10, tzinfo=tz), tick=False):
        deadlines_sweep()
    assert mine.filter(template="deadline_breached").get().recipient == "13600136000"


def test_the_household_page_says_whether_it_is_recorded_nationally(
    client, imp, regions, county_anding
):
    imp(xlsx_bytes(HOUSEHOLDS))
    imported = MonitoredHousehold.objects.get(national_code="6211020001")
    new = enrol(regions, county_anding, serial=7)
    client.force_login(county_anding)

    def shown(household):
        page = client.get(reverse("households:detail", args=[household.pk])).content.decode()
        start = page.index('id="national-record"')
        return page[start : page.index("</dd>", start)]

    assert "6211020001" in shown(imported) and "从国家系统导入" in shown(imported)
    assert "未录入" in shown(new)


def test_an_imported_household_is_linked_to_its_roster_household_once(imp, regions):
    from apps.households.models import RosterHousehold, RosterMember

    roster = RosterHousehold.objects.create(
        village=regions[WOGOU], region_code=WOGOU, number="001", head_name="李1"
    )
    for n in (1, 3):  # two heads of the file in one roster household
        RosterMember.objects.create(
            household=roster,
            name=f"李{n}",
            relation="户主" if n == 1 else "子女",
            id_number=pid(n),
            id_hash=id_hash(pid(n)),
            labour_capacity=LabourCapacity.FULL,
        )
    result = imp(xlsx_bytes(HOUSEHOLDS[:2]))
    assert result.status == ImportStatus.DONE, result.errors
    assert MonitoredHousehold.objects.get().roster_household == roster
    # The other household whose head the roster has there: not a second link.
    result = imp(xlsx_bytes(HOUSEHOLDS[2:4]))
    assert result.status == ImportStatus.DONE, result.errors
    assert MonitoredHousehold.objects.get(national_code="6211020002").roster_household is None
