"""The review workflow's branches in a real browser: rejection and appeal at the village
and at the county, the township's return to the village, the applicant's withdrawal and
the merging of a duplicate.

The main path is walked page by page in test_review_flow.py; here the earlier stages are
set up through the services (tests/review_steps.py) and only the branch itself goes
through the pages. The database is checked after each step. Screenshots go to
test-output/branch-N-*.png.

As in the main walk, buttons and links are found by the URL they post to or open, not
by their wording.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import (
    Appeal,
    AppealChannel,
    AppealOutcome,
    Declaration,
    EvaluationOutcome,
    Level,
    State,
)
from apps.declarations.services import declaration_submit
from apps.households.models import LabourCapacity, MonitoredHousehold
from apps.regions.models import Role
from tests.browser.test_review_flow import (
    act_button,
    assert_no_horizontal_overflow,
    page_link,
    press,
    sign_in,
    state_of,
)
from tests.conftest import ANDING, ID_B, WOGOU, declaration_input, make_staff
from tests.review_steps import (
    PASS_UP_DOCUMENTS,
    fill_visit_steps,
    sign_letter,
    to_county,
    to_township,
    upload,
    visit,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

APPLICANT_PHONE = "13912345678"  # the `case` fixture's phone


# --- setup -------------------------------------------------------------------------------


def county_clerk(regions, username: str):
    """An Anding county clerk who works in the admin (as in tests/test_county_admin.py)."""
    user = make_staff(username, regions[ANDING], Role.COUNTY)
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    return user


@pytest.fixture
def clerk(regions):
    return county_clerk(regions, "anding-clerk")


@pytest.fixture
def second_clerk(regions):
    return county_clerk(regions, "anding-clerk-2")


# --- helpers -----------------------------------------------------------------------------


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"branch-{name}.png"), full_page=True)


def fresh(declaration) -> Declaration:
    return Declaration.objects.get(pk=declaration.pk)


def switch_user(page, live_server, user, next_url: str) -> None:
    """Another person at the same desk: forget the last one, sign the next one in."""
    page.context.clear_cookies()
    sign_in(page, live_server, user, next_url)


def act_form(declaration, action: str) -> str:
    return f"form[action='{reverse('staff:act', args=[declaration.tracking_number, action])}']"


def open_details(page, form_selector: str) -> None:
    """Unfold the <details> that holds a form; its fields are hidden until then."""
    page.click(f"details:has({form_selector}) > summary")
    assert page.locator(form_selector).is_visible(), f"{form_selector} did not unfold"


def act_with_reason(page, declaration, action: str, reason: str) -> None:
    """One of the case page's folded actions: unfold it, give the reason, confirm."""
    form = act_form(declaration, action)
    open_details(page, form)
    page.fill(f"{form} textarea[name=reason]", reason)
    press(page, f"{form} button[type=submit]")


def look_up_status(page, live_server, declaration, phone: str) -> None:
    """The applicant, not signed in, looks the case up by tracking number and phone."""
    page.goto(f"{live_server.url}{reverse('public:status')}")
    page.fill("input[name=tracking_number]", declaration.tracking_number)
    page.fill("input[name=phone]", phone)
    press(page, "main form button[type=submit]")
    assert page.locator("main dl.status").count() == 1, "the status look-up found nothing"


def act_from_status(page, action: str, reason: str, phone: str, shot_name=None) -> None:
    """On the status page: ask for the SMS code for `action`, then give it with the reason."""
    from apps.notifications import backends

    code_form = f"form[action='{reverse('public:status_code', args=[action])}']"
    assert page.locator(code_form).count() == 1, f"no {action} on the status page"
    open_details(page, code_form)
    backends.outbox.clear()
    press(page, f"{code_form} button[type=submit]")
    (sms,) = [m for m in backends.outbox if m["template"] == "applicant_action_code"]
    assert sms["phone"] == phone
    act = f"form[action='{reverse('public:status_act', args=[action])}']"
    page.fill(f"{act} input[name=code]", sms["params"]["code"])
    page.fill(f"{act} textarea[name=reason]", reason)
    assert_no_horizontal_overflow(page)
    if shot_name:
        shot_name(page)
    press(page, f"{act} button[type=submit]")


