"""Desk work: the township's queue and the county's admin list, with filters, search,
counts, pages and batch approval (all or nothing), scoped to the user's regions."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import Channel, Declaration, State, Transition
from apps.declarations.selectors import DaysLeft
from apps.households.models import MonitoredHousehold
from apps.notifications.models import Message
from apps.regions.models import Role

from .conftest import ANDING, LUJIAGOU, TAIPING, TONGWEI, WOGOU, declaration_input, make_staff
from .households_steps import new_id
from .review_steps import to_county, to_township

pytestmark = pytest.mark.django_db

QUEUE = reverse("staff:queue")
APPROVE = reverse("staff:queue_approve")
CHANGELIST = reverse("admin:declarations_declaration_changelist")
XIANGQUAN = "621102101000"  # 香泉镇, another township of 安定区


def declare(regions, serial, *, village=WOGOU, channel=Channel.QR, days_ago=0, **data):
    values = {"id_number": new_id(serial), "phone": f"1390000{serial:04d}", **data}
    with time_machine.travel(timezone.now() - dt.timedelta(days=days_ago)):
        return s.declaration_submit(
            village=regions[village], data=declaration_input(**values), channel=channel
        ).declaration


def tracking_numbers(response) -> list[str]:
    return [row.declaration.tracking_number for row in response.context["rows"]]


def state_of(declaration) -> str:
    return Declaration.objects.get(pk=declaration.pk).state


@pytest.fixture
def mixed(regions, case):
    """Four open cases of 鲁家沟镇: the three-week-old one of 窝沟村 (its visit overdue),
    one of 太平村 by a cadre visit for a disability, two new ones of 窝沟村."""
    taiping = declare(
        regions,
        2,
        village=TAIPING,
        channel=Channel.VISIT,
        name="张秀英",
        difficulties=["disability"],
    )
    new = [declare(regions, 3, name="王建国"), declare(regions, 4, name="王建军")]
    return {"old": case, "taiping": taiping, "new": new}


# --- the township's queue: filters, search, counts, pages ------------------------------


def test_filters_narrow_the_queue(client, township_lujiagou, mixed):
    client.force_login(township_lujiagou)
    everything = client.get(QUEUE, {"stage": ""})
    assert everything.status_code == 200
    assert len(tracking_numbers(everything)) == 4
    # Most urgent first: the overdue case heads the list.
    assert tracking_numbers(everything)[0] == mixed["old"].tracking_number

    taiping = [mixed["taiping"].tracking_number]
    assert tracking_numbers(client.get(QUEUE, {"stage": "", "village": TAIPING})) == taiping
    assert tracking_numbers(client.get(QUEUE, {"stage": "", "channel": Channel.VISIT})) == taiping
    assert tracking_numbers(client.get(QUEUE, {"stage": "", "difficulty": "disability"})) == taiping
    overdue = client.get(QUEUE, {"stage": "", "days_left": DaysLeft.OVERDUE})
    assert tracking_numbers(overdue) == [mixed["old"].tracking_number]
    assert all(row.mark.status == "overdue" for row in overdue.context["rows"])
    # The new cases have their whole visit period ahead of them.
    later = {
        *tracking_numbers(client.get(QUEUE, {"stage": "", "days_left": DaysLeft.WEEK})),
        *tracking_numbers(client.get(QUEUE, {"stage": "", "days_left": DaysLeft.LATER})),
    }
    assert later == {d.tracking_number for d in [mixed["taiping"], *mixed["new"]]}
    # By default the township sees its own stage: nothing is under its review yet.
    assert tracking_numbers(client.get(QUEUE)) == []


def test_search_by_tracking_number_name_id_number_or_phone(client, township_lujiagou, mixed):
    client.force_login(township_lujiagou)
    old, taiping = mixed["old"], mixed["taiping"]

    def found(q):
        return tracking_numbers(client.get(QUEUE, {"stage": "", "q": q}))

    assert found(old.tracking_number_display) == [old.tracking_number]  # "1234 5678 9012"
    assert found(taiping.id_number) == [taiping.tracking_number]  # the keyed hash, exactly
    assert found(taiping.id_number[:10]) == []  # no partial match on an encrypted field
    assert found("139 0000 0002") == [taiping.tracking_number]
    assert found("张秀") == [taiping.tracking_number]
    assert sorted(found("王建")) == sorted(d.tracking_number for d in mixed["new"])


def test_counts_by_stage_follow_the_other_filters(client, township_lujiagou, grid_wogou, mixed):
    s.declaration_accept(declaration=mixed["old"], actor=grid_wogou)
    client.force_login(township_lujiagou)
    response = client.get(QUEUE, {"stage": ""})
    counts = {str(st["label"]): st["count"] for st in response.context["stages"]}
    assert counts == {
        str(State.SUBMITTED.label): 3,
        str(State.ACCEPTED.label): 1,
    }
    assert response.context["all_open"]["count"] == 4
    assert "(3)</a>" in response.content.decode()

    only_wogou = client.get(QUEUE, {"stage": State.SUBMITTED, "village": WOGOU})
    counts = {str(st["label"]): st["count"] for st in only_wogou.context["stages"]}
    assert counts == {str(State.SUBMITTED.label): 2, str(State.ACCEPTED.label): 1}
    assert len(tracking_numbers(only_wogou)) == 2


def test_the_queue_is_paged_and_the_pages_keep_the_filters(client, regions, township_lujiagou):
    for serial in range(55):
        declare(regions, serial)
    client.force_login(township_lujiagou)
    first = client.get(QUEUE, {"stage": "", "village": WOGOU})
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.num_pages == 2
    assert f"village={WOGOU}" in first.context["query"]
    assert f"village={WOGOU}&amp;page=2" in first.content.decode()
    second = client.get(QUEUE, {"stage": "", "village": WOGOU, "page": 2})
    assert len(second.context["rows"]) == 5
    assert not set(tracking_numbers(first)) & set(tracking_numbers(second))
    # A page number out of range shows the last page, not an error.
    assert client.get(QUEUE, {"stage": "", "page": "abc"}).status_code == 200


def test_a_page_of_fifty_costs_a_bounded_number_of_queries(
    client, regions, township_lujiagou, django_assert_max_num_queries
):
    for serial in range(60):
        declare(regions, serial, village=WOGOU if serial % 2 else TAIPING)
    client.force_login(township_lujiagou)
    client.get(QUEUE, {"stage": ""})  # the session and the like, once
    with django_assert_max_num_queries(20):
        response = client.get(QUEUE, {"stage": "", "channel": Channel.QR})
    assert len(response.context["rows"]) == 50


def test_bad_filter_values_are_refused_at_the_field_in_chinese(client, township_lujiagou, mixed):
    client.force_login(township_lujiagou)
    response = client.get(
        QUEUE, {"stage": "bogus", "days_left": "x", "channel": "<b>", "village": "1"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"stage", "days_left", "channel", "village"}
    assert "选择一个有效的选项" in response.content.decode()
    # The bad filters are left out: every open case is listed.
    assert len(tracking_numbers(response)) == 4


def test_another_region_s_filter_or_search_reveals_nothing(client, regions, mixed):
    elsewhere = make_staff("township-xiangquan", regions[XIANGQUAN], Role.TOWNSHIP)
    client.force_login(elsewhere)
    by_village = client.get(QUEUE, {"stage": "", "village": WOGOU})
    assert by_village.status_code == 400  # not one of its villages
    assert tracking_numbers(by_village) == []
    for q in (mixed["old"].tracking_number, mixed["old"].id_number, "139 0000 0002", "魏家常"):
        response = client.get(QUEUE, {"stage": "", "q": q})
        assert tracking_numbers(response) == []
        assert mixed["old"].tracking_number_display not in response.content.decode()
    assert client.get(QUEUE, {"stage": ""}).context["all_open"]["count"] == 0


# --- the township's batch approval --------------------------------------------------------


@pytest.fixture
def two_ready(regions, case, grid_wogou, township_lujiagou, line):
    """Two cases under township review, their property checks complete."""
    second = declare(regions, 7, name="王建国", days_ago=21)
    for declaration in (case, second):
        to_township(declaration, grid_wogou)
        s.declaration_record_property_check(
            declaration=declaration,
            actor=township_lujiagou,
            vehicles="无",
            housing="土坯房一处",
            business="无",
        )
    return [case, second]


def test_the_township_approves_several_complete_cases_at_once(client, township_lujiagou, two_ready):
    client.force_login(township_lujiagou)
    listed = client.get(QUEUE)
    assert listed.context["selectable"] == {d.tracking_number for d in two_ready}
    response = client.post(
        f"{APPROVE}?village={WOGOU}", {"cases": [d.tracking_number for d in two_ready]}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?village={WOGOU}"
    assert [state_of(d) for d in two_ready] == [State.COUNTY_REVIEW] * 2
    for d in two_ready:  # each through the service: its log row
        assert Transition.objects.filter(declaration=d, kind="township_approve").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "2 件申报已报县审批" in page


def test_a_case_not_ready_stops_the_whole_batch(client, regions, township_lujiagou, two_ready):
    incomplete = two_ready[1]
    incomplete.property_check.delete()
    logs, outbox = Transition.objects.count(), Message.objects.count()
    client.force_login(township_lujiagou)
    response = client.post(APPROVE, {"cases": [d.tracking_number for d in two_ready]})
    # Refused: back to the queue (Post/Redirect/Get), which says why, once.
    assert response.status_code == 302 and response["Location"] == QUEUE
    # Nothing half-done: the ready case is not approved either, no log row, no SMS.
    assert [state_of(d) for d in two_ready] == [State.TOWNSHIP_REVIEW] * 2
    assert (Transition.objects.count(), Message.objects.count()) == (logs, outbox)
    response = client.get(response["Location"])
    assert "请先完成财产核查" in response.content.decode()
    refusals = response.context["refusal"]["refusals"]
    assert [r["declaration"].tracking_number for r in refusals] == [incomplete.tracking_number]
    assert response.context["ticked"] == {d.tracking_number for d in two_ready}
    again = client.get(QUEUE)
    assert again.context["refusal"] is None and "请先完成财产核查" not in again.content.decode()


def test_a_batch_is_refused_for_cases_outside_the_user_s_role_or_region(
    client, regions, grid_wogou, township_lujiagou, two_ready
):
    # A grid worker sees the cases but may not approve for the township.
    client.force_login(grid_wogou)
    response = client.post(APPROVE, {"cases": [d.tracking_number for d in two_ready]})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "您无权对这件申报执行此操作。" in page
    assert [state_of(d) for d in two_ready] == [State.TOWNSHIP_REVIEW] * 2
    # Another township cannot even name them.
    elsewhere = make_staff("township-xiangquan", regions[XIANGQUAN], Role.TOWNSHIP)
    client.force_login(elsewhere)
    response = client.post(APPROVE, {"cases": [two_ready[0].tracking_number]})
    assert response.status_code == 400
    assert "选择一个有效的选项" in response.content.decode()
    assert state_of(two_ready[0]) == State.TOWNSHIP_REVIEW
    # Nothing ticked: a Chinese message, not a 500.
    client.force_login(township_lujiagou)
    response = client.post(APPROVE, {})
    assert response.status_code == 400
    assert "请选择要审核通过的申报" in response.content.decode()


# --- the county's admin -------------------------------------------------------------------


def admin_user(username, region, role=Role.COUNTY):
    user = make_staff(username, region, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    return user


@pytest.fixture
def clerk(regions):
    return admin_user("anding-clerk", regions[ANDING])


@pytest.fixture
def two_at_county(regions, case, grid_wogou, township_lujiagou, line):
    second = declare(regions, 7, name="王建国", days_ago=21)
    for declaration in (case, second):
        to_county(declaration, grid_wogou, township_lujiagou)
    return [case, second]


def approve_in_admin(client, declarations, query=""):
    return client.post(
        CHANGELIST + query,
        {"action": "approve_selected", "_selected_action": [d.pk for d in declarations]},
        follow=True,
    )


def test_the_county_approves_several_cases_in_the_admin(client, clerk, two_at_county):
    client.force_login(clerk)
    response = approve_in_admin(client, two_at_county)
    assert response.status_code == 200
    assert [state_of(d) for d in two_at_county] == [State.ENROLLED] * 2
    assert MonitoredHousehold.objects.count() == 2
    assert "2 件申报已审批纳入" in response.content.decode()


def test_the_admin_batch_is_all_or_nothing(client, clerk, two_at_county, township_lujiagou):
    returned = two_at_county[1]
    s.declaration_county_return(declaration=returned, actor=clerk, reason="补充车辆核查")
    client.force_login(clerk)
    response = approve_in_admin(client, two_at_county, "?queue=all")
    assert state_of(two_at_county[0]) == State.COUNTY_REVIEW
    assert state_of(returned) == State.TOWNSHIP_REVIEW
    assert MonitoredHousehold.objects.count() == 0
    messages = [str(m) for m in response.context["messages"]]
    assert any("未作任何处理" in m for m in messages), messages
    assert any(
        returned.tracking_number_display in m and "当前所处环节不能执行此操作" in m
        for m in messages
    ), messages


def test_only_county_staff_get_the_batch_action(client, regions, two_at_county):
    township_admin = admin_user("lujiagou-admin", regions[LUJIAGOU], Role.TOWNSHIP)
    client.force_login(township_admin)
    response = client.get(CHANGELIST)
    assert "approve_selected" not in response.content.decode()
    approve_in_admin(client, two_at_county)
    assert [state_of(d) for d in two_at_county] == [State.COUNTY_REVIEW] * 2


def test_the_approval_list_shows_township_deadline_and_risk_types_in_chinese(
    client, clerk, two_at_county
):
    client.force_login(clerk)
    response = client.get(CHANGELIST)
    content = response.content.decode()
    start = content.index('id="result_list"')
    table = content[start : content.index("</table>", start)]
    for header in ("乡镇", "截止日期", "剩余时限", "困难类型"):
        assert header in table, header
    assert "鲁家沟镇" in table
    assert "因病" in table and "illness" not in table
    # The enrolment deadline from the clocks, and how far it is: a mark in Chinese.
    clock = s.declaration_clocks(two_at_county[0])["enrol"]
    assert f"{clock.due_on.year}年{clock.due_on.month}月{clock.due_on.day}日" in table
    assert "mark mark-" in table
    assert "working day" not in table


def test_admin_filters_and_search_are_scoped(client, regions, clerk, two_at_county):
    other = declare(regions, 9, village=TAIPING, name="张秀英", difficulties=["disability"])
    client.force_login(clerk)

    def listed(params):
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200
        return {d.pk for d in response.context["cl"].result_list}

    approval = {d.pk for d in two_at_county}
    assert listed({}) == approval
    assert listed({"queue": "all", "village": TAIPING, "township": LUJIAGOU}) == {other.pk}
    assert listed({"queue": "all", "difficulty": "disability"}) == {other.pk}
    # Declared three weeks ago, the two at the county are past their enrolment deadline.
    assert listed({"queue": "all", "days_left": DaysLeft.OVERDUE}) == approval
    assert listed({"queue": "all", "q": other.id_number}) == {other.pk}
    assert listed({"queue": "all", "q": "1390000 0009"}) == {other.pk}
    assert listed({"queue": "all", "q": two_at_county[1].tracking_number}) == {two_at_county[1].pk}
    # Counts next to each filter's choices (the admin's facets).
    content = client.get(CHANGELIST, {"queue": "all"}).content.decode()
    assert "鲁家沟镇 (3)" in content
    # Tongwei's clerk names Anding's township and village and sees neither nor their cases.
    tongwei = admin_user("tongwei-clerk", regions[TONGWEI])
    client.force_login(tongwei)
    assert listed({"queue": "all", "township": LUJIAGOU}) == set()
    assert listed({"queue": "all", "q": other.id_number}) == set()
    assert "鲁家沟镇" not in client.get(CHANGELIST, {"queue": "all"}).content.decode()


def test_an_admin_page_of_fifty_costs_a_bounded_number_of_queries(
    client, regions, clerk, django_assert_max_num_queries
):
    for serial in range(60):
        declare(regions, serial, village=WOGOU if serial % 2 else TAIPING)
    client.force_login(clerk)
    client.get(CHANGELIST, {"queue": "all"})
    with django_assert_max_num_queries(32):
        response = client.get(CHANGELIST, {"queue": "all"})
    assert len(response.context["cl"].result_list) == 50
