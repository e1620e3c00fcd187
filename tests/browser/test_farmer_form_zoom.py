"""The farmer's form zoomed to 200 % on a 360 px phone (a 180 px layout viewport) and
on a 320 px phone: every label stays readable — none breaks into one character per line
— and nothing scrolls sideways. Then a lost tracking number asked for again: it goes by
SMS to the phone, and the page never shows it."""

import pytest
from django.urls import reverse

from apps.declarations.models import Declaration
from apps.notifications.models import Message
from tests.conftest import ID_A, WOGOU

from .conftest import PHONE, TIMEOUT_MS
from .test_declaration_flow import assert_no_horizontal_overflow, fill_form, form_url, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each label's widest line against its text's width on one line: a label whose lines are
# narrower than three characters of its font (or than its whole text, if shorter) has
# broken into a column of characters.
NARROW_LABELS = """() => {
  const narrow = [];
  for (const el of document.querySelectorAll("form label, form legend")) {
    const text = el.textContent.trim();
    if (!text || el.offsetParent === null) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    // The boxes of its text (text nodes only, not the elements around them).
    const rects = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(walker.currentNode);
      rects.push(...Array.from(range.getClientRects()).filter(r => r.width > 0));
    }
    if (!rects.length) continue;
    // The text's line boxes: its fragments grouped by line.
    const lines = {};
    for (const r of rects) {
      const key = Math.round(r.top);
      const line = lines[key] || (lines[key] = [r.left, r.right]);
      line[0] = Math.min(line[0], r.left);
      line[1] = Math.max(line[1], r.right);
    }
    const widest = Math.max(...Object.values(lines).map(([l, r]) => r - l));
    // The text's width on one line: all its fragments' widths together.
    const natural = rects.reduce((sum, r) => sum + r.width, 0);
    const needed = Math.min(3 * size, natural - 1);
    if (widest < needed) narrow.push([text.slice(0, 12), Math.round(widest), Math.round(needed)]);
  }
  return narrow;
}"""


@pytest.mark.parametrize(
    "viewport",
    [
        pytest.param({"width": 180, "height": 370}, id="360px-at-200-percent"),
        pytest.param({"width": 320, "height": 640}, id="320px"),
    ],
)
def test_no_label_breaks_into_one_character_per_line(
    live_server, regions, browser, viewport, output_dir
):
    zoom = 360 // viewport["width"] or 1
    context = browser.new_context(
        **{**PHONE, "viewport": viewport, "device_scale_factor": 2 * zoom}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(form_url(live_server, regions[WOGOU]))
        # With the errors shown too: the longest labels and messages.
        submit(page)
        assert page.locator(".error-summary").is_visible()
        widths = page.eval_on_selector_all(
            "label.choice", "els => els.map(e => e.getBoundingClientRect().width)"
        )
        assert widths and min(widths) >= 60, widths
        assert page.evaluate(NARROW_LABELS) == []
        assert_no_horizontal_overflow(page)
        page.screenshot(
            path=str(output_dir / f"farmer-form-{viewport['width']}px.png"), full_page=True
        )
    finally:
        context.close()


def test_a_lost_tracking_number_comes_by_sms_not_on_the_page(
    live_server, regions, grid_wogou, phone_page, output_dir
):
    page = phone_page
    page.goto(form_url(live_server, regions[WOGOU]))
    fill_form(page)
    submit(page)
    declaration = Declaration.objects.get()
    Message.objects.all().delete()

    page.goto(live_server.url + reverse("public:status"))
    with page.expect_navigation():
        page.click("a[href$='/status/recover/']")
    page.fill("input[name=id_number]", ID_A)
    page.fill("input[name=phone]", "139 1234 5678")
    submit(page)
    body = page.inner_text("main")
    assert declaration.tracking_number_display not in body
    assert declaration.tracking_number not in body
    assert page.locator("[role=status]").is_visible()
    page.screenshot(path=str(output_dir / "tracking-number-recovered.png"), full_page=True)
    (message,) = Message.objects.all()
    assert message.recipient == "13912345678"
    assert declaration.tracking_number_display in message.text
    # A refresh of the answer page sends nothing again (Post/Redirect/Get).
    page.reload()
    assert Message.objects.count() == 1
