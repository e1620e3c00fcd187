"""The township clerk's desk in a real browser: filter the review queue to one village,
tick its cases and approve them to the county in one go; a case not ready stops the
batch and says why, and nothing is approved until it is left out.

The cases are brought to the township through the services (the review walk has its
own browser test). Screenshots go to test-output/desk-NN-*.png. Controls are found by
name and URL, not wording.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import Declaration, State
from tests.browser.test_review_flow import assert_no_horizontal_overflow, press, sign_in
from tests.conftest import TAIPING, WOGOU, declaration_input
from tests.households_steps import new_id
from tests.review_steps import to_township

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def declare(regions, serial, village, name):
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        return s.declaration_submit(
            village=regions[village],
            data=declaration_input(
                id_number=new_id(serial), phone=f"1390000{serial:04d}", name=name
            ),
        ).declaration


def check_property(declaration, township):
    s.declaration_record_property_check(
        declaration=declaration, actor=township, vehicles="无", housing="砖房一处", business="无"
    )


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"desk-{name}.png"), full_page=True)


def state_of(declaration) -> str:
    return Declaration.objects.get(pk=declaration.pk).state


def box(declaration) -> str:
    return f"input[type=checkbox][name=cases][value='{declaration.tracking_number}']"


def test_the_township_filters_its_queue_and_approves_a_batch(
    live_server,
    regions,
    grid_wogou,
    grid_taiping,
    township_lujiagou,
    line,
    media,
    desktop_page,
    phone_page,
    output_dir,
):
    ready = [declare(regions, 1, WOGOU, "王建国"), declare(regions, 2, WOGOU, "王建军")]
    unchecked = declare(regions, 3, WOGOU, "李秀兰")  # its property check not recorded
    elsewhere = declare(regions, 4, TAIPING, "张秀英")  # another village of the township
    for declaration in [*ready, unchecked]:
        to_township(declaration, grid_wogou)
    to_township(elsewhere, grid_taiping)
    for declaration in [*ready, elsewhere]:
        check_property(declaration, township_lujiagou)

    queue = reverse("staff:queue")
    page = desktop_page
    sign_in(page, live_server, township_lujiagou, queue)
    # The township lands on its review queue, all four cases in it.
    assert page.locator("table.cases tbody input[name=cases]").count() == 4
    shot(page, output_dir, "01-queue")

    # Filter to 窝沟村.
    page.select_option("select[name=village]", WOGOU)
    press(page, "form.queue-filters button[type=submit]")
    assert f"village={WOGOU}" in page.url
    assert page.locator(box(elsewhere)).count() == 0
    for declaration in [*ready, unchecked]:
        assert page.locator(box(declaration)).count() == 1
    shot(page, output_dir, "02-queue-filtered")

    # Tick all three: the unchecked case stops the batch, nothing is approved.
    for declaration in [*ready, unchecked]:
        page.check(box(declaration))
    press(page, "form.batch button[type=submit]")
    assert page.locator(".error-summary .refusals li").count() == 1
    assert unchecked.tracking_number_display in page.locator(".error-summary").inner_text()
    assert [state_of(d) for d in [*ready, unchecked]] == [State.TOWNSHIP_REVIEW] * 3
    shot(page, output_dir, "03-batch-refused")

    # The boxes stay ticked; leave the unchecked case out and the two ready ones go to
    # the county, the filter kept.
    for declaration in [*ready, unchecked]:
        assert page.is_checked(box(declaration))
    page.uncheck(box(unchecked))
    press(page, "form.batch button[type=submit]")
    assert page.url.startswith(f"{live_server.url}{queue}?")
    assert f"village={WOGOU}" in page.url
    assert page.locator("ul.messages li.success").count() == 1
    assert [state_of(d) for d in ready] == [State.COUNTY_REVIEW] * 2
    assert state_of(unchecked) == State.TOWNSHIP_REVIEW
    assert state_of(elsewhere) == State.TOWNSHIP_REVIEW
    assert page.locator(box(unchecked)).count() == 1
    assert page.locator("table.cases tbody input[name=cases]").count() == 1
    shot(page, output_dir, "04-batch-approved")

    # On a phone the filtered queue fits the screen.
    sign_in(phone_page, live_server, township_lujiagou, queue)
    phone_page.goto(f"{live_server.url}{queue}?village={WOGOU}&stage=")
    assert phone_page.locator("table.cases tbody tr").count() == 3
    assert_no_horizontal_overflow(phone_page)
    shot(phone_page, output_dir, "05-queue-on-a-phone")
