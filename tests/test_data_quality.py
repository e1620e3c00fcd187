"""Data quality: each rule finds its problem and passes over a clean near miss; items go
to the household's village with a 5-working-day clock; the village resolves them
(corrected, or confirmed with a reason); they are seen up the tree and by nobody else;
a run again does not duplicate them, a fixed problem closes, a confirmed one stays
quiet while its facts stay the same."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.core.identity import id_hash
from apps.deadlines.models import Clock, Stage
from apps.declarations.models import DocumentKind, State, Step, VisitDocument
from apps.declarations.services.procedure import missing_documents as case_missing_documents
from apps.households.models import (
    HelpPlan,
    HouseholdStatus,
    IncomeRecord,
    MemberLeft,
    PlanMeasure,
    PolicyKind,
)
from apps.quality.models import ItemEvent, ItemStatus, QualityItem, Rule, Subject
from apps.quality.services import item_resolve, run_rules
from apps.regions.models import Role

from .conftest import (
    ANDING,
    DONGGUAN,
    LUJIAGOU,
    TAIPING,
    WOGOU,
    XIANGQUAN_VILLAGE,
    make_staff,
)
from .quality_steps import invalid_id, member_of, monitored, roster_household, valid_id


def items(rule=None, **filters):
    qs = QualityItem.objects.filter(**filters)
    return list(qs.filter(rule=rule) if rule else qs)


def subjects(rule):
    return {(i.subject_type, i.subject_id) for i in items(rule, status=ItemStatus.OPEN)}


@pytest.fixture
def village_staff(regions):
    return make_staff("village-wogou", regions[WOGOU], Role.VILLAGE)


# --- the rules --------------------------------------------------------------------------


def test_an_id_number_failing_its_check_is_an_item_a_valid_one_is_not(regions, county_anding):
    bad = roster_household(regions[WOGOU], "001", ("魏家常", invalid_id()))
    roster_household(regions[WOGOU], "002", ("李梅", valid_id()))
    household = monitored(regions[TAIPING], county_anding, ("张三", valid_id()))
    wrong_member = member_of(household, "张小三", invalid_id())
    run_rules(rules=[Rule.INVALID_ID])
    assert subjects(Rule.INVALID_ID) == {
        (Subject.ROSTER_MEMBER, bad.members.get().pk),
        (Subject.HOUSEHOLD_MEMBER, wrong_member.pk),
    }
    by_subject = {i.subject_type: i for i in items(Rule.INVALID_ID)}
    assert by_subject[Subject.ROSTER_MEMBER].region_code == WOGOU
    assert by_subject[Subject.HOUSEHOLD_MEMBER].region_code == TAIPING
    # The village sees a name, never the number.
    assert by_subject[Subject.ROSTER_MEMBER].details == {"name": "魏家常"}


def test_the_id_check_takes_rows_new_since_the_last_run_and_rechecks_open_items(
    regions, county_anding
):
    household = monitored(regions[WOGOU], county_anding, ("张三", valid_id()))
    run_rules(rules=[Rule.INVALID_ID])
    assert items(Rule.INVALID_ID) == []
    newcomer = member_of(household, "张小三", invalid_id())
    run_rules(rules=[Rule.INVALID_ID])
    (item,) = items(Rule.INVALID_ID)
    assert item.subject_id == newcomer.pk
    # Corrected in the data: the next run checks the open item's row again and closes it.
    newcomer.id_number = valid_id()
    newcomer.save()
    run_rules(rules=[Rule.INVALID_ID])
    item.refresh_from_db()
    assert item.status == ItemStatus.FIXED


def test_one_number_held_by_two_different_people_is_an_item_in_both_villages(
    regions, county_anding
):
    number = valid_id()
    listed = roster_household(regions[XIANGQUAN_VILLAGE], "007", ("王五", number))
    household = monitored(regions[WOGOU], county_anding, ("魏家常", valid_id()))
    clash = member_of(household, "李四", number)
    # Near miss: the household's own roster household lists its member: no problem.
    own_number = valid_id()
    own_roster = roster_household(regions[TAIPING], "010", ("赵六", own_number))
    monitored(regions[TAIPING], county_anding, ("赵六", own_number), roster=own_roster)
    run_rules(rules=[Rule.DUPLICATE_ID, Rule.TWO_HOUSEHOLDS])
    assert subjects(Rule.DUPLICATE_ID) == {
        (Subject.HOUSEHOLD_MEMBER, clash.pk),
        (Subject.ROSTER_MEMBER, listed.members.get().pk),
    }
    assert {i.region_code for i in items(Rule.DUPLICATE_ID)} == {WOGOU, XIANGQUAN_VILLAGE}
    assert items(Rule.TWO_HOUSEHOLDS) == []


def test_one_person_in_two_households_is_an_item(regions, county_anding):
    number = valid_id()
    elsewhere = roster_household(regions[XIANGQUAN_VILLAGE], "007", ("李四", number))
    home = roster_household(regions[WOGOU], "001", ("魏家常", valid_id()))
    household = monitored(regions[WOGOU], county_anding, ("魏家常", valid_id()), roster=home)
    twice = member_of(household, "李四", number)
    # And two monitored households listing one person.
    shared = valid_id()
    first = monitored(regions[TAIPING], county_anding, ("甲", valid_id()))
    second = monitored(regions[TAIPING], county_anding, ("乙", valid_id()))
    a, b = member_of(first, "丙", shared), member_of(second, "丙", shared)
    run_rules(rules=[Rule.DUPLICATE_ID, Rule.TWO_HOUSEHOLDS])
    assert subjects(Rule.TWO_HOUSEHOLDS) == {
        (Subject.HOUSEHOLD_MEMBER, twice.pk),
        (Subject.ROSTER_MEMBER, elsewhere.members.get().pk),
        (Subject.HOUSEHOLD_MEMBER, a.pk),
        (Subject.HOUSEHOLD_MEMBER, b.pk),
    }
    assert items(Rule.DUPLICATE_ID) == []


def test_household_size_differs_from_the_members_recorded(regions, county_anding):
    def income(household, size):
        IncomeRecord.objects.create(
            household=household,
            period_start=dt.date(2025, 1, 1),
            period_end=dt.date(2025, 12, 31),
            net_income=Decimal("12000"),
            household_size=size,
            per_capita=Decimal("4000"),
            source=IncomeRecord.Source.ENROLMENT,
        )

    wrong = monitored(regions[WOGOU], county_anding, ("甲", valid_id()), ("乙", valid_id()))
    income(wrong, 3)
    right = monitored(regions[WOGOU], county_anding, ("丙", valid_id()), ("丁", valid_id()))
    # A member who left is not counted: two members now, as recorded.
    member_of(right, "戊", valid_id(), left_on=dt.date(2025, 6, 1), left_reason=MemberLeft.LEFT)
    income(right, 2)
    run_rules(rules=[Rule.HOUSEHOLD_SIZE])
    (item,) = items(Rule.HOUSEHOLD_SIZE)
    assert (item.subject_type, item.subject_id) == (Subject.HOUSEHOLD, wrong.pk)
    assert item.details == {"household": "甲", "recorded": 3, "members": 2}


def test_a_person_who_died_is_still_a_member_in_the_roster_or_an_applicant(
    regions, county_anding, case
):
    number = valid_id()
    first = monitored(regions[WOGOU], county_anding, ("甲", valid_id()))
    member_of(first, "死者", number, left_on=dt.date(2025, 3, 1), left_reason=MemberLeft.DIED)
    second = monitored(regions[TAIPING], county_anding, ("乙", valid_id()))
    still = member_of(second, "死者", number)
    listed = roster_household(regions[XIANGQUAN_VILLAGE], "003", ("死者", number))
    # The case's applicant is recorded dead too.
    member_of(
        first,
        case.name,
        "62110219800101107X",
        left_on=dt.date(2025, 4, 1),
        left_reason=MemberLeft.DIED,
    )
    # Near miss: a member who left (did not die) and is a member elsewhere.
    moved = valid_id()
    member_of(first, "迁出", moved, left_on=dt.date(2025, 3, 1), left_reason=MemberLeft.LEFT)
    member_of(second, "迁出", moved)
    assert case.id_hash == id_hash("62110219800101107X")
    run_rules(rules=[Rule.DEAD_PERSON])
    assert subjects(Rule.DEAD_PERSON) == {
        (Subject.HOUSEHOLD_MEMBER, still.pk),
        (Subject.ROSTER_MEMBER, listed.members.get().pk),
        (Subject.DECLARATION, case.pk),
    }


def test_income_contradicting_the_status(regions, county_anding, line):
    below_out = monitored(
        regions[WOGOU],
        county_anding,
        ("甲", valid_id()),
        status=HouseholdStatus.ELIMINATED,
        income="5000",
    )
    monitored(
        regions[WOGOU],
        county_anding,
        ("乙", valid_id()),
        status=HouseholdStatus.ELIMINATED,
        income="8000",
    )
    above_in = monitored(regions[WOGOU], county_anding, ("丙", valid_id()), income="9000", risks=())
    # Near misses: above the line with a risk recorded; below it and monitored.
    monitored(regions[WOGOU], county_anding, ("丁", valid_id()), income="9000")
    monitored(regions[WOGOU], county_anding, ("戊", valid_id()), income="4000", risks=())
    # Another county without a line: nothing to compare with.
    monitored(regions[DONGGUAN], county_anding, ("己", valid_id()), income="9000", risks=())
    run_rules(rules=[Rule.BELOW_LINE_ELIMINATED, Rule.ABOVE_LINE_ENROLLED])
    assert subjects(Rule.BELOW_LINE_ELIMINATED) == {(Subject.HOUSEHOLD, below_out.pk)}
    assert subjects(Rule.ABOVE_LINE_ENROLLED) == {(Subject.HOUSEHOLD, above_in.pk)}
    (item,) = items(Rule.BELOW_LINE_ELIMINATED)
    assert item.details == {"household": "甲", "income": "5000.00", "line": "7000.00"}


def test_a_monitored_household_without_a_plan_past_its_period(regions, county_anding):
    late = monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    monitored(regions[WOGOU], county_anding, ("乙", valid_id()), enrolled_days_ago=1)
    planned = monitored(regions[WOGOU], county_anding, ("丙", valid_id()), enrolled_days_ago=30)
    HelpPlan.objects.create(household=planned, region_code=planned.region_code)
    run_rules(rules=[Rule.NO_PLAN])
    assert subjects(Rule.NO_PLAN) == {(Subject.HOUSEHOLD, late.pk)}


def test_a_measure_past_its_date_without_evidence(regions, county_anding):
    household = monitored(regions[WOGOU], county_anding, ("甲", valid_id()))
    plan = HelpPlan.objects.create(household=household, region_code=household.region_code)
    today = timezone.localdate()

    def measure(title, end_on, **extra):
        return PlanMeasure.objects.create(
            plan=plan,
            kind=PolicyKind.MEDICAL,
            title=title,
            responsible="王书记",
            end_on=end_on,
            **extra,
        )

    overdue = measure("医疗救助", today - dt.timedelta(days=1))
    measure("临时救助", today - dt.timedelta(days=1), evidence_note="银行回单 2025-05-02")
    measure("公益岗位", today + dt.timedelta(days=1))
    measure("停止的", today - dt.timedelta(days=9), status="stopped")
    run_rules(rules=[Rule.MEASURE_UNDELIVERED])
    assert subjects(Rule.MEASURE_UNDELIVERED) == {(Subject.MEASURE, overdue.pk)}
    (item,) = items(Rule.MEASURE_UNDELIVERED)
    assert item.region_code == WOGOU
    assert item.details["measure"] == "医疗救助"


def test_required_documents_missing_as_the_procedure_says(regions, grid_wogou, case):
    from apps.declarations.models import Declaration
    from apps.declarations.services import declaration_submit

    from .conftest import declaration_input

    Declaration.objects.filter(pk=case.pk).update(state=State.TOWNSHIP_REVIEW)
    complete = declaration_submit(
        village=regions[TAIPING], data=declaration_input(id_number=valid_id(), phone="13912345679")
    ).declaration
    Declaration.objects.filter(pk=complete.pk).update(state=State.ENROLLED)
    documents = {
        kind: VisitDocument.objects.create(
            declaration=complete,
            kind=kind,
            content_type="image/jpeg",
            sha256="0" * 64,
            uploaded_by=grid_wogou,
        )
        for kind in (
            DocumentKind.HOUSEHOLD_REGISTER,
            DocumentKind.ID_CARD,
            DocumentKind.MINUTES,
            DocumentKind.CONSENT,
        )
    }
    complete.consents.create(
        channel="home_visit",
        given_by="applicant",
        notice_version="v1",
        document=documents[DocumentKind.CONSENT],
    )
    run_rules(rules=[Rule.MISSING_DOCUMENTS])
    (item,) = items(Rule.MISSING_DOCUMENTS)
    assert (item.subject_type, item.subject_id) == (Subject.DECLARATION, case.pk)
    case.refresh_from_db()
    # The same documents as the procedure's own check before passing a case up.
    expected = set(case_missing_documents(case, Step.PASS_UP)) | set(
        case_missing_documents(case, Step.INCOME)
    )
    assert set(item.details["documents"]) == expected
    assert case_missing_documents(complete, Step.PASS_UP) == []


# --- routing, clock, re-runs --------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 13, 10, 0, tzinfo=dt.UTC))  # a Friday
def test_items_go_to_the_village_with_a_five_working_day_clock(regions, county_anding):
    household = monitored(regions[TAIPING], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    run_rules(rules=[Rule.NO_PLAN])
    (item,) = items(Rule.NO_PLAN)
    assert item.village == regions[TAIPING] and item.region_code == TAIPING
    assert item.subject_id == household.pk
    # Five working days from Friday: the next Friday, the weekend not counted.
    assert item.due_on == dt.date(2026, 11, 20)
    clock = Clock.objects.get(subject_type="quality_item", subject_id=item.pk)
    assert (clock.stage, clock.due_on, clock.region_code) == (
        Stage.DATA_QUALITY,
        dt.date(2026, 11, 20),
        TAIPING,
    )


def test_a_run_again_keeps_one_item_and_a_fixed_problem_closes(regions, county_anding):
    household = monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    run_rules(rules=[Rule.NO_PLAN])
    run_rules(rules=[Rule.NO_PLAN])
    (item,) = items(Rule.NO_PLAN)
    assert item.status == ItemStatus.OPEN
    HelpPlan.objects.create(household=household, region_code=household.region_code)
    later = timezone.now() + dt.timedelta(days=1)
    run = run_rules(rules=[Rule.NO_PLAN], now=later)
    item.refresh_from_db()
    assert item.status == ItemStatus.FIXED and item.closed_at == later
    counts = run.counts[Rule.NO_PLAN]
    assert (counts["raised"], counts["seen"], counts["fixed"]) == (0, 0, 1)
    assert Clock.objects.get(subject_type="quality_item", subject_id=item.pk).met_at == later
    assert ItemEvent.objects.get(item=item).kind == "fixed"


def test_a_confirmed_item_is_not_raised_again_for_the_same_facts(
    regions, county_anding, village_staff, line
):
    household = monitored(
        regions[WOGOU], county_anding, ("甲", valid_id()), income="9000", risks=()
    )
    run_rules(rules=[Rule.ABOVE_LINE_ENROLLED])
    (item,) = items(Rule.ABOVE_LINE_ENROLLED)
    item_resolve(
        item=item,
        actor=village_staff,
        outcome=ItemStatus.CONFIRMED,
        note="因病支出大，县里同意纳入",
    )
    run_rules(rules=[Rule.ABOVE_LINE_ENROLLED])
    assert items(Rule.ABOVE_LINE_ENROLLED, status=ItemStatus.OPEN) == []
    # New facts (another income): raised again.
    household.per_capita_income = Decimal("12000")
    household.save()
    run_rules(rules=[Rule.ABOVE_LINE_ENROLLED])
    assert len(items(Rule.ABOVE_LINE_ENROLLED, status=ItemStatus.OPEN)) == 1


def test_a_run_over_a_region_leaves_the_rest_alone(regions, county_anding):
    monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    monitored(regions[DONGGUAN], county_anding, ("乙", valid_id()), enrolled_days_ago=30)
    run_rules(rules=[Rule.NO_PLAN], scope=regions[ANDING].prefix)
    assert [i.region_code for i in items(Rule.NO_PLAN)] == [WOGOU]


def test_manage_py_quality_run(regions, county_anding, capsys):
    monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    call_command("quality_run", "--rule", "no_plan")
    assert "no_plan: 1 raised" in capsys.readouterr().out
    assert len(items(Rule.NO_PLAN)) == 1


def test_the_nightly_run_is_scheduled():
    from config.celery import app

    app.loader.import_default_modules()
    app.finalize()
    schedule = app.conf.beat_schedule
    assert schedule["data-quality"]["task"] == "apps.quality.tasks.run_data_quality"


# --- pages: resolve, visibility, the button -------------------------------------------------


@pytest.fixture
def open_item(regions, county_anding):
    monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    run_rules(rules=[Rule.NO_PLAN])
    return QualityItem.objects.get(rule=Rule.NO_PLAN)


def test_the_village_corrects_an_item_and_says_what(client, village_staff, open_item):
    client.force_login(village_staff)
    url = reverse("quality:item", args=[open_item.pk])
    response = client.post(url, {"outcome": "corrected", "note": "已补录帮扶计划"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('quality:index')}?region={WOGOU}"
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.CORRECTED
    assert open_item.resolved_by == village_staff and open_item.resolution == "已补录帮扶计划"
    event = ItemEvent.objects.get(item=open_item)
    assert (event.kind, event.actor, event.reason) == ("corrected", village_staff, "已补录帮扶计划")
    assert AuditEntry.objects.filter(action="quality.item_resolved", actor=village_staff).exists()
    clock = Clock.objects.get(subject_type="quality_item", subject_id=open_item.pk)
    assert clock.met_at is not None
    page = client.get(response["Location"], follow=True)
    assert "数据质量问题已处理" in page.content.decode()


def test_confirming_needs_a_reason_and_nothing_is_saved_without_one(
    client, village_staff, open_item
):
    client.force_login(village_staff)
    url = reverse("quality:item", args=[open_item.pk])
    response = client.post(url, {"outcome": "confirmed", "note": "  "})
    assert response.status_code == 400
    assert "请说明更正了什么，或数据为何无误。" in response.content.decode()
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.OPEN and not open_item.events.exists()
    assert client.post(url, {"outcome": "deleted", "note": "x"}).status_code == 400
    response = client.post(url, {"outcome": "confirmed", "note": "户籍已核实，数据无误"})
    assert response.status_code == 302
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.CONFIRMED
    # Closed: a second post is refused.
    assert client.post(url, {"outcome": "corrected", "note": "x"}).status_code == 403


def test_items_are_seen_up_the_tree_and_resolved_only_in_the_village(
    client, regions, open_item, township_lujiagou, province_user
):
    for user in (township_lujiagou, province_user):
        client.force_login(user)
        page = client.get(reverse("quality:index"))
        assert page.status_code == 200
        assert open_item in page.context["page"].object_list
        assert sum(row.open for row in page.context["rows"]) == 1
        detail = client.get(reverse("quality:item", args=[open_item.pk]))
        assert detail.status_code == 200 and detail.context["form"] is None
        refused = client.post(
            reverse("quality:item", args=[open_item.pk]), {"outcome": "corrected", "note": "x"}
        )
        assert refused.status_code == 403
    # Drill-down: the township's row of villages names 窝沟村 with its count.
    client.force_login(township_lujiagou)
    page = client.get(reverse("quality:index"), {"region": LUJIAGOU})
    (row,) = page.context["rows"]
    assert row.region == regions[WOGOU] and row.by_rule == {Rule.NO_PLAN: 1}
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.OPEN


def test_an_outsider_sees_nothing(
    client, regions, open_item, outsider, county_tongwei, grid_taiping
):
    for user in (outsider, county_tongwei, grid_taiping):
        client.force_login(user)
        assert client.get(reverse("quality:item", args=[open_item.pk])).status_code == 404
        page = client.get(reverse("quality:index"))
        assert page.status_code == 200
        assert not page.context["page"] or open_item not in page.context["page"].object_list
        assert client.get(reverse("quality:index"), {"region": WOGOU}).status_code == 404
    assert QualityItem.objects.visible_to(outsider).count() == 0
    assert QualityItem.objects.visible_to(county_tongwei).count() == 0


def test_county_staff_run_the_checks_now_township_staff_cannot(
    client, regions, county_anding, township_lujiagou, django_capture_on_commit_callbacks
):
    monitored(regions[WOGOU], county_anding, ("甲", valid_id()), enrolled_days_ago=30)
    client.force_login(township_lujiagou)
    assert client.post(reverse("quality:run"), {"region": LUJIAGOU}).status_code == 403
    client.force_login(county_anding)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("quality:run"), {"region": ANDING})
    assert response.status_code == 302
    assert len(items(Rule.NO_PLAN)) == 1


def test_the_nav_links_the_quality_page(client, village_staff):
    client.force_login(village_staff)
    page = client.get(reverse("quality:index"))
    assert reverse("quality:index") in page.content.decode()
    assert "数据质量" in page.content.decode()
