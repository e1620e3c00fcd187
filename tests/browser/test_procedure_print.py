"""A grid worker prints the pre-filled authorization letter of a case (申请及承诺授权书)
and the village's public-notice list (公示名单), as they would from a phone or the
village office's computer."""

import re

import pytest
from django.urls import reverse

from apps.audit.models import Action, AuditEntry
from tests.browser.test_review_flow import shot, sign_in
from tests.conftest import ID_A, WOGOU
from tests.review_steps import to_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_grid_worker_prints_the_letter_and_the_notice_list(
    live_server, regions, case, grid_wogou, line, desktop_page, output_dir
):
    page = desktop_page
    detail_url = reverse("staff:detail", args=[case.tracking_number])
    sign_in(page, live_server, grid_wogou, detail_url)

    # The case page offers the letter, pre-filled, for the household to sign.
    letter_url = reverse("staff:print_case", args=[case.tracking_number, "letter"])
    assert page.locator(f"a[href='{letter_url}']").count() == 1
    page.goto(live_server.url + letter_url)
    sheet = page.locator("section.sheet")
    assert sheet.count() == 1
    assert sheet.locator("h1").inner_text() == "申请及承诺授权书"
    text = sheet.inner_text()
    assert case.name in text and "3组" in text and case.id_number_masked in text
    assert ID_A not in page.content()
    assert page.locator("button[data-print]").count() == 1
    shot(page, output_dir, "print-01-authorization-letter")

    # Later, the case is under public notice: the list for the village's notice board.
    to_notice(case, grid_wogou)
    page.goto(live_server.url + reverse("staff:home"))
    notice_url = reverse("staff:print_village", args=[WOGOU, "notice"])
    assert page.locator(f"a[href='{notice_url}']").count() == 1
    page.goto(live_server.url + notice_url)
    assert "窝沟村防止返贫监测对象识别公示名单" in page.locator("h1").inner_text()
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[1:4] == [case.name, "3组", "因病"]
    assert case.id_number_masked not in page.content() and ID_A not in page.content()
    # Printed as A4 (the print stylesheet), and what was printed is in the audit log.
    page.emulate_media(media="print")
    assert page.locator(".screen-only").is_hidden()
    shot(page, output_dir, "print-02-notice-list")
    # As the village office prints it: one A4 page (headless chromium prints to PDF).
    pdf = page.pdf(format="A4", path=str(output_dir / "review-print-02-notice-list.pdf"))
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    printed = AuditEntry.objects.filter(action=Action.EXPORT, actor=grid_wogou)
    assert sorted(e.detail["printed"] for e in printed) == ["letter", "notice"]
