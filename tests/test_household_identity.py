"""The household as the unit (以家庭为单位): a declaration is matched to its roster
household and monitored household; a member of a household with an open case joins it;
one roster household has one monitored household; the case page shows the household;
a household the roster lacks is added at the home visit."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from apps.core.identity import id_hash, mobile_hash
from apps.declarations import services as s
from apps.declarations.models import CaseDeclarant, Declaration, State, Transition
from apps.households import services as hs
from apps.households.models import MonitoredHousehold, RosterHousehold, RosterMember
from apps.notifications.models import Message
from apps.regions.models import Role
from apps.screening.models import Warning, WarningState

from .conftest import (
    ANDING,
    ID_A,
    TAIPING,
    WOGOU,
    declaration_input,
    form_data,
    require_postgres,
)
from .households_steps import new_id, people
from .review_steps import to_county, to_verified, visit

pytestmark = pytest.mark.django_db

HEAD, SPOUSE, SON = new_id(1), new_id(2), new_id(3)


def roster(regions, *, number="017") -> RosterHousehold:
    """窝沟村's household 017: 魏家常 (head), 李梅 (spouse), 魏小军 (son)."""
    household = RosterHousehold.objects.create(
        village=regions[WOGOU], region_code=WOGOU, number=number, head_name="魏家常"
    )
    for name, relation, number_ in (
        ("魏家常", "户主", HEAD),
        ("李梅", "配偶", SPOUSE),
        ("魏小军", "子", SON),
    ):
        RosterMember.objects.create(
            household=household,
            name=name,
            relation=relation,
            id_number=number_,
            id_hash=id_hash(number_),
            labour_capacity="full",
        )
    return household


def declared_weeks_ago(regions, **data) -> Declaration:
    """A declaration three weeks old, so that its visit and notice can lie in the past."""
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        return s.declaration_submit(
            village=regions[WOGOU], data=declaration_input(**data)
        ).declaration


# --- matching at intake ------------------------------------------------------------------


def enrol(regions, actor, head_name, head_id_number, members, **hints):
    """The county enrols the household of 窝沟村 headed by `head_name` (an illness)."""
    return hs.household_enrol(
        village=regions[WOGOU],
        head_name=head_name,
        head_id_number=head_id_number,
        risk_types=["illness"],
        per_capita_income=None,
        members=members,
        actor=actor,
        **hints,
    )


def test_a_declaration_is_matched_to_the_roster_household_of_its_id_number(regions):
    household = roster(regions)
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=HEAD)
    ).declaration
    case.refresh_from_db()
    assert case.roster_household == household
    assert case.household is None  # not monitored
    # Someone the roster does not know: no household.
    other = s.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    assert other.roster_household is None and other.household is None


def test_a_declaration_is_matched_to_the_monitored_household_that_lists_the_person(
    regions, county_anding
):
    # Monitored since before the roster knew it: the son is one of its members.
    members = people("full", "partial")
    members.append(
        hs.MemberFacts(name="魏小军", relation="子", id_number=SON, labour_capacity="full")
    )
    monitored = enrol(regions, county_anding, "魏家常", HEAD, members)
    assert monitored.roster_household is None
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(name="魏小军", id_number=SON)
    ).declaration
    case.refresh_from_db()
    assert (case.household, case.roster_household) == (monitored, None)


def test_a_roster_member_is_matched_to_the_monitored_household_of_the_roster_household(
    regions, county_anding
):
    household = roster(regions)
    monitored = enrol(regions, county_anding, "魏家常", HEAD, people("full"))
    assert monitored.roster_household == household  # found by the head's ID number
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(name="李梅", id_number=SPOUSE)
    ).declaration
    case.refresh_from_db()
    assert (case.roster_household, case.household) == (household, monitored)


# --- one open case per household ---------------------------------------------------------


