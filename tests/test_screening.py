"""Department screening: each feed's rule, the score and its explanation, raising and
merging (one household, one open case), verification with its three outcomes, the
civil-affairs comparison and the routing of verified cases."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import InvalidInput, NotPermitted, WrongState
from apps.deadlines.models import Clock, Stage
from apps.declarations import services as ds
from apps.declarations.models import Channel, State
from apps.households import scoring
from apps.notifications.models import Message
from apps.screening import services as ss
from apps.screening.models import (
    AssistanceRecord,
    CaseRouting,
    Department,
    Warning,
    WarningSource,
    WarningState,
)

from .conftest import ANDING, DONGGUAN, LUJIAGOU, TAIPING, TONGWEI, WOGOU, declaration_input
from .households_steps import new_id
from .review_steps import sign_letter, to_county
from .screening_steps import (
    department_user,
    medical,
    medical_line,
    person,
    record,
    roster_household,
    rule_hit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def anding_line(regions):
    """安定区's medical-cost line for the records' year: 20,000 yuan, or half the income."""
    medical_line(regions[ANDING], 20000, "0.5")


# --- the rules (the builtin definitions, through the engine) --------------------------------


def test_medical_costs_over_the_countys_line_or_the_income_share(regions, anding_line):
    household = roster_household(regions)
    poor = person(household, annual_income=Decimal("10000"))
    rich = person(household, annual_income=Decimal("200000"))
    unknown = person(household)
    assert rule_hit("medical", medical(20000), rich).rule == "medical_cost"  # at the line
    assert rule_hit("medical", medical(6000), poor) is not None  # 60 % of the income
    assert rule_hit("medical", medical(5000), poor) is None  # 50 %: not above the share
    assert rule_hit("medical", medical(19999), rich) is None
    assert rule_hit("medical", medical(19999), unknown) is None  # no income to compare
    # Over both: one hit (the two rules share the code), its reason from the record.
    hit = rule_hit("medical", medical(30000, 90000), poor)
    assert hit.summary == "2026-11-20医疗总费用90,000元，个人自付30,000元"
    assert hit.household_key == f"r{household.pk}" and hit.village_id == household.village_id


def test_without_a_countys_line_the_province_default_applies(regions):
    rich = person(roster_household(regions), annual_income=Decimal("200000"))
    assert rule_hit("medical", medical(10000), rich) is not None  # 10,000 yuan by default
    assert rule_hit("medical", medical(9999), rich) is None


def test_a_new_grade_1_or_2_disability(regions):
    household = roster_household(regions)
    someone = person(household)
    data = {"grade": 2, "date": "2026-11-01"}
    hit = rule_hit("disability", data, someone)
    assert hit.rule == "new_disability" and hit.summary == "2026-11-01认定为2级残疾"
    assert [(f.factor, f.points) for f in hit.factors] == [("disability", 20)]
    assert rule_hit("disability", {**data, "grade": 3}, someone) is None
    assert rule_hit("disability", data, person(household, disability_grade=1)) is None  # known
    assert rule_hit("disability", data, someone, earlier=[{"grade": 1}]) is None  # delivered


def test_a_new_college_student_from_a_monitored_or_formerly_poor_household(regions):
    data = {"school": "兰州大学", "tuition": "5600.00"}
    poor = roster_household(regions, number="001", serials=(1,), poor=True)
    other = roster_household(regions, number="002", serials=(2,))
    hit = rule_hit("college", data, person(poor, serial=1))
    assert hit.rule == "new_college_student" and hit.summary == "考入兰州大学，学费每年5,600元"
    assert rule_hit("college", data, person(other, serial=2)) is None
    assert rule_hit("college", data, person(other, serial=2, monitored_household_id=9)) is not None
    assert rule_hit("college", data, person(poor, serial=1), earlier=[data]) is None  # not new


def test_a_disaster_warns_each_village_as_a_whole(regions):
    data = {"region_code": LUJIAGOU, "event": "冰雹", "date": "2026-07-02", "severity": 3}
    hits = [
        rule_hit("disaster", data, ss.Village(v.pk, v.code, v.name))
        for v in (regions[WOGOU], regions[TAIPING])
    ]
    assert all(hit.person is None for hit in hits)
    assert hits[0].household_key.startswith(f"v{WOGOU}:")
    assert hits[1].household_key.startswith(f"v{TAIPING}:")
    assert [hit.village_id for hit in hits] == [regions[WOGOU].pk, regions[TAIPING].pk]
    assert "冰雹" in hits[0].summary and "Ⅲ" in hits[0].summary
    assert [(f.factor, f.points) for f in hits[0].factors] == [("disaster", 9)]  # Ⅲ: 60 %


# --- the score ----------------------------------------------------------------------------


def test_the_score_says_why_factor_by_factor(regions, anding_line):
    household = roster_household(regions)
    someone = person(household, annual_income=Decimal("8000"), capacities=("none", "none"))
    hit = rule_hit("medical", medical(12000), someone)
    score, factors = ss.combine([f.as_json() for f in hit.factors])
    by = {f["factor"]: f for f in factors}
    assert by["medical"]["weight"] == 30 and by["medical"]["points"] == 30  # 150 % of income
    assert "150%" in by["medical"]["why"]
    assert by["labour"]["points"] == 20
    assert score == 50
    # Two sources of the same kind: the strongest counts, never both.
    weaker = rule_hit("medical", medical(4100), person(household, annual_income=Decimal("8000")))
    assert weaker.factors[0].points == 15  # 51 % of the income
    again, kept = ss.combine([f.as_json() for f in hit.factors + weaker.factors])
    assert again == 50 and [f["factor"] for f in kept] == ["medical", "labour"]
    assert sum(scoring.WEIGHTS.values()) == 100


# --- raising and merging --------------------------------------------------------------------


def raise_medical(batch, who, paid=30000, row=1):
    hit = rule_hit("medical", medical(paid), who)
    rec = record(batch, who, medical(paid), row=row)
    return ss.warnings_raise(
        hits=[ss.Hit(**{**hit.__dict__, "record_id": rec.pk})], department="安定区医保局"
    )


def test_a_hit_opens_a_warning_for_the_village_with_a_5_day_clock(regions, batch, grid_wogou):
    household = roster_household(regions)
    result = raise_medical(batch, person(household))
    assert (result.raised, result.added, result.merged) == (1, 0, 0)
    warning = Warning.objects.get()
    assert warning.state == WarningState.OPEN and warning.region_code == WOGOU
    assert warning.id_number == new_id(1) and warning.id_number_masked.startswith("621102")
    clock = Clock.objects.get(subject_type="warning", subject_id=warning.pk)
    assert clock.stage == Stage.WARNING
    assert clock.due_on == timezone.localdate() + dt.timedelta(days=5)
    sms = Message.objects.get(template="village_new_warnings")
    assert sms.recipient == "13800138000" and sms.params["count"] == "1"
    assert [s.department for s in warning.sources.all()] == ["安定区医保局"]


def test_a_second_record_of_the_household_joins_its_open_warning(regions, batch):
    household = roster_household(regions, serials=(1, 2))
    raise_medical(batch, person(household, serial=1))
    result = raise_medical(batch, person(household, serial=2, name="家人1"), paid=50000, row=2)
    assert (result.raised, result.added) == (0, 1)
    warning = Warning.objects.get()
    assert warning.sources.count() == 2


def test_the_same_record_raised_twice_is_one_source(regions, batch):
    household = roster_household(regions)
    who = person(household)
    hit = rule_hit("medical", medical(30000), who)
    rec = record(batch, who, medical(30000))
    for _ in range(2):
        ss.warnings_raise(hits=[ss.Hit(**{**hit.__dict__, "record_id": rec.pk})])
    assert WarningSource.objects.count() == 1 and Warning.objects.count() == 1


def test_a_household_with_an_open_declaration_gets_the_source_on_its_case(
    regions, batch, grid_wogou
):
    household = roster_household(regions, serials=(1, 2))
    # The spouse declared; the department's data is about the head.
    case = ds.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(2))
    ).declaration
    result = raise_medical(batch, person(household, serial=1))
    assert (result.raised, result.merged) == (0, 1)
    warning = Warning.objects.get()
    assert warning.state == WarningState.MERGED and warning.declaration == case
    assert list(case.screening_warnings.all()) == [warning]
    assert not Clock.objects.filter(subject_type="warning").exists()


# --- verification ---------------------------------------------------------------------------


@pytest.fixture
def warning(regions, batch, grid_wogou):
    raise_medical(batch, person(roster_household(regions)))
    return Warning.objects.get()


def verify(warning, actor, outcome, reason="已入户核实。", **applicant):
    return ss.warning_verify(
        warning=warning,
        actor=actor,
        method="visited",
        outcome=outcome,
        reason=reason,
        applicant=ss.Applicant(**applicant) if applicant else None,
    )


def test_no_risk_needs_a_reason_and_meets_the_clock(warning, grid_wogou):
    with pytest.raises(InvalidInput):
        verify(warning, grid_wogou, ss.Outcome.NO_RISK, reason=" ")
    verify(warning, grid_wogou, ss.Outcome.NO_RISK, reason="医保已报销大部分，家庭收入稳定。")
    warning = Warning.objects.get(pk=warning.pk)
    assert warning.state == WarningState.NO_RISK and warning.verified_by == grid_wogou
    clock = Clock.objects.get(subject_type="warning", subject_id=warning.pk)
    assert clock.met_at is not None
    with pytest.raises(WrongState):
        verify(warning, grid_wogou, ss.Outcome.REFER)


def test_a_risk_becomes_a_declaration_that_goes_through_the_review(
    warning, grid_wogou, township_lujiagou, county_anding, line, media
):
    import time_machine

    with pytest.raises(InvalidInput):  # the applicant's phone is needed
        verify(warning, grid_wogou, ss.Outcome.RISK)
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        verify(
            warning,
            grid_wogou,
            ss.Outcome.RISK,
            phone="13912345678",
            difficulties=["illness"],
            address_group="2组",
        )
    warning = Warning.objects.get(pk=warning.pk)
    case = warning.declaration
    assert warning.state == WarningState.CONVERTED
    assert case.channel == Channel.WARNING and case.id_number == new_id(1)
    assert case.name == "张占军" and case.created_by == grid_wogou
    sign_letter(case, grid_wogou)  # a cadre entered it: the household's own consent
    to_county(case, grid_wogou, township_lujiagou)
    ds.declaration_county_approve(declaration=case, actor=county_anding)
    case.refresh_from_db()
    assert case.state == State.ENROLLED


def test_a_referral_and_who_may_verify(warning, grid_wogou, grid_taiping, township_lujiagou):
    with pytest.raises(NotPermitted):
        verify(warning, grid_taiping, ss.Outcome.REFER)
    with pytest.raises(NotPermitted):  # the village verifies
        verify(warning, township_lujiagou, ss.Outcome.REFER)
    with pytest.raises(InvalidInput):
        ss.warning_verify(
            warning=warning, actor=grid_wogou, method="guessed", outcome="refer", reason="x"
        )
    verify(warning, grid_wogou, ss.Outcome.REFER, reason="符合低保条件，转民政。")
    assert Warning.objects.get(pk=warning.pk).state == WarningState.REFERRED


def test_a_village_wide_warning_becomes_a_declaration_for_the_household_found(regions, grid_wogou):
    village = regions[WOGOU]
    hit = rule_hit(
        "disaster",
        {"region_code": WOGOU, "event": "洪水", "date": "2026-07-02", "severity": 2},
        ss.Village(village.pk, village.code, village.name),
    )
    ss.warnings_raise(hits=[hit], department="安定区应急管理局")
    warning = Warning.objects.get()
    with pytest.raises(InvalidInput):  # whose household: the village says
        verify(
            warning,
            grid_wogou,
            ss.Outcome.RISK,
            phone="13912345678",
            difficulties=["disaster"],
            address_group="1组",
        )
    verify(
        warning,
        grid_wogou,
        ss.Outcome.RISK,
        phone="13912345678",
        difficulties=["disaster"],
        address_group="1组",
        name="李秀兰",
        id_number=new_id(5),
    )
    warning = Warning.objects.get(pk=warning.pk)
    assert warning.declaration.name == "李秀兰" and warning.declaration.channel == Channel.WARNING


# --- civil affairs --------------------------------------------------------------------------


@pytest.fixture
def civil_affairs(regions):
    return Department.objects.create(
        code="anding-minzheng",
        name="安定区民政局",
        region=regions[ANDING],
        kinds=["assistance"],
    )


def test_declarants_without_assistance_become_low_income_warnings(
    regions, civil_affairs, grid_wogou
):
    batch = civil_affairs.batches.create(kind="assistance", batch_id="roll", source="api")
    helped = ds.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    alone = ds.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(3), phone="13912340000")
    ).declaration
    AssistanceRecord.objects.create(
        batch=batch, record_key="k1", id_hash=helped.id_hash, kind="dibao", county_code=ANDING
    )
    result = ss.civil_affairs_compare(county_code=ANDING)
    assert result.merged == 1 and result.raised == 0
    (source,) = WarningSource.objects.filter(rule="low_income")
    assert source.warning.declaration == alone
    assert ss.assistance_of(helped.id_hash) == ["农村低保"]
    assert ss.assistance_of(alone.id_hash) == []
    # Once per declarant.
    assert ss.civil_affairs_compare(county_code=ANDING).merged == 0


def test_a_rejected_declarant_without_assistance_is_a_warning_to_verify(
    regions, civil_affairs, grid_wogou
):
    case = ds.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    ds.declaration_accept(declaration=case, actor=grid_wogou)
    ds.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入超过监测标准")
    result = ss.civil_affairs_compare(county_code=ANDING)
    assert result.raised == 1
    warning = Warning.objects.get()
    assert warning.state == WarningState.OPEN and warning.person_name == case.name
    assert warning.id_hash == case.id_hash


def test_a_verified_case_is_routed_and_civil_affairs_of_the_county_sees_it(
    regions, civil_affairs, grid_wogou, township_lujiagou, case
):
    from .review_steps import to_verified

    with pytest.raises(WrongState):
        ss.declaration_route(
            declaration=case, actor=township_lujiagou, to_civil_affairs=True, to_monitoring=False
        )
    to_verified(case, grid_wogou)
    with pytest.raises(NotPermitted):
        ss.declaration_route(
            declaration=case, actor=grid_wogou, to_civil_affairs=True, to_monitoring=True
        )
    with pytest.raises(InvalidInput):
        ss.declaration_route(
            declaration=case, actor=township_lujiagou, to_civil_affairs=False, to_monitoring=False
        )
    routing = ss.declaration_route(
        declaration=case, actor=township_lujiagou, to_civil_affairs=True, to_monitoring=True
    )
    clerk = department_user("minzheng", civil_affairs, regions[ANDING])
    assert list(CaseRouting.objects.visible_to(clerk)) == [routing]
    tongwei = Department.objects.create(
        code="tw-mz", name="通渭县民政局", region=regions[TONGWEI], kinds=["assistance"]
    )
    assert not CaseRouting.objects.visible_to(department_user("tw", tongwei, regions[TONGWEI]))
    medical_only = Department.objects.create(
        code="ad-yb", name="安定区医保局", region=regions[ANDING], kinds=["medical"]
    )
    assert not CaseRouting.objects.visible_to(department_user("yb", medical_only, regions[ANDING]))
    ss.routing_receive(routing=routing, actor=clerk)
    assert CaseRouting.objects.get().received_at is not None


def test_the_export_for_civil_affairs_has_the_countys_declarations(regions, case, media):
    import openpyxl

    other = ds.declaration_submit(
        village=regions[DONGGUAN], data=declaration_input(id_number=new_id(4), phone="13912340001")
    ).declaration
    export = ss.civil_affairs_export(county=regions[ANDING])
    with export.file.open("rb") as stored:  # encrypted at rest: read through the storage
        sheet = openpyxl.load_workbook(stored).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))  # under title and period
    assert rows[0][:3] == ("受理编号", "姓名", "身份证号")
    assert [r[0] for r in rows[1:]] == [case.tracking_number]
    assert other.tracking_number not in {r[0] for r in rows}
    assert export.rows == 1


# --- the worklist ---------------------------------------------------------------------------


def test_the_worklist_puts_the_highest_score_first_on_the_home_page(
    regions, batch, grid_wogou, client
):
    low = roster_household(regions, number="001", serials=(1,))
    high = roster_household(regions, number="002", serials=(2,))
    raise_medical(batch, person(low, serial=1, annual_income=Decimal("100000")))
    raise_medical(
        batch,
        person(high, serial=2, annual_income=Decimal("10000"), capacities=("none",)),
        row=2,
    )
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:home")).content.decode()
    section = page[page.index('id="warnings"') :]
    assert section.index("风险评分 50") < section.index("风险评分 9")
    outsider_page = client.get(reverse("staff:home"))
    assert outsider_page.status_code == 200


def test_warning_reminders_go_to_the_village_and_only_the_full_sweep_claims_them(
    warning, grid_wogou, township_lujiagou
):
    import time_machine

    from apps.declarations.services.reminders import deadlines_sweep
    from apps.screening.services.reminders import sweep

    clock = Clock.objects.get(subject_type="warning", subject_id=warning.pk)
    late = timezone.make_aware(
        dt.datetime.combine(clock.due_on + dt.timedelta(days=3), dt.time(10))
    )
    with time_machine.travel(late, tick=False):
        deadlines_sweep()  # knows nothing of warnings: must leave them to the full sweep
        clock.refresh_from_db()
        assert clock.breached_at is not None and clock.breach_notified_at is None
        sweep()
    breached = Message.objects.filter(template="deadline_breached")
    assert [m.recipient for m in breached] == ["13800138000"]
    assert breached.get().params["name"] == "张*军"
    above = Message.objects.filter(template="deadline_breached_above")
    assert [m.recipient for m in above] == ["13700137000"]


def test_a_warning_not_verified_in_5_days_is_on_the_dashboard(warning, county_anding, client):
    import time_machine

    from apps.screening.services.reminders import sweep
    from apps.supervision.monitoring import monitoring_load

    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        sweep()
        loads = {load.stage: load for load in monitoring_load(region=warning.village)}
        client.force_login(county_anding)
        page = client.get(reverse("supervision:region", args=[ANDING]))
        listing = client.get(reverse("supervision:late", args=[LUJIAGOU, "warning"]))
    assert loads[Stage.WARNING].overdue == 1 and loads[Stage.WARNING].running == 1
    assert [r.name for r in page.context["late_warning"]] == ["张占军"]
    assert "张占军" in listing.content.decode()
    # Another county's list is not the county clerk's to see.
    assert client.get(reverse("supervision:late", args=[TONGWEI, "warning"])).status_code == 404
