"""Anomaly alerts (docs/anomalies.md): each rule fires on what it is meant to find and
not on the near miss beside it; the surge reaches the county by SMS at once, at night
too; alerts are one per rule and subject, scoped to the township and above, and
acknowledged with a note, who and when."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from stdnum.cn import ric

from apps.declarations.models import (
    Declaration,
    HouseholdVisit,
    State,
    Transition,
    VillageEvaluation,
)
from apps.declarations.services import declaration_submit
from apps.notifications import backends
from apps.notifications.models import Message
from apps.regions.models import Role
from apps.supervision.anomalies import (
    anomalies_run,
    bulk_rejections,
    fast_closings,
    quiet_villages,
    rejection_rates,
    shared_phones,
    worker_loads,
)
from apps.supervision.models import Alert, AlertEvent
from apps.supervision.signals import surge_check_key
from apps.supervision.tasks import check_surge, detect_anomalies

from .conftest import LUJIAGOU, TAIPING, WOGOU, XIANGQUAN_VILLAGE, declaration_input, make_staff
from .rates_world import ANDING, CST

pytestmark = pytest.mark.django_db

XIAOCHAKOU = "621102100203"  # 小岔口村, 鲁家沟镇
XIANGQUAN_TOWN = "621102101000"
NOW = dt.datetime(2026, 12, 1, 10, tzinfo=CST)
NIGHT = dt.datetime(2026, 12, 1, 23, 30, tzinfo=CST)
_keys = itertools.count(1)


def new_case(regions, village, submitted, *, state=State.SUBMITTED, phone_hash="", person=""):
    """A declaration written straight to the table (no intake, no signals)."""
    key = next(_keys)
    return Declaration(
        tracking_number=f"{key:0>12}",
        state=state,
        channel="qr",
        village=regions[village],
        region_code=village,
        name=f"户{key}",
        phone="13900000000",
        phone_hash=phone_hash or f"phone{key}",
        id_number="x",
        id_hash=person or f"person{key}",
        address_group="1组",
        submitted_at=submitted,
    )


def cases(regions, village, submitted, count, **kwargs):
    return Declaration.objects.bulk_create(
        [new_case(regions, village, submitted, **kwargs) for _ in range(count)]
    )


def subjects(findings):
    return {f.subject for f in findings}


def valid_id(n: int) -> str:
    body = f"6211021980{n:07d}"
    return body + ric.calc_check_digit(body)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- quiet village -------------------------------------------------------------------------


def test_a_village_silent_for_n_weeks_while_its_neighbours_declare_is_flagged(
    regions, settings, frozen
):
    settings.ANOMALY_QUIET_WEEKS = 8
    eight_weeks = dt.timedelta(weeks=8)
    cases(regions, XIAOCHAKOU, NOW - dt.timedelta(days=3), 1)  # the neighbours declare
    cases(regions, WOGOU, NOW - eight_weeks - dt.timedelta(days=1), 1)  # quiet 8 weeks + 1 day
    cases(regions, TAIPING, NOW - eight_weeks + dt.timedelta(days=1), 1)  # near miss
    # 香泉镇: no village declared at all, so none is quiet "while its neighbours declare".
    cases(regions, XIANGQUAN_VILLAGE, NOW - eight_weeks - dt.timedelta(days=30), 1)

    found = {f.region_code: f for f in quiet_villages(NOW)}

    assert WOGOU in found
    assert found[WOGOU].subject == f"{WOGOU}:2026-10-05"
    assert "窝沟村" in found[WOGOU].finding and "2026年10月5日" in found[WOGOU].finding
    assert TAIPING not in found and XIAOCHAKOU not in found
    assert not [code for code in found if code.startswith("621102101")]


# --- cases closed suspiciously fast --------------------------------------------------------


def _visit_and_evaluate(case, grid, visit_day, evaluation_day):
    HouseholdVisit.objects.create(
        declaration=case, visit_date=visit_day, findings="核实", recorded_by=grid
    )
    VillageEvaluation.objects.create(
        declaration=case,
        evaluation_date=evaluation_day,
        outcome="agreed",
        notice_start=evaluation_day,
        notice_end=evaluation_day + dt.timedelta(days=5),
        recorded_by=grid,
    )


def test_cases_visited_and_evaluated_on_their_day_of_submission_are_flagged(
    regions, grid_wogou, frozen
):
    # 01:00 in China is the day before in UTC: days are local days.
    submitted = dt.datetime(2026, 11, 25, 1, tzinfo=CST)
    day = submitted.date()
    fast, next_day = cases(regions, WOGOU, submitted, 2, state=State.IN_NOTICE)
    _visit_and_evaluate(fast, grid_wogou, day, day)
    _visit_and_evaluate(next_day, grid_wogou, day, day + dt.timedelta(days=1))  # near miss

    (finding,) = fast_closings(NOW)

    assert finding.case_ids == [fast.pk]
    assert finding.region_code == WOGOU and finding.subject == f"{WOGOU}:2026-11-25"
    assert "1" in finding.finding and "当天" in finding.finding


# --- rejections in bulk --------------------------------------------------------------------


def _reject(case, actor, at):
    Transition.record(
        declaration=case,
        actor=actor,
        kind="village_reject",
        from_state=State.ACCEPTED,
        to_state=State.REJECTED,
        at=at,
    )


def test_k_rejections_by_one_user_in_one_day_are_flagged_k_minus_one_are_not(
    regions, grid_wogou, grid_taiping, settings, frozen
):
    settings.ANOMALY_BULK_REJECTIONS = 3
    day = dt.datetime(2026, 11, 30, 1, tzinfo=CST)  # local days, not UTC's
    heavy = cases(regions, WOGOU, day - dt.timedelta(days=20), 3, state=State.REJECTED)
    light = cases(regions, TAIPING, day - dt.timedelta(days=20), 3, state=State.REJECTED)
    for n, case in enumerate(heavy):
        _reject(case, grid_wogou, day + dt.timedelta(hours=n))
    # Two on the 30th and one the next day: never three in one day.
    _reject(light[0], grid_taiping, day)
    _reject(light[1], grid_taiping, day + dt.timedelta(hours=5))
    _reject(light[2], grid_taiping, day + dt.timedelta(days=1))

    (finding,) = bulk_rejections(NOW)

    assert finding.subject == f"user:{grid_wogou.pk}:2026-11-30"
    assert sorted(finding.case_ids) == sorted(c.pk for c in heavy)
    assert finding.region_code == WOGOU
    assert "grid-wogou" in finding.finding and "3" in finding.finding


# --- rejection rate far above the county's -------------------------------------------------


def test_a_rejection_rate_twice_the_countys_is_flagged_with_enough_cases(regions, settings, frozen):
    settings.ANOMALY_RATE_MULTIPLE = 2
    settings.ANOMALY_RATE_MIN_CASES = 10
    when = NOW - dt.timedelta(days=30)
    cases(regions, XIANGQUAN_VILLAGE, when, 40, state=State.ENROLLED)
    # 小岔口村 6 of 10 rejected: 60 %, over twice the county's 20/69 = 29.0 % (58.0 %).
    cases(regions, XIAOCHAKOU, when, 6, state=State.REJECTED)
    cases(regions, XIAOCHAKOU, when, 4, state=State.ENROLLED)
    # 窝沟村 5 of 10: 50 %, just under the line.
    cases(regions, WOGOU, when, 5, state=State.REJECTED)
    cases(regions, WOGOU, when, 5, state=State.ENROLLED)
    # 太平村 9 of 9: 100 %, but fewer decided cases than the minimum.
    cases(regions, TAIPING, when, 9, state=State.REJECTED)
    # Open and older cases do not count.
    cases(regions, TAIPING, when, 5)
    cases(regions, XIANGQUAN_VILLAGE, NOW - dt.timedelta(days=120), 30, state=State.REJECTED)

    found = {f.region_code: f for f in rejection_rates(NOW)}

    # 鲁家沟镇 as a whole: 20 of 29 (69 %).
    assert set(found) == {XIAOCHAKOU, LUJIAGOU}
    assert len(found[XIAOCHAKOU].case_ids) == 6
    assert "6" in found[XIAOCHAKOU].finding and "安定区" in found[XIAOCHAKOU].finding
    assert found[LUJIAGOU].subject == f"{LUJIAGOU}:2026-12"


# --- a worker with too many open cases -----------------------------------------------------


def test_a_grid_worker_with_threshold_open_cases_is_flagged_one_fewer_is_not(
    regions, grid_wogou, grid_taiping, settings, frozen
):
    settings.ANOMALY_WORKER_OPEN_CASES = 5
    when = NOW - dt.timedelta(days=10)
    cases(regions, WOGOU, when, 5, state=State.ACCEPTED)
    cases(regions, TAIPING, when, 4, state=State.ACCEPTED)  # one under the line
    cases(regions, TAIPING, when, 3, state=State.ENROLLED)  # closed: not open cases
    # 小岔口村: two workers, one covering 1组, where all five cases are: they are hers.
    first = make_staff("grid-xck-1", regions[XIAOCHAKOU], Role.GRID)
    first.memberships.update(groups="1组")
    make_staff("grid-xck-2", regions[XIAOCHAKOU], Role.GRID)
    cases(regions, XIAOCHAKOU, when, 5)

    found = {f.subject.split(":")[1]: f for f in worker_loads(NOW)}

    assert set(found) == {str(grid_wogou.pk), str(first.pk)}
    assert len(found[str(grid_wogou.pk)].case_ids) == 5
    assert found[str(grid_wogou.pk)].region_code == WOGOU
    assert "grid-wogou" in found[str(grid_wogou.pk)].finding


# --- one phone, many applicants ------------------------------------------------------------


def test_one_phone_given_by_many_applicants_is_flagged_one_fewer_is_not(regions, settings, frozen):
    settings.ANOMALY_PHONE_APPLICANTS = 3
    when = NOW - dt.timedelta(days=40)
    shared = [
        *cases(regions, WOGOU, when, 2, phone_hash="hash-a"),
        *cases(regions, TAIPING, when, 1, phone_hash="hash-a"),
    ]
    # Two applicants, one of them twice: three cases, two people.
    cases(regions, WOGOU, when, 1, phone_hash="hash-b", person="p1")
    cases(regions, WOGOU, when - dt.timedelta(days=1), 1, phone_hash="hash-b", person="p2")
    Declaration.objects.filter(id_hash="p2").update(state=State.WITHDRAWN)
    cases(regions, WOGOU, when, 1, phone_hash="hash-b", person="p2")

    (finding,) = shared_phones(NOW)

    assert finding.subject == "hash-a:2026-12"
    assert sorted(finding.case_ids) == sorted(c.pk for c in shared)
    assert finding.region_code == LUJIAGOU  # two villages of one township
    assert "3" in finding.finding


# --- a surge: the county told at once ------------------------------------------------------


@pytest.fixture
def county_staff(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY, mobile="13600136000")


def _submit(regions, village, n, capture):
    for _ in range(n):
        number = next(_keys)
        with capture(execute=True):
            declaration_submit(
                village=regions[village],
                data=declaration_input(id_number=valid_id(number), phone=f"1390000{number:04d}"),
            )


def test_a_surge_in_a_village_texts_the_county_at_once_at_night(
    regions, grid_wogou, county_staff, settings, django_capture_on_commit_callbacks
):
    settings.ANOMALY_SURGE_VILLAGE = 5
    settings.ANOMALY_SURGE_TOWNSHIP = 100
    with time_machine.travel(NIGHT, tick=False):
        _submit(regions, WOGOU, 4, django_capture_on_commit_callbacks)
        assert not Alert.objects.exists()  # one under the line

        _submit(regions, WOGOU, 1, django_capture_on_commit_callbacks)

        alert = Alert.objects.get()
        assert (alert.rule, alert.region_code, alert.subject) == (
            Alert.Rule.SURGE,
            WOGOU,
            f"{WOGOU}:2026-12-01",
        )
        assert len(alert.case_ids) == 5 and "5" in alert.finding
        sms = Message.objects.get(template="county_surge")
        # In the quiet hours, yet due now and sent, not held for the morning.
        assert sms.recipient == "13600136000"
        assert sms.next_attempt_at <= NIGHT
        assert sms.status == Message.Status.SENT
        (sent,) = [m for m in backends.outbox if m["template"] == "county_surge"]
        assert sent["phone"] == "13600136000" and "窝沟村" in sent["params"]["region"]
        assert "窝沟村" in sms.text and "5" in sms.text

        # Further declarations that day: no second alert, no second SMS; the periodic
        # run brings the alert's cases up to date.
        _submit(regions, WOGOU, 1, django_capture_on_commit_callbacks)
        assert Alert.objects.filter(rule=Alert.Rule.SURGE).count() == 1
        assert Message.objects.filter(template="county_surge").count() == 1
        anomalies_run()
        alert.refresh_from_db()
        assert len(alert.case_ids) == 6 and "6" in alert.finding
        assert Alert.objects.filter(rule=Alert.Rule.SURGE).count() == 1
        assert Message.objects.filter(template="county_surge").count() == 1


def test_a_surge_across_a_township_is_flagged_at_the_line_not_one_under(
    regions, county_staff, settings, django_capture_on_commit_callbacks
):
    settings.ANOMALY_SURGE_VILLAGE = 5
    settings.ANOMALY_SURGE_TOWNSHIP = 8
    with time_machine.travel(NOW, tick=False):
        _submit(regions, WOGOU, 4, django_capture_on_commit_callbacks)
        _submit(regions, TAIPING, 3, django_capture_on_commit_callbacks)
        assert not Alert.objects.exists()

        _submit(regions, XIAOCHAKOU, 1, django_capture_on_commit_callbacks)

    alert = Alert.objects.get()
    assert (alert.rule, alert.region_code) == (Alert.Rule.SURGE, LUJIAGOU)
    assert len(alert.case_ids) == 8
    assert Message.objects.filter(template="county_surge", recipient_hash__gt="").count() == 1


def test_a_queued_surge_check_counts_the_declarations_that_came_after_it(
    regions, county_staff, settings, django_capture_on_commit_callbacks
):
    """A burst queues one check per village at a time: while one is queued, a
    declaration adds none, and the queued check, when it runs, counts it too."""
    settings.ANOMALY_SURGE_VILLAGE = 3
    with time_machine.travel(NOW, tick=False):
        _submit(regions, WOGOU, 2, django_capture_on_commit_callbacks)
        cache.add(surge_check_key(WOGOU), 1, 60)  # as if a check were waiting in the queue
        _submit(regions, WOGOU, 1, django_capture_on_commit_callbacks)
        assert not Alert.objects.exists()  # no second check was queued

        assert check_surge(WOGOU) == 1  # the queued one

    assert Alert.objects.get().region_code == WOGOU
    assert cache.get(surge_check_key(WOGOU)) is None


# --- running the rules: once per subject, locked -------------------------------------------


def test_running_again_raises_nothing_twice_and_acknowledged_alerts_stay_quiet(
    regions, grid_wogou, settings, frozen
):
    settings.ANOMALY_WORKER_OPEN_CASES = 2
    cases(regions, WOGOU, NOW - dt.timedelta(days=3), 2)

    new = anomalies_run()
    load = [a for a in new if a.rule == Alert.Rule.WORKER_LOAD]
    assert len(load) == 1 and AlertEvent.objects.filter(alert=load[0], kind="raised").exists()
    total = Alert.objects.count()

    # Again, with one more case: the open alert takes it, nothing new.
    cases(regions, WOGOU, NOW - dt.timedelta(days=2), 1)
    assert anomalies_run() == []
    assert Alert.objects.count() == total
    load[0].refresh_from_db()
    assert len(load[0].case_ids) == 3 and "3" in load[0].finding

    Alert.objects.update(state=Alert.State.ACKNOWLEDGED)
    assert anomalies_run() == []
    assert not Alert.objects.open().exists()


def test_the_periodic_task_does_nothing_while_another_run_holds_the_lock(
    regions, grid_wogou, settings, frozen
):
    settings.ANOMALY_WORKER_OPEN_CASES = 1
    cases(regions, WOGOU, NOW - dt.timedelta(days=3), 1)
    cache.add("job-lock:detect-anomalies", "another-run", 60)
    assert detect_anomalies() is None
    assert not Alert.objects.exists()
    cache.delete("job-lock:detect-anomalies")
    assert detect_anomalies() >= 1
    assert Alert.objects.filter(rule=Alert.Rule.WORKER_LOAD).exists()


# --- the pages: scoped, with links to the cases, acknowledged with a note --------------------


@pytest.fixture
def two_alerts(regions, frozen):
    wogou_cases = cases(regions, WOGOU, NOW - dt.timedelta(days=2), 2)
    ours = Alert.objects.create(
        rule=Alert.Rule.FAST_CLOSING,
        subject=f"{WOGOU}:2026-11-29",
        region_code=WOGOU,
        finding="鲁家沟镇窝沟村：2 件申报在提交当天即完成入户核查和村级评议。",
        case_ids=[c.pk for c in wogou_cases],
    )
    theirs = Alert.objects.create(
        rule=Alert.Rule.QUIET_VILLAGE,
        subject=f"{XIANGQUAN_VILLAGE}:never",
        region_code=XIANGQUAN_VILLAGE,
        finding="香泉镇香泉村：从未有申报。",
    )
    return ours, theirs, wogou_cases


def test_township_staff_see_their_alerts_not_the_neighbours_village_staff_see_none(
    client, regions, township_lujiagou, grid_wogou, outsider, two_alerts
):
    ours, theirs, wogou_cases = two_alerts
    village_staff = make_staff("village-wogou", regions[WOGOU], Role.VILLAGE)

    client.force_login(township_lujiagou)
    page = client.get(reverse("supervision:alerts"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "窝沟村" in text and "提交当天" in text and "香泉村" not in text
    assert client.get(reverse("supervision:alert", args=[theirs.pk])).status_code == 404
    detail = client.get(reverse("supervision:alert", args=[ours.pk])).content.decode()
    for case in wogou_cases:
        assert reverse("staff:detail", args=[case.tracking_number]) in detail

    for user in (grid_wogou, village_staff, outsider):
        assert not Alert.objects.visible_to(user).exists()
        client.force_login(user)
        assert client.get(reverse("supervision:alerts")).status_code == 403
        assert client.get(reverse("supervision:alert", args=[ours.pk])).status_code == 403


def test_county_staff_see_every_alert_of_the_county(client, regions, two_alerts):
    county = make_staff("county-sup", regions[ANDING], Role.COUNTY)
    client.force_login(county)
    text = client.get(reverse("supervision:alerts")).content.decode()
    assert "窝沟村" in text and "香泉村" in text


def test_acknowledging_records_who_when_and_the_note(
    client, regions, township_lujiagou, two_alerts
):
    ours, theirs, _cases = two_alerts
    url = reverse("supervision:alert", args=[ours.pk])
    client.force_login(township_lujiagou)

    empty = client.post(url, {"note": "  "})
    assert empty.status_code == 400
    assert "请填写核查或处理情况" in empty.content.decode()
    ours.refresh_from_db()
    assert ours.state == Alert.State.OPEN and not AlertEvent.objects.exists()

    done = client.post(url, {"note": "已电话核实，系集中入户。"})
    assert done.status_code == 302 and done["Location"] == url
    ours.refresh_from_db()
    assert ours.state == Alert.State.ACKNOWLEDGED
    assert ours.acknowledged_by == township_lujiagou and ours.acknowledged_at == NOW
    assert ours.note == "已电话核实，系集中入户。"
    event = AlertEvent.objects.get(alert=ours, kind="acknowledged")
    assert event.actor == township_lujiagou and event.at == NOW
    page = client.get(url).content.decode()
    assert "已电话核实" in page and "township-lujiagou" in page
    assert 'name="note"' not in page  # nothing left to acknowledge

    # The neighbour's alert cannot be acknowledged from here.
    assert (
        client.post(reverse("supervision:alert", args=[theirs.pk]), {"note": "x"}).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.state == Alert.State.OPEN


def test_the_dashboard_links_to_the_open_alerts(client, regions, township_lujiagou, two_alerts):
    client.force_login(township_lujiagou)
    page = client.get(reverse("supervision:region", args=[LUJIAGOU])).content.decode()
    assert reverse("supervision:alerts") + f"?region={LUJIAGOU}" in page
    assert "1 条未处理的提醒" in page
    lujiagou_only = client.get(reverse("supervision:alerts"), {"region": XIANGQUAN_TOWN})
    # A region outside the user's subtree filters nothing in: still only their own.
    assert "香泉村" not in lujiagou_only.content.decode()
