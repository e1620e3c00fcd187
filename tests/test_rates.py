"""The published rates, against a small fixture whose figures were worked out by hand
(docs/rates.md gives the definitions and this same worked example)."""

import datetime as dt

import pytest
import time_machine

from apps.deadlines.models import Stage
from apps.supervision.selectors import Period, late_cases, region_figures

from .rates_world import ANDING, LUJIAGOU, WOGOU, XIANGQUAN, day

pytestmark = pytest.mark.django_db

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_county_s_figures_match_the_hand_worked_example(regions, world):
    total, rows = region_figures(region=regions[ANDING], period=NOVEMBER)
    assert (total.received, total.closed) == (5, 3)  # A–E; F is October's, G was merged
    assert total.completion_rate == pytest.approx(0.6)
    # D was withdrawn and G merged: their clocks stopped, neither met nor due.
    assert (total.accepted_in_time, total.enrolled_in_time) == (1, 1)  # A; A
    assert (total.clocks_due, total.clocks_breached) == (7, 4)  # B, C, E verify; F enrol
    assert total.overdue_rate == pytest.approx(4 / 7)
    assert total.currently_overdue == 3  # C, E verify; F enrol
    assert total.avg_days_to_accept == pytest.approx(5.0)  # (3 + 7) / 2
    assert total.avg_days_to_enrol == pytest.approx(14.0)

    by_code = {row.region.code: row.figures for row in rows}
    lujiagou, xiangquan = by_code[LUJIAGOU], by_code[XIANGQUAN]
    assert (lujiagou.received, lujiagou.closed, lujiagou.accepted_in_time) == (3, 2, 1)
    assert lujiagou.completion_rate == pytest.approx(2 / 3)
    assert (lujiagou.clocks_due, lujiagou.clocks_breached, lujiagou.currently_overdue) == (6, 3, 2)
    assert lujiagou.avg_days_to_accept == pytest.approx(5.0)
    assert (
        xiangquan.received,
        xiangquan.closed,
        xiangquan.clocks_due,
        xiangquan.clocks_breached,
    ) == (2, 1, 1, 1)
    assert xiangquan.overdue_rate == pytest.approx(1.0) and xiangquan.avg_days_to_accept is None


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
    assert rows == [] and (total.received, total.closed, total.clocks_due) == (2, 2, 5)
    empty, _ = region_figures(region=regions["621121000000"], period=NOVEMBER)
    assert empty.received == 0 and empty.completion_rate is None and empty.overdue_rate is None
