"""On a phone (360×740), a grid worker opens a case whose public notice (公示) still runs:
the step "pass to the township" is shown disabled with the notice's end date as its
reason; once the notice is over, the same button is enabled and passes the case up.

Time moves with time_machine, which moves the clock of the whole process, the live
server's thread included. Screenshots go to test-output/steps-*.png."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone, translation

from apps.declarations.models import Declaration, State
from tests.review_steps import to_notice

from .test_review_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_step_not_possible_yet_shows_its_reason_and_is_enabled_once_it_is(
    live_server, regions, grid_wogou, case, line, media, phone_page, output_dir
):
    end = timezone.localdate() + dt.timedelta(days=2)
    to_notice(case, grid_wogou, notice_end=end)
    detail_url = reverse("staff:detail", args=[case.tracking_number])
    with translation.override("zh-hans"):
        until = "公示期至" + formats.date_format(end, "DATE_FORMAT")
    page = phone_page

    sign_in(page, live_server, grid_wogou, detail_url)
    assert page.url == live_server.url + detail_url
    button = page.locator("button[aria-describedby='why-pass_to_township']")
    assert button.is_visible() and button.is_disabled()
    reason = page.locator("#why-pass_to_township")
    assert reason.is_visible() and reason.inner_text().startswith(until)
    # Nothing on the page posts the step while it is not possible.
    assert page.locator("form[action$='/act/pass_to_township/']").count() == 0
    # The reason sits next to its button, within the phone's width.
    box, why = button.bounding_box(), reason.bounding_box()
    assert 0 <= why["y"] - (box["y"] + box["height"]) < 40 and why["x"] + why["width"] <= 360
    button.scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "steps-01-notice-running.png"), full_page=True)
    assert Declaration.objects.get(pk=case.pk).state == State.IN_NOTICE

    # Three days on, the notice is over: the button is enabled and passes the case up.
    with time_machine.travel(timezone.now() + dt.timedelta(days=3), tick=True):
        sign_in(page, live_server, grid_wogou, detail_url)  # the idle session ended
        assert page.locator("#why-pass_to_township").count() == 0
        submit = page.locator("form[action$='/act/pass_to_township/'] button[type=submit]")
        assert submit.is_enabled()
        page.screenshot(path=str(output_dir / "steps-02-notice-over.png"), full_page=True)
        with page.expect_navigation():
            submit.click()
        assert page.url == live_server.url + detail_url
        assert page.locator("ul.messages li.success").count() == 1
        assert Declaration.objects.get(pk=case.pk).state == State.TOWNSHIP_REVIEW
        page.screenshot(path=str(output_dir / "steps-03-passed-up.png"), full_page=True)