def complete_to_enrolment(declaration, grid, township, county):
    """From "accepted" to enrolment through the services (the main walk has the pages)."""
    today = timezone.localdate()
    s.declaration_record_visit(declaration=declaration, actor=grid, visit=visit())
    sign_letter(declaration, grid)
    s.declaration_assess_income(
        declaration=declaration,
        actor=grid,
        household_size=2,
        compared_on=today - dt.timedelta(days=18),
    )
    s.declaration_record_evaluation(
        declaration=declaration,
        actor=grid,
        evaluation_date=today - dt.timedelta(days=15),
        outcome=EvaluationOutcome.AGREED,
        notice_start=today - dt.timedelta(days=14),
        notice_end=today - dt.timedelta(days=8),
    )
    upload(declaration, grid, *PASS_UP_DOCUMENTS)
    s.declaration_pass_to_township(declaration=declaration, actor=grid)
    s.declaration_record_property_check(
        declaration=declaration, actor=township, vehicles="无", housing="土坯房一处", business="无"
    )
    s.declaration_township_approve(declaration=declaration, actor=township)
    s.declaration_county_approve(declaration=declaration, actor=county)


# --- 1. village reject → appeal → reopen → enrol -------------------------------------------


def test_village_rejects_the_applicant_appeals_and_the_township_reopens(
    live_server,
    regions,
    grid_wogou,
    township_lujiagou,
    clerk,
    case,
    line,
    phone_page,
    desktop_page,
    output_dir,
):
    reject_reason = "家中有两辆货车，收入高于监测线。"
    appeal_reason = "货车已于去年卖掉，有过户证明。"
    decision_reason = "车辆已过户，请村里重新核查。"
    detail_url = reverse("staff:detail", args=[case.tracking_number])
    s.declaration_accept(declaration=case, actor=grid_wogou)

    # The grid worker, on a phone, does not enrol the case.
    page = phone_page
    sign_in(page, live_server, grid_wogou, detail_url)
    assert page.url == live_server.url + detail_url
    open_details(page, act_form(case, "village_reject"))
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "1-01-grid-reject-form")
    page.fill(f"{act_form(case, 'village_reject')} textarea[name=reason]", reject_reason)
    press(page, act_button(case, "village_reject"))
    assert page.url == live_server.url + detail_url, "the rejection was refused"
    declaration = fresh(case)
    assert declaration.state == State.REJECTED
    assert declaration.rejected_at_level == Level.VILLAGE
    assert declaration.rejection_reason == reject_reason
    assert page.locator(act_button(case, "village_reject")).count() == 0
    assert reject_reason in page.content()
    shot(page, output_dir, "1-02-grid-case-rejected")

    # The applicant, on another phone and not signed in, reads the reason and appeals.
    page.context.clear_cookies()
    look_up_status(page, live_server, case, APPLICANT_PHONE)
    assert reject_reason in page.content(), "the status page does not show the reason"
    act_from_status(
        page,
        "appeal",
        appeal_reason,
        APPLICANT_PHONE,
        lambda p: shot(p, output_dir, "1-03-applicant-appeal-form"),
    )
    appeal = Appeal.objects.get(declaration=case)
    assert (appeal.channel, appeal.level, appeal.reason, appeal.outcome) == (
        AppealChannel.ONLINE,
        Level.TOWNSHIP,
        appeal_reason,
        "",
    )
    assert appeal.rejected_by == grid_wogou
    assert state_of(case) == State.REJECTED
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "1-04-applicant-appeal-sent")

    # Looked up again, the appeal is shown as pending and cannot be sent twice.
    look_up_status(page, live_server, case, APPLICANT_PHONE)
    assert page.locator("form[action*='/status/appeal/']").count() == 0
    assert page.locator("main p.notice").count() == 1

    # The rejecting grid worker may not decide (nor is the village the level above).
    switch_user(page, live_server, grid_wogou, detail_url)
    assert appeal_reason in page.content()
    decide_url = reverse("staff:appeal_decide", args=[case.tracking_number])
    assert page.locator(f"form[action='{decide_url}']").count() == 0

    # The township, at a desk, finds the case by its number and reopens it.
    page = desktop_page
    sign_in(page, live_server, township_lujiagou, reverse("staff:home"))
    page.fill("form.search input[name=q]", case.tracking_number)
    press(page, "form.search button[type=submit]")
    press(page, f"main a[href='{detail_url}']")
    assert appeal_reason in page.content()
    decide_form = f"form[action='{decide_url}']"
    assert page.locator(decide_form).count() == 1, "the township is offered no decision"
    page.check(f"{decide_form} input[name=outcome][value={AppealOutcome.REOPENED}]")
    page.fill(f"{decide_form} textarea[name=reason]", decision_reason)
    shot(page, output_dir, "1-05-township-appeal-decision")
    press(page, f"{decide_form} button[type=submit]")
    assert page.url == live_server.url + detail_url, "the appeal decision was refused"
    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.decided_by, appeal.decision_reason) == (
        AppealOutcome.REOPENED,
        township_lujiagou,
        decision_reason,
    )
    assert state_of(case) == State.ACCEPTED
    assert page.locator(decide_form).count() == 0
    shot(page, output_dir, "1-06-township-case-reopened")

    # The grid worker sees the case back among the open ones, ready for a visit.
    page = phone_page
    switch_user(page, live_server, grid_wogou, reverse("staff:home"))
    assert page.locator(f"table.cases a[href='{detail_url}']").count() == 1
    press(page, f"table.cases a[href='{detail_url}']")
    assert page.locator(page_link(case, "visit")).count() == 1
    assert page.locator(act_button(case, "village_reject")).count() == 1
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "1-07-grid-case-back")

    # The rest of the way (walked in the UI by the main path's test).
    complete_to_enrolment(fresh(case), grid_wogou, township_lujiagou, clerk)
    assert state_of(case) == State.ENROLLED
    household = MonitoredHousehold.objects.get()
    assert (household.head_name, household.region_code) == (case.name, WOGOU)


