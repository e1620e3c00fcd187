"""One case through the review chain in a real browser: the grid worker on a phone, the
township on a desktop, the county clerk in the admin.

The case is declared beforehand through the service (the farmer's form has its own
test) and dated three weeks back, so that the visit, the evaluation and the public
notice can all lie in the past. Every step goes through the pages; the database is
checked after each stage. Screenshots go to test-output/review-NN-*.png.

Buttons and links are found by the URL they post to or open, not by their wording, so
the walk holds whether or not the Chinese catalog is compiled.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.declarations.models import (
    Declaration,
    DocumentKind,
    EvaluationOutcome,
    State,
    Transition,
)
from apps.households.models import LabourCapacity, MonitoredHousehold
from apps.regions.models import Role
from tests.browser.conftest import sign_out
from tests.conftest import ANDING, WOGOU, make_staff
from tests.review_steps import fill_visit_steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
FINDINGS = "老伴住院，花费六万，家中无其他收入。"
SPOUSE = "李梅"
HOUSING = "土坯房一处"


# --- setup -------------------------------------------------------------------------------


@pytest.fixture
def clerk(regions):
    """An Anding county clerk who works in the admin (as in tests/test_county_admin.py)."""
    user = make_staff("anding-clerk", regions[ANDING], Role.COUNTY)
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    return user


@pytest.fixture
def photo(tmp_path):
    """A small JPEG, as a phone camera would give it (only smaller)."""
    path = tmp_path / "hukou.jpg"
    image = Image.new("RGB", (120, 80), "white")
    image.paste(Image.new("RGB", (60, 80), (180, 40, 40)), (0, 0))
    image.save(path, format="JPEG", quality=85)
    return path


# --- helpers -----------------------------------------------------------------------------


def state_of(declaration) -> str:
    return Declaration.objects.get(pk=declaration.pk).state


def sign_in(page, live_server, user, next_url: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert reverse("login") not in page.url, "sign-in failed"


def press(page, selector: str) -> None:
    """Click a button or link that loads a new page, and wait for it. A refused step
    comes back to its page too (Post/Redirect/Get), with an error message: none may show."""
    with page.expect_navigation():
        page.click(selector)
    refused = page.locator("ul.messages li.error")
    assert refused.count() == 0, refused.all_inner_texts()


def act_button(declaration, action: str) -> str:
    url = reverse("staff:act", args=[declaration.tracking_number, action])
    return f"form[action='{url}'] button[type=submit]"


def page_link(declaration, name: str) -> str:
    return f"a[href='{reverse(f'staff:{name}', args=[declaration.tracking_number])}']"


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"review-{name}.png"), full_page=True)


def assert_no_horizontal_overflow(page) -> None:
    """Nothing on a 360 px screen should make the page scroll sideways."""
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, (
        f"{page.url} is {scroll_width}px wide on a {client_width}px screen"
    )


# --- the walk ----------------------------------------------------------------------------


def test_one_case_from_the_village_to_the_county(
    live_server,
    regions,
    grid_wogou,
    township_lujiagou,
    clerk,
    case,
    line,
    media,
    photo,
    phone_page,
    desktop_page,
    output_dir,
):
    today = timezone.localdate()
    detail_url = reverse("staff:detail", args=[case.tracking_number])

    # 1. The grid worker, on a phone ------------------------------------------------------
    page = phone_page
    sign_in(page, live_server, grid_wogou, reverse("staff:home"))
    assert page.url == live_server.url + reverse("staff:home")
    assert page.locator(f"table.cases a[href='{detail_url}']").count() == 1
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "01-grid-home")

    press(page, f"table.cases a[href='{detail_url}']")
    assert page.url == live_server.url + detail_url
    press(page, act_button(case, "accept"))  # 受理
    assert page.url == live_server.url + detail_url
    assert state_of(case) == State.ACCEPTED
    assert page.locator("ul.messages li.success").count() == 1
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "02-grid-case-accepted")

    press(page, page_link(case, "visit"))  # 登记入户核查

    def visit_step(step):
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, f"03-grid-visit-{step}")

    fill_visit_steps(
        page,
        visit_date=today - dt.timedelta(days=20),
        members=[
            {"name": case.name, "relation": "户主", "labour_capacity": LabourCapacity.PARTIAL},
            {
                "name": SPOUSE,
                "relation": "配偶",
                "labour_capacity": LabourCapacity.NONE,
                "health": "重病",
            },
        ],
        money={"income_farming": "12000", "expense_medical": "9000"},
        risk_types=["illness"],
        findings=FINDINGS,
        each_step=visit_step,
    )
    assert page.url == live_server.url + detail_url, "the visit form was refused"
    assert state_of(case) == State.VERIFIED
    visit = case.visits.prefetch_related("members").get()
    assert visit.findings == FINDINGS
    assert sorted(m.name for m in visit.members.all()) == sorted([case.name, SPOUSE])
    assert visit.risk_types == ["illness"]

    # A photo of the household register, from the phone's camera roll.
    page.select_option("select[name=kind]", DocumentKind.HOUSEHOLD_REGISTER)
    page.set_input_files("input[name=file]", str(photo))
    upload_url = reverse("staff:upload", args=[case.tracking_number])
    press(page, f"form[action='{upload_url}'] button[type=submit]")
    assert page.url == live_server.url + detail_url, "the upload was refused"
    document = case.documents.get()
    assert document.kind == DocumentKind.HOUSEHOLD_REGISTER
    assert document.content_type == "image/jpeg"
    assert page.locator(f"a[href='{reverse('staff:document', args=[document.pk])}']").count() == 1
    # The household's signed authorization letter and the applicant's ID card: the
    # procedure wants them before the income is calculated and the case passed up.
    for kind in (DocumentKind.CONSENT, DocumentKind.ID_CARD):
        page.select_option("select[name=kind]", kind)
        page.set_input_files("input[name=file]", str(photo))
        press(page, f"form[action='{upload_url}'] button[type=submit]")
        assert page.url == live_server.url + detail_url, "the upload was refused"

    press(page, page_link(case, "income"))  # 测算收入
    page.fill("input[name=household_size]", "2")
    page.fill("input[name=compared_on]", (today - dt.timedelta(days=18)).isoformat())
    press(page, "main form button[type=submit]")
    assert page.url == live_server.url + detail_url, "the income calculation was refused"
    assert_no_horizontal_overflow(page)
    income = Declaration.objects.get(pk=case.pk).income
    assert (income.per_capita, income.threshold, income.below_threshold) == (
        Decimal("1500.00"),
        Decimal("7000.00"),
        True,
    )

    press(page, page_link(case, "evaluation"))  # 登记民主评议和公示
    page.fill("input[name=evaluation_date]", (today - dt.timedelta(days=15)).isoformat())
    page.check(f"input[name=outcome][value={EvaluationOutcome.AGREED}]")
    page.fill("input[name=notice_start]", (today - dt.timedelta(days=14)).isoformat())
    page.fill("input[name=notice_end]", (today - dt.timedelta(days=8)).isoformat())
    page.set_input_files("input[name=minutes]", str(photo))
    assert_no_horizontal_overflow(page)
    press(page, "main form button[type=submit]")
    assert page.url == live_server.url + detail_url, "the evaluation form was refused"
    assert state_of(case) == State.IN_NOTICE

    assert page.locator(act_button(case, "pass_to_township")).count() == 1
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "04-grid-case-before-passing-up")
    press(page, act_button(case, "pass_to_township"))  # 上报乡镇
    assert state_of(case) == State.TOWNSHIP_REVIEW
    # Passed up: the village's own steps are gone from the page.
    for action in ("pass_to_township", "village_reject"):
        assert page.locator(act_button(case, action)).count() == 0
    assert page.locator(page_link(case, "evaluation")).count() == 0
    assert_no_horizontal_overflow(page)
    shot(page, output_dir, "05-grid-case-passed-up")

    # 2. The township, on a desktop -------------------------------------------------------
    page = desktop_page
    sign_in(page, live_server, township_lujiagou, reverse("staff:queue"))
    assert page.url == live_server.url + reverse("staff:queue")
    assert page.locator(f"table.cases a[href='{detail_url}']").count() == 1
    shot(page, output_dir, "06-township-queue")

    press(page, f"table.cases a[href='{detail_url}']")
    # The village's findings are on the case page.
    assert FINDINGS in page.content()
    assert SPOUSE in page.content()
    press(page, page_link(case, "property"))  # 登记财产核查
    for kind, found in (("vehicles", "无"), ("housing", HOUSING), ("business", "无")):
        page.check(f"input[name={kind}_checked]")
        page.fill(f"input[name={kind}]", found)
    shot(page, output_dir, "07-township-property-form")
    press(page, "main form button[type=submit]")
    assert page.url == live_server.url + detail_url, "the property check was refused"
    check = Declaration.objects.get(pk=case.pk).property_check
    assert (check.vehicles_checked, check.housing_checked, check.business_checked) == (
        True,
        True,
        True,
    )
    assert check.housing_result == HOUSING
    assert state_of(case) == State.TOWNSHIP_REVIEW
    shot(page, output_dir, "08-township-case-checked")

    press(page, act_button(case, "township_approve"))  # 复核通过，报县审批
    assert state_of(case) == State.COUNTY_REVIEW
    shot(page, output_dir, "09-township-case-sent-to-county")
    sign_out(page)

    # 3. The county clerk, in the admin ---------------------------------------------------
    changelist = reverse("admin:declarations_declaration_changelist")
    change = reverse("admin:declarations_declaration_change", args=[case.pk])
    sign_in(page, live_server, clerk, changelist)
    assert page.url == live_server.url + changelist
    # The default filter is the approval queue: the case is in it.
    assert page.locator(f"#result_list a[href='{change}']").count() == 1
    shot(page, output_dir, "10-county-approval-queue")

    press(page, f"#result_list a[href='{change}']")
    content = page.content()
    for finding in (FINDINGS, SPOUSE, "1500.00", HOUSING, "7000.00"):
        assert finding in content, finding
    approve = page.locator("input[type=submit][name=_county_approve]")  # 审批纳入
    assert approve.count() == 1
    shot(page, output_dir, "11-county-case-before-approval")

    with page.expect_navigation():
        approve.click()
    assert page.url == live_server.url + change
    assert state_of(case) == State.ENROLLED
    household = MonitoredHousehold.objects.get()
    assert (household.head_name, household.region_code) == (case.name, WOGOU)
    assert household.per_capita_income == Decimal("1500.00")
    assert page.locator("ul.messagelist li.success").count() == 1
    assert page.locator("input[name=_county_approve]").count() == 0
    shot(page, output_dir, "12-county-case-enrolled")

    path = list(
        Transition.objects.filter(declaration=case)
        .exclude(from_state=F("to_state"))  # the changes of state, not the records
        .order_by("pk")
        .values_list("to_state", flat=True)
    )
    assert path == [
        State.ACCEPTED,
        State.VERIFIED,
        State.IN_NOTICE,
        State.TOWNSHIP_REVIEW,
        State.COUNTY_REVIEW,
        State.ENROLLED,
    ]
