"""Accessibility: axe-core finds no serious or critical violation of WCAG 2.1 A/AA on the
pages farmers and grid workers use on a phone, nor on the supervision dashboard.

axe-core comes from npm (tests/browser/package.json, pinned, installed by .ci/run and
`make test` with `npm ci --prefix tests/browser`). Without it the tests skip, or fail
when REQUIRE_SERVICES is set (CI).

The pages' Content-Security-Policy refuses inline scripts, and Playwright's
add_script_tag() inserts the file's content inline: the policy rightly blocks it. axe
is evaluated through the DevTools protocol instead (page.evaluate), which a page's CSP
does not govern; nothing is relaxed for the pages themselves.

Every page checked is photographed (test-output/a11y-*.png), and axe's full answer is
kept beside it (a11y-*.json). Best-practice rules run too: what they find, and what is
minor or moderate, is listed in a11y-not-asserted.txt, not asserted.
"""

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.declarations.services import declaration_submit
from apps.regions.models import Role
from tests.conftest import (
    ANDING,
    ID_A,
    ID_B,
    OUTPUT_DIR,
    PROVINCE,
    WOGOU,
    declaration_input,
    make_staff,
)
from tests.rates_world import CST
from tests.review_steps import to_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "pw-for-tests-only"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Run as well, reported and not asserted: best practice, and WCAG 2.2's touch-target size.
REPORTED_TAGS = ["best-practice", "wcag22aa"]
ASSERTED_IMPACTS = {"serious", "critical"}
# What axe cannot decide (its "incomplete" results) fails too, for it is mostly a real
# fault it cannot prove, such as aria-describedby naming an element that is not there.
# Except colour contrast: axe cannot see the background behind an SVG chart's text.
LEFT_TO_REVIEW = {"color-contrast"}
REPORT = "a11y-not-asserted.txt"
NOVEMBER = "start=2026-11-01&end=2026-11-30"
TODAY = dt.datetime(2026, 12, 1, 10, tzinfo=CST)  # the day of tests/rates_world.py


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        if settings.REQUIRE_SERVICES:
            pytest.fail(
                f"{AXE_JS} is required (REQUIRE_SERVICES): run `npm ci --prefix tests/browser`"
            )
        pytest.skip("needs axe-core from npm: `npm ci --prefix tests/browser`")
    return AXE_JS.read_text(encoding="utf-8")


