"""The green channel (绿色通道): help first, identification within a month on its own
urgent clock, the help kept whatever the outcome, a breach on the dashboard."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import InvalidInput, NotPermitted, WrongState
from apps.deadlines.calendar import add_months
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import clocks_sweep
from apps.declarations import services as ds
from apps.declarations.models import GreenChannel, GreenChannelHelp, State
from apps.households.models import MeasureStatus, MonitoredHousehold, PlanState
from apps.notifications.models import Message
from apps.supervision.monitoring import monitoring_load

from .conftest import ANDING, LUJIAGOU
from .review_steps import to_county

pytestmark = pytest.mark.django_db


def open_green(case, actor, **overrides):
    values = dict(cause="illness", reason="户主突发脑出血，正在重症监护室抢救。")
    values.update(overrides)
    return ds.declaration_open_green_channel(declaration=case, actor=actor, **values)


def give(case, actor, policy=None, **overrides):
    values = dict(
        title="临时救助金",
        responsible="王主任",
        delivered_on=timezone.localdate(),
        kind="temporary",
        amount=Decimal("13000"),
        policy=policy,
    )
    values.update(overrides)
    return ds.green_channel_record_help(declaration=case, actor=actor, help=ds.HelpInput(**values))


def green_clock(case):
    return Clock.objects.get(
        subject_type="declaration", subject_id=case.pk, stage=Stage.GREEN_CHANNEL
    )


def test_opening_starts_an_urgent_one_month_clock_and_tells_the_village(case, grid_wogou):
    green = open_green(case, grid_wogou)
    clock = green_clock(case)
    assert clock.urgent
    assert clock.due_on == add_months(timezone.localdate(green.opened_at), 1)
    sent = Message.objects.filter(template="green_channel_opened")
    assert list(sent.values_list("recipient", flat=True)) == ["13800138000"]


def test_help_is_recorded_at_once_before_identification(case, grid_wogou, policies):
    open_green(case, grid_wogou)
    given = give(case, grid_wogou)
    from_list = give(case, grid_wogou, policy=policies["医疗救助"], title="", kind="")
    assert given.amount == Decimal("13000") and case.state == State.SUBMITTED
    assert from_list.title == "医疗救助" and from_list.kind == "medical"
    assert GreenChannelHelp.objects.filter(green_channel__declaration=case).count() == 2


def test_who_may_open_it_and_what_is_refused(
    case, grid_taiping, township_lujiagou, outsider, grid_wogou, policies
):
    with pytest.raises(NotPermitted):
        open_green(case, grid_taiping)
    with pytest.raises(NotPermitted):
        open_green(case, outsider)
    with pytest.raises(InvalidInput):
        open_green(case, township_lujiagou, cause="debt")
    with pytest.raises(InvalidInput):
        open_green(case, township_lujiagou, reason="")
    with pytest.raises(WrongState):  # no help before the channel is open
        give(case, grid_wogou)
    assert (
        not GreenChannel.objects.exists()
        and not Clock.objects.filter(stage=Stage.GREEN_CHANNEL).exists()
    )
    # The township is "anyone above the village".
    open_green(case, township_lujiagou)
    with pytest.raises(InvalidInput):
        open_green(case, grid_wogou)
    with pytest.raises(InvalidInput):
        give(case, grid_wogou, policy=policies["通渭产业"])
    with pytest.raises(InvalidInput):
        give(case, grid_wogou, amount=Decimal("-5"))
    with pytest.raises(InvalidInput):
        give(case, grid_wogou, delivered_on=timezone.localdate() + dt.timedelta(days=1))
    assert not GreenChannelHelp.objects.exists()


def test_enrolment_meets_the_clock_and_the_plan_opens_with_the_help_given(
    case, grid_wogou, township_lujiagou, county_anding, line
):
    open_green(case, grid_wogou)
    give(case, grid_wogou)
    to_county(case, grid_wogou, township_lujiagou)
    ds.declaration_county_approve(declaration=case, actor=county_anding)

    clock = green_clock(case)
    assert clock.met_at is not None and not clock.cancelled
    household = MonitoredHousehold.objects.get()
    case.refresh_from_db()
    assert case.household == household
    plan = household.plans.get()
    assert plan.state == PlanState.DRAFT
    (measure,) = plan.measures.all()
    assert measure.green_channel and measure.status == MeasureStatus.DELIVERED
    assert measure.amount == Decimal("13000") and measure.title == "临时救助金"


def test_not_enrolled_the_help_stays_on_record(case, grid_wogou):
    open_green(case, grid_wogou)
    give(case, grid_wogou)
    ds.declaration_accept(declaration=case, actor=grid_wogou)
    ds.declaration_village_reject(declaration=case, actor=grid_wogou, reason="家庭收入高于监测标准")
    case.refresh_from_db()
    assert case.state == State.REJECTED
    assert green_clock(case).met_at is not None
    assert case.green_channel.help.count() == 1
    assert not MonitoredHousehold.objects.exists()


def test_a_month_without_identification_is_a_breach_on_the_dashboard(
    case, grid_wogou, county_anding, client
):
    open_green(case, grid_wogou)
    with time_machine.travel(timezone.now() + dt.timedelta(days=40)):
        clocks_sweep()
        loads = {load.stage: load for load in monitoring_load(region=case.village)}
        client.force_login(county_anding)
        page = client.get(reverse("supervision:region", args=[ANDING]))
        listing = client.get(reverse("supervision:late", args=[LUJIAGOU, "green"]))
    assert loads[Stage.GREEN_CHANNEL].overdue == 1
    assert [r.tracking_number for r in page.context["late_green"]] == [case.tracking_number_display]
    assert case.tracking_number_display in listing.content.decode()
