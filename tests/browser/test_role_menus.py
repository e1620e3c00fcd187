"""Each role's own menu on a 360×740 phone: the expected links, at most five items in
the bar (the rest behind "更多"), a bar of at most two rows, and each lands on its own
first page after signing in (the province on its dashboard). Screenshots go to
test-output/menu-<role>.png."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.regions.models import Role
from tests.conftest import ANDING, LUJIAGOU, PROVINCE, WOGOU, make_staff
from tests.screening_steps import department_user

from .conftest import PHONE, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DINGXI = "621100000000"

# role → (where they sign in, the bar's links by URL name, links under "更多", landing)
EXPECTED = {
    "grid": (
        WOGOU,
        Role.GRID,
        ["staff:home", "households:list", "screening:worklist", "quality:index"],
        ["staff:queue", "regions:qr_list", "regions:absences", "accounts:security"],
        "staff:home",
    ),
    "village": (
        WOGOU,
        Role.VILLAGE,
        ["staff:home", "households:list", "screening:worklist", "quality:index"],
        ["roster:list", "regions:absences", "accounts:security"],
        "staff:home",
    ),
    "township": (
        LUJIAGOU,
        Role.TOWNSHIP,
        ["staff:home", "staff:queue", "households:list", "screening:worklist"],
        ["supervision:start", "spotchecks:index", "quality:index", "roster:list"],
        "staff:home",
    ),
    "county": (
        ANDING,
        Role.COUNTY,
        ["staff:home", "staff:queue", "households:list", "screening:worklist"],
        ["supervision:start", "national:list", "admin:index"],
        "staff:home",
    ),
    "city": (
        DINGXI,
        Role.CITY,
        ["supervision:start", "households:list", "screening:worklist", "spotchecks:index"],
        ["accounts:security"],
        "supervision:start",
    ),
    "province": (
        PROVINCE,
        Role.PROVINCE,
        ["supervision:start", "households:list", "screening:worklist", "spotchecks:index"],
        ["accounts:security"],
        "supervision:start",
    ),
    "department": (ANDING, Role.DEPARTMENT, ["feeds:list"], ["accounts:security"], "feeds:list"),
    "sysadmin": (
        PROVINCE,
        Role.SYSTEM_ADMIN,
        ["admin:index"],
        ["accounts:security"],
        "admin:index",
    ),
    "secadmin": (
        PROVINCE,
        Role.SECURITY_ADMIN,
        ["security:locks", "admin:index"],
        ["accounts:security"],
        "security:locks",
    ),
    "auditor": (
        PROVINCE,
        Role.AUDIT_ADMIN,
        ["admin:audit_auditentry_changelist", "admin:index"],
        ["accounts:security"],
        "admin:audit_auditentry_changelist",
    ),
}
# Never in anyone's bar but their own.
CASEWORK = {"staff:home", "staff:queue", "regions:qr_list"}


def _url(name: str) -> str:
    return reverse("staff:queue") if name == "staff:queue" else reverse(name)


def _user(role_name, code, role, regions, medical_dept):
    if role == Role.DEPARTMENT:
        return department_user(f"menu-{role_name}", medical_dept, regions[code])
    user = make_staff(f"menu-{role_name}", regions[code], role)
    if role in (Role.COUNTY, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


def _signed_in_phone(browser, live_server, user):
    """A phone whose browser carries the session of a force_login."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    return context


def _hrefs(page, selector) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")


@pytest.mark.parametrize("role_name", list(EXPECTED))
def test_each_role_has_its_own_menu_on_a_phone(
    browser, live_server, regions, medical_dept, output_dir, role_name
):
    code, role, shown, more, landing = EXPECTED[role_name]
    user = _user(role_name, code, role, regions, medical_dept)
    context = _signed_in_phone(browser, live_server, user)
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("staff_start"))
        assert page.url.split("?")[0].startswith(live_server.url + reverse(landing)), page.url
        if role in (Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN):  # the admin has no staff bar
            page.goto(live_server.url + reverse("accounts:security"))

        # The bar: the expected links first, most important first, and "更多".
        bar = _hrefs(page, "header.bar nav.menu > a")
        assert bar == [_url(n) for n in shown]
        top_level = page.locator("header.bar nav.menu > a, header.bar nav.menu > details > summary")
        assert top_level.count() <= 5
        assert page.locator("nav.menu details.more > summary").inner_text().startswith("更多")
        for item in top_level.all():
            assert item.is_visible()
            # Whole words, not "部门筛…": nothing is cut off.
            assert item.evaluate("e => e.scrollWidth <= e.clientWidth"), item.inner_text()
        # "更多" hides the rest until it is opened; sign-out is always there.
        under_more = _hrefs(page, "nav.menu details.more .more-list a")
        for name in more:
            assert _url(name) in under_more
            assert not page.locator(f"nav.menu .more-list a[href='{_url(name)}']").is_visible()
        if role not in (Role.GRID, Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY):
            assert not {reverse(n) for n in CASEWORK} & set(bar + under_more)

        # At most two rows: the brand, then the links (measured on their boxes).
        boxes = [
            page.locator("header.bar .brand").bounding_box(),
            *(item.bounding_box() for item in top_level.all()),
        ]
        rows = sorted({round(b["y"]) for b in boxes})
        merged = [y for i, y in enumerate(rows) if i == 0 or y - rows[i - 1] > 8]
        assert len(merged) <= 2, rows
        line = max(b["height"] for b in boxes)
        assert page.locator("header.bar").bounding_box()["height"] <= 2 * line + 24
        # Nothing sticks out sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(output_dir / f"menu-{role_name}.png"))

        page.click("nav.menu details.more > summary")
        for name in more:
            assert page.locator(f"nav.menu .more-list a[href='{_url(name)}']").is_visible()
        assert page.locator("nav.menu .more-list button[type=submit]").is_visible()
        page.screenshot(path=str(output_dir / f"menu-{role_name}-more.png"))
    finally:
        context.close()
