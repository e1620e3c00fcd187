"""The demo of `make run` (`manage.py seed_demo`): cases at every stage, overdue ones on
the named lists, figures fresh, and a second run that changes nothing.

Real commits (transaction=True): the demo's roster and department data are imported by
tasks that run when their uploads commit, as on a server.
"""

import io
from dataclasses import astuple, replace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.accounts.models import User
from apps.deadlines.models import Stage
from apps.declarations.models import (
    Appeal,
    ConsentChannel,
    Declaration,
    GreenChannel,
    State,
    Step,
)
from apps.declarations.services import missing_documents
from apps.households.models import MeasureStatus, MonitoredHousehold, PlanState
from apps.notifications.models import Message
from apps.regions.models import Region
from apps.supervision.monitoring import work_rows
from apps.supervision.selectors import Period, late_cases, region_figures, region_figures_live

from .conftest import PROVINCE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seed_demo(settings, media):
    settings.DEMO_MODE = True

    def run() -> str:
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        return out.getvalue()

    return run


def counts():
    return (
        Region.objects.count(),
        User.objects.count(),
        Declaration.objects.count(),
        MonitoredHousehold.objects.count(),
        Message.objects.count(),
    )


def test_the_demo_holds_every_stage_names_the_overdue_and_is_made_once(seed_demo):
    printed = seed_demo()
    states = set(Declaration.objects.values_list("state", flat=True))
    assert states == {
        State.SUBMITTED,
        State.ACCEPTED,
        State.VERIFIED,
        State.IN_NOTICE,
        State.TOWNSHIP_REVIEW,
        State.COUNTY_REVIEW,
        State.ENROLLED,
        State.REJECTED,
        State.WITHDRAWN,
    }
    green = GreenChannel.objects.get()
    assert green.declaration.is_open and green.help.exists()
    appeal = Appeal.objects.pending().get()
    assert appeal.declaration.state == State.REJECTED and appeal.level == "township"
    plan = Declaration.objects.get(state=State.ENROLLED).household.plans.get()
    assert plan.state == PlanState.APPROVED
    assert {m.status for m in plan.measures.all()} == {
        MeasureStatus.DELIVERED,
        MeasureStatus.PLANNED,
    }

    province = Region.objects.get(code=PROVINCE)
    assert [d.name for d in late_cases(region=province, stage=Stage.VERIFY)] == [
        "李秀兰",
        "赵永福",
    ]
    assert [d.name for d in late_cases(region=province, stage=Stage.ENROL)] == ["何建军"]
    named = {
        kind: [row.name for row in work_rows(region=province, kind=kind)]
        for kind in ("plan", "visit", "warning", "long")
    }
    assert named == {
        "plan": ["赵德明"],
        "visit": ["赵德明"],
        "warning": ["张建华"],
        "long": ["孙玉兰"],
    }
    # Declared on someone's behalf and visited: the household signed its letter, so
    # its income could be calculated.
    on_behalf = Declaration.objects.filter(on_behalf=True, visits__isnull=False).distinct()
    assert {d.name for d in on_behalf} == {"王建国", "周桂英"}
    for declaration in on_behalf:
        letter = declaration.consents.get(channel=ConsentChannel.HOME_VISIT)
        assert letter.given_at <= declaration.income.assessed_at
        assert declaration.consents.get(channel=ConsentChannel.FORM).given_by == "declarant"

    # Every case passed up carries the documents the procedure wants, and its dates are
    # in the procedure's order; every enrolled one has its result announcement.
    passed_up = Declaration.objects.filter(transitions__kind="pass_to_township").distinct()
    assert passed_up.exists()
    for declaration in passed_up:
        assert not missing_documents(declaration, Step.PASS_UP)
        visit, evaluation = declaration.visits.get(), declaration.evaluations.get()
        assert timezone.localdate(declaration.submitted_at) <= visit.visit_date
        assert visit.visit_date <= declaration.income.compared_on <= evaluation.evaluation_date
        assert (evaluation.notice_end - evaluation.notice_start).days + 1 >= 5
    enrolled = Declaration.objects.filter(state=State.ENROLLED)
    assert enrolled.exists() and all(d.announcements.exists() for d in enrolled)

    # The deadline sweep ran: the breaches are flagged and their reminders queued.
    assert Message.objects.filter(template="deadline_breached").count() >= 5

    # The dashboards read the summary tables: refreshed, they match the cases.
    period = Period.this_year()
    summary, _rows = region_figures(region=province, period=period)
    live, _rows = region_figures_live(region=province, period=period)
    # (by_month: the summaries' own breakdown, checked in test_dashboard_breakdowns.)
    without_averages = {"avg_days_to_accept": None, "avg_days_to_enrol": None, "by_month": {}}
    assert astuple(replace(summary, **without_averages)) == astuple(
        replace(live, **without_averages)
    )
    assert summary.received > 0 and summary.currently_overdue > 0

    village = Region.objects.get(code="621102100201")
    assert f"/v/{village.public_slug}/" in printed
    assert "demo-2026" in printed and "township-lujiagou" in printed

    # Run again (make run a second time): what is there is reused.
    made = counts()
    seed_demo()
    assert counts() == made


def test_seed_demo_refuses_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())


def test_the_demo_departments_deliver_every_shipped_feed_and_their_samples_arrive(seed_demo):
    from apps.screening.models import Department, FeedDefinition, PropertyRecord, ReportedLifeEvent

    seed_demo()
    delivered = {
        code
        for d in Department.objects.filter(active=True, members__isnull=False)
        for code in d.kinds
    }
    assert (
        set(FeedDefinition.objects.filter(active=True).values_list("code", flat=True)) <= delivered
    )
    # 公安's sample: 孙福 (of 孙玉兰's monitored household) died, for 窝沟村 to confirm.
    death = ReportedLifeEvent.objects.get(person_name="孙福")
    assert death.is_pending and death.region_code == "621102100201"
    # The property samples: on the property check of 杨树林's case, at the township.
    yang = Declaration.objects.get(name="杨树林")
    assert yang.state == State.TOWNSHIP_REVIEW
    assert set(
        PropertyRecord.objects.filter(declaration=yang).values_list("definition", flat=True)
    ) == {
        "business",
        "vehicle",
        "real_estate",
    }