def test_two_members_of_one_household_make_one_case_and_one_monitored_household(
    client, regions, grid_wogou, township_lujiagou, county_anding, line
):
    household = roster(regions)
    case = declared_weeks_ago(regions, id_number=HEAD)
    # The son declares on the village's poster, from his own phone.
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    response = client.post(
        url,
        form_data(name="魏小军", id_number=SON, phone="137 0000 0001", difficulties=["schooling"]),
    )
    # The same answer as any duplicate, and nothing of the case or of anyone's data.
    assert response.status_code == 200
    page = response.content.decode()
    assert "已有申报正在办理" in page
    for secret in (
        case.tracking_number_display,
        case.tracking_number,
        "魏家常",
        HEAD,
        "13912345678",
    ):
        assert secret not in page
    assert Declaration.objects.count() == 1
    # He joined the case; the tracking number went to the phone on file, not to his.
    (joined,) = CaseDeclarant.objects.filter(declaration=case)
    assert (joined.name, joined.relation, joined.difficulties, joined.channel) == (
        "魏小军",
        "子",
        ["schooling"],
        "qr",
    )
    assert joined.phone == "13700000001" and joined.phone_hash == mobile_hash("13700000001")
    assert joined.id_hash == id_hash(SON) and joined.notice_version
    assert [m.recipient for m in Message.objects.filter(template="applicant_open_case")] == [
        "13912345678"
    ]
    assert not Message.objects.filter(recipient="13700000001").exists()
    assert Transition.objects.filter(declaration=case, kind="declarant_joined").count() == 1

    # Declaring again (a double tap, another day) adds nobody.
    client.post(url, form_data(name="魏小军", id_number=SON, phone="137 0000 0001", token="b" * 32))
    assert CaseDeclarant.objects.count() == 1

    # The grid worker sees both declarants, and the household's roster members.
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert "魏家常" in page and "魏小军" in page and "137****0001" in page
    assert "另一位家庭成员提出了申报" in page  # the log line, in Chinese
    for number in (HEAD, SPOUSE, SON):
        assert number[:6] + "********" + number[-4:] in page
        assert number not in page
    assert "李梅" in page  # a member who did not declare

    # Enrolled: one monitored household for the family.
    to_county(case, grid_wogou, township_lujiagou)
    s.declaration_county_approve(declaration=case, actor=county_anding)
    assert MonitoredHousehold.objects.get().roster_household == household
    # The household is monitored: a new declaration by the spouse opens a case of the
    # household (its earlier one is closed), which the county cannot enrol a second time.
    spouse = declared_weeks_ago(regions, name="李梅", id_number=SPOUSE, phone="13700000002")
    assert spouse.pk != case.pk and spouse.household == MonitoredHousehold.objects.get()


@pytest.mark.django_db(transaction=True)
def test_two_members_declaring_at_the_same_moment_make_one_case(regions):
    require_postgres()
    roster(regions)
    village = regions[WOGOU]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit(name, number, phone, token):
        try:
            barrier.wait()
            data = declaration_input(name=name, id_number=number, phone=phone)
            results.append(s.declaration_submit(village=village, data=data, submission_token=token))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=("魏家常", HEAD, "13912345678", "a" * 32)),
        threading.Thread(target=submit, args=("李梅", SPOUSE, "13700000002", "b" * 32)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (case,) = Declaration.objects.all()
    assert sorted(r.created for r in results) == [False, True]
    assert {r.declaration.pk for r in results} == {case.pk}
    # The other joined it: one declarant row, for whoever lost.
    (loser,) = [r for r in results if not r.created]
    assert loser.reason == "open_case"
    (joined,) = CaseDeclarant.objects.all()
    assert joined == loser.declarant and joined.declaration_id == case.pk
    assert {joined.name, case.name} == {"魏家常", "李梅"}


# --- enrolment ---------------------------------------------------------------------------


def test_enrolment_refuses_a_second_monitored_household_for_one_roster_household(
    regions, grid_wogou, township_lujiagou, county_anding, line
):
    household = roster(regions)
    first = enrol(regions, county_anding, "魏家常", HEAD, people("full"))
    # The son's case, declared before the roster or the monitoring knew him (as when a
    # case was declared before the roster was imported).
    case = declared_weeks_ago(regions, name="魏小军", id_number=SON)
    Declaration.objects.filter(pk=case.pk).update(roster_household=None, household=None)
    case.refresh_from_db()
    to_county(case, grid_wogou, township_lujiagou)
    with pytest.raises(s.InvalidInput) as refused, translation.override("zh-hans"):
        s.declaration_county_approve(declaration=case, actor=county_anding)
    assert "已纳入监测" in refused.value.message and "魏*常" in refused.value.message
    case.refresh_from_db()
    assert case.state == State.COUNTY_REVIEW  # nothing half-done
    assert list(MonitoredHousehold.objects.all()) == [first]
    # The service refuses it for whoever heads it, and so does the database.
    with pytest.raises(hs.AlreadyMonitored):
        enrol(regions, county_anding, "魏小军", SON, people("full"), roster_household=household)
    with pytest.raises(IntegrityError), transaction.atomic():
        MonitoredHousehold.objects.create(
            village=regions[WOGOU],
            region_code=WOGOU,
            head_name="魏小军",
            head_id_number=SON,
            head_id_hash=id_hash(SON),
            enrolled_by=county_anding,
            roster_household=household,
        )


# --- the case page -----------------------------------------------------------------------


def test_the_case_page_shows_the_household_s_members_and_history(
    client, regions, grid_wogou, county_anding
):
    household = roster(regions)
    monitored = enrol(regions, county_anding, "魏家常", HEAD, people("full"))
    hs.plan_add_measure(
        plan=monitored.plans.get(),
        actor=grid_wogou,
        measure=hs.MeasureInput(
            policy=None, kind="medical", title="大病医疗救助", responsible="王书记"
        ),
    )
    earlier = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(name="魏小军", id_number=SON)
    ).declaration
    Declaration.objects.filter(pk=earlier.pk).update(state=State.REJECTED)
    Warning.objects.create(
        village=regions[WOGOU],
        region_code=WOGOU,
        household_key=f"r{household.pk}",
        roster_household=household,
        person_name="李梅",
        state=WarningState.NO_RISK,
        score=42,
    )
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(name="李梅", id_number=SPOUSE)
    ).declaration
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert "017" in page  # the roster household's number
    for name, number in (("魏家常", HEAD), ("魏小军", SON)):
        assert name in page and number[:6] + "********" + number[-4:] in page
    assert earlier.tracking_number_display in page  # the earlier case
    assert "大病医疗救助" in page  # the help its plan gives
    assert "风险评分 42" in page  # the earlier warning
    assert reverse("households:detail", args=[monitored.pk]) in page


