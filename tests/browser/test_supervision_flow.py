"""A province supervisor in a real browser: from the province down to a village, an Excel
export of 安定区 and its printable bulletin.

The data are the hand-worked world of docs/rates.md (tests/rates_world.py), whose figures
assume that today is 1 December 2026. The live server runs in a thread of this process,
so time_machine moves its clock too; chromium keeps the real one, which is harmless:
Django's session and CSRF cookies carry a Max-Age, which the browser counts from its
own clock.

Links are found by the URL they open, not by their wording; the period chosen once in
the form must survive every click, since the links carry the query string. Screenshots
go to test-output/supervision-NN-*.png, the export next to them.
"""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from apps.regions.models import Role
from tests.conftest import make_staff
from tests.rates_world import ANDING, CST, LUJIAGOU, WOGOU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
PROVINCE, DINGXI = "620000000000", "621100000000"
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
TODAY = dt.datetime(2026, 12, 1, 10, tzinfo=CST)


@pytest.fixture
def province_supervisor(regions):
    return make_staff("province-sup", regions[PROVINCE], Role.PROVINCE)


# --- helpers -----------------------------------------------------------------------------


def sign_in(page, live_server, user, next_url: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert reverse("login") not in page.url, "sign-in failed"


def press(page, selector: str) -> None:
    """Click a link or button that loads a new page, and wait for it."""
    with page.expect_navigation():
        page.click(selector)


def region_link(code: str, name: str = "region") -> str:
    """A link to a supervision page of `code` that carries a query string."""
    return f"a[href^='{reverse(f'supervision:{name}', args=[code])}?']"


def assert_on(page, live_server, code: str, name: str) -> None:
    """On `code`'s dashboard for November, with the region's name in the heading."""
    parts = urlsplit(page.url)
    assert f"{parts.scheme}://{parts.netloc}" == live_server.url
    assert parts.path == reverse("supervision:region", args=[code])
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == NOVEMBER, page.url
    heading = page.locator("h1")
    assert heading.count() == 1
    assert heading.inner_text().startswith(name), heading.inner_text()
    # The form shows the period the page is for.
    assert page.input_value("form.period input[name=start]") == NOVEMBER["start"]
    assert page.input_value("form.period input[name=end]") == NOVEMBER["end"]
    assert_no_horizontal_overflow(page)


def assert_no_horizontal_overflow(page) -> None:
    """Tables and charts fit an office screen: nothing makes the page scroll sideways."""
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, (
        f"{page.url} is {scroll_width}px wide on a {client_width}px screen"
    )


def figures_rows(page) -> dict[str, list[str]]:
    """The 'By region' table: region name → its cells, the total row under 'Total'."""
    rows = page.locator("table.figures:not(.channels) tbody tr")
    return {
        cells[0]: cells[1:]
        for cells in (
            [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            for i in range(rows.count())
        )
    }


def late_names(page, kind: str) -> list[str]:
    """Names in a dashboard's named list (kind: accept or enrol)."""
    full_list = reverse("supervision:late", args=[ANDING, kind])
    section = page.locator("section.card", has=page.locator(f"a[href='{full_list}']"))
    assert section.count() == 1
    return [n.strip() for n in section.locator("tbody tr td:first-child").all_inner_texts()]


def late_heading(page, kind: str) -> str:
    full_list = reverse("supervision:late", args=[ANDING, kind])
    section = page.locator("section.card", has=page.locator(f"a[href='{full_list}']"))
    return section.locator("h2").inner_text().strip()


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"supervision-{name}.png"), full_page=True)


# --- the walk ----------------------------------------------------------------------------


