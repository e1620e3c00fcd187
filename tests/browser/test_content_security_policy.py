"""The Content-Security-Policy holds on the pages people use: nothing inline is refused
because nothing is inline, and the admin's own scripts (actions, filters, date widgets)
still work under it.

The browser reports each refusal as a `securitypolicyviolation` event and a console
error; an init script collects the events before any page script runs. Every page
must also carry the CSP and Permissions-Policy headers.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import User
from apps.regions.models import Role
from tests.conftest import ANDING, PROVINCE, WOGOU, make_staff
from tests.review_steps import to_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


class PolicyWatch:
    """Opens pages in `page` and collects what the browser refused under the policy."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response.status == 200, url
        self.check_headers(response)
        self.assert_clean()

    def check_headers(self, response) -> None:
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ):
            assert directive in policy, (response.url, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        permissions = headers.get("permissions-policy", "")
        assert "camera=()" in permissions and "geolocation=()" in permissions
        assert "publickey-credentials-get=(self)" in permissions

    def assert_clean(self) -> None:
        """No refusal on the page shown now (events are read after a turn of its loop)."""
        events = self.page.evaluate(
            "() => new Promise((done) => setTimeout(() => done(window.__cspViolations), 0))"
        )
        assert events == [], f"{self.page.url}: {events}"
        assert self.console == [], f"{self.page.url}: {self.console}"

    def submit(self, selector: str) -> None:
        """Click a button that loads a new page, then check that page."""
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        self.check_headers(navigation.value)
        self.assert_clean()

    def sign_in(self, live_server, user, next_url: str) -> None:
        self.open(f"{live_server.url}{reverse('login')}?next={next_url}")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", PASSWORD)
        self.submit("form button[type=submit]")
        assert reverse("login") not in self.page.url, "sign-in failed"


@pytest.fixture
def ready(case, grid_wogou, township_lujiagou, line):
    """A case waiting for the county's decision."""
    to_county(case, grid_wogou, township_lujiagou)
    return case


@pytest.fixture
def clerk(regions):
    """An Anding county clerk who works in the admin (as in tests/test_county_admin.py)."""
    user = make_staff("anding-clerk", regions[ANDING], Role.COUNTY)
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    return user


def test_the_farmers_form_runs_under_the_policy(live_server, phone_page, regions):
    watch = PolicyWatch(phone_page)
    watch.open(
        live_server.url
        + reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    )
    assert phone_page.locator("form input[name=phone]").count() == 1
    watch.open(live_server.url + reverse("public:status"))


def test_the_workers_case_page_runs_under_the_policy(live_server, phone_page, grid_wogou, case):
    watch = PolicyWatch(phone_page)
    detail = reverse("staff:detail", args=[case.tracking_number])
    watch.sign_in(live_server, grid_wogou, detail)
    assert phone_page.url.endswith(detail)
    watch.open(live_server.url + reverse("staff:queue"))


def test_the_dashboard_and_bulletin_run_under_the_policy(live_server, desktop_page, regions):
    supervisor = make_staff("province-sup", regions[PROVINCE], Role.PROVINCE)
    watch = PolicyWatch(desktop_page)
    dashboard = reverse("supervision:region", args=[ANDING])
    watch.sign_in(live_server, supervisor, dashboard)
    assert desktop_page.url.endswith(dashboard)
    watch.open(live_server.url + reverse("supervision:bulletin", args=[ANDING]))
    # The print button is wired by static script, not an onclick attribute.
    desktop_page.evaluate("() => { window.printed = 0; window.print = () => window.printed++; }")
    desktop_page.click("button[data-print]")
    assert desktop_page.evaluate("window.printed") == 1
    watch.assert_clean()


def test_the_admin_change_page_and_its_actions_run_under_the_policy(
    live_server, desktop_page, clerk, ready
):
    watch = PolicyWatch(desktop_page)
    change = reverse("admin:declarations_declaration_change", args=[ready.pk])
    watch.sign_in(live_server, clerk, change)
    # The county's decision box, styled from static CSS.
    box = desktop_page.locator(".county-decision")
    assert box.count() == 1
    assert box.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "solid"
    # The changelist with its queue filter and date hierarchy.
    watch.open(
        live_server.url + reverse("admin:declarations_declaration_changelist") + "?queue=all"
    )
    assert desktop_page.locator("#changelist-filter").count() == 1


def test_the_admins_date_widget_runs_under_the_policy(live_server, desktop_page, db):
    User.objects.create_superuser("province-admin", password=PASSWORD)
    admin = User.objects.get(username="province-admin")
    watch = PolicyWatch(desktop_page)
    add = reverse("admin:deadlines_calendarday_add")
    watch.sign_in(live_server, admin, add)
    # The calendar pop-up of DateTimeShortcuts.js fills the field.
    desktop_page.click("#calendarlink0")
    desktop_page.click("#calendarbox0 .calendar-shortcuts a")  # "today"
    assert desktop_page.input_value("#id_date") != ""
    desktop_page.select_option("#id_kind", index=1)
    desktop_page.fill("#id_name", "test day")
    watch.submit("input[name=_save]")
    assert desktop_page.url.endswith(reverse("admin:deadlines_calendarday_changelist"))
    assert desktop_page.locator("#result_list tbody tr").count() == 1
    watch.assert_clean()
