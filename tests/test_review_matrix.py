"""Every transition: the wrong role, the wrong region and the wrong state are each
refused with nothing changed (the right actor is walked in test_review.py)."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import Appeal, Declaration, State, Transition
from apps.households.models import MonitoredHousehold
from apps.notifications.models import Message
from apps.regions.models import Role

from .conftest import ANDING, TONGWEI, make_staff
from .review_steps import to_county, to_notice, to_township, to_verified, visit

pytestmark = pytest.mark.django_db


def snapshot(case):
    fresh = Declaration.objects.get(pk=case.pk)
    return (
        fresh.state,
        Transition.objects.count(),
        Message.objects.count(),
        Appeal.objects.count(),
        MonitoredHousehold.objects.count(),
        fresh.visits.count(),
    )


@pytest.fixture
def people(regions, grid_wogou, grid_taiping, township_lujiagou):
    return {
        "grid": grid_wogou,
        "other_village": grid_taiping,
        "township": township_lujiagou,
        "other_township": make_staff("xiangquan", regions["621102101000"], Role.TOWNSHIP),
        "county": make_staff("anding", regions[ANDING], Role.COUNTY),
        "other_county": make_staff("tongwei", regions[TONGWEI], Role.COUNTY),
    }


TODAY = timezone.localdate


def prepare(stage, case, p):
    """Bring the case to the state the transition starts from."""
    if stage == State.ACCEPTED:
        s.declaration_accept(declaration=case, actor=p["grid"])
    elif stage == State.VERIFIED:
        to_verified(case, p["grid"])
    elif stage == State.IN_NOTICE:
        to_notice(case, p["grid"])
    elif stage == State.TOWNSHIP_REVIEW:
        to_township(case, p["grid"])
        s.declaration_record_property_check(
            declaration=case, actor=p["township"], vehicles="无", housing="无", business="无"
        )
    elif stage == State.COUNTY_REVIEW:
        to_county(case, p["grid"], p["township"])
    elif stage == State.REJECTED:
        s.declaration_accept(declaration=case, actor=p["grid"])
        s.declaration_village_reject(declaration=case, actor=p["grid"], reason="收入超标")
    case.refresh_from_db()


def call(name, case, actor):
    today = TODAY()
    calls = {
        "accept": lambda: s.declaration_accept(declaration=case, actor=actor),
        "record_visit": lambda: s.declaration_record_visit(
            declaration=case, actor=actor, visit=visit()
        ),
        "record_evaluation": lambda: s.declaration_record_evaluation(
            declaration=case,
            actor=actor,
            evaluation_date=today - dt.timedelta(days=9),
            outcome="agreed",
            notice_start=today - dt.timedelta(days=8),
            notice_end=today - dt.timedelta(days=2),
        ),
        "pass_to_township": lambda: s.declaration_pass_to_township(declaration=case, actor=actor),
        "village_reject": lambda: s.declaration_village_reject(
            declaration=case, actor=actor, reason="不符合"
        ),
        "township_approve": lambda: s.declaration_township_approve(declaration=case, actor=actor),
        "township_return": lambda: s.declaration_township_return(
            declaration=case, actor=actor, reason="补正"
        ),
        "township_reject": lambda: s.declaration_township_reject(
            declaration=case, actor=actor, reason="不符合"
        ),
        "county_approve": lambda: s.declaration_county_approve(declaration=case, actor=actor),
        "county_return": lambda: s.declaration_county_return(
            declaration=case, actor=actor, reason="补正"
        ),
        "county_reject": lambda: s.declaration_county_reject(
            declaration=case, actor=actor, reason="不符合"
        ),
        "withdraw": lambda: s.declaration_withdraw(
            declaration=case, actor=actor, reason="申请人撤回"
        ),
        "appeal_file": lambda: s.appeal_file(
            declaration=case, actor=actor, reason="有异议", channel="paper"
        ),
    }
    return calls[name]()


# (transition, the state it starts from, a wrong role, a wrong region, a state where it is wrong)
MATRIX = [
    ("accept", State.SUBMITTED, "township", "other_village", State.ACCEPTED),
    ("record_visit", State.ACCEPTED, "township", "other_village", State.SUBMITTED),
    ("record_evaluation", State.VERIFIED, "county", "other_village", State.ACCEPTED),
    ("pass_to_township", State.IN_NOTICE, "township", "other_village", State.VERIFIED),
    ("village_reject", State.ACCEPTED, "township", "other_village", State.SUBMITTED),
    ("township_approve", State.TOWNSHIP_REVIEW, "grid", "other_township", State.IN_NOTICE),
    ("township_return", State.TOWNSHIP_REVIEW, "county", "other_township", State.ACCEPTED),
    ("township_reject", State.TOWNSHIP_REVIEW, "grid", "other_township", State.COUNTY_REVIEW),
    ("county_approve", State.COUNTY_REVIEW, "township", "other_county", State.TOWNSHIP_REVIEW),
    ("county_return", State.COUNTY_REVIEW, "grid", "other_county", State.TOWNSHIP_REVIEW),
    ("county_reject", State.COUNTY_REVIEW, "township", "other_county", State.IN_NOTICE),
    ("withdraw", State.ACCEPTED, None, "other_village", State.REJECTED),
    ("appeal_file", State.REJECTED, None, "other_village", State.ACCEPTED),
]


@pytest.mark.parametrize(("name", "start", "wrong_role", "wrong_region", "wrong_state"), MATRIX)
def test_wrong_role_wrong_region_and_wrong_state_are_refused(
    case,
    people,
    line,
    name,
    start,
    wrong_role,
    wrong_region,
    wrong_state,
):
    right = {
        "accept": "grid",
        "record_visit": "grid",
        "record_evaluation": "grid",
        "pass_to_township": "grid",
        "village_reject": "grid",
        "withdraw": "grid",
        "appeal_file": "township",
    }.get(name, name.split("_")[0])
    prepare(start, case, people)
    before = snapshot(case)
    for who in filter(None, (wrong_role, wrong_region)):
        with pytest.raises(s.NotPermitted):
            call(name, case, people[who])
        assert snapshot(case) == before, who

    # The same transition from a state it does not start from, by the right person.
    # Another family's case (a case and its history cannot be deleted).
    from .conftest import ID_B, declaration_input

    fresh = s.declaration_submit(
        village=case.village,
        data=declaration_input(
            id_number=ID_B, phone="13700001111", address_group="5组", address_house="3号"
        ),
    ).declaration
    Declaration.objects.filter(pk=fresh.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=21)
    )
    fresh.refresh_from_db()
    prepare(wrong_state, fresh, people)
    before = snapshot(fresh)
    with pytest.raises((s.WrongState, s.InvalidInput)):
        call(name, fresh, people[right])
    assert snapshot(fresh) == before
