"""Life events (家庭变化): a household moves to another village, a member joins, leaves
or dies, a household splits or two merge, the applicant dies during the review. Each is
one service with a row of history naming who did it; refused for the wrong role with
nothing changed; bad input is a Chinese message at the field and a 4xx."""

import datetime as dt

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.deadlines.models import Clock
from apps.declarations import services as ds
from apps.declarations.models import Declaration, State, Transition
from apps.households.models import (
    FollowUp,
    HelpPlan,
    HouseholdEvent,
    HouseholdMember,
    HouseholdStatus,
    LabourCapacity,
    MemberLeft,
    MonitoredHousehold,
)
from apps.households.services.common import NATIONAL_SUBJECT, PLAN_SUBJECT
from apps.households.services.life_events import FieldRefused
from apps.notifications.models import Message
from apps.regions.models import Role
from apps.screening.models import Warning

from .conftest import DONGGUAN, ID_B, TAIPING, WOGOU, XIANGQUAN_VILLAGE, make_staff
from .households_steps import enrol, member, new_id
from .prg_steps import refusal_shown
from .review_steps import visit

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=n)).isoformat()


def field_error(response, name: str) -> str:
    return " ".join(response.context["form"].errors.get(name, []))


# --- a move to another village -----------------------------------------------------------------


@pytest.fixture
def moving(household, case):
    """A monitored household of 窝沟村 whose (re-identification) case is open."""
    Declaration.objects.filter(pk=case.pk).update(household=household)
    case.refresh_from_db()
    return household, case


def snapshot(household, case):
    household.refresh_from_db()
    case.refresh_from_db()
    return (
        household.region_code,
        case.region_code,
        sorted(Clock.objects.values_list("pk", "region_code", "due_on")),
        HouseholdEvent.objects.count(),
        Transition.objects.count(),
        Message.objects.filter(template="village_household_moved_in").count(),
    )


def test_a_township_moves_a_household_and_its_case_within_its_township(
    client, moving, regions, township_lujiagou, grid_wogou, grid_taiping
):
    household, case = moving
    warning = Warning.objects.create(
        village=household.village,
        region_code=WOGOU,
        household_key=f"m{household.pk}",
        monitored_household=household,
        person_name=household.head_name,
    )
    running = {
        c.pk: c.due_on
        for c in Clock.objects.running().filter(region_code=WOGOU)  # the case's and the household's
    }
    assert len(running) >= 3  # verify, enrol, help plan, follow-up
    client.force_login(township_lujiagou)
    response = client.post(
        reverse("staff:household_move", args=[household.pk]),
        {"village": regions[TAIPING].pk, "reason": "举家迁往太平村"},
    )
    assert response.status_code == 302

    household.refresh_from_db()
    case.refresh_from_db()
    assert household.region_code == case.region_code == TAIPING
    assert household.village.code == case.village.code == TAIPING
    assert set(
        HelpPlan.objects.filter(household=household).values_list("region_code", flat=True)
    ) == {TAIPING}
    assert set(
        FollowUp.objects.filter(household=household).values_list("region_code", flat=True)
    ) == {TAIPING}
    # The running clocks go with it, their deadlines unchanged.
    for clock in Clock.objects.filter(pk__in=running):
        assert clock.region_code == TAIPING and clock.due_on == running[clock.pk]
    # One row in each log, naming who.
    (event,) = household.events.filter(kind="moved")
    assert event.actor == township_lujiagou and "太平村" in event.summary
    (log,) = case.transitions.filter(kind="moved")
    assert log.actor == township_lujiagou and log.reason == "举家迁往太平村"
    # The new village's grid worker is told, in Chinese.
    (sms,) = Message.objects.filter(template="village_household_moved_in")
    assert sms.recipient == "13900139000" and sms.region_code == TAIPING
    assert "迁入太平村" in sms.text and "窝沟村" in sms.text
    # The case's earlier SMS go with it (the old village no longer sees them).
    assert set(
        Message.objects.filter(subject=f"declaration:{case.pk}").values_list(
            "region_code", flat=True
        )
    ) == {TAIPING}

    # The household's screening warning goes with it.
    warning.refresh_from_db()
    assert warning.region_code == TAIPING and warning.village.code == TAIPING
    assert not Warning.objects.visible_to(grid_wogou).exists()

    # The old village has lost sight of both; the new one sees them.
    client.force_login(grid_wogou)
    assert client.get(reverse("households:detail", args=[household.pk])).status_code == 404
    assert client.get(reverse("staff:detail", args=[case.tracking_number])).status_code == 404
    assert (
        not Message.objects.visible_to(grid_wogou)
        .filter(subject__startswith=f"declaration:{case.pk}")
        .exists()
    )
    client.force_login(grid_taiping)
    assert client.get(reverse("households:detail", args=[household.pk])).status_code == 200
    page = client.get(reverse("staff:detail", args=[case.tracking_number]))
    assert page.status_code == 200 and "该户迁往其他村" in page.content.decode()


