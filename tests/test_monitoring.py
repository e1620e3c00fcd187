"""Dynamic management: follow-up visits, risk elimination and its rules, look-back
reviews and the return to monitoring, re-identification, and the two-year flag."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import InvalidInput, NotPermitted, WrongState
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import clocks_sweep
from apps.declarations import services as ds
from apps.declarations.models import Channel, State
from apps.households import services as hs
from apps.households.models import (
    EliminationProposal,
    EliminationState,
    FollowUp,
    HouseholdStatus,
    LabourCapacity,
    LookBack,
    LookBackOutcome,
    MeasureStatus,
    MonitoredHousehold,
    MonitoringThreshold,
    Stability,
)
from apps.regions.models import Region
from apps.supervision.monitoring import long_monitored, monitoring_load

from .conftest import ANDING, DONGGUAN, TONGWEI, WOGOU, make_staff
from .households_steps import days_ago, enrol, member
from .review_steps import sign_letter, to_county

pytestmark = pytest.mark.django_db


def evidence(**overrides):
    values = dict(
        period_start=days_ago(365),
        period_end=days_ago(1),
        net_income=Decimal("24000"),  # 12,000 a head for two, above 安定区's 7,000
        household_size=2,
        risk_removed="老伴出院，医保报销后无大额负债。",
        measures_in_place="公益岗位在岗，马铃薯种植增收。",
    )
    values.update(overrides)
    return hs.EliminationEvidence(**values)


def propose_and_check(household, grid, township_user):
    proposal = hs.elimination_propose(household=household, actor=grid, evidence=evidence())
    hs.elimination_township_pass(proposal=proposal, actor=township_user)
    return proposal


# --- follow-up visits --------------------------------------------------------------------


def test_a_follow_up_visit_meets_its_clock_and_schedules_the_next(
    regions, county_anding, grid_wogou
):
    household = enrol(regions, county_anding)
    visit = household.follow_ups.get()
    hs.follow_up_record(
        follow_up=visit,
        actor=grid_wogou,
        done_on=timezone.localdate(),
        findings="恢复良好，已返岗务工。",
        stability=Stability.STABLE,
    )
    clock = Clock.objects.get(subject_type="follow_up", subject_id=visit.pk)
    assert clock.met_at is not None
    pending = FollowUp.objects.get(household=household, done_on__isnull=True)
    assert pending.pk != visit.pk and pending.due_on > timezone.localdate()
    assert Clock.objects.get(subject_type="follow_up", subject_id=pending.pk).met_at is None


def test_a_new_risk_found_on_a_visit_joins_the_households_risks(regions, county_anding, grid_wogou):
    household = enrol(regions, county_anding, risks=["illness"])
    visit = household.follow_ups.get()
    with pytest.raises(InvalidInput):  # a new risk must say which
        hs.follow_up_record(
            follow_up=visit,
            actor=grid_wogou,
            done_on=timezone.localdate(),
            findings="冰雹",
            stability=Stability.NEW_RISK,
        )
    hs.follow_up_record(
        follow_up=visit,
        actor=grid_wogou,
        done_on=timezone.localdate(),
        findings="冰雹毁坏农作物。",
        stability=Stability.NEW_RISK,
        new_risk_types=["disaster"],
    )
    household.refresh_from_db()
    assert household.risk_types == ["disaster", "illness"]


def test_follow_up_refusals_change_nothing(regions, county_anding, grid_wogou, grid_taiping):
    household = enrol(regions, county_anding)
    visit = household.follow_ups.get()
    good = dict(done_on=timezone.localdate(), findings="正常", stability=Stability.STABLE)
    with pytest.raises(NotPermitted):
        hs.follow_up_record(follow_up=visit, actor=grid_taiping, **good)
    with pytest.raises(InvalidInput):
        hs.follow_up_record(follow_up=visit, actor=grid_wogou, **{**good, "done_on": days_ago(-1)})
    with pytest.raises(InvalidInput):
        hs.follow_up_record(follow_up=visit, actor=grid_wogou, **{**good, "findings": "x" * 2001})
    visit.refresh_from_db()
    assert visit.done_on is None and FollowUp.objects.filter(household=household).count() == 1


def test_an_overdue_visit_is_flagged_and_counted_on_the_dashboard(regions, county_anding):
    household = enrol(regions, county_anding)
    visit = household.follow_ups.get()
    with time_machine.travel(timezone.now() + dt.timedelta(days=120)):
        clocks_sweep()
        loads = {load.stage: load for load in monitoring_load(region=regions[ANDING])}
    assert loads[Stage.FOLLOW_UP].overdue == 1 and loads[Stage.FOLLOW_UP].running == 1
    assert loads[Stage.HELP_PLAN].overdue == 1  # the plan was never drafted either
    assert Clock.objects.get(subject_type="follow_up", subject_id=visit.pk).breached_at
    # Nothing of 安定区 shows in 通渭县.
    assert all(load.running == 0 for load in monitoring_load(region=regions[TONGWEI]))


# --- risk elimination -----------------------------------------------------------------------


def test_a_household_wholly_without_labour_is_never_eliminated(regions, county_anding, grid_wogou):
    household = enrol(
        regions,
        county_anding,
        members=[member(labour=LabourCapacity.NONE), member("李梅", "配偶", LabourCapacity.NONE)],
    )
    assert hs.is_without_labour(household)
    with pytest.raises(InvalidInput) as refused:
        hs.elimination_propose(household=household, actor=grid_wogou, evidence=evidence())
    assert "整户无劳动能力" in str(refused.value.message)
    assert not EliminationProposal.objects.exists()
    household.refresh_from_db()
    assert household.status == HouseholdStatus.MONITORING


def test_a_proposal_later_finding_no_labour_is_refused_even_with_an_override(
    regions, county_anding, grid_wogou, township, line
):
    household = enrol(regions, county_anding)
    proposal = propose_and_check(household, grid_wogou, township)
    household.members.update(labour_capacity=LabourCapacity.NONE)
    with pytest.raises(InvalidInput):
        hs.elimination_approve(proposal=proposal, actor=county_anding, override_reason="县里同意")
    assert MonitoredHousehold.objects.get(pk=household.pk).status == HouseholdStatus.MONITORING


def test_income_below_the_line_is_no_evidence(regions, county_anding, grid_wogou, line):
    household = enrol(regions, county_anding)
    with pytest.raises(InvalidInput) as refused:
        hs.elimination_propose(
            household=household, actor=grid_wogou, evidence=evidence(net_income=Decimal("10000"))
        )
    assert "7000" in str(refused.value.message)
    assert not household.incomes.exists()


@pytest.fixture
def plan_with_undelivered(regions, county_anding, township, grid_wogou, policies, line):
    household = enrol(regions, county_anding)
    plan = household.plans.get()
    for name in ("医疗救助", "公益性岗位安置"):
        policy = policies[name]
        hs.plan_add_measure(
            plan=plan,
            actor=grid_wogou,
            measure=hs.MeasureInput(
                policy=policy,
                title="",
                responsible="王主任",
                start_on=days_ago(30) if policy.time_bound else None,
                end_on=days_ago(-300) if policy.time_bound else None,
            ),
        )
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township)
    hs.plan_approve(plan=plan, actor=county_anding)
    return household, plan


def test_undelivered_measures_stop_the_county_unless_it_overrides_with_a_reason(
    plan_with_undelivered, county_anding, grid_wogou, township
):
    household, _plan = plan_with_undelivered
    proposal = propose_and_check(household, grid_wogou, township)
    check = hs.elimination_check(household)
    assert not check.allowed and len(check.undelivered) == 2 and not check.without_labour

    with pytest.raises(InvalidInput):
        hs.elimination_approve(proposal=proposal, actor=county_anding)
    with pytest.raises(InvalidInput):
        hs.elimination_approve(proposal=proposal, actor=county_anding, override_reason="   ")
    assert MonitoredHousehold.objects.get(pk=household.pk).status == HouseholdStatus.MONITORING

    hs.elimination_approve(
        proposal=proposal, actor=county_anding, override_reason="医疗救助已由民政直接发放"
    )
    proposal.refresh_from_db()
    household.refresh_from_db()
    assert proposal.state == EliminationState.APPROVED
    assert proposal.override_reason == "医疗救助已由民政直接发放"
    assert household.status == HouseholdStatus.ELIMINATED and household.eliminated_at
    assert household.events.get(kind="eliminated").reason == "医疗救助已由民政直接发放"


def test_elimination_with_everything_delivered_keeps_time_bound_measures_running(
    plan_with_undelivered, county_anding, grid_wogou, township
):
    household, plan = plan_with_undelivered
    for measure in plan.measures.all():
        hs.measure_record_delivery(
            measure=measure, actor=grid_wogou, delivered_on=days_ago(2), evidence_note="已落实"
        )
    proposal = propose_and_check(household, grid_wogou, township)
    assert hs.elimination_check(household).allowed
    with pytest.raises(NotPermitted):
        hs.elimination_approve(proposal=proposal, actor=township)
    hs.elimination_approve(proposal=proposal, actor=county_anding)
    household.refresh_from_db()
    assert household.status == HouseholdStatus.ELIMINATED
    job = plan.measures.get(time_bound=True)
    assert job.status == MeasureStatus.RUNNING  # 公益岗位 runs on to its end date
    # Follow-up visits stop: the pending one and its clock are cancelled.
    visit = household.follow_ups.get()
    assert visit.cancelled
    clock = Clock.objects.get(subject_type="follow_up", subject_id=visit.pk)
    assert clock.cancelled and clock.met_at
    assert hs.measures_end_expired(today=job.end_on + dt.timedelta(days=1)) == 1


def test_the_chain_is_village_township_county(regions, county_anding, grid_wogou, township, line):
    household = enrol(regions, county_anding)
    with pytest.raises(NotPermitted):
        hs.elimination_propose(household=household, actor=township, evidence=evidence())
    proposal = hs.elimination_propose(household=household, actor=grid_wogou, evidence=evidence())
    with pytest.raises(InvalidInput):  # one open proposal at a time
        hs.elimination_propose(household=household, actor=grid_wogou, evidence=evidence())
    with pytest.raises(WrongState):  # the county acts after the township
        hs.elimination_approve(proposal=proposal, actor=county_anding)
    with pytest.raises(NotPermitted):
        hs.elimination_township_pass(proposal=proposal, actor=county_anding)
    hs.elimination_refuse(proposal=proposal, actor=township, reason="收入证明不全")
    proposal.refresh_from_db()
    assert proposal.state == EliminationState.REFUSED and proposal.refusal_reason == "收入证明不全"
    # Refused: the village may propose again.
    again = hs.elimination_propose(household=household, actor=grid_wogou, evidence=evidence())
    assert again.state == EliminationState.PROPOSED
    assert household.incomes.count() == 2


# --- look-back reviews and the return to monitoring ---------------------------------------


def eliminated(regions, county_anding, grid, township_user, *, serial, village=WOGOU):
    MonitoringThreshold.objects.get_or_create(
        county=regions[ANDING], year=days_ago(1).year, defaults={"amount": Decimal("7000")}
    )
    household = enrol(regions, county_anding, serial=serial)
    if village != WOGOU:
        household.village = regions[village]
        household.region_code = village
        household.save()
        household.plans.update(region_code=village)
    proposal = propose_and_check(household, grid, township_user)
    hs.elimination_approve(proposal=proposal, actor=county_anding, override_reason="测试")
    return household


@pytest.fixture
def eliminated_world(regions, county_anding, grid_wogou, township, line):
    """Ten households of 安定区 eliminated recently, one eliminated two years ago, one
    still monitored; three in 通渭县."""
    anding = [eliminated(regions, county_anding, grid_wogou, township, serial=n) for n in range(10)]
    with time_machine.travel(timezone.now() - dt.timedelta(days=800)):
        old = eliminated(regions, county_anding, grid_wogou, township, serial=20)
    monitored = enrol(regions, county_anding, serial=30)
    tongwei_county = make_staff("county-tw2", regions[TONGWEI], "county")
    tongwei = []
    for n in range(3):
        h = enrol(regions, tongwei_county, serial=40 + n)
        MonitoredHousehold.objects.filter(pk=h.pk).update(region_code=DONGGUAN)
        h.refresh_from_db()
        h.eliminate()
        h.save()
        tongwei.append(h)
    return {"anding": anding, "old": old, "monitored": monitored, "tongwei": tongwei}


def test_look_backs_draw_a_share_of_each_countys_eliminated_households_once_a_round(
    eliminated_world,
):
    drawn = hs.lookbacks_sample(rate=0.2, window_days=365)
    assert drawn == 2 + 1  # ceil(0.2 × 10) in 安定区, at least one of 3 in 通渭县
    sampled = set(LookBack.objects.values_list("household_id", flat=True))
    anding = {h.pk for h in eliminated_world["anding"]}
    tongwei = {h.pk for h in eliminated_world["tongwei"]}
    assert len(sampled & anding) == 2 and len(sampled & tongwei) == 1
    assert eliminated_world["old"].pk not in sampled
    assert eliminated_world["monitored"].pk not in sampled
    for review in LookBack.objects.all():
        clock = Clock.objects.get(subject_type="look_back", subject_id=review.pk)
        assert clock.stage == Stage.LOOK_BACK and clock.due_on == review.due_on
    # The same round again draws nobody; next month draws anew.
    assert hs.lookbacks_sample(rate=0.2, window_days=365) == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=32)):
        assert hs.lookbacks_sample(rate=0.2, window_days=365) == 3
    assert LookBack.objects.values("round").distinct().count() == 2


def test_an_unstable_look_back_returns_the_household_to_monitoring(eliminated_world, grid_wogou):
    hs.lookbacks_sample(rate=1.0, window_days=365)
    review = LookBack.objects.filter(region_code=WOGOU).first()
    household = review.household
    with pytest.raises(InvalidInput):
        hs.lookback_record(
            look_back=review,
            actor=grid_wogou,
            reviewed_on=timezone.localdate(),
            outcome="maybe",
            findings="x",
        )
    hs.lookback_record(
        look_back=review,
        actor=grid_wogou,
        reviewed_on=timezone.localdate(),
        outcome=LookBackOutcome.UNSTABLE,
        findings="公益岗位到期后无稳定收入。",
    )
    household.refresh_from_db()
    assert household.status == HouseholdStatus.MONITORING and household.eliminated_at is None
    assert household.follow_ups.filter(done_on__isnull=True, cancelled=False).count() == 1
    assert Clock.objects.get(subject_type="look_back", subject_id=review.pk).met_at
    with pytest.raises(WrongState):
        hs.lookback_record(
            look_back=review,
            actor=grid_wogou,
            reviewed_on=timezone.localdate(),
            outcome=LookBackOutcome.STABLE,
            findings="again",
        )


def test_a_stable_look_back_leaves_the_risk_eliminated(eliminated_world, grid_wogou):
    hs.lookbacks_sample(rate=1.0, window_days=365)
    review = LookBack.objects.filter(region_code=WOGOU).first()
    hs.lookback_record(
        look_back=review,
        actor=grid_wogou,
        reviewed_on=timezone.localdate(),
        outcome=LookBackOutcome.STABLE,
        findings="务工收入稳定。",
    )
    review.household.refresh_from_db()
    assert review.household.status == HouseholdStatus.ELIMINATED


# --- re-identification --------------------------------------------------------------------


def test_a_new_risk_after_elimination_opens_a_new_declaration_linked_to_the_household(
    regions, county_anding, grid_wogou, township, line, media
):
    household = eliminated(regions, county_anding, grid_wogou, township, serial=7)
    with pytest.raises(WrongState):  # only an eliminated household is re-identified
        ds.declaration_reidentify(
            household=enrol(regions, county_anding, serial=8),
            actor=grid_wogou,
            phone="13912345678",
            difficulties=["accident"],
            description="",
        )
    # Entered three weeks ago, so that the review's visit and notice lie in the past.
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        result = ds.declaration_reidentify(
            household=household,
            actor=grid_wogou,
            phone="13912345678",
            difficulties=["accident"],
            description="户主务工时摔伤。",
        )
    declaration = result.declaration
    assert result.created and declaration.channel == Channel.VISIT
    assert declaration.household == household and declaration.created_by == grid_wogou

    sign_letter(declaration, grid_wogou)  # a cadre entered it: the household's own consent
    to_county(declaration, grid_wogou, township)
    ds.declaration_county_approve(declaration=declaration, actor=county_anding)
    household.refresh_from_db()
    assert household.status == HouseholdStatus.MONITORING
    assert household.risk_types == ["illness"]  # what the new home visit found
    assert household.plans.count() == 2  # a new plan for the new risk
    assert household.events.filter(kind="reidentified").exists()
    assert declaration.state == State.ENROLLED


# --- the two-year flag ----------------------------------------------------------------------


def test_households_monitored_over_two_years_are_flagged_for_the_county(
    regions, county_anding, grid_wogou, township, line, client
):
    with time_machine.travel(timezone.now() - dt.timedelta(days=731)):
        old = enrol(regions, county_anding, serial=1)
        gone = enrol(regions, county_anding, serial=2)
    with time_machine.travel(timezone.now() - dt.timedelta(days=700)):
        recent = enrol(regions, county_anding, serial=3)
    proposal = propose_and_check(gone, grid_wogou, township)
    hs.elimination_approve(proposal=proposal, actor=county_anding, override_reason="测试")

    flagged = list(long_monitored(region=regions[ANDING]))
    assert flagged == [old]
    assert recent not in flagged and not list(long_monitored(region=regions[TONGWEI]))

    client.force_login(county_anding)
    page = client.get(reverse("supervision:region", args=[ANDING]))
    assert page.status_code == 200
    assert page.context["long_count"] == 1
    assert [row.url for row in page.context["long_monitored"]] == [
        reverse("households:detail", args=[old.pk])
    ]
    listing = client.get(reverse("supervision:late", args=[ANDING, "long"]))
    assert "魏家常" in listing.content.decode()
    assert [row.name for row in listing.context["households"]] == [old.head_name]
    sheet = client.get(reverse("supervision:export_late", args=[ANDING, "long"]))
    assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_long_list_of_another_county_is_not_found(regions, county_anding, client):
    client.force_login(county_anding)
    assert client.get(reverse("supervision:late", args=[TONGWEI, "long"])).status_code == 404
    assert Region.objects.filter(code=TONGWEI).exists()


def test_the_dashboards_named_lists_cost_the_same_statements_for_one_household_or_three(
    regions, county_anding, client
):
    """The lists load their households in one statement whatever their length (no
    statement per row)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def page():
        cache.clear()  # the figures computed again each time: only the lists differ
        with time_machine.travel(timezone.now() + dt.timedelta(days=120)):
            clocks_sweep()
            client.force_login(county_anding)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("supervision:region", args=[ANDING]))
        assert response.status_code == 200
        return len(queries.captured_queries), response.context

    enrol(regions, county_anding, serial=1)
    one, context = page()
    assert [len(context[k]) for k in ("late_plan", "late_visit", "late_national")] == [1, 1, 1]
    enrol(regions, county_anding, serial=2)
    enrol(regions, county_anding, serial=3)
    three, context = page()
    assert [len(context[k]) for k in ("late_plan", "late_visit", "late_national")] == [3, 3, 3]
    assert three == one
