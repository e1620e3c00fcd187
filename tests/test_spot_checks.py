"""Routine spot checks of decided cases (常态化抽验复核): the monthly draw per county (a
share rounded up, at least one per township, once), a city's own draw, a checker who
took no part in the decision, agree/disagree with a reason, the county's answer to a
disagreement (a rejected case reopened for its review), the rates by region, scoping."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.core import locks
from apps.deadlines.models import Clock, Stage
from apps.declarations import services as ds
from apps.declarations.models import Declaration, State, Transition, new_tracking_number
from apps.households import services as hs
from apps.regions.models import Level, Region, Role
from apps.spotchecks import services as sc
from apps.spotchecks.models import Draw, Kind, Outcome, Resolution, SpotCheck, SpotCheckEvent
from apps.spotchecks.tasks import draw_spot_checks

from .conftest import ANDING, LUJIAGOU, TAIPING, TONGWEI, WOGOU, XIANGQUAN_VILLAGE, make_staff
from .households_steps import enrol
from .review_steps import to_county
from .test_monitoring import evidence

pytestmark = pytest.mark.django_db

SERIALS = itertools.count(1)
CITY = "621100000000"
XIANGQUAN = "621102101000"


def local(year, month, day, hour=10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())


def decided(village: Region, state=State.ENROLLED, *, at: dt.datetime, count=1, actor=None):
    """`count` cases of the village decided (`state`) at `at`, with the decision in the
    case's log: rows written directly, for numbers the review workflow would take
    minutes to reach."""
    cases = Declaration.objects.bulk_create(
        Declaration(
            tracking_number=new_tracking_number(),
            state=state,
            channel="qr",
            village=village,
            region_code=village.code,
            name="魏家常",
            phone="13912345678",
            phone_hash=f"p{n}",
            id_number="62110219800101107X",
            id_hash=f"h{n}",
            address_group="3组",
            submitted_at=at - dt.timedelta(days=20),
        )
        for n in itertools.islice(SERIALS, count)
    )
    Transition.objects.bulk_create(
        Transition(
            declaration=case,
            from_state=State.COUNTY_REVIEW,
            to_state=state,
            kind="county_approve" if state == State.ENROLLED else "county_reject",
            actor=actor,
            at=at,
        )
        for case in cases
    )
    return cases


@pytest.fixture
def county(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY)


@pytest.fixture
def county_colleague(regions):
    return make_staff("county-anding-2", regions[ANDING], Role.COUNTY)


@pytest.fixture
def city(regions):
    return make_staff("city-dingxi", regions[CITY], Role.CITY)


NOV = "2026-11"


# --- the draw -------------------------------------------------------------------------------


def test_the_share_is_rounded_up():
    assert sc.sample_size(Decimal("0.05"), 100) == 5
    assert sc.sample_size(Decimal("0.05"), 101) == 6
    assert sc.sample_size(Decimal("0.05"), 1) == 1
    assert sc.sample_size(Decimal("0.05"), 0) == 0


def test_five_percent_of_100_decided_cases_in_a_county_is_5(regions):
    # 98 in 鲁家沟镇, 2 in 香泉镇: 5 drawn, each township has at least one.
    decided(regions[WOGOU], at=local(2026, 11, 3), count=60)
    decided(regions[TAIPING], State.REJECTED, at=local(2026, 11, 20), count=38)
    decided(regions[XIANGQUAN_VILLAGE], at=local(2026, 11, 30, 23), count=2)
    draw, created = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal("0.05"))
    assert created
    assert (draw.candidates, draw.drawn, draw.checks.count()) == (100, 5, 5)
    townships = {c.region_code[:9] for c in draw.checks.all()}
    assert townships == {LUJIAGOU[:9], XIANGQUAN[:9]}


def test_a_township_with_one_decided_case_gets_one(regions):
    # 21 decided: 5 % of 21 rounded up is 2; 香泉镇's only case is one of them.
    decided(regions[WOGOU], at=local(2026, 11, 5), count=20)
    (lone,) = decided(regions[XIANGQUAN_VILLAGE], State.REJECTED, at=local(2026, 11, 6))
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal("0.05"))
    assert draw.drawn == 2
    assert draw.checks.filter(declaration=lone, kind=Kind.REJECTED).exists()


def test_the_minimum_per_township_may_exceed_the_share(regions):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=3)
    decided(regions[XIANGQUAN_VILLAGE], at=local(2026, 11, 6), count=3)
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal("0.05"))
    assert draw.drawn == 2  # the share gives 1, two townships decided


def test_only_cases_decided_in_the_month_are_drawn(regions, county, line, case, grid_wogou):
    with time_machine.travel(local(2026, 11, 10), tick=False):
        inside = set(decided(regions[WOGOU], at=local(2026, 11, 10), count=3))
    decided(regions[WOGOU], at=local(2026, 10, 31, 23), count=5)  # October
    decided(regions[WOGOU], at=local(2026, 12, 1, 0), count=5)  # December
    decided(regions[WOGOU], State.WITHDRAWN, at=local(2026, 11, 10), count=5)  # not a decision
    # Decided in November, then reopened on appeal: open again, not decided.
    (reopened,) = decided(regions[WOGOU], State.REJECTED, at=local(2026, 11, 12))
    Transition.objects.create(
        declaration=reopened, from_state=State.REJECTED, to_state=State.COUNTY_REVIEW, kind="reopen"
    )
    Declaration.objects.filter(pk=reopened.pk).update(state=State.COUNTY_REVIEW)
    # A risk elimination the county approved in November.
    with time_machine.travel(local(2026, 11, 15), tick=False):
        household = enrol(regions, county, serial=900)
        proposal = hs.elimination_propose(
            household=household, actor=grid_wogou, evidence=evidence()
        )
        township = make_staff("township-x", regions[LUJIAGOU], Role.TOWNSHIP)
        hs.elimination_township_pass(proposal=proposal, actor=township)
        hs.elimination_approve(proposal=proposal, actor=county)

    found = sc.decided_cases(regions[ANDING].prefix, NOV)
    assert {c.pk for c in found if c.kind != Kind.ELIMINATED} == {d.pk for d in inside}
    assert [(c.kind, c.pk) for c in found if c.kind == Kind.ELIMINATED] == [
        (Kind.ELIMINATED, proposal.pk)
    ]
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal(1))
    assert draw.drawn == 4
    check = draw.checks.get(kind=Kind.ELIMINATED)
    # Whoever proposed, checked and approved the elimination decided it.
    assert sc.deciders(check) == {grid_wogou.pk, township.pk, county.pk}


def test_drawing_twice_does_not_double(regions, county):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=40)
    with time_machine.travel(local(2026, 12, 1, 3), tick=False):
        assert draw_spot_checks() == 3  # every county of the tree, last month
        client_draw, created = sc.draw_sample(region=regions[ANDING], round_=NOV, actor=county)
        assert draw_spot_checks() == 0
    assert not created
    assert Draw.objects.filter(region=regions[ANDING], round=NOV).count() == 1
    assert SpotCheck.objects.count() == client_draw.drawn == 2
    # Counties without decisions have their (empty) draw: the month is done there too.
    assert Draw.objects.get(region=regions[TONGWEI]).drawn == 0
    assert SpotCheckEvent.objects.filter(kind="drawn").count() == 3
    job = Draw.objects.get(region=regions[ANDING])
    assert job.drawn_by is None and job.events.get().actor_label == "monthly job"


def test_a_second_monthly_run_does_nothing_while_the_lock_is_held(regions):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=3)
    held = locks.exclusive("spot-check-draw")(lambda: draw_spot_checks())
    with time_machine.travel(local(2026, 12, 1, 3), tick=False):
        assert held() is None  # the inner run found the lock taken
        assert not Draw.objects.exists()
        assert draw_spot_checks() == 3  # released: the next run draws
    assert not locks.lock_held("spot-check-draw")


def test_the_draw_is_reproducible_from_its_seed(regions):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=30)
    decided(regions[XIANGQUAN_VILLAGE], at=local(2026, 11, 5), count=30)
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal("0.1"))
    drawn = sorted((c.kind, c.declaration_id) for c in draw.checks.all())
    assert sc.redraw(draw) == drawn
    assert draw.events.get().summary == f"6/60 seed={draw.seed}"


def test_a_county_draws_its_own_from_the_page(client, regions, county):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=20)
    decided(regions[TONGWEI.replace("000000", "100201")], at=local(2026, 11, 5), count=20)
    client.force_login(county)
    with time_machine.travel(local(2026, 12, 2), tick=False):
        page = client.get(reverse("spotchecks:index"))
        assert page.status_code == 200
        assert page.context["draw_form"]["month"].initial == NOV
        assert list(page.context["draw_form"].fields["region"].queryset) == [regions[ANDING]]
        # Not the month still running, nor another county.
        early = client.post(
            reverse("spotchecks:draw"), {"region": regions[ANDING].pk, "month": "2026-12"}
        )
        assert early.status_code == 400
        assert "只能抽取已经结束的月份" in early.content.decode()
        other = client.post(
            reverse("spotchecks:draw"), {"region": regions[TONGWEI].pk, "month": NOV}
        )
        assert other.status_code == 400
        done = client.post(reverse("spotchecks:draw"), {"region": regions[ANDING].pk, "month": NOV})
    draw = Draw.objects.get()
    assert done.status_code == 302 and done.url == reverse("spotchecks:draw_detail", args=[draw.pk])
    assert (draw.region, draw.drawn_by, draw.drawn) == (regions[ANDING], county, 1)
    assert {c.region_code[:6] for c in draw.checks.all()} == {ANDING[:6]}
    shown = client.get(done.url)
    assert shown.status_code == 200 and "从20件办结案件中抽取1件" in shown.content.decode()


def test_a_city_draws_its_own_over_its_subtree(regions, city, county):
    decided(regions[WOGOU], at=local(2026, 11, 5), count=10)
    decided(regions[TONGWEI.replace("000000", "100201")], at=local(2026, 11, 5), count=10)
    decided(regions["620525100201"], at=local(2026, 11, 5), count=10)  # 天水市: another city
    with pytest.raises(sc.NotPermitted):
        sc.draw_sample(region=regions[CITY], round_=NOV, actor=county)
    with pytest.raises(sc.NotPermitted):
        sc.draw_sample(region=regions[ANDING], round_=NOV, actor=city)
    with pytest.raises(sc.InvalidInput):  # the month still running
        sc.draw_sample(region=regions[CITY], round_=sc.round_of(timezone.localdate()), actor=city)
    draw, _ = sc.draw_sample(region=regions[CITY], round_=NOV, actor=city, share=Decimal("0.1"))
    assert draw.candidates == 20
    assert {c.region_code[:4] for c in draw.checks.all()} == {CITY[:4]}
    assert draw.drawn == 2  # 10 % of 20; one township each
    # The county's own draw is another draw of the same month.
    county_draw, created = sc.draw_sample(region=regions[ANDING], round_=NOV, actor=county)
    assert created and county_draw.pk != draw.pk


# --- checking -------------------------------------------------------------------------------


@pytest.fixture
def rejected_check(regions, case, grid_wogou, township_lujiagou, line, county):
    """A real case, rejected by the county this month, drawn."""
    to_county(case, grid_wogou, township_lujiagou)
    ds.declaration_county_reject(declaration=case, actor=county, reason="家庭收入高于监测线")
    draw, _ = sc.draw_sample(
        region=regions[ANDING], round_=sc.round_of(timezone.localdate()), share=Decimal(1)
    )
    return draw.checks.get(declaration=case)


def test_a_checker_who_decided_the_case_is_refused_and_not_offered(
    client, rejected_check, county, county_colleague, grid_wogou, township_lujiagou
):
    check = rejected_check
    deciders = sc.deciders(check)
    assert {county.pk, grid_wogou.pk, township_lujiagou.pk} <= deciders
    assert list(sc.eligible_checkers(check)) == [county_colleague]
    for who in (county, township_lujiagou):
        with pytest.raises(sc.NotPermitted):
            sc.spot_check_assign(check=check, actor=county_colleague, checker=who)
    client.force_login(county_colleague)
    page = client.get(reverse("spotchecks:check", args=[check.pk]))
    offered = list(page.context["assign_form"].fields["checker"].queryset)
    assert offered == [county_colleague]
    refused = client.post(reverse("spotchecks:assign", args=[check.pk]), {"checker": county.pk})
    assert refused.status_code == 403
    assert "参与该案决定的人员不能复核" in refused.content.decode()
    check.refresh_from_db()
    assert check.checker is None
    # The county approver who decided cannot take it either.
    client.force_login(county)
    taken = client.post(reverse("spotchecks:assign", args=[check.pk]), {"take": "1"})
    assert taken.status_code == 403
    assert "参与该案决定的人员不能复核" in taken.content.decode()


def test_agree_and_disagree_are_recorded_with_a_reason(
    client, regions, rejected_check, county_colleague
):
    check = rejected_check
    client.force_login(county_colleague)
    took = client.post(reverse("spotchecks:assign", args=[check.pk]), {"take": "1"})
    assert took.status_code == 302
    url = reverse("spotchecks:record", args=[check.pk])
    today = timezone.localdate().isoformat()
    missing = client.post(url, {"method": "visit", "checked_on": today, "outcome": "disagree"})
    assert missing.status_code == 400
    assert "请填写不同意的理由" in missing.content.decode()
    check.refresh_from_db()
    assert check.outcome == ""
    done = client.post(
        url,
        {
            "method": "visit",
            "checked_on": today,
            "outcome": "disagree",
            "reason": "入户发现老伴长期住院",
        },
    )
    assert done.status_code == 302 and done.url == reverse("spotchecks:check", args=[check.pk])
    check.refresh_from_db()
    assert (check.outcome, check.method, check.reason) == (
        Outcome.DISAGREE,
        "visit",
        "入户发现老伴长期住院",
    )
    assert [e.kind for e in check.events.all()] == ["assigned", "disagree"]
    assert Transition.objects.filter(
        declaration=check.declaration, kind="spot_check_disagree", actor=county_colleague
    ).exists()
    # The flag's clock, for the county.
    clock = Clock.objects.get(subject_type=sc.SUBJECT, subject_id=check.pk)
    assert clock.stage == Stage.SPOT_CHECK and clock.met_at is None
    # Recorded once.
    with pytest.raises(sc.WrongState):
        sc.spot_check_record(
            check=check,
            actor=county_colleague,
            method="phone",
            checked_on=timezone.localdate(),
            outcome="agree",
            reason="",
        )


def test_an_agreement_needs_no_reason_and_raises_no_flag(regions, county, county_colleague):
    decided(regions[WOGOU], at=local(2026, 11, 5), actor=county)
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV)
    check = draw.checks.get()
    sc.spot_check_assign(check=check, actor=county, checker=county_colleague)
    with pytest.raises(sc.NotPermitted):  # only the assigned checker records
        sc.spot_check_record(
            check=check,
            actor=county,
            method="phone",
            checked_on=dt.date(2026, 11, 20),
            outcome="agree",
            reason="",
        )
    with time_machine.travel(local(2026, 12, 3), tick=False):
        sc.spot_check_record(
            check=check,
            actor=county_colleague,
            method="phone",
            checked_on=dt.date(2026, 12, 2),
            outcome="agree",
            reason="",
        )
    check.refresh_from_db()
    assert check.outcome == Outcome.AGREE and not check.is_open_flag
    assert not Clock.objects.filter(subject_type=sc.SUBJECT).exists()


def test_a_disagreement_lets_the_county_reopen_a_rejected_case(
    client, regions, rejected_check, county, county_colleague
):
    check = rejected_check
    sc.spot_check_assign(check=check, actor=county_colleague, checker=county_colleague)
    sc.spot_check_record(
        check=check,
        actor=county_colleague,
        method="phone",
        checked_on=timezone.localdate(),
        outcome="disagree",
        reason="电话核实收入偏低",
    )
    third = make_staff("county-anding-3", regions[ANDING], Role.COUNTY)
    # Whoever rejected it does not answer; the page offers them nothing.
    client.force_login(county)
    assert client.get(reverse("spotchecks:check", args=[check.pk])).context["resolve_form"] is None
    with pytest.raises(sc.NotPermitted):
        sc.spot_check_resolve(check=check, actor=county, resolution="reopened", reason="复核")
    with pytest.raises(sc.NotPermitted):  # nor does the checker
        sc.spot_check_resolve(
            check=check, actor=county_colleague, resolution="upheld", reason="复核"
        )
    client.force_login(third)
    page = client.get(reverse("spotchecks:check", args=[check.pk]))
    choices = [v for v, _ in page.context["resolve_form"].fields["resolution"].choices]
    assert choices == [Resolution.REOPENED, Resolution.UPHELD, Resolution.HANDLED]
    done = client.post(
        reverse("spotchecks:resolve", args=[check.pk]),
        {"resolution": "reopened", "reason": "重新审核"},
    )
    assert done.status_code == 302
    check.refresh_from_db()
    check.declaration.refresh_from_db()
    assert check.resolution == Resolution.REOPENED and check.resolved_by == third
    assert check.declaration.state == State.COUNTY_REVIEW
    assert check.declaration.rejected_at_level == ""
    log = Transition.objects.filter(declaration=check.declaration).latest("pk")
    assert (log.kind, log.from_state, log.to_state, log.actor) == (
        "recheck",
        State.REJECTED,
        State.COUNTY_REVIEW,
        third,
    )
    assert Clock.objects.get(subject_type=sc.SUBJECT, subject_id=check.pk).met_at is not None
    assert [e.kind for e in check.events.all()][-1] == "reopened"


def test_an_enrolled_case_is_not_reopened_but_answered(regions, county, county_colleague):
    decided(regions[WOGOU], at=local(2026, 11, 5), actor=county)
    check = sc.draw_sample(region=regions[ANDING], round_=NOV)[0].checks.get()
    sc.spot_check_assign(check=check, actor=county_colleague, checker=county_colleague)
    with time_machine.travel(local(2026, 12, 3), tick=False):
        sc.spot_check_record(
            check=check,
            actor=county_colleague,
            method="visit",
            checked_on=dt.date(2026, 12, 2),
            outcome="disagree",
            reason="已务工，收入超线",
        )
    third = make_staff("county-anding-3", regions[ANDING], Role.COUNTY)
    assert sc.resolutions_for(check) == [Resolution.UPHELD, Resolution.HANDLED]
    with pytest.raises(sc.InvalidInput):
        sc.spot_check_resolve(check=check, actor=third, resolution="reopened", reason="x")
    sc.spot_check_resolve(check=check, actor=third, resolution="handled", reason="已启动风险消除")
    check.refresh_from_db()
    assert check.resolution == Resolution.HANDLED
    assert Declaration.objects.get(pk=check.declaration_id).state == State.ENROLLED


# --- the rates, the dashboard, scoping -------------------------------------------------------


@pytest.fixture
def checked_month(regions, county, county_colleague):
    """安定区, November: 鲁家沟镇 4 drawn, 3 checked (2 agree, 1 disagree); 香泉镇 1
    drawn, 1 checked (agree). 通渭县: 1 drawn, not checked."""
    decided(regions[WOGOU], at=local(2026, 11, 5), count=4, actor=county)
    decided(regions[XIANGQUAN_VILLAGE], at=local(2026, 11, 5), actor=county)
    decided(regions["621121100201"], at=local(2026, 11, 5))
    draw, _ = sc.draw_sample(region=regions[ANDING], round_=NOV, share=Decimal(1))
    sc.draw_sample(region=regions[TONGWEI], round_=NOV)
    checks = list(draw.checks.order_by("region_code", "pk"))
    outcomes = ["agree", "agree", "disagree", None, "agree"]  # the last: 香泉村
    with time_machine.travel(local(2026, 12, 3), tick=False):
        for check, outcome in zip(checks, outcomes, strict=True):
            if outcome:
                sc.spot_check_assign(check=check, actor=county, checker=county_colleague)
                sc.spot_check_record(
                    check=check,
                    actor=county_colleague,
                    method="phone",
                    checked_on=dt.date(2026, 12, 2),
                    outcome=outcome,
                    reason="不符",
                )
    return draw


def test_the_rates_by_region_on_the_page(client, regions, checked_month, county):
    client.force_login(county)
    page = client.get(reverse("spotchecks:index"), {"first": NOV, "last": NOV})
    assert page.status_code == 200
    rows = {r.region.code: r for r in page.context["rows"]}
    lujiagou, xiangquan = rows[LUJIAGOU], rows[XIANGQUAN]
    assert (lujiagou.sampled, lujiagou.checked, lujiagou.agreed, lujiagou.disagreed) == (4, 3, 2, 1)
    assert lujiagou.agreement_rate == pytest.approx(2 / 3)
    assert (xiangquan.sampled, xiangquan.checked, xiangquan.agreed) == (1, 1, 1)
    total = page.context["total"]
    assert (total.sampled, total.checked, total.agreed, total.disagreed, total.open_flags) == (
        5,
        4,
        3,
        1,
        1,
    )
    html = page.content.decode()
    assert "66.7%" in html and "75.0%" in html
    # Another period: nothing.
    october = client.get(reverse("spotchecks:index"), {"first": "2026-10", "last": "2026-10"})
    assert october.context["total"].sampled == 0


def test_the_province_sees_each_city_and_the_dashboard_block(client, regions, checked_month):
    province = make_staff("province-x", regions["620000000000"], Role.PROVINCE)
    client.force_login(province)
    page = client.get(reverse("spotchecks:index"), {"first": NOV, "last": NOV})
    rows = {r.region.code: r for r in page.context["rows"]}
    assert (rows[CITY].sampled, rows[CITY].checked) == (6, 4)
    assert rows["620500000000"].sampled == 0
    dashboard = client.get(
        reverse("supervision:region", args=[CITY]), {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert dashboard.status_code == 200
    assert 'id="spot-checks"' in dashboard.content.decode()
    assert reverse("spotchecks:index") + f"?code={CITY}" in dashboard.content.decode()


def test_an_outsider_gets_nothing(client, regions, checked_month, outsider, grid_wogou):
    check = checked_month.checks.first()
    for user in (outsider, grid_wogou):
        client.force_login(user)
        assert client.get(reverse("spotchecks:index")).status_code == 403
        assert client.get(reverse("spotchecks:check", args=[check.pk])).status_code == 404
        assert (
            client.get(reverse("spotchecks:draw_detail", args=[checked_month.pk])).status_code
            == 404
        )
        assert (
            client.post(reverse("spotchecks:assign", args=[check.pk]), {"take": "1"}).status_code
            == 404
        )
    assert not SpotCheck.objects.visible_to(outsider).exists()
    assert not Draw.objects.visible_to(outsider).exists()
    # Another county's staff see nothing of 安定区.
    tongwei = make_staff("county-tongwei-x", regions[TONGWEI], Role.COUNTY)
    client.force_login(tongwei)
    assert client.get(reverse("spotchecks:check", args=[check.pk])).status_code == 404
    other = client.get(reverse("spotchecks:index"), {"code": ANDING})
    assert other.status_code == 404
    assert Level(regions[TONGWEI].level) == Level.COUNTY