def test_an_open_case_without_a_household_moves_from_its_page(
    client, case, county_anding, grid_taiping, regions
):
    client.force_login(county_anding)
    response = client.post(
        reverse("staff:case_move", args=[case.tracking_number]),
        {"village": regions[XIANGQUAN_VILLAGE].pk, "reason": "投靠子女"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.region_code == XIANGQUAN_VILLAGE
    assert set(
        Clock.objects.running()
        .filter(subject_type="declaration", subject_id=case.pk)
        .values_list("region_code", flat=True)
    ) == {XIANGQUAN_VILLAGE}
    (log,) = case.transitions.filter(kind="moved")
    assert log.actor == county_anding


def test_the_move_is_refused_to_the_village_and_across_townships_for_a_township(
    client, moving, grid_wogou, township_lujiagou, county_anding, regions
):
    household, case = moving
    before = snapshot(household, case)
    # A grid worker may not move a household.
    client.force_login(grid_wogou)
    url = reverse("staff:household_move", args=[household.pk])
    response = client.post(url, {"village": regions[TAIPING].pk, "reason": "迁移"})
    assert response.status_code == 403 and "无权" in response.content.decode()
    # A township may not move one out of its township: not a village it can choose.
    client.force_login(township_lujiagou)
    response = client.post(url, {"village": regions[XIANGQUAN_VILLAGE].pk, "reason": "迁移"})
    assert response.status_code == 400 and field_error(response, "village")
    with pytest.raises(FieldRefused):
        ds_move(case, township_lujiagou, regions[XIANGQUAN_VILLAGE])
    # Nor a county to another county.
    with pytest.raises(FieldRefused):
        ds_move(case, county_anding, regions[DONGGUAN])
    assert snapshot(household, case) == before


def ds_move(case, actor, village):
    from apps.declarations.services.life_events import case_move

    return case_move(declaration=case, actor=actor, village=village, reason="迁移")


def test_a_move_without_a_reason_or_village_is_refused_at_the_field(
    client, moving, township_lujiagou
):
    household, case = moving
    before = snapshot(household, case)
    client.force_login(township_lujiagou)
    response = client.post(
        reverse("staff:household_move", args=[household.pk]), {"village": "", "reason": ""}
    )
    assert response.status_code == 400
    assert "必填" in field_error(response, "village") or field_error(response, "village")
    assert field_error(response, "reason")
    assert "请修改" in response.content.decode()
    assert snapshot(household, case) == before


# --- members ------------------------------------------------------------------------------------


def test_a_member_joins(client, household, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        reverse("households:member_add", args=[household.pk]),
        {
            "name": "魏小宝",
            "relation": "孙子",
            "id_number": "",
            "labour_capacity": LabourCapacity.NONE,
            "schooling": "none",
            "health": "健康",
            "joined_on": days_ago(3),
            "reason": "新生儿",
        },
    )
    assert response.status_code == 302
    joined = household.members.get(name="魏小宝")
    assert joined.joined_on == timezone.localdate() - dt.timedelta(days=3)
    (event,) = household.events.filter(kind="member_joined")
    assert event.actor == grid_wogou and "魏小宝" in event.summary
    page = client.get(reverse("households:detail", args=[household.pk])).content.decode()
    assert "家庭成员增加" in page


def test_a_member_joining_with_a_future_date_or_bad_id_is_refused_at_the_field(
    client, household, grid_wogou
):
    client.force_login(grid_wogou)
    response = client.post(
        reverse("households:member_add", args=[household.pk]),
        {
            "name": "魏小宝",
            "relation": "孙子",
            "id_number": "62110219800101107",
            "labour_capacity": LabourCapacity.NONE,
            "schooling": "none",
            "joined_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            "reason": "新生儿",
        },
    )
    assert response.status_code == 400
    assert "不能" in field_error(response, "joined_on")
    assert "18" in field_error(response, "id_number")
    assert household.members.count() == 2 and not household.events.filter(kind="member_joined")


def test_a_member_dies_and_stays_on_record(client, household, grid_wogou):
    spouse = household.members.get(name="李梅")
    client.force_login(grid_wogou)
    response = client.post(
        reverse("households:member_leave", args=[household.pk, spouse.pk]),
        {"why": MemberLeft.DIED, "left_on": days_ago(1), "reason": "病故", "new_head": ""},
    )
    assert response.status_code == 302
    assert list(household.members.values_list("name", flat=True)) == ["魏家常"]
    spouse = HouseholdMember.on_record.get(pk=spouse.pk)
    assert spouse.left_reason == MemberLeft.DIED and spouse.left_on is not None
    (event,) = household.events.filter(kind="member_died")
    assert event.actor == grid_wogou and event.reason == "病故"
    page = client.get(reverse("households:detail", args=[household.pk])).content.decode()
    assert "原家庭成员" in page and "去世" in page


def test_when_the_head_leaves_a_new_head_with_an_id_number_is_required(
    client, regions, county_anding, grid_wogou
):
    son_id = new_id(77, born="20000101")
    household = enrol(
        regions,
        county_anding,
        serial=5,
        members=[
            member("魏家常", "户主"),
            member("李梅", "配偶"),
            _member_with_id("魏小军", "子", son_id),
        ],
    )
    head = household.members.get(name="魏家常")
    url = reverse("households:member_leave", args=[household.pk, head.pk])
    client.force_login(grid_wogou)
    data = {"why": MemberLeft.LEFT, "left_on": days_ago(1), "reason": "外出另居"}
    response = client.post(url, {**data, "new_head": ""})
    assert response.status_code == 400 and "新户主" in field_error(response, "new_head")
    spouse = household.members.get(name="李梅")
    response = client.post(url, {**data, "new_head": spouse.pk})
    assert response.status_code == 400 and "身份证号" in field_error(response, "new_head")
    assert household.members.count() == 3 and not household.events.filter(kind="member_left")

    son = household.members.get(name="魏小军")
    assert client.post(url, {**data, "new_head": son.pk}).status_code == 302
    household.refresh_from_db()
    assert household.head_name == "魏小军" and household.head_id_number == son_id
    assert household.events.get(kind="member_left").actor == grid_wogou


def _member_with_id(name, relation, id_number):
    from apps.households.services import MemberFacts

    return MemberFacts(
        name=name, relation=relation, id_number=id_number, labour_capacity=LabourCapacity.FULL
    )


def test_members_are_changed_by_the_village_only(client, household, township_lujiagou):
    client.force_login(township_lujiagou)
    spouse = household.members.get(name="李梅")
    response = client.post(
        reverse("households:member_leave", args=[household.pk, spouse.pk]),
        {"why": MemberLeft.DIED, "left_on": days_ago(1), "reason": "病故"},
    )
    assert response.status_code == 403
    assert household.members.count() == 2 and not household.events.exclude(kind="enrolled")


# --- split and merge ------------------------------------------------------------------------------


@pytest.fixture
def family(regions, county_anding):
    """A household of 窝沟村 with a grown son who has his own ID number."""
    return enrol(
        regions,
        county_anding,
        serial=7,
        members=[
            member("魏家常", "户主"),
            member("李梅", "配偶"),
            _member_with_id("魏小军", "子", new_id(88, born="19990101")),
            member("王芳", "儿媳"),
        ],
    )


def test_the_county_splits_a_household_and_the_new_one_starts_its_own_monitoring(
    client, family, county_anding
):
    son = family.members.get(name="魏小军")
    wife = family.members.get(name="王芳")
    client.force_login(county_anding)
    response = client.post(
        reverse("households:split", args=[family.pk]),
        {"members": [son.pk, wife.pk], "head": son.pk, "split_on": days_ago(2), "reason": "分家"},
    )
    assert response.status_code == 302
    new = MonitoredHousehold.objects.get(split_from=family)
    assert response["Location"] == reverse("households:detail", args=[new.pk])
    assert new.head_name == "魏小军" and new.status == HouseholdStatus.MONITORING
    assert new.region_code == WOGOU and new.category == family.category
    assert sorted(new.members.values_list("name", flat=True)) == ["王芳", "魏小军"]
    assert sorted(family.members.values_list("name", flat=True)) == ["李梅", "魏家常"]
    assert HouseholdMember.on_record.get(pk=son.pk).left_reason == MemberLeft.SPLIT
    # Its own plan (with its 10-day clock) and its first follow-up visit.
    plan = new.plans.get()
    assert Clock.objects.running().get(subject_type="help_plan", subject_id=plan.pk)
    assert new.follow_ups.pending().count() == 1
    # The old household keeps its own.
    assert family.plans.count() == 1 and family.follow_ups.pending().count() == 1
    assert family.events.get(kind="split").actor == county_anding
    assert new.events.get(kind="split_from").actor == county_anding


def test_a_split_is_refused_to_the_village_and_for_a_head_who_does_not_leave(
    client, family, grid_wogou, county_anding
):
    son = family.members.get(name="魏小军")
    wife = family.members.get(name="王芳")
    data = {"members": [wife.pk], "head": son.pk, "split_on": days_ago(2), "reason": "分家"}
    client.force_login(grid_wogou)
    assert client.post(reverse("households:split", args=[family.pk]), data).status_code == 403
    client.force_login(county_anding)
    response = client.post(reverse("households:split", args=[family.pk]), data)
    assert response.status_code == 400 and "新户主" in field_error(response, "head")
    assert MonitoredHousehold.objects.count() == 1 and family.members.count() == 4


def test_the_county_merges_two_households_and_the_absorbed_one_is_closed(
    client, regions, county_anding, household, grid_wogou
):
    other = enrol(regions, county_anding, serial=9, members=[member("张三", "户主")])
    # The absorbed household's running clocks: its plan's and its own (the hand-over).
    other_clocks = list(
        Clock.objects.running().filter(
            Q(subject_type=PLAN_SUBJECT, subject_id=other.plans.get().pk)
            | Q(subject_type=NATIONAL_SUBJECT, subject_id=other.pk)
        )
    )
    assert len(other_clocks) == 2
    client.force_login(county_anding)
    response = client.post(
        reverse("households:merge", args=[other.pk]),
        {"into": household.pk, "merged_on": days_ago(1), "reason": "老人随子女合户"},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == HouseholdStatus.MERGED and other.merged_into == household
    assert "张三" in household.members.values_list("name", flat=True)
    assert not other.members.exists()
    assert HouseholdMember.on_record.get(household=other).left_reason == MemberLeft.MERGED
    for clock in other_clocks:
        clock.refresh_from_db()
        assert clock.met_at and clock.cancelled
    assert not other.follow_ups.pending().filter(cancelled=False).exists()
    assert other.events.get(kind="merged_into").actor == county_anding
    assert household.events.get(kind="merged").actor == county_anding
    client.force_login(grid_wogou)
    page = client.get(reverse("households:detail", args=[other.pk])).content.decode()
    assert "已并入此户" in page


def test_a_household_with_an_open_case_is_not_merged_away(
    client, regions, county_anding, household, case
):
    other = enrol(regions, county_anding, serial=9, members=[member("张三", "户主")])
    Declaration.objects.filter(pk=case.pk).update(household=other)
    client.force_login(county_anding)
    response = client.post(
        reverse("households:merge", args=[other.pk]),
        {"into": household.pk, "merged_on": days_ago(1), "reason": "合户"},
    )
    merge_page = reverse("households:merge", args=[other.pk])
    assert "正在办理的申报" in refusal_shown(client, response, to=merge_page)
    other.refresh_from_db()
    assert other.status == HouseholdStatus.MONITORING and other.members.count() == 1


def test_a_merge_is_refused_to_the_village_and_into_another_village(
    client, regions, county_anding, household, grid_wogou
):
    elsewhere = enrol(regions, county_anding, serial=11, village=TAIPING)
    url = reverse("households:merge", args=[household.pk])
    data = {"into": elsewhere.pk, "merged_on": days_ago(1), "reason": "合户"}
    client.force_login(grid_wogou)
    assert client.post(url, data).status_code == 403
    client.force_login(county_anding)
    response = client.post(url, data)
    assert response.status_code == 400 and field_error(response, "into")
    household.refresh_from_db()
    assert household.status == HouseholdStatus.MONITORING and household.members.count() == 2


# --- the applicant dies during the review ----------------------------------------------------------


@pytest.fixture
def visited(case, grid_wogou):
    """The case after its home visit, which recorded the spouse with her ID number."""
    ds.declaration_accept(declaration=case, actor=grid_wogou)
    ds.declaration_record_visit(
        declaration=case,
        actor=grid_wogou,
        visit=visit(
            members=[
                ds.MemberInput(name="魏家常", relation="户主", labour_capacity=LabourCapacity.NONE),
                ds.MemberInput(
                    name="李梅",
                    relation="配偶",
                    labour_capacity=LabourCapacity.FULL,
                    id_number=ID_B,
                ),
            ]
        ),
    )
    case.refresh_from_db()
    return case


def test_the_declaration_continues_with_another_member(client, visited, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        reverse("staff:applicant_died", args=[visited.tracking_number]),
        {
            "died_on": days_ago(2),
            "continues": "member",
            "id_number": ID_B,
            "phone": "13711112222",
            "reason": "申请人病故，配偶继续申请",
        },
    )
    assert response.status_code == 302
    visited.refresh_from_db()
    assert visited.name == "李梅" and visited.phone == "13711112222"
    assert visited.state == State.VERIFIED and visited.is_open
    (log,) = visited.transitions.filter(kind="applicant_died")
    assert log.actor == grid_wogou and "魏家常" in log.summary and "李梅" in log.summary
    page = client.get(reverse("staff:detail", args=[visited.tracking_number])).content.decode()
    assert "申请人已故" in page


def test_with_no_member_left_the_case_is_closed_with_the_reason(client, visited, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        reverse("staff:applicant_died", args=[visited.tracking_number]),
        {"died_on": days_ago(2), "continues": "close", "reason": "独居老人病故"},
    )
    assert response.status_code == 302
    visited.refresh_from_db()
    assert visited.state == State.WITHDRAWN
    assert not Clock.objects.running().filter(subject_type="declaration", subject_id=visited.pk)
    (log,) = visited.transitions.filter(kind="applicant_died")
    assert log.to_state == State.WITHDRAWN and log.reason == "独居老人病故"


def test_a_successor_who_is_not_a_known_member_is_refused_at_the_field(client, visited, grid_wogou):
    client.force_login(grid_wogou)
    url = reverse("staff:applicant_died", args=[visited.tracking_number])
    data = {"died_on": days_ago(2), "continues": "member", "reason": "病故"}
    response = client.post(url, {**data, "id_number": new_id(3), "phone": "13711112222"})
    assert response.status_code == 400 and "成员" in field_error(response, "id_number")
    response = client.post(url, {**data, "id_number": ID_B, "phone": ""})
    assert response.status_code == 400 and field_error(response, "phone")
    response = client.post(
        url, {**data, "died_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}
    )
    assert response.status_code == 400 and field_error(response, "died_on")
    visited.refresh_from_db()
    assert visited.name == "魏家常" and not visited.transitions.filter(kind="applicant_died")


def test_recording_the_death_is_refused_without_a_casework_role(client, visited, regions):
    province = make_staff("province-x", regions["620000000000"], Role.PROVINCE)
    client.force_login(province)
    response = client.post(
        reverse("staff:applicant_died", args=[visited.tracking_number]),
        {"died_on": days_ago(2), "continues": "close", "reason": "病故"},
    )
    assert response.status_code == 403
    visited.refresh_from_db()
    assert visited.state == State.VERIFIED


# --- the pages ------------------------------------------------------------------------------------


def test_each_life_event_page_opens_in_chinese_for_whoever_may_use_it(
    client, moving, grid_wogou, county_anding
):
    household, case = moving
    spouse = household.members.get(name="李梅")
    pages = [
        (grid_wogou, reverse("households:member_add", args=[household.pk]), "家庭成员增加"),
        (
            grid_wogou,
            reverse("households:member_leave", args=[household.pk, spouse.pk]),
            "去世或迁出",
        ),
        (grid_wogou, reverse("staff:applicant_died", args=[case.tracking_number]), "申请人已故"),
        (county_anding, reverse("households:split", args=[household.pk]), "分户"),
        (county_anding, reverse("households:merge", args=[household.pk]), "合户"),
        (county_anding, reverse("staff:household_move", args=[household.pk]), "迁往其他村"),
        (county_anding, reverse("staff:case_move", args=[case.tracking_number]), "迁往其他村"),
    ]
    for user, url, heading in pages:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert heading in response.content.decode(), url
    # The household's and the case's pages offer them.
    client.force_login(county_anding)
    page = client.get(reverse("households:detail", args=[household.pk])).content.decode()
    assert reverse("staff:household_move", args=[household.pk]) in page
    assert reverse("households:split", args=[household.pk]) in page
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert reverse("staff:applicant_died", args=[case.tracking_number]) in page
    assert reverse("staff:case_move", args=[case.tracking_number]) not in page
