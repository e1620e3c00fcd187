"""The demo of `make run` in a real browser: seeded as `make run` seeds it, then the
province, a township and a county sign in with the demo password and find their
dashboards filled, the overdue cases and households named, and their queues waiting.

Links are found by the URL they open, not by their wording. Screenshots go to
test-output/demo-NN-*.png.
"""

import io
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.browser.conftest import sign_out
from tests.conftest import ANDING, LUJIAGOU, PROVINCE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-2026"


@pytest.fixture
def demo(settings, media):
    settings.DEMO_MODE = True
    call_command("seed_demo", stdout=io.StringIO())


def sign_in(page, live_server, username: str) -> None:
    """Sign in and land on the dashboard of the user's highest region."""
    page.goto(f"{live_server.url}{reverse('login')}?next={reverse('supervision:start')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert reverse("login") not in page.url, "sign-in failed"


def dashboard_of(page, code: str) -> dict[str, int]:
    """On `code`'s dashboard: its received and currently overdue figures."""
    assert urlsplit(page.url).path == reverse("supervision:region", args=[code])
    kpis = page.locator("section.kpis").first.locator(".kpi").all_inner_texts()
    return {"received": int(kpis[0]), "overdue": int(kpis[3])}


def named(page, code: str, kind: str) -> list[str]:
    """The names in a dashboard's named list (the card linking to its full list)."""
    full_list = reverse("supervision:late", args=[code, kind])
    card = page.locator("section.card", has=page.locator(f"a[href='{full_list}']"))
    assert card.count() == 1
    return [n.strip() for n in card.locator("tbody tr td:first-child").all_inner_texts()]


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"demo-{name}.png"), full_page=True)


def test_the_province_a_township_and_a_county_find_the_demo_at_work(
    live_server, demo, desktop_page, output_dir
):
    page = desktop_page

    # The province: figures for the whole tree, every named list with its names.
    sign_in(page, live_server, "province")
    figures = dashboard_of(page, PROVINCE)
    assert figures["received"] > 0 and figures["overdue"] > 0
    assert named(page, PROVINCE, "accept") == ["李秀兰", "赵永福"]
    assert named(page, PROVINCE, "enrol") == ["何建军"]
    assert named(page, PROVINCE, "plan") == ["赵德明"]
    assert named(page, PROVINCE, "visit") == ["赵德明"]
    assert named(page, PROVINCE, "warning") == ["张建华"]
    assert named(page, PROVINCE, "long") == ["孙玉兰"]
    shot(page, output_dir, "01-province")
    sign_out(page)

    # A township: its own figures and names, then its review queue and the appeal.
    sign_in(page, live_server, "township-lujiagou")
    figures = dashboard_of(page, LUJIAGOU)
    assert figures["received"] > 0 and figures["overdue"] > 0
    assert named(page, LUJIAGOU, "accept") == ["李秀兰"]
    assert named(page, LUJIAGOU, "enrol") == ["何建军"]
    shot(page, output_dir, "02-township")
    page.goto(live_server.url + reverse("staff:queue"))
    queue = page.locator("table.cases tbody tr td:nth-child(4)").all_inner_texts()  # name
    assert sorted(n.strip() for n in queue) == sorted(["杨树林", "何建军"])
    appeals = page.locator("ul.history.appeals li a").all_inner_texts()
    assert [a.strip() for a in appeals] == ["吴小燕"]
    shot(page, output_dir, "03-township-queue")
    sign_out(page)

    # A county: its figures and names, then its approval queue in the admin.
    sign_in(page, live_server, "county-anding")
    figures = dashboard_of(page, ANDING)
    assert figures["received"] > 0 and figures["overdue"] > 0
    assert named(page, ANDING, "enrol") == ["何建军"]
    assert named(page, ANDING, "warning") == ["张建华"]
    shot(page, output_dir, "04-county")
    page.goto(live_server.url + reverse("admin:declarations_declaration_changelist"))
    rows = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(rows) == 1 and "周桂英" in rows[0]
    shot(page, output_dir, "05-county-queue")
