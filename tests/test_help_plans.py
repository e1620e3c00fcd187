"""Help plans (一户一策): suggestions from risks and labour, the chain village →
township → county with its 10-day clock, and time-bound measures that outlive the
household's risk."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.core.errors import InvalidInput, NotPermitted, WrongState
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import clocks_sweep
from apps.households import services as hs
from apps.households.models import (
    Category,
    FollowUp,
    HelpPlan,
    LabourCapacity,
    MeasureStatus,
    PlanMeasure,
    PlanState,
    PolicyKind,
)
from apps.notifications.backends import outbox
from apps.notifications.models import Message

from .households_steps import days_ago, enrol, member

pytestmark = pytest.mark.django_db


def kinds(household):
    suggestions, combined = hs.plan_suggestions(household)
    return {s.kind for s in suggestions}, combined


# --- suggestions --------------------------------------------------------------------------


def test_a_household_without_labour_is_suggested_the_backstop(regions, county_anding):
    household = enrol(
        regions,
        county_anding,
        members=[member(labour=LabourCapacity.NONE), member("李梅", "配偶", LabourCapacity.NONE)],
        risks=[],
    )
    found, _combined = kinds(household)
    assert PolicyKind.BACKSTOP in found
    assert not found & {PolicyKind.INDUSTRY, PolicyKind.EMPLOYMENT, PolicyKind.SKILLS}


def test_able_and_willing_gets_industry_support_and_unskilled_labour_employment_help(
    regions, county_anding
):
    household = enrol(regions, county_anding, risks=[])
    found, _ = kinds(household)
    # Able to work, no skill, not (yet) willing to farm: employment help and training.
    assert {PolicyKind.EMPLOYMENT, PolicyKind.SKILLS} <= found
    assert PolicyKind.INDUSTRY not in found and PolicyKind.BACKSTOP not in found

    household.industry_willing = True
    household.save(update_fields=["industry_willing"])
    assert PolicyKind.INDUSTRY in kinds(household)[0]


def test_skilled_labour_needs_no_employment_help(regions, county_anding):
    household = enrol(regions, county_anding, risks=[], members=[member(has_skills=True)])
    found, _ = kinds(household)
    assert not found & {PolicyKind.EMPLOYMENT, PolicyKind.SKILLS}


def test_risk_types_call_for_their_kinds_and_several_risks_mean_combined_help(
    regions, county_anding
):
    one = enrol(regions, county_anding, serial=1, risks=["illness"])
    found, combined = kinds(one)
    assert PolicyKind.MEDICAL in found and not combined

    many = enrol(regions, county_anding, serial=2, risks=["business_failure", "disaster"])
    found, combined = kinds(many)
    assert {PolicyKind.INDUSTRY, PolicyKind.MICRO_CREDIT, PolicyKind.HOUSING} <= found
    assert combined


def test_a_student_at_college_brings_the_rain_and_dew_plan(regions, county_anding):
    household = enrol(
        regions, county_anding, members=[member(), member("魏小军", "子", schooling="college")]
    )
    assert PolicyKind.RAIN_DEW in kinds(household)[0]


def test_suggestions_offer_the_countys_measures_in_force_only(regions, county_anding, policies):
    household = enrol(regions, county_anding, risks=["business_failure"])
    suggestions, _ = hs.plan_suggestions(household)
    industry = next(s for s in suggestions if s.kind == PolicyKind.INDUSTRY)
    assert [p.name for p in industry.policies] == ["马铃薯产业奖补"]
    assert industry.why  # the page says why


# --- enrolment starts the plan ---------------------------------------------------------


def test_enrolment_opens_a_draft_plan_due_in_ten_days_and_schedules_a_visit(regions, county_anding):
    household = enrol(regions, county_anding)
    plan = household.plans.get()
    assert plan.state == PlanState.DRAFT
    clock = Clock.objects.get(subject_type="help_plan", subject_id=plan.pk)
    assert clock.stage == Stage.HELP_PLAN
    assert clock.due_on == timezone.localdate() + dt.timedelta(days=10)
    assert clock.region_code == household.region_code
    visit = FollowUp.objects.get(household=household)
    # Sudden hardship (illness): quarterly visits.
    assert household.category == Category.SUDDEN
    assert visit.due_on > timezone.localdate() + dt.timedelta(days=80)


def test_a_formerly_poor_household_is_unstable_and_visited_monthly(regions, county_anding):
    household = enrol(regions, county_anding, category=Category.UNSTABLE)
    visit = FollowUp.objects.get(household=household)
    assert visit.due_on <= timezone.localdate() + dt.timedelta(days=31)
    clock = Clock.objects.get(subject_type="follow_up", subject_id=visit.pk)
    assert clock.stage == Stage.FOLLOW_UP_CLOSE and clock.due_on == visit.due_on


# --- the chain ---------------------------------------------------------------------------


def add(plan, actor, policy, **extra):
    values = dict(policy=policy, title="", responsible="王主任")
    if policy is not None and policy.time_bound:
        values.update(start_on=days_ago(5), end_on=days_ago(-365))
    values.update(extra)
    return hs.plan_add_measure(plan=plan, actor=actor, measure=hs.MeasureInput(**values))


def test_village_drafts_township_checks_county_approves(
    regions, county_anding, township, grid_wogou, policies
):
    household = enrol(regions, county_anding)
    plan = household.plans.get()
    measure = add(plan, grid_wogou, policies["医疗救助"], amount=Decimal("3000"))
    assert measure.kind == PolicyKind.MEDICAL and measure.title == "医疗救助"

    hs.plan_submit(plan=plan, actor=grid_wogou)
    assert plan.state == PlanState.TOWNSHIP_CHECK
    with pytest.raises(NotPermitted):
        hs.plan_township_pass(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    assert plan.state == PlanState.COUNTY_APPROVAL
    with pytest.raises(NotPermitted):
        hs.plan_approve(plan=plan, actor=township)
    outbox.clear()
    hs.plan_approve(plan=plan, actor=county_anding)

    plan.refresh_from_db()
    assert plan.state == PlanState.APPROVED and plan.approved_by == county_anding
    clock = Clock.objects.get(subject_type="help_plan", subject_id=plan.pk)
    assert clock.met_at is not None and clock.breached_at is None
    assert list(
        Message.objects.filter(template="village_plan_approved").values_list("recipient", flat=True)
    ) == ["13800138000"]
    kinds_logged = list(household.events.values_list("kind", flat=True))
    assert kinds_logged == [
        "enrolled",
        "measure_added",
        "plan_submitted",
        "plan_township_checked",
        "plan_approved",
    ]


def test_township_and_county_send_back_with_a_reason_and_the_village_hears(
    regions, county_anding, township, grid_wogou, policies
):
    plan = enrol(regions, county_anding).plans.get()
    add(plan, grid_wogou, policies["医疗救助"])
    hs.plan_submit(plan=plan, actor=grid_wogou)
    with pytest.raises(InvalidInput):
        hs.plan_send_back(plan=plan, actor=township, reason="  ")
    hs.plan_send_back(plan=plan, actor=township, reason="缺少就业帮扶措施")
    plan.refresh_from_db()
    assert plan.state == PlanState.DRAFT and plan.returned_reason == "缺少就业帮扶措施"
    assert Message.objects.filter(template="village_plan_returned").count() == 1

    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    with pytest.raises(NotPermitted):  # at the county's stage, only the county sends back
        hs.plan_send_back(plan=plan, actor=township, reason="再看看")
    hs.plan_send_back(plan=plan, actor=county_anding, reason="金额不符")
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.DRAFT


def test_an_empty_plan_cannot_be_submitted(regions, county_anding, grid_wogou):
    plan = enrol(regions, county_anding).plans.get()
    with pytest.raises(InvalidInput):
        hs.plan_submit(plan=plan, actor=grid_wogou)
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.DRAFT


def test_measures_come_from_the_households_county_list(
    regions, county_anding, grid_wogou, policies
):
    plan = enrol(regions, county_anding).plans.get()
    for policy in (policies["通渭产业"], policies["旧政策"]):
        with pytest.raises(InvalidInput):
            add(plan, grid_wogou, policy)
    with pytest.raises(InvalidInput):  # time-bound without dates
        add(plan, grid_wogou, policies["公益性岗位安置"], start_on=None, end_on=None)
    with pytest.raises(InvalidInput):
        add(plan, grid_wogou, policies["医疗救助"], amount=Decimal("-1"))
    with pytest.raises(InvalidInput):
        add(plan, grid_wogou, policies["医疗救助"], responsible="")
    with pytest.raises(InvalidInput):
        add(plan, grid_wogou, None, kind="made-up", title="x")
    assert not PlanMeasure.objects.exists()
    other = add(plan, grid_wogou, None, kind=PolicyKind.OTHER, title="亲友捐助")
    assert other.kind == PolicyKind.OTHER


def test_another_village_cannot_touch_the_plan(regions, county_anding, grid_taiping, policies):
    plan = enrol(regions, county_anding).plans.get()
    with pytest.raises(NotPermitted):
        add(plan, grid_taiping, policies["医疗救助"])


def test_an_approved_plan_is_revised_and_approved_again(
    regions, county_anding, township, grid_wogou, policies
):
    plan = enrol(regions, county_anding).plans.get()
    add(plan, grid_wogou, policies["医疗救助"])
    for step in (
        lambda: hs.plan_submit(plan=plan, actor=grid_wogou),
        lambda: hs.plan_township_pass(plan=plan, actor=township),
        lambda: hs.plan_approve(plan=plan, actor=county_anding),
    ):
        step()
    with pytest.raises(WrongState):
        add(plan, grid_wogou, policies["临时救助"])
    hs.plan_revise(plan=plan, actor=grid_wogou, reason="新增意外事故风险")
    add(plan, grid_wogou, policies["临时救助"])
    assert plan.measures.count() == 2 and plan.state == PlanState.DRAFT


def test_the_plan_clock_breaches_after_ten_days(regions, county_anding):
    plan = enrol(regions, county_anding).plans.get()
    with time_machine.travel(timezone.now() + dt.timedelta(days=11)):
        # The plan's clock, and the hand-over to the national system (5 working days).
        assert clocks_sweep() == 2
    clock = Clock.objects.get(subject_type="help_plan", subject_id=plan.pk)
    assert clock.breached_at is not None


# --- delivery and time-bound measures ----------------------------------------------------


def approved_plan(regions, county_anding, township, grid_wogou, policies, *measures, serial=1):
    household = enrol(regions, county_anding, serial=serial)
    plan = household.plans.get()
    made = [add(plan, grid_wogou, policies[name]) for name in measures]
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    hs.plan_approve(plan=plan, actor=county_anding)
    return household, plan, made


def test_delivery_waits_for_approval_and_needs_its_evidence(
    regions, county_anding, township, grid_wogou, policies
):
    plan = enrol(regions, county_anding).plans.get()
    measure = add(plan, grid_wogou, policies["医疗救助"])
    with pytest.raises(InvalidInput):
        hs.measure_record_delivery(
            measure=measure, actor=grid_wogou, delivered_on=days_ago(1), evidence_note="发放"
        )
    _household, _plan, (measure,) = approved_plan(
        regions, county_anding, township, grid_wogou, policies, "医疗救助", serial=2
    )
    with pytest.raises(InvalidInput):
        hs.measure_record_delivery(
            measure=measure, actor=grid_wogou, delivered_on=days_ago(1), evidence_note=""
        )
    with pytest.raises(InvalidInput):
        hs.measure_record_delivery(
            measure=measure, actor=grid_wogou, delivered_on=days_ago(-1), evidence_note="发放"
        )
    hs.measure_record_delivery(
        measure=measure, actor=grid_wogou, delivered_on=days_ago(1), evidence_note="救助金已到账"
    )
    assert measure.status == MeasureStatus.DELIVERED
    with pytest.raises(WrongState):
        hs.measure_record_delivery(
            measure=measure, actor=grid_wogou, delivered_on=days_ago(1), evidence_note="again"
        )


def test_time_bound_measures_keep_running_until_their_end_date(
    regions, county_anding, township, grid_wogou, policies
):
    _household, _plan, (credit, medical) = approved_plan(
        regions, county_anding, township, grid_wogou, policies, "到户产业贷款贴息", "医疗救助"
    )
    for m in (credit, medical):
        hs.measure_record_delivery(
            measure=m, actor=grid_wogou, delivered_on=days_ago(1), evidence_note="已落实"
        )
    assert credit.status == MeasureStatus.RUNNING
    assert medical.status == MeasureStatus.DELIVERED
    assert hs.measures_end_expired() == 0
    assert hs.measures_end_expired(today=credit.end_on) == 0
    assert hs.measures_end_expired(today=credit.end_on + dt.timedelta(days=1)) == 1
    credit.refresh_from_db()
    medical.refresh_from_db()
    assert credit.status == MeasureStatus.ENDED and medical.status == MeasureStatus.DELIVERED


def test_plan_reminders_go_to_whoever_holds_the_plan(
    regions, county_anding, township, grid_wogou, policies
):
    """The day before: the village drafting it. Overdue while the county has it: the
    county, and the city above."""
    from apps.declarations.services.reminders import deadlines_sweep

    plan = enrol(regions, county_anding).plans.get()
    clock = Clock.objects.get(subject_type="help_plan", subject_id=plan.pk)
    day_before = timezone.make_aware(dt.datetime.combine(clock.due_on, dt.time(10)))
    with time_machine.travel(day_before - dt.timedelta(days=1), tick=False):
        deadlines_sweep()
    reminder = Message.objects.get(template="deadline_tomorrow")
    assert reminder.recipient == "13800138000" and reminder.params["name"] == "魏*常"
    assert reminder.params["stage"] == str(Stage.HELP_PLAN.label)

    add(plan, grid_wogou, policies["医疗救助"])
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    with time_machine.travel(day_before + dt.timedelta(days=2), tick=False):
        deadlines_sweep()
    breached = Message.objects.filter(
        template="deadline_breached", subject__startswith=f"clock:{clock.pk}:"
    )
    assert [m.recipient for m in breached] == ["13600136000"]  # the county holds it


@pytest.mark.django_db(transaction=True)
def test_the_county_approving_and_sending_back_at_once_applies_exactly_one(
    regions, county_anding, township, grid_wogou, policies
):
    """Two clerks on two connections: one wins, the other is told of the conflict, and
    the log and the SMS are the winner's alone."""
    import threading

    from django.db import connection

    from apps.core.errors import ActionRefused
    from apps.regions.models import Role

    from .conftest import ANDING, make_staff, require_postgres

    require_postgres()
    colleague = make_staff("county-anding-2", regions[ANDING], Role.COUNTY)
    plan = enrol(regions, county_anding).plans.get()
    add(plan, grid_wogou, policies["医疗救助"])
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    barrier = threading.Barrier(2)
    outcomes = []

    def act(kind, actor):
        mine = HelpPlan.objects.select_related("household").get(pk=plan.pk)
        barrier.wait()
        try:
            if kind == "approve":
                hs.plan_approve(plan=mine, actor=actor)
            else:
                hs.plan_send_back(plan=mine, actor=actor, reason="措施不全")
            outcomes.append("ok")
        except ActionRefused as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("approve", county_anding)),
        threading.Thread(target=act, args=("send_back", colleague)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Conflict", "ok"]
    final = HelpPlan.objects.get(pk=plan.pk)
    assert final.state in (PlanState.APPROVED, PlanState.DRAFT)
    decided = plan.household.events.filter(kind__in=["plan_approved", "plan_sent_back"])
    assert decided.count() == 1
    templates = set(Message.objects.values_list("template", flat=True))
    assert len(templates & {"village_plan_approved", "village_plan_returned"}) == 1
