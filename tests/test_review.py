"""The review workflow: every transition's actor, region and state, and its SMS."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import (
    Appeal,
    AppealOutcome,
    Declaration,
    Level,
    State,
    Transition,
)
from apps.households.models import MonitoredHousehold
from apps.notifications.models import Message
from apps.regions.models import Role

from .conftest import (
    ANDING,
    ID_B,
    TONGWEI,
    WOGOU,
    declaration_input,
    make_staff,
    require_postgres,
)
from .review_steps import (
    PASS_UP_DOCUMENTS,
    sign_letter,
    to_county,
    to_notice,
    to_township,
    to_verified,
    upload,
    visit,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY)


@pytest.fixture
def county_anding_2(regions):
    return make_staff("county-anding-2", regions[ANDING], Role.COUNTY)


@pytest.fixture
def township_2(regions):
    return make_staff("township-lujiagou-2", regions["621102100000"], Role.TOWNSHIP)


def snapshot(case):
    case = Declaration.objects.get(pk=case.pk)
    return (
        case.state,
        Transition.objects.filter(declaration=case).count(),
        Message.objects.count(),
    )


def sms_templates(case):
    return sorted(
        Message.objects.filter(subject__startswith=f"declaration:{case.pk}:t").values_list(
            "template", flat=True
        )
    )


# --- the whole path ----------------------------------------------------------------------


def test_the_whole_path_ends_in_a_monitored_household(
    case, grid_wogou, township_lujiagou, county_anding, line
):
    to_county(case, grid_wogou, township_lujiagou)
    assert case.state == State.COUNTY_REVIEW
    s.declaration_county_approve(declaration=case, actor=county_anding)
    case.refresh_from_db()
    assert case.state == State.ENROLLED
    household = MonitoredHousehold.objects.get()
    assert (household.head_name, household.region_code, household.risk_types) == (
        "魏家常",
        WOGOU,
        ["illness"],
    )
    assert household.per_capita_income == Decimal("1500.00")  # (12000 − 9000) / 2
    # Its income over time starts with the review's calculation, and the case is its history.
    (income,) = household.incomes.all()
    assert (income.source, income.per_capita, income.household_size) == (
        "enrolment",
        Decimal("1500.00"),
        2,
    )
    assert income.period_end == case.visits.get().visit_date
    assert case.household == household
    assert sorted(m.name for m in household.members.all()) == ["李梅", "魏家常"]
    # The case's log: each step, and the state the case was in after it.
    log = list(
        Transition.objects.filter(declaration=case).order_by("pk").values_list("kind", "to_state")
    )
    assert log == [
        ("accept", State.ACCEPTED),
        ("verify", State.VERIFIED),
        ("authorization_signed", State.VERIFIED),
        ("income_assessed", State.VERIFIED),
        ("start_notice", State.IN_NOTICE),
        ("pass_to_township", State.TOWNSHIP_REVIEW),
        ("property_checked", State.TOWNSHIP_REVIEW),
        ("township_approve", State.COUNTY_REVIEW),
        ("county_approve", State.ENROLLED),
    ]
    assert sms_templates(case) == ["applicant_enrolled", "applicant_village_passed"]


def test_income_is_net_of_rigid_expenses_per_head_against_the_county_line(case, grid_wogou, line):
    to_verified(case, grid_wogou)
    assessment = s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)
    assert (assessment.net_income, assessment.per_capita, assessment.threshold) == (
        Decimal("3000.00"),
        Decimal("1500.00"),
        Decimal("7000.00"),
    )
    assert assessment.below_threshold


def test_no_line_for_the_year_is_a_clear_refusal(case, grid_wogou):
    to_verified(case, grid_wogou)
    with pytest.raises(s.InvalidInput) as info:
        s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)
    assert str(TODAY.year) in str(info.value.message)


def test_the_case_cannot_pass_up_before_the_notice_has_run(case, grid_wogou, line):
    to_notice(case, grid_wogou, notice_end=timezone.localdate())
    before = snapshot(case)
    with pytest.raises(s.InvalidInput):
        s.declaration_pass_to_township(declaration=case, actor=grid_wogou)
    assert snapshot(case) == before


def test_a_township_without_a_property_check_cannot_approve(
    case, grid_wogou, township_lujiagou, line
):
    to_township(case, grid_wogou)
    with pytest.raises(s.InvalidInput):
        s.declaration_township_approve(declaration=case, actor=township_lujiagou)
    s.declaration_record_property_check(
        declaration=case, actor=township_lujiagou, vehicles="无", housing=None, business="无"
    )
    with pytest.raises(s.InvalidInput):
        s.declaration_township_approve(declaration=case, actor=township_lujiagou)
    assert Declaration.objects.get(pk=case.pk).state == State.TOWNSHIP_REVIEW


# --- who may act ---------------------------------------------------------------------------


def test_the_village_grid_worker_accepts(case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    log = Transition.objects.get(declaration=case)
    assert (log.from_state, log.to_state, log.actor) == (
        State.SUBMITTED,
        State.ACCEPTED,
        grid_wogou,
    )


@pytest.mark.parametrize("who", ["township", "county", "other_village", "outsider", "department"])
def test_others_cannot_accept_and_nothing_changes(
    case, regions, who, township_lujiagou, county_anding, grid_taiping, outsider
):
    actor = {
        "township": township_lujiagou,
        "county": county_anding,
        "other_village": grid_taiping,
        "outsider": outsider,
        "department": make_staff("medical", regions[ANDING], Role.DEPARTMENT),
    }[who]
    before = snapshot(case)
    with pytest.raises(s.NotPermitted):
        s.declaration_accept(declaration=case, actor=actor)
    assert snapshot(case) == before


def test_a_wrong_state_is_refused_with_nothing_changed(case, grid_wogou, township_lujiagou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    before = snapshot(case)
    for attempt in (
        lambda: s.declaration_accept(declaration=case, actor=grid_wogou),
        lambda: s.declaration_pass_to_township(declaration=case, actor=grid_wogou),
        lambda: s.declaration_township_return(
            declaration=case, actor=township_lujiagou, reason="x"
        ),
    ):
        with pytest.raises((s.WrongState, s.InvalidInput)):
            attempt()
        assert snapshot(case) == before


@pytest.mark.parametrize(
    ("action", "role_ok"),
    [
        ("township_approve", "township"),
        ("township_return", "township"),
        ("township_reject", "township"),
    ],
)
def test_township_actions_belong_to_the_township(
    case, grid_wogou, township_lujiagou, county_anding, regions, line, action, role_ok
):
    to_township(case, grid_wogou)
    s.declaration_record_property_check(
        declaration=case, actor=township_lujiagou, vehicles="无", housing="无", business="无"
    )
    other_township = make_staff("township-xiangquan", regions["621102101000"], Role.TOWNSHIP)
    call = getattr(s, f"declaration_{action}")
    kwargs = {} if action == "township_approve" else {"reason": "材料不全"}
    for wrong in (grid_wogou, county_anding, other_township):
        before = snapshot(case)
        with pytest.raises(s.NotPermitted):
            call(declaration=case, actor=wrong, **kwargs)
        assert snapshot(case) == before
    call(declaration=case, actor=township_lujiagou, **kwargs)


def test_county_actions_belong_to_the_county(
    case, grid_wogou, township_lujiagou, county_anding, regions, line
):
    to_county(case, grid_wogou, township_lujiagou)
    tongwei = make_staff("county-tongwei-2", regions[TONGWEI], Role.COUNTY)
    for wrong in (township_lujiagou, grid_wogou, tongwei):
        before = snapshot(case)
        with pytest.raises(s.NotPermitted):
            s.declaration_county_approve(declaration=case, actor=wrong)
        assert snapshot(case) == before
    assert not MonitoredHousehold.objects.exists()


def test_a_reason_is_required_to_reject(case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    with pytest.raises(s.InvalidInput):
        s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="  ")
    with pytest.raises(s.InvalidInput):
        s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="长" * 501)


# --- branches -----------------------------------------------------------------------------


def test_village_reject_then_appeal_then_reopen_then_enrol(
    case, grid_wogou, township_lujiagou, county_anding, line
):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="家庭收入高于监测标准")
    assert sms_templates(case) == ["applicant_rejected"]
    rejected = Message.objects.get(template="applicant_rejected")
    assert rejected.params["reason"] == "家庭收入高于监测标准" and rejected.params["level"]

    appeal = s.appeal_file(
        declaration=case, reason="收入算错了，老伴的药费没算进去", channel="online"
    )
    assert appeal.level == Level.TOWNSHIP and appeal.rejected_by == grid_wogou
    with pytest.raises(s.NotPermitted):  # the village cannot decide its own case's appeal
        s.appeal_decide(appeal=appeal, actor=grid_wogou, outcome=AppealOutcome.REOPENED, reason="x")
    s.appeal_decide(
        appeal=appeal,
        actor=township_lujiagou,
        outcome=AppealOutcome.REOPENED,
        reason="请重新核算医疗支出",
    )
    case.refresh_from_db()
    assert (case.state, case.rejected_at_level, case.rejection_reason) == (State.ACCEPTED, "", "")
    assert Message.objects.filter(template="appeal_decided").count() == 1

    s.declaration_record_visit(declaration=case, actor=grid_wogou, visit=visit())
    sign_letter(case, grid_wogou)
    today = timezone.localdate()
    s.declaration_assess_income(
        declaration=case,
        actor=grid_wogou,
        household_size=2,
        compared_on=today - dt.timedelta(days=12),
    )
    s.declaration_record_evaluation(
        declaration=case,
        actor=grid_wogou,
        evaluation_date=today - dt.timedelta(days=10),
        outcome="agreed",
        notice_start=today - dt.timedelta(days=9),
        notice_end=today - dt.timedelta(days=2),
    )
    upload(case, grid_wogou, *PASS_UP_DOCUMENTS)
    s.declaration_pass_to_township(declaration=case, actor=grid_wogou)
    s.declaration_record_property_check(
        declaration=case, actor=township_lujiagou, vehicles="无", housing="无", business="无"
    )
    s.declaration_township_approve(declaration=case, actor=township_lujiagou)
    s.declaration_county_approve(declaration=case, actor=county_anding)
    assert Declaration.objects.get(pk=case.pk).state == State.ENROLLED


def test_township_return_then_village_amends_then_township_approves(
    case, grid_wogou, township_lujiagou, line
):
    to_township(case, grid_wogou)
    s.declaration_township_return(
        declaration=case, actor=township_lujiagou, reason="缺少户口簿照片"
    )
    case.refresh_from_db()
    assert case.state == State.RETURNED
    notice = Message.objects.get(template="village_case_returned")
    assert notice.recipient == "13800138000" and notice.params["reason"] == "缺少户口簿照片"
    s.declaration_record_visit(
        declaration=case, actor=grid_wogou, visit=visit(findings="补充户口簿照片")
    )
    assert case.visits.count() == 2 and Declaration.objects.get(pk=case.pk).state == State.RETURNED
    # The amended visit voids the income calculated from the old one.
    with pytest.raises(s.InvalidInput):
        s.declaration_pass_to_township(declaration=case, actor=grid_wogou)
    s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)
    s.declaration_pass_to_township(declaration=case, actor=grid_wogou)
    s.declaration_record_property_check(
        declaration=case, actor=township_lujiagou, vehicles="无", housing="无", business="无"
    )
    s.declaration_township_approve(declaration=case, actor=township_lujiagou)
    assert Declaration.objects.get(pk=case.pk).state == State.COUNTY_REVIEW


def test_county_reject_then_appeal_upheld_by_another_county_clerk(
    case, grid_wogou, township_lujiagou, county_anding, county_anding_2, line
):
    to_county(case, grid_wogou, township_lujiagou)
    s.declaration_county_reject(declaration=case, actor=county_anding, reason="有商品房一套")
    appeal = s.appeal_file(
        declaration=case, reason="房子是儿子的", channel="paper", actor=township_lujiagou
    )
    assert appeal.level == Level.COUNTY and appeal.recorded_by == township_lujiagou
    with pytest.raises(s.NotPermitted):
        s.appeal_decide(
            appeal=appeal, actor=county_anding, outcome=AppealOutcome.UPHELD, reason="维持"
        )
    with pytest.raises(s.WrongState):  # one pending appeal at a time
        s.appeal_file(declaration=case, reason="再次申诉", channel="online")
    s.appeal_decide(
        appeal=appeal,
        actor=county_anding_2,
        outcome=AppealOutcome.UPHELD,
        reason="经核实房产登记在申请人名下",
    )
    case.refresh_from_db()
    assert case.state == State.REJECTED
    assert Appeal.objects.get().outcome == AppealOutcome.UPHELD
    assert sms_templates(case) == [
        "appeal_decided",
        "applicant_rejected",
        "applicant_village_passed",
    ]
    with pytest.raises(s.Conflict):  # decided already
        s.appeal_decide(
            appeal=appeal, actor=county_anding_2, outcome=AppealOutcome.REOPENED, reason="改判"
        )


def test_an_open_case_cannot_be_appealed(case):
    with pytest.raises(s.WrongState):
        s.appeal_file(declaration=case, reason="为什么还没人来", channel="online")
    assert not Appeal.objects.exists()


def test_the_applicant_withdraws(case):
    s.declaration_withdraw(declaration=case, reason="家里情况好转了", by_applicant=True)
    case.refresh_from_db()
    assert case.state == State.WITHDRAWN
    assert Transition.objects.get(declaration=case).actor_label == "applicant"


def test_staff_withdraw_with_a_reason_and_outsiders_cannot(case, township_lujiagou, grid_taiping):
    with pytest.raises(s.NotPermitted):
        s.declaration_withdraw(declaration=case, actor=grid_taiping, reason="电话中申请人要求撤回")
    s.declaration_withdraw(declaration=case, actor=township_lujiagou, reason="电话中申请人要求撤回")
    assert Declaration.objects.get(pk=case.pk).state == State.WITHDRAWN


def test_a_duplicate_is_merged_into_its_twin(case, regions, grid_wogou, grid_taiping):
    twin = s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(id_number=ID_B, name="李梅", phone="13700001111"),
    ).declaration
    with pytest.raises(s.NotPermitted):
        s.declaration_merge(declaration=twin, into=case, actor=grid_taiping, reason="同一户")
    s.declaration_merge(
        declaration=twin, into=case, actor=grid_wogou, reason="同一户，配偶重复申报"
    )
    twin.refresh_from_db()
    assert (twin.state, twin.merged_into) == (State.MERGED, case)
    with pytest.raises(s.InvalidInput):
        s.declaration_merge(declaration=case, into=case, actor=grid_wogou, reason="x")


def test_a_merge_target_in_another_township_is_refused(case, regions, province_user):
    other = s.declaration_submit(
        village=regions["621102101201"], data=declaration_input(id_number=ID_B, phone="13700001111")
    ).declaration
    make_staff("county-all", regions[ANDING], Role.COUNTY)
    with pytest.raises((s.InvalidInput, s.NotPermitted)):
        s.declaration_merge(declaration=other, into=case, actor=province_user, reason="x")
    assert Declaration.objects.get(pk=other.pk).state == State.SUBMITTED


# --- two people at once ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_conflicting_transitions_at_once_apply_exactly_one(regions, grid_wogou):
    require_postgres()
    colleague = make_staff("grid-wogou-2", regions[WOGOU], Role.GRID)
    case = s.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    s.declaration_accept(declaration=case, actor=grid_wogou)
    barrier = threading.Barrier(2)
    outcomes = []

    def act(kind, actor):
        mine = Declaration.objects.get(pk=case.pk)  # each loaded in the "accepted" state
        barrier.wait()
        try:
            if kind == "reject":
                s.declaration_village_reject(declaration=mine, actor=actor, reason="收入超标")
            else:
                s.declaration_withdraw(declaration=mine, actor=actor, reason="申请人撤回")
            outcomes.append("ok")
        except s.ActionRefused as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("reject", grid_wogou)),
        threading.Thread(target=act, args=("withdraw", colleague)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Conflict", "ok"]
    final = Declaration.objects.get(pk=case.pk)
    assert final.state in (State.REJECTED, State.WITHDRAWN)
    assert Transition.objects.filter(declaration=case).exclude(to_state=State.ACCEPTED).count() == 1
    # Only the winner's SMS exists (a rejection notice, or none for a withdrawal).
    expected = 1 if final.state == State.REJECTED else 0
    assert Message.objects.filter(template="applicant_rejected").count() == expected


def test_county_returns_to_the_township_which_approves_again(
    case, grid_wogou, township_lujiagou, county_anding, line
):
    to_county(case, grid_wogou, township_lujiagou)
    with pytest.raises(s.InvalidInput):
        s.declaration_county_return(declaration=case, actor=county_anding, reason="")
    s.declaration_county_return(declaration=case, actor=county_anding, reason="请补充车辆核查结果")
    case.refresh_from_db()
    assert case.state == State.TOWNSHIP_REVIEW
    assert Transition.objects.filter(declaration=case).last().reason == "请补充车辆核查结果"
    s.declaration_township_approve(declaration=case, actor=township_lujiagou)
    assert Declaration.objects.get(pk=case.pk).state == State.COUNTY_REVIEW


def test_withdrawing_stops_the_clocks_without_meeting_them(case, grid_wogou):
    from apps.deadlines.models import Clock
    from apps.deadlines.services import clock_mark

    s.declaration_withdraw(declaration=case, actor=grid_wogou, reason="申请人撤回")
    clocks = Clock.objects.for_subject("declaration", case.pk)
    assert clocks and all(c.cancelled and c.met_at for c in clocks)
    # The case was three weeks old: the visit clock had run out, the enrolment one not.
    marks = {c.stage: clock_mark(c).status for c in clocks}
    assert marks == {"verify": "stopped", "enrol": "stopped"}


def test_an_upheld_appeal_is_final_and_shows_on_the_status_page(
    client, case, grid_wogou, township_lujiagou
):
    from django.urls import reverse

    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入超标")
    appeal = s.appeal_file(declaration=case, reason="不服", channel="online")
    s.appeal_decide(
        appeal=appeal, actor=township_lujiagou, outcome=AppealOutcome.UPHELD, reason="核实无误"
    )
    with pytest.raises(s.WrongState):
        s.appeal_file(declaration=case, reason="再次申诉", channel="online")
    response = client.post(
        reverse("public:status"), {"tracking_number": case.tracking_number, "phone": "13912345678"}
    )
    result = response.context["result"]
    assert not result.can_appeal
    assert any("维持原结论" in label for _at, label in result.history)


def test_the_township_queue_lists_appeals_waiting_for_it(
    client, case, grid_wogou, township_lujiagou
):
    from django.urls import reverse

    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入超标")
    s.appeal_file(declaration=case, reason="不服", channel="online")
    client.force_login(township_lujiagou)
    assert [a.declaration_id for a in client.get(reverse("staff:queue")).context["appeals"]] == [
        case.pk
    ]
    client.force_login(grid_wogou)
    assert client.get(reverse("staff:queue")).context["appeals"] == []