def test_a_province_user_drills_down_and_downloads_excel(
    live_server, regions, world, province_supervisor, desktop_page, output_dir
):
    page = desktop_page
    with time_machine.travel(TODAY, tick=True):
        # 1. The province: the period is chosen once, in the form ---------------------------
        sign_in(page, live_server, province_supervisor, reverse("supervision:start"))
        assert page.url == live_server.url + reverse("supervision:region", args=[PROVINCE])
        page.fill("form.period input[name=start]", NOVEMBER["start"])
        page.fill("form.period input[name=end]", NOVEMBER["end"])
        press(page, "form.period button[type=submit]")  # 查询
        assert_on(page, live_server, PROVINCE, "甘肃省")
        assert page.locator("form.period .error").count() == 0
        assert "定西市" in figures_rows(page)
        shot(page, output_dir, "01-province")

        # 2. 定西市 ------------------------------------------------------------------------
        press(page, f"table.figures {region_link(DINGXI)}")
        assert_on(page, live_server, DINGXI, "定西市")
        assert figures_rows(page)["安定区"][0] == "5"
        shot(page, output_dir, "02-city")

        # 3. 安定区: the worked example of docs/rates.md -------------------------------------
        press(page, f"table.figures {region_link(ANDING)}")
        assert_on(page, live_server, ANDING, "安定区")
        kpis = [
            k.strip() for k in page.locator("section.kpis").first.locator(".kpi").all_inner_texts()
        ]
        # received, completion rate, overdue rate (4 of 7 clocks due), currently overdue
        assert kpis == ["5", "60.0%", "57.1%", "3"]
        rows = figures_rows(page)
        # received, completion rate, …, overdue rate (docs/rates.md)
        assert rows["鲁家沟镇"][:2] == ["3", "66.7%"] and rows["鲁家沟镇"][4] == "50.0%"
        assert rows["香泉镇"][:2] == ["2", "50.0%"] and rows["香泉镇"][4] == "100.0%"
        assert rows["合计"][:2] == ["5", "60.0%"]
        assert late_heading(page, "accept") == "超过5日未受理"
        assert late_names(page, "accept") == ["户3", "户5"]
        assert late_heading(page, "enrol") == "超过15日未纳入"
        assert late_names(page, "enrol") == ["户6"]
        assert page.locator("svg").count() >= 2  # the ranking and the weekly trend
        shot(page, output_dir, "03-county")

        # The Excel export of the table, as the browser downloads it.
        with page.expect_download() as info:
            page.click(region_link(ANDING, "export"))
        download = info.value
        assert download.failure() is None
        assert download.suggested_filename == (
            f"supervision-{ANDING}-{NOVEMBER['start']}-{NOVEMBER['end']}.xlsx"
        )
        saved = output_dir / download.suggested_filename
        download.save_as(saved)
        sheet = load_workbook(saved).active
        assert sheet.title == "安定区"
        assert sheet["A1"].value == "安定区一键申报办理情况统计"  # the title, then the period
        table = list(sheet.iter_rows(min_row=3, values_only=True))
        assert table[0][:2] == ("地区", "申报数")
        by_name = {r[0]: r for r in table[1:]}
        assert by_name["鲁家沟镇"][1] == 3
        assert by_name["香泉镇"][1] == 2
        assert table[-1][0] == "合计"
        assert table[-1][1:4] == (5, 3, 60.0)  # received, closed, completion rate %
        assert table[-1][8] == 57.1  # overdue rate %

        # 4. 鲁家沟镇 ----------------------------------------------------------------------
        press(page, f"table.figures {region_link(LUJIAGOU)}")
        assert_on(page, live_server, LUJIAGOU, "鲁家沟镇")
        rows = figures_rows(page)
        assert rows["窝沟村"][0] == "2" and rows["合计"][:2] == ["3", "66.7%"]
        shot(page, output_dir, "04-township")

        # 5. 窝沟村: a village has no rows below it ------------------------------------------
        press(page, f"table.figures {region_link(WOGOU)}")
        assert_on(page, live_server, WOGOU, "窝沟村")
        assert page.locator("table.figures:not(.channels)").count() == 0
        kpis = [
            k.strip() for k in page.locator("section.kpis").first.locator(".kpi").all_inner_texts()
        ]
        assert kpis[:2] == ["2", "100.0%"]  # A and B, both closed
        shot(page, output_dir, "05-village")

        # 6. Back to 安定区 by the breadcrumbs, and its bulletin for printing ---------------
        press(page, f"p.crumbs {region_link(ANDING)}")
        assert_on(page, live_server, ANDING, "安定区")
        press(page, region_link(ANDING, "bulletin"))
        assert urlsplit(page.url).path == reverse("supervision:bulletin", args=[ANDING])
        assert "安定区" in page.locator("h1").inner_text()
        text = page.locator("body").inner_text()
        for figure in ("60.0%", "57.1%", "鲁家沟镇", "香泉镇", "户3", "户5", "户6"):
            assert figure in text, figure
        lists = page.locator("h2").all_inner_texts()
        assert [h.strip() for h in lists] == [
            "超过5日未受理",
            "超过15日未纳入",
            "监测帮扶",
            "绿色通道超时未完成认定",
            "部门预警超时未核实",
            "帮扶计划超时未制定",
            "走访超时",
            "回头看超时",
            "监测超过两年未消除风险",
            "已纳入未录入国家系统",
            # The charts close the bulletin.
            "各地逾期率排名",
            "近12周走势",
        ]
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, "06-bulletin")