def test_the_case_page_shows_nothing_of_a_household_outside_the_user_s_region(
    client, regions, grid_taiping
):
    # Declared on 太平村's poster by a member of a 窝沟村 household (a number no
    # tracking number can hold).
    roster(regions, number="WG-017")
    case = s.declaration_submit(
        village=regions[TAIPING], data=declaration_input(name="李梅", id_number=SPOUSE)
    ).declaration
    client.force_login(grid_taiping)
    page = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert "魏小军" not in page and "WG-017" not in page


# --- verification ------------------------------------------------------------------------


def test_a_household_the_roster_lacks_is_added_at_the_home_visit(case, grid_wogou, regions):
    assert case.roster_household is None
    members = [
        s.MemberInput(name="魏家常", relation="户主", labour_capacity="partial"),
        s.MemberInput(name="李梅", relation="配偶", labour_capacity="none", id_number=SPOUSE),
        s.MemberInput(name="魏小宝", relation="孙子", labour_capacity="none"),  # no ID number
    ]
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_record_visit(declaration=case, actor=grid_wogou, visit=visit(members=members))
    case.refresh_from_db()
    household = case.roster_household
    assert (household.village_id, household.head_name, household.address_group) == (
        regions[WOGOU].pk,
        "魏家常",
        "3组",
    )
    assert household.number == f"D{case.tracking_number}"
    assert sorted(household.members.values_list("name", "relation", "id_hash")) == sorted(
        [("魏家常", "户主", id_hash(ID_A)), ("李梅", "配偶", id_hash(SPOUSE))]
    )
    # The spouse declaring now joins the case.
    result = s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(name="李梅", id_number=SPOUSE, phone="13700000002"),
    )
    assert (result.created, result.declaration, result.declarant.name) == (False, case, "李梅")


def test_a_visit_links_a_household_the_roster_has_gained_since_the_declaration(
    case, grid_wogou, regions
):
    to_verified(case, grid_wogou)  # no roster household yet: one is added …
    added = case.roster_household
    # … while a case declared before the roster was imported finds the imported one.
    imported = RosterHousehold.objects.create(
        village=regions[WOGOU], region_code=WOGOU, number="021", head_name="魏小军"
    )
    RosterMember.objects.create(
        household=imported,
        name="魏小军",
        relation="户主",
        id_number=SON,
        id_hash=id_hash(SON),
        labour_capacity="full",
    )
    later = declared_weeks_ago(regions, name="魏小军", id_number=SON, phone="13700000003")
    Declaration.objects.filter(pk=later.pk).update(roster_household=None)
    later.refresh_from_db()
    to_verified(later, grid_wogou)
    later.refresh_from_db()
    assert later.roster_household == imported != added
    assert RosterHousehold.objects.count() == 2


def test_a_rejected_case_is_not_reopened_on_appeal_over_another_open_case_of_the_household(
    regions, grid_wogou, township_lujiagou
):
    roster(regions)
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=HEAD)
    ).declaration
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="家庭收入高于监测标准")
    appeal = s.appeal_file(declaration=case, reason="收入算错了", channel="online")
    # Meanwhile the spouse declares: the household's open case is hers.
    other = s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(name="李梅", id_number=SPOUSE, phone="13700000002"),
    )
    assert other.created
    with pytest.raises(s.WrongState) as refused, translation.override("zh-hans"):
        s.appeal_decide(
            appeal=appeal, actor=township_lujiagou, outcome="reopened", reason="请重新核算"
        )
    assert "已有另一件申报正在办理" in refused.value.message
    case.refresh_from_db()
    appeal.refresh_from_db()
    assert (case.state, appeal.outcome) == (State.REJECTED, "")  # nothing half-done


def test_the_county_clerk_s_admin_page_lists_the_joined_declarants(client, regions):
    from .test_county_admin import admin_user

    roster(regions)
    case = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=HEAD)
    ).declaration
    s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(name="魏小军", id_number=SON, phone="13700000001"),
    )
    client.force_login(admin_user("anding-clerk", regions[ANDING], Role.COUNTY))
    page = client.get(
        reverse("admin:declarations_declaration_change", args=[case.pk])
    ).content.decode()
    assert "魏小军" in page and "137****0001" in page and SON not in page
    assert "随案申报人" in page
