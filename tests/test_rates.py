"""The published rates, against a small fixture whose figures were worked out by hand
(docs/rates.md gives the definitions and this same worked example)."""

import datetime as dt

import pytest
import time_machine

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Declaration, State
from apps.supervision.selectors import Period, late_cases, region_figures

pytestmark = pytest.mark.django_db

CST = dt.timezone(dt.timedelta(hours=8))
ANDING, LUJIAGOU, XIANGQUAN = "621102000000", "621102100000", "621102101000"
WOGOU, TAIPING, XIANGQUAN_V = "621102100201", "621102100202", "621102101201"


def day(m, d, h=0):
    return dt.datetime(2026, m, d, h, tzinfo=CST)


def case(regions, key, village, submitted, state, verify, enrol):
    """verify/enrol: (due date, met at or None, breached: bool, working days taken)."""
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
            working_days_taken=taken,
        )
    return declaration


@pytest.fixture
def world(regions):
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
        ),
    }


NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_county_s_figures_match_the_hand_worked_example(regions, world):
    total, rows = region_figures(region=regions[ANDING], period=NOVEMBER)
    assert (total.received, total.closed) == (5, 3)  # A–E; F is October's, G was merged
    assert total.completion_rate == pytest.approx(0.6)
    assert (total.accepted_in_time, total.enrolled_in_time) == (2, 1)  # A, D; A
    assert (total.clocks_due, total.clocks_breached) == (10, 4)  # B, C, E verify; F enrol
    assert total.overdue_rate == pytest.approx(0.4)
    assert total.currently_overdue == 3  # C, E verify; F enrol
    assert total.avg_days_to_accept == pytest.approx(4.0)  # (3 + 7 + 2) / 3
    assert total.avg_days_to_enrol == pytest.approx(14.0)

    by_code = {row.region.code: row.figures for row in rows}
    lujiagou, xiangquan = by_code[LUJIAGOU], by_code[XIANGQUAN]
    assert (lujiagou.received, lujiagou.closed, lujiagou.accepted_in_time) == (3, 2, 1)
    assert lujiagou.completion_rate == pytest.approx(2 / 3)
    assert (lujiagou.clocks_due, lujiagou.clocks_breached, lujiagou.currently_overdue) == (8, 3, 2)
    assert lujiagou.avg_days_to_accept == pytest.approx(5.0)
    assert (
        xiangquan.received,
        xiangquan.closed,
        xiangquan.clocks_due,
        xiangquan.clocks_breached,
    ) == (2, 1, 2, 1)
    assert xiangquan.overdue_rate == pytest.approx(0.5) and xiangquan.avg_days_to_enrol is None


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_named_lists(regions, world):
    not_accepted = [d.name for d in late_cases(region=regions[ANDING], stage=Stage.VERIFY)]
    not_enrolled = [d.name for d in late_cases(region=regions[ANDING], stage=Stage.ENROL)]
    assert not_accepted == ["户3", "户5"]
    assert not_enrolled == ["户6"]
    assert [d.name for d in late_cases(region=regions[XIANGQUAN], stage=Stage.VERIFY)] == ["户5"]


@time_machine.travel(day(12, 1, 10), tick=False)
def test_a_village_s_figures_and_an_empty_region(regions, world):
    total, rows = region_figures(region=regions[WOGOU], period=NOVEMBER)
    assert rows == [] and (total.received, total.closed, total.clocks_due) == (2, 2, 7)
    empty, _ = region_figures(region=regions["621121000000"], period=NOVEMBER)
    assert empty.received == 0 and empty.completion_rate is None and empty.overdue_rate is None