# --- 2. township return → village amends → township approve ---------------------------------


def test_township_returns_the_village_amends_and_the_township_approves(
    live_server,
    regions,
    grid_wogou,
    township_lujiagou,
    case,
    line,
    phone_page,
    desktop_page,
    output_dir,
):
    return_reason = "家庭成员漏登了儿子，请补充入户核查。"
    amended = "补充核查：儿子魏强在外务工，年收入约八千元。"
    detail_url = reverse("staff:detail", args=[case.tracking_number])
    to_township(case, grid_wogou)
    assert state_of(case) == State.TOWNSHIP_REVIEW

    # The township returns the case.
    page = desktop_page
    sign_in(page, live_server, township_lujiagou, reverse("staff:queue"))
    press(page, f"table.cases a[href='{detail_url}']")
    act_with_reason(page, case, "township_return", return_reason)
    assert page.url == live_server.url + detail_url, "the return was refused"
    assert state_of(case) == State.RETURNED
    assert page.locator(act_button(case, "township_approve")).count() == 0
    shot(page, output_dir, "2-01-township-case-returned")

    # The grid worker sees it, with the township's reason, and amends the visit.
    phone = phone_page
    sign_in(phone, live_server, grid_wogou, reverse("staff:home"))
    assert phone.locator(f"table.cases a[href='{detail_url}']").count() == 1
    press(phone, f"table.cases a[href='{detail_url}']")
    assert return_reason in phone.content(), "the grid worker is not told why"
    assert phone.locator(page_link(case, "visit")).count() == 1
    assert phone.locator(act_button(case, "pass_to_township")).count() == 1
    assert_no_horizontal_overflow(phone)
    shot(phone, output_dir, "2-02-grid-case-returned")

    press(phone, page_link(case, "visit"))

    def visit_step(step):
        assert_no_horizontal_overflow(phone)
        shot(phone, output_dir, f"2-03-grid-amended-visit-{step}")

    fill_visit_steps(
        phone,
        visit_date=timezone.localdate() - dt.timedelta(days=2),
        members=[
            {"name": case.name, "relation": "户主", "labour_capacity": LabourCapacity.PARTIAL},
            {"name": "李梅", "relation": "配偶", "labour_capacity": LabourCapacity.NONE},
            {"name": "魏强", "relation": "儿子", "labour_capacity": LabourCapacity.FULL},
        ],
        money={"income_farming": "12000", "income_wages": "8000", "expense_medical": "9000"},
        risk_types=["illness"],
        findings=amended,
        each_step=visit_step,
    )
    assert phone.url == live_server.url + detail_url, "the amended visit was refused"
    assert state_of(case) == State.RETURNED
    assert case.visits.count() == 2
    latest = case.visits.order_by("-visit_date", "-pk").prefetch_related("members").first()
    assert latest.findings == amended
    assert sorted(m.name for m in latest.members.all()) == sorted([case.name, "李梅", "魏强"])

    # The amended visit voids the old income calculation: calculate again, then pass up.
    press(phone, page_link(case, "income"))
    phone.fill("input[name=household_size]", "3")
    press(phone, "main form button[type=submit]")
    income = Declaration.objects.get(pk=case.pk).income
    assert income.per_capita == Decimal("3666.67")  # (12000 + 8000 - 9000) / 3
    press(phone, act_button(case, "pass_to_township"))
    assert phone.url == live_server.url + detail_url, "passing up again was refused"
    assert state_of(case) == State.TOWNSHIP_REVIEW
    assert phone.locator(act_button(case, "pass_to_township")).count() == 0
    shot(phone, output_dir, "2-04-grid-case-passed-up-again")

    # The township checks property and approves.
    page.goto(live_server.url + reverse("staff:queue"))
    press(page, f"table.cases a[href='{detail_url}']")
    assert amended in page.content(), "the township does not see the amended visit"
    press(page, page_link(case, "property"))
    for kind, found in (("vehicles", "无"), ("housing", "土坯房一处"), ("business", "无")):
        page.check(f"input[name={kind}_checked]")
        page.fill(f"input[name={kind}]", found)
    press(page, "main form button[type=submit]")
    assert page.url == live_server.url + detail_url, "the property check was refused"
    assert fresh(case).property_check.is_complete
    press(page, act_button(case, "township_approve"))
    assert state_of(case) == State.COUNTY_REVIEW
    shot(page, output_dir, "2-05-township-approved")

    changes = case.transitions.exclude(from_state=F("to_state"))  # not the records
    path = list(changes.order_by("pk").values_list("to_state", flat=True))
    assert path[-4:] == [
        State.TOWNSHIP_REVIEW,
        State.RETURNED,
        State.TOWNSHIP_REVIEW,
        State.COUNTY_REVIEW,
    ]


