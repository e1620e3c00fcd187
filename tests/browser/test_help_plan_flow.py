"""A help plan (一户一策) in a real browser: the grid worker on a phone drafts it from
the suggestions and sends it up, the township checks it and the county approves it at
their desks, the grid worker records the delivery of each measure, and once the income
period is over the village proposes to mark the risk eliminated.

The household is enrolled beforehand through the service (the review that leads there
has its own browser test). Links and buttons are found by the URL they open or post
to. Screenshots go to test-output/help-plan-NN-*.png.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.households.models import (
    EliminationProposal,
    HelpPlan,
    HouseholdDocument,
    MeasureStatus,
    PlanState,
)
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS, sign_out
from tests.browser.test_review_flow import assert_no_horizontal_overflow, press, sign_in
from tests.households_steps import enrol

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A mid-range phone in WeChat, a little larger than the farmer's.
PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def receipt(tmp_path):
    path = tmp_path / "receipt.jpg"
    Image.new("RGB", (160, 120), (235, 235, 220)).save(path, format="JPEG", quality=85)
    return path


def shot(page, output_dir, name: str) -> None:
    page.screenshot(path=str(output_dir / f"help-plan-{name}.png"), full_page=True)


def url(name: str, *args) -> str:
    return reverse(f"households:{name}", args=args)


def submit(page) -> None:
    press(page, "main form.card button[type=submit]")


def test_a_help_plan_from_draft_to_elimination(
    browser,
    live_server,
    output_dir,
    media,
    receipt,
    regions,
    grid_wogou,
    township_lujiagou,
    county_anding,
    policies,
    line,
):
    household = enrol(regions, county_anding)
    plan = HelpPlan.objects.get(household=household)
    detail = url("detail", household.pk)
    phone = browser.new_context(**{**PHONE, "viewport": PHONE_390})
    desk = browser.new_context(**DESKTOP)
    for context in (phone, desk):
        context.set_default_timeout(TIMEOUT_MS)
    try:
        page = phone.new_page()
        # The grid worker opens the household from the list.
        sign_in(page, live_server, grid_wogou, url("list"))
        shot(page, output_dir, "01-list")
        press(page, f"a[href='{detail}']")
        assert "建议的帮扶措施" in page.content()
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, "02-household")

        # Two measures, each one tap on a suggestion and one on the form.
        add = url("measure_add", household.pk, plan.pk)
        for name, amount in (("医疗救助", "3000"), ("劳务输转就业帮扶", "")):
            press(page, f"a[href='{add}?policy={policies[name].pk}']")
            if amount:
                page.fill("#id_amount", amount)
                shot(page, output_dir, "03-add-measure")
            submit(page)
        assert list(plan.measures.values_list("title", flat=True)) == [
            "医疗救助",
            "劳务输转就业帮扶",
        ]
        shot(page, output_dir, "04-draft")

        press(page, f"a[href='{url('plan_action', household.pk, plan.pk, 'submit')}']")
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, "05-submit")
        submit(page)
        assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.TOWNSHIP_CHECK
        sign_out(page)

        # The township checks it, the county approves it, at their desks.
        for user, action, name, state in (
            (township_lujiagou, "township_pass", "06-township", PlanState.COUNTY_APPROVAL),
            (county_anding, "approve", "07-county", PlanState.APPROVED),
        ):
            desk_page = desk.new_page()
            sign_in(desk_page, live_server, user, detail)
            press(desk_page, f"a[href='{url('plan_action', household.pk, plan.pk, action)}']")
            shot(desk_page, output_dir, name)
            submit(desk_page)
            assert HelpPlan.objects.get(pk=plan.pk).state == state
            sign_out(desk_page)
            desk_page.close()

        # Back on the phone: each measure delivered, one with a photo of the receipt.
        sign_in(page, live_server, grid_wogou, detail)
        today = timezone.localdate().isoformat()
        for i, measure in enumerate(plan.measures.order_by("pk")):
            press(page, f"a[href='{url('measure_deliver', household.pk, measure.pk)}']")
            page.fill("#id_delivered_on", today)
            page.fill("#id_evidence_note", "救助金已打卡发放，户主签收。")
            if i == 0:
                page.set_input_files("#id_evidence", str(receipt))
                shot(page, output_dir, "08-deliver")
            submit(page)
        assert set(plan.measures.values_list("status", flat=True)) == {MeasureStatus.DELIVERED}
        assert HouseholdDocument.objects.count() == 1
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, "09-delivered")

        # The income period is over: the village proposes to mark the risk eliminated.
        press(page, f"a[href='{url('eliminate', household.pk)}']")
        start = timezone.localdate() - dt.timedelta(days=366)
        page.fill("#id_period_start", start.isoformat())
        page.fill("#id_period_end", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
        page.fill("#id_net_income", "18000")
        page.fill("#id_household_size", "2")
        page.fill("#id_risk_removed", "老伴病情稳定，医疗费用已报销。")
        page.fill("#id_measures_in_place", "医疗救助、劳务输转均已落实。")
        assert_no_horizontal_overflow(page)
        shot(page, output_dir, "10-propose")
        submit(page)
        assert EliminationProposal.objects.get(household=household).per_capita_income == 9000
        shot(page, output_dir, "11-proposed")
    finally:
        phone.close()
        desk.close()
