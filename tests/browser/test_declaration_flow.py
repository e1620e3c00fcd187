"""The farmer's path on a phone: QR link → form → receipt → progress look-up.

Assertions rest on page structure and database state, not on wording, so they hold
whether or not the Chinese catalog is compiled.
"""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from apps.declarations.models import Declaration, State
from apps.notifications.models import Message
from tests.conftest import ID_A, WOGOU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRACKING_DISPLAY_RE = re.compile(r"^\d{4} \d{4} \d{4}$")
GRID_MOBILE = "13800138000"  # grid_wogou in tests/conftest.py
APPLICANT_MOBILE = "13912345678"


def form_url(live_server, village) -> str:
    return live_server.url + reverse("public:village_form", kwargs={"slug": village.public_slug})


def fill_form(page, *, id_number: str = ID_A) -> None:
    page.fill("input[name=name]", "魏家常")
    # Spaces and full-width digits, as a phone keyboard or a pasted number gives them.
    page.fill("input[name=phone]", "１３９ 1234 5678")
    page.fill("input[name=id_number]", id_number)
    page.fill("input[name=address_group]", "3组")
    page.fill("input[name=address_house]", "12号")
    page.check("input[name=difficulties][value=illness]")
    page.fill("textarea[name=description]", "老伴住院，花费很大。")
    page.check("input[name=consent]")


def submit(page) -> None:
    with page.expect_navigation():
        page.click("form button[type=submit]")


def assert_no_horizontal_overflow(page) -> None:
    """Nothing on a 360 px screen should make the page scroll sideways."""
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, (
        f"page is {scroll_width}px wide on a {client_width}px screen"
    )


def test_declare_on_a_phone_and_check_progress(
    live_server, regions, grid_wogou, phone_page, output_dir
):
    page = phone_page
    response = page.goto(form_url(live_server, regions[WOGOU]))
    assert response.status == 200
    assert page.locator("p.village").inner_text().strip() == regions[WOGOU].name
    assert_no_horizontal_overflow(page)

    fill_form(page)
    page.screenshot(path=str(output_dir / "declaration-form.png"), full_page=True)
    submit(page)

    assert "/receipt/" in page.url
    shown = page.locator("#tracking-number").inner_text().strip()
    assert TRACKING_DISPLAY_RE.match(shown), shown
    tracking_number = shown.replace(" ", "")
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(output_dir / "declaration-receipt.png"), full_page=True)

    declaration = Declaration.objects.get()
    assert declaration.tracking_number == tracking_number
    assert declaration.village == regions[WOGOU]
    assert declaration.name == "魏家常"
    assert declaration.phone == APPLICANT_MOBILE
    assert declaration.id_number == ID_A
    assert declaration.difficulties == ["illness"]
    assert declaration.state == State.SUBMITTED

    # The outbox: written with the declaration, one notice each way.
    messages = {
        m.template: m for m in Message.objects.filter(subject=f"declaration:{declaration.pk}")
    }
    assert set(messages) == {"grid_new_declaration", "applicant_receipt"}
    assert messages["grid_new_declaration"].recipient == GRID_MOBILE
    assert messages["applicant_receipt"].recipient == APPLICANT_MOBILE

    # The progress look-up, with the number as written down from the receipt.
    page.goto(live_server.url + reverse("public:status"))
    page.fill("input[name=tracking_number]", shown)
    page.fill("input[name=phone]", "139-1234-5678")
    submit(page)
    with translation.override("zh-hans"):
        expected_stage = str(State.SUBMITTED.label)
    assert page.locator("dl.status dd.stage").inner_text().strip() == expected_stage
    assert page.locator("dl.status dd").first.inner_text().strip() == shown
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(output_dir / "declaration-status.png"), full_page=True)


def test_invalid_id_number_is_flagged_at_the_field(
    live_server, regions, grid_wogou, phone_page, output_dir
):
    page = phone_page
    page.goto(form_url(live_server, regions[WOGOU]))
    bad_id = ID_A[:-1] + "1"  # wrong check digit
    fill_form(page, id_number=bad_id)
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    assert navigation.value.status == 400

    page.locator(".error-summary").wait_for()
    wrapper = page.locator(".field", has=page.locator("input[name=id_number]"))
    assert "has-error" in wrapper.get_attribute("class").split()
    error = wrapper.locator("p.error#id_number-error")
    assert error.count() == 1
    assert error.inner_text().strip()
    # Only the ID number is wrong.
    assert page.locator(".has-error").count() == 1

    # What was typed is kept (the phone as typed, the ID number too, to correct it).
    assert page.input_value("input[name=name]") == "魏家常"
    assert page.input_value("input[name=phone]") == "１３９ 1234 5678"
    assert page.input_value("input[name=id_number]") == bad_id
    assert page.input_value("input[name=address_group]") == "3组"
    assert page.input_value("input[name=address_house]") == "12号"
    assert page.is_checked("input[name=difficulties][value=illness]")
    assert not page.is_checked("input[name=difficulties][value=disability]")
    assert page.input_value("textarea[name=description]") == "老伴住院，花费很大。"
    assert page.is_checked("input[name=consent]")
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(output_dir / "declaration-form-error.png"), full_page=True)

    assert not Declaration.objects.exists()
    assert not Message.objects.exists()

    # Corrected, the same form goes through.
    page.fill("input[name=id_number]", ID_A)
    submit(page)
    assert TRACKING_DISPLAY_RE.match(page.locator("#tracking-number").inner_text().strip())
    assert Declaration.objects.count() == 1


def test_form_works_without_javascript(live_server, regions, grid_wogou, phone_page_no_js):
    page = phone_page_no_js
    page.goto(form_url(live_server, regions[WOGOU]))
    fill_form(page)
    submit(page)

    shown = page.locator("#tracking-number").inner_text().strip()
    assert TRACKING_DISPLAY_RE.match(shown), shown
    assert Declaration.objects.get().tracking_number == shown.replace(" ", "")
    assert Message.objects.count() == 2


def test_withdraw_from_the_progress_page_with_the_code_sent_by_sms(
    live_server, regions, grid_wogou, phone_page, output_dir
):
    from apps.declarations.services import declaration_submit
    from apps.notifications import backends
    from tests.conftest import declaration_input

    declaration = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    page = phone_page
    page.goto(live_server.url + reverse("public:status"))
    page.fill("input[name=tracking_number]", declaration.tracking_number)
    page.fill("input[name=phone]", APPLICANT_MOBILE)
    submit(page)

    # Withdrawing needs the code the applicant's phone receives.
    page.click("details summary.small")
    backends.outbox.clear()
    with page.expect_navigation():
        page.click(f"form[action='{reverse('public:status_code', args=['withdraw'])}'] button")
    (sms,) = [m for m in backends.outbox if m["template"] == "applicant_action_code"]
    assert sms["phone"] == APPLICANT_MOBILE
    page.fill("input[name=code]", sms["params"]["code"])
    page.fill("textarea[name=reason]", "情况好转")
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(output_dir / "declaration-withdraw-code.png"), full_page=True)
    with page.expect_navigation() as navigation:
        page.click(f"form[action='{reverse('public:status_act', args=['withdraw'])}'] button")
    assert navigation.value.status == 200
    declaration.refresh_from_db()
    assert declaration.state == State.WITHDRAWN