# --- 3. county reject → appeal upheld ------------------------------------------------------


def test_county_rejects_and_another_clerk_upholds_the_appeal(
    live_server,
    regions,
    grid_wogou,
    township_lujiagou,
    clerk,
    second_clerk,
    case,
    line,
    desktop_page,
    output_dir,
):
    reject_reason = "财产核查发现家中有商铺出租。"
    appeal_reason = "商铺是亲戚的，不是我家的。（电话申诉）"
    decision_reason = "工商登记显示商铺登记在申请人名下，维持原结论。"
    detail_url = reverse("staff:detail", args=[case.tracking_number])
    decide_form = f"form[action='{reverse('staff:appeal_decide', args=[case.tracking_number])}']"
    record_form = f"form[action='{reverse('staff:appeal_record', args=[case.tracking_number])}']"
    to_county(case, grid_wogou, township_lujiagou)
    assert state_of(case) == State.COUNTY_REVIEW

    # The clerk rejects in the admin's county decision box.
    page = desktop_page
    change = reverse("admin:declarations_declaration_change", args=[case.pk])
    sign_in(page, live_server, clerk, change)
    assert page.url == live_server.url + change
    reject_url = reverse("admin:declarations_declaration_act", args=[case.pk, "county_reject"])
    reject_form = f"form[action='{reject_url}']"
    page.fill(f"{reject_form} input[name=reason]", reject_reason)
    shot(page, output_dir, "3-01-county-reject")
    press(page, f"{reject_form} input[type=submit][name=_county_reject]")
    assert page.url == live_server.url + change, "the rejection was refused"
    declaration = fresh(case)
    assert declaration.state == State.REJECTED
    assert declaration.rejected_at_level == Level.COUNTY
    assert declaration.rejection_reason == reject_reason
    assert page.locator("input[name=_county_reject]").count() == 0

    # The township records the appeal the applicant made by phone.
    switch_user(page, live_server, township_lujiagou, detail_url)
    assert reject_reason in page.content()
    assert page.locator(decide_form).count() == 0
    open_details(page, record_form)
    page.select_option(f"{record_form} select[name=channel]", AppealChannel.PHONE)
    page.fill(f"{record_form} textarea[name=reason]", appeal_reason)
    shot(page, output_dir, "3-02-township-record-appeal")
    press(page, f"{record_form} button[type=submit]")
    assert page.url == live_server.url + detail_url, "recording the appeal was refused"
    appeal = Appeal.objects.get(declaration=case)
    assert (appeal.channel, appeal.level, appeal.reason, appeal.recorded_by) == (
        AppealChannel.PHONE,
        Level.COUNTY,
        appeal_reason,
        township_lujiagou,
    )
    assert appeal.rejected_by == clerk
    assert page.locator(record_form).count() == 0
    # A county appeal is for the county: the township cannot decide it.
    assert page.locator(decide_form).count() == 0
    shot(page, output_dir, "3-03-township-appeal-recorded")

    # The rejecting clerk sees the appeal but is offered no decision.
    switch_user(page, live_server, clerk, detail_url)
    assert appeal_reason in page.content()
    assert page.locator(decide_form).count() == 0, "the rejecting clerk may decide the appeal"
    shot(page, output_dir, "3-04-rejecting-clerk-no-decision")

    # Another clerk upholds the rejection.
    switch_user(page, live_server, second_clerk, detail_url)
    assert page.locator(decide_form).count() == 1, "the second clerk is offered no decision"
    page.check(f"{decide_form} input[name=outcome][value={AppealOutcome.UPHELD}]")
    page.fill(f"{decide_form} textarea[name=reason]", decision_reason)
    shot(page, output_dir, "3-05-second-clerk-decision")
    press(page, f"{decide_form} button[type=submit]")
    assert page.url == live_server.url + detail_url, "the appeal decision was refused"
    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.decided_by, appeal.decision_reason) == (
        AppealOutcome.UPHELD,
        second_clerk,
        decision_reason,
    )
    assert state_of(case) == State.REJECTED
    assert page.locator(decide_form).count() == 0
    assert decision_reason in page.content()
    shot(page, output_dir, "3-06-appeal-upheld")
    assert not MonitoredHousehold.objects.exists()

    # The applicant still reads the county's reason on the status page.
    page.context.clear_cookies()
    look_up_status(page, live_server, case, APPLICANT_PHONE)
    assert reject_reason in page.content()
    shot(page, output_dir, "3-07-applicant-status-after-upheld")


