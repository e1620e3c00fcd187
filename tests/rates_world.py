"""A small world of cases whose supervision figures were worked out by hand
(docs/rates.md); used by the rate and dashboard tests."""

import datetime as dt

import pytest

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Declaration, State
from apps.supervision.summaries import figures_refresh

CST = dt.timezone(dt.timedelta(hours=8))
ANDING, LUJIAGOU, XIANGQUAN = "621102000000", "621102100000", "621102101000"
WOGOU, TAIPING, XIANGQUAN_V = "621102100201", "621102100202", "621102101201"


def day(m, d, h=0):
    return dt.datetime(2026, m, d, h, tzinfo=CST)


def case(regions, key, village, submitted, state, verify, enrol, cancelled=False):
    """verify/enrol: (due date, met at or None, breached: bool, working days taken).
    `cancelled`: the case closed (withdrawn, merged) and stopped its clocks."""
    declaration = Declaration.objects.create(
        tracking_number=f"{key:0>12}",
        state=state,
        channel="qr",
        village=regions[village],
        region_code=village,
        name=f"户{key}",
        phone="13900000000",
        phone_hash=f"p{key}",
        id_number="x",
        id_hash=f"id{key}",
        address_group="1组",
        submitted_at=submitted,
    )
    for stage, (due, met, breached, taken) in ((Stage.VERIFY, verify), (Stage.ENROL, enrol)):
        due_at = dt.datetime.combine(due + dt.timedelta(days=1), dt.time.min, tzinfo=CST)
        Clock.objects.create(
            subject_type="declaration",
            subject_id=declaration.pk,
            stage=stage,
            region_code=village,
            started_at=submitted,
            due_on=due,
            due_at=due_at,
            met_at=met,
            breached_at=due_at if breached else None,
            working_days_taken=None if cancelled else taken,
            cancelled=cancelled,
        )
    return declaration


@pytest.fixture
def world(regions):
    cases = _world(regions)
    # The dashboards read the summary tables: fill them, as the Celery task would.
    figures_refresh(since=None)
    return cases


def _world(regions):
    d = dt.date
    return {
        "A": case(
            regions,
            1,
            WOGOU,
            day(11, 2, 9),
            State.ENROLLED,
            (d(2026, 11, 9), day(11, 5, 10), False, 3),
            (d(2026, 11, 23), day(11, 20, 10), False, 14),
        ),
        "B": case(
            regions,
            2,
            WOGOU,
            day(11, 3, 9),
            State.REJECTED,
            (d(2026, 11, 10), day(11, 12, 10), True, 7),
            (d(2026, 11, 24), day(11, 13, 10), False, 8),
        ),
        "C": case(
            regions,
            3,
            TAIPING,
            day(11, 10, 9),
            State.ACCEPTED,
            (d(2026, 11, 17), None, True, None),
            (d(2026, 12, 1), None, False, None),
        ),
        "D": case(
            regions,
            4,
            XIANGQUAN_V,
            day(11, 16, 9),
            State.WITHDRAWN,
            (d(2026, 11, 23), day(11, 18, 10), False, 2),
            (d(2026, 12, 7), day(11, 18, 10), False, 2),
            cancelled=True,
        ),
        "E": case(
            regions,
            5,
            XIANGQUAN_V,
            day(11, 20, 9),
            State.SUBMITTED,
            (d(2026, 11, 27), None, True, None),
            (d(2026, 12, 11), None, False, None),
        ),
        "F": case(
            regions,
            6,
            WOGOU,
            day(10, 20, 9),
            State.TOWNSHIP_REVIEW,
            (d(2026, 10, 27), day(10, 23, 10), False, 3),
            (d(2026, 11, 10), None, True, None),
        ),
        "G": case(
            regions,
            7,
            WOGOU,
            day(11, 5, 9),
            State.MERGED,
            (d(2026, 11, 12), day(11, 6, 10), False, 1),
            (d(2026, 11, 26), day(11, 6, 10), False, 1),
            cancelled=True,
        ),
    }