class Axe:
    """Runs axe-core on pages and keeps what it found; `assert_clean()` fails with every
    serious or critical WCAG violation, page by page."""

    def __init__(self, source: str, output_dir: Path):
        self.source = source
        self.output_dir = output_dir
        self.failures: list[str] = []

    def check(self, page, name: str) -> None:
        page.screenshot(path=str(self.output_dir / f"a11y-{name}.png"), full_page=True)
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.source)
        results = page.evaluate(
            "options => axe.run(document, options)",
            {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, *REPORTED_TAGS]}},
        )
        (self.output_dir / f"a11y-{name}.json").write_text(
            json.dumps(
                {
                    "url": results["url"],
                    "violations": results["violations"],
                    "incomplete": results["incomplete"],
                    "passes": [rule["id"] for rule in results["passes"]],
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        asserted, advice = [], []
        for kind, found in (
            ("violation", results["violations"]),
            ("needs review", results["incomplete"]),
        ):
            for rule in found:
                targets = ", ".join(
                    " ".join(map(str, node["target"])) for node in rule["nodes"][:5]
                )
                line = f"{rule['id']} ({rule['impact']}, {kind}): {targets}"
                if (
                    set(rule["tags"]) & set(WCAG_TAGS)
                    and rule["impact"] in ASSERTED_IMPACTS
                    and (kind == "violation" or rule["id"] not in LEFT_TO_REVIEW)
                ):
                    asserted.append(line)
                else:
                    advice.append(line)
        with open(self.output_dir / REPORT, "a", encoding="utf-8") as report:
            report.writelines(f"{name}: {line}\n" for line in advice)
        self.failures += [f"{name} {page.url}: {line}" for line in asserted]

    def assert_clean(self) -> None:
        assert not self.failures, "axe-core found serious or critical violations:\n" + "\n".join(
            self.failures
        )


@pytest.fixture(scope="module")
def _fresh_report():
    (OUTPUT_DIR / REPORT).unlink(missing_ok=True)


@pytest.fixture
def axe(axe_source, _fresh_report, output_dir) -> Axe:
    return Axe(axe_source, output_dir)


def sign_in(page, live_server, user, next_url: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}?{urlencode({'next': next_url})}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert reverse("login") not in page.url, "sign-in failed"


def submit(page) -> int:
    with page.expect_navigation() as navigation:
        page.click("main form button[type=submit]")
    return navigation.value.status


# --- the pages ---------------------------------------------------------------------------


def test_the_farmers_pages(live_server, regions, grid_wogou, phone_page, axe):
    page = phone_page
    form_url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    assert page.goto(live_server.url + form_url).status == 200
    axe.check(page, "farmer-form")

    # Sent with errors (no name, a wrong ID number, …): the server's message at each
    # field is what a screen reader reads with the field.
    page.fill("input[name=phone]", "13912345678")
    page.fill("input[name=id_number]", ID_A[:-1] + "1")
    assert submit(page) == 400
    assert page.locator(".has-error").count() >= 2
    for name in ("name", "id_number"):
        message = page.locator(f"p.error#{name}-error").inner_text().strip()
        assert message
        expect(page.locator(f"input[name={name}]")).to_have_accessible_description(
            re.compile(re.escape(message))
        )
    axe.check(page, "farmer-form-errors")

    declaration = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    assert page.goto(live_server.url + reverse("public:status")).status == 200
    axe.check(page, "status-form")
    page.fill("input[name=tracking_number]", declaration.tracking_number)
    page.fill("input[name=phone]", "13912345678")
    assert submit(page) == 200
    assert page.locator("dl.status").count() == 1
    axe.check(page, "status-result")

    axe.assert_clean()


def test_the_grid_workers_pages(live_server, regions, grid_wogou, case, line, phone_page, axe):
    # A second case further on: visited, evaluated, on public notice, photos filed.
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        later = declaration_submit(
            village=regions[WOGOU],
            data=declaration_input(name="李明", id_number=ID_B, phone="13912340000"),
        ).declaration
    to_notice(later, grid_wogou)

    page = phone_page
    sign_in(page, live_server, grid_wogou, reverse("staff:home"))
    assert page.url == live_server.url + reverse("staff:home")
    axe.check(page, "worker-home")

    for name, declaration in (("case", case), ("case-on-notice", later)):
        detail_url = reverse("staff:detail", args=[declaration.tracking_number])
        assert page.goto(live_server.url + detail_url).status == 200
        assert page.locator("h1").count() == 1
        axe.check(page, name)

    visit_url = reverse("staff:visit", args=[case.tracking_number])
    assert page.goto(live_server.url + visit_url).status == 200
    assert page.locator("main form").count() >= 1
    axe.check(page, "visit-form")

    axe.assert_clean()


def test_the_supervision_dashboard(live_server, regions, world, phone_page, desktop_page, axe):
    supervisor = make_staff("province-sup", regions[PROVINCE], Role.PROVINCE)
    dashboard = f"{reverse('supervision:region', args=[ANDING])}?{NOVEMBER}"
    with time_machine.travel(TODAY, tick=True):
        for name, page in (("phone", phone_page), ("desktop", desktop_page)):
            sign_in(page, live_server, supervisor, dashboard)
            assert page.url == live_server.url + dashboard
            assert page.locator("svg").count() >= 2  # the ranking and the trend
            axe.check(page, f"dashboard-{name}")

    axe.assert_clean()