# --- 4. withdraw -----------------------------------------------------------------------------


def test_the_applicant_withdraws_from_the_status_page(
    live_server, regions, case, phone_page, output_dir
):
    page = phone_page
    look_up_status(page, live_server, case, APPLICANT_PHONE)
    act_from_status(
        page,
        "withdraw",
        "家里情况好转了，不需要了。",
        APPLICANT_PHONE,
        lambda p: shot(p, output_dir, "4-01-applicant-withdraw-form"),
    )
    assert state_of(case) == State.WITHDRAWN
    last = case.transitions.order_by("-pk").first()
    assert (last.actor, last.actor_label, last.reason) == (
        None,
        "applicant",
        "家里情况好转了，不需要了。",
    )
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "4-02-applicant-withdrawn")

    # Looked up again: withdrawn, and nothing more to do.
    look_up_status(page, live_server, case, APPLICANT_PHONE)
    assert page.locator("form[action*='/status/withdraw/']").count() == 0
    assert page.locator("form[action*='/status/appeal/']").count() == 0
    shot(page, output_dir, "4-03-applicant-status-withdrawn")


# --- 5. merge --------------------------------------------------------------------------------


def test_the_grid_worker_merges_a_duplicate(
    live_server, regions, grid_wogou, case, phone_page, output_dir
):
    twin = declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(id_number=ID_B, phone="13700001111", name="魏家常"),
    ).declaration
    assert twin.pk != case.pk and twin.is_open
    detail_url = reverse("staff:detail", args=[twin.tracking_number])

    page = phone_page
    sign_in(page, live_server, grid_wogou, reverse("staff:home"))
    assert page.locator(f"table.cases a[href='{detail_url}']").count() == 1
    press(page, f"table.cases a[href='{detail_url}']")
    form = act_form(twin, "merge")
    open_details(page, form)
    page.fill(f"{form} input[name=into]", case.tracking_number)
    page.fill(f"{form} textarea[name=reason]", "同一户重复申报（儿子用自己手机又报了一次）。")
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "5-01-grid-merge-form")
    press(page, f"{form} button[type=submit]")
    assert page.url == live_server.url + detail_url, "the merge was refused"
    twin = fresh(twin)
    assert twin.state == State.MERGED
    assert twin.merged_into_id == case.pk
    assert state_of(case) == State.SUBMITTED
    into_url = reverse("staff:detail", args=[case.tracking_number])
    assert page.locator(f"main a[href='{into_url}']").count() == 1
    assert page.locator(form).count() == 0
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "5-02-grid-merged")

    # Only the case kept is still on the worker's list.
    page.goto(live_server.url + reverse("staff:home"))
    assert page.locator(f"table.cases a[href='{detail_url}']").count() == 0
    assert page.locator(f"table.cases a[href='{into_url}']").count() == 1
