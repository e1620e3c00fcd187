"""New monitored households on the supervision dashboard, broken down by channel, by
kind of difficulty and by month, with the one-click share (docs/rates.md), on cases
worked out by hand; from the summary tables, as the live aggregation gives them."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from apps.declarations import services as ds
from apps.declarations.models import Declaration, State
from apps.regions.models import Role
from apps.supervision.selectors import Period, region_figures, region_figures_live, weekly_trend
from apps.supervision.summaries import figures_refresh

from . import rates_world
from .conftest import make_staff
from .rates_world import ANDING, LUJIAGOU, TAIPING, WOGOU, XIANGQUAN, XIANGQUAN_V, day
from .review_steps import to_county

pytestmark = pytest.mark.django_db

TONGWEI_V = "621121100202"  # a village of another county (通渭县)
OCT_NOV = Period(dt.date(2026, 10, 1), dt.date(2026, 11, 30))
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
D = dt.date
MINUTES_30 = dt.timedelta(minutes=30)


def declared(regions, key, village, channel, kinds, state, submitted, enrolled_at=None):
    """A case with its two clocks; `enrolled_at`: when the county approved it (its
    enrolment clock met then), None while it runs."""
    d = rates_world.case(
        regions,
        key,
        village,
        submitted,
        state,
        (submitted.date() + dt.timedelta(days=7), submitted + dt.timedelta(days=2), False, 2),
        (submitted.date() + dt.timedelta(days=21), enrolled_at, False, 10 if enrolled_at else None),
    )
    Declaration.objects.filter(pk=d.pk).update(channel=channel, difficulties=list(kinds))
    return d


# (key, village, channel, kinds, state, submitted, enrolled at): six households of
# 安定区 enrolled in October and November 2026, worked out by hand, then the ones not
# counted there.
CASES = [
    (1, WOGOU, "qr", ["illness"], State.ENROLLED, day(10, 10), day(11, 1) + MINUTES_30),
    (2, WOGOU, "proxy", ["illness", "income_shock"], State.ENROLLED, day(10, 20), day(11, 20, 10)),
    (3, TAIPING, "qr", ["disaster"], State.ENROLLED, day(11, 2), day(11, 25, 15)),
    (4, XIANGQUAN_V, "hotline", ["schooling"], State.ENROLLED, day(9, 25), day(10, 15, 9)),
    (5, XIANGQUAN_V, "qr", ["accident"], State.ENROLLED, day(10, 5), day(10, 31, 23) + MINUTES_30),
    # submitted in September, enrolled in November: November's
    (6, TAIPING, "warning", ["unstable_work"], State.ENROLLED, day(9, 1), day(11, 3, 11)),
    # enrolled in September
    (7, WOGOU, "paper", ["illness"], State.ENROLLED, day(8, 20), day(9, 10, 10)),
    # rejected: its enrolment clock met on 10 November
    (8, WOGOU, "qr", ["illness"], State.REJECTED, day(10, 25), day(11, 10, 10)),
    # at the county still
    (9, TAIPING, "qr", ["illness"], State.COUNTY_REVIEW, day(11, 5), None),
    # merged into a twin
    (10, WOGOU, "qr", ["illness"], State.MERGED, day(10, 5), day(10, 6)),
    # 通渭县, outside 安定区
    (11, TONGWEI_V, "qr", ["illness"], State.ENROLLED, day(10, 1), day(11, 12, 10)),
]


def _hand_worked(regions):
    for row in CASES:
        declared(regions, *row)
    figures_refresh(since=None)


@pytest.fixture
def enrolled(regions):
    _hand_worked(regions)


CHANNELS = {"qr": 3, "proxy": 1, "visit": 0, "hotline": 1, "paper": 0, "warning": 1}
CAUSES = {
    "illness": 2,
    "disability": 0,
    "schooling": 1,
    "disaster": 1,
    "accident": 1,
    "unstable_work": 1,
    "business_failure": 0,
    "income_shock": 1,
    "other": 0,
}


@time_machine.travel(day(12, 1, 10), tick=False)
def test_new_monitored_households_by_channel_cause_and_month(regions, enrolled):
    total, rows = region_figures(region=regions[ANDING], period=OCT_NOV)

    assert total.enrolled == 6
    assert total.enrolled_by_channel == CHANNELS
    assert total.enrolled_by_cause == CAUSES  # #2 counts under both of its kinds
    # One-click: QR self-declaration and on someone's behalf, 4 of 6, above the goal.
    assert total.one_click == 4
    assert total.one_click_share == pytest.approx(4 / 6) and total.one_click_goal_met is True
    # By month of enrolment (the local day: 1 Nov 00:30 is November, 31 Oct 23:30 October).
    months = {m: (f.enrolled, f.one_click) for m, f in total.by_month.items()}
    assert months == {D(2026, 10, 1): (2, 1), D(2026, 11, 1): (4, 3)}
    assert total.by_month[D(2026, 10, 1)].one_click_goal_met is False  # 50 %
    assert total.by_month[D(2026, 11, 1)].enrolled_by_channel["warning"] == 1
    # By township.
    by_township = {r.region.code: r.figures for r in rows}
    assert (by_township[LUJIAGOU].enrolled, by_township[LUJIAGOU].one_click) == (4, 3)
    assert (by_township[XIANGQUAN].enrolled, by_township[XIANGQUAN].one_click) == (2, 1)
    assert by_township[XIANGQUAN].enrolled_by_cause["schooling"] == 1

    # November only: #1, #2, #3, #6.
    november, _ = region_figures(region=regions[ANDING], period=NOVEMBER)
    assert (november.enrolled, november.one_click) == (4, 3)
    assert list(november.by_month) == [D(2026, 11, 1)]
    # A village: 窝沟村, #1 and #2.
    wogou, _ = region_figures(region=regions[WOGOU], period=OCT_NOV)
    assert (wogou.enrolled, wogou.enrolled_by_cause["illness"]) == (2, 2)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_summaries_give_the_breakdowns_the_cases_give(regions, enrolled):
    for code in ("620000000000", "621100000000", ANDING, LUJIAGOU, XIANGQUAN, TAIPING):
        for period in (OCT_NOV, NOVEMBER, Period(D(2026, 10, 31), D(2026, 11, 1))):
            summary, summary_rows = region_figures(region=regions[code], period=period)
            live, live_rows = region_figures_live(region=regions[code], period=period)
            pairs = [(summary, live)] + [
                (a.figures, b.figures) for a, b in zip(summary_rows, live_rows, strict=True)
            ]
            for a, b in pairs:
                assert a.enrolled == b.enrolled, (code, period)
                assert a.enrolled_by_channel == b.enrolled_by_channel, (code, period)
                assert a.enrolled_by_cause == b.enrolled_by_cause, (code, period)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_another_county_s_households_are_not_counted(client, regions, enrolled):
    anding, _ = region_figures(region=regions[ANDING], period=OCT_NOV)
    tongwei, _ = region_figures(region=regions["621121000000"], period=OCT_NOV)
    city, city_rows = region_figures(region=regions["621100000000"], period=OCT_NOV)
    assert (anding.enrolled, tongwei.enrolled, city.enrolled) == (6, 1, 7)
    assert {r.region.code: r.figures.enrolled for r in city_rows}[ANDING] == 6

    # 通渭县's supervisor sees its one household, and nothing of 安定区.
    client.force_login(make_staff("county-tongwei", regions["621121000000"], Role.COUNTY))
    query = {"start": "2026-10-01", "end": "2026-11-30"}
    own = client.get(reverse("supervision:region", args=["621121000000"]), query)
    assert own.context["total"].enrolled == 1
    assert client.get(reverse("supervision:region", args=[ANDING]), query).status_code == 404
    assert client.get(reverse("supervision:export", args=[ANDING]), query).status_code == 404


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_dashboard_shows_the_breakdowns_and_the_goal(client, regions, enrolled):
    client.force_login(make_staff("county-sup", regions[ANDING], Role.COUNTY))
    url = reverse("supervision:region", args=[ANDING])
    page = client.get(url, {"start": "2026-10-01", "end": "2026-11-30"}).content.decode()
    assert "新增监测户" in page and "一键申报占比" in page and "高于60%" in page
    assert "66.7%" in page  # the one-click share
    assert "2026-10" in page and "2026-11" in page  # the months
    assert "因学" in page and "12317热线" in page  # a kind of difficulty, a channel
    # October alone: 1 of 2, below the goal, marked.
    page = client.get(url, {"start": "2026-10-01", "end": "2026-10-31"}).content.decode()
    assert 'class="kpi bad">50.0%' in page


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_excel_export_has_the_breakdowns(client, regions, enrolled):
    client.force_login(make_staff("county-sup", regions[ANDING], Role.COUNTY))
    response = client.get(
        reverse("supervision:export", args=[ANDING]), {"start": "2026-10-01", "end": "2026-11-30"}
    )
    book = load_workbook(io.BytesIO(response.content))
    sheet, months = book.worksheets
    assert "安定区" in sheet["A1"].value and "2026-10-01" in sheet["A2"].value  # title, period
    header, *rows = list(sheet.iter_rows(min_row=3, values_only=True))
    total = dict(zip(header, rows[-1], strict=True))
    assert total["新增监测户"] == 6
    assert total["其中一键申报（扫码自主申报和代为申报）"] == 4
    assert total["一键申报占比%（目标：高于60%）"] == 66.7
    assert total["新增监测户：12317热线"] == 1 and total["新增监测户：部门筛查预警"] == 1
    assert total["新增监测户（致困原因）：因病"] == 2
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert (
        by_name["香泉镇"]["新增监测户"] == 2
        and by_name["香泉镇"]["一键申报占比%（目标：高于60%）"] == 50.0
    )
    head, *by_month = list(months.iter_rows(min_row=3, values_only=True))
    assert months.title == "新增监测户（按月）" and head[:2] == ("月份", "新增监测户")
    assert [(r[0], r[1], r[2], r[3]) for r in by_month] == [
        ("2026-10", 2, 1, 50.0),
        ("2026-11", 4, 3, 75.0),
    ]


@time_machine.travel(day(12, 1, 10), tick=False)
def test_an_old_case_enrolled_today_reaches_the_figures_on_the_next_refresh(regions, enrolled):
    """The incremental refresh goes by enrolment day, not submission day: a case
    submitted long before its window still counts when it is enrolled."""
    declared(regions, 12, WOGOU, "visit", ["other"], State.COUNTY_REVIEW, day(3, 2))
    declaration = Declaration.objects.get(tracking_number=f"{12:0>12}")
    from apps.deadlines.models import Clock, Stage

    Clock.objects.filter(subject_id=declaration.pk, stage=Stage.ENROL).update(met_at=day(12, 1, 9))
    Declaration.objects.filter(pk=declaration.pk).update(state=State.ENROLLED)
    december = Period(D(2026, 12, 1), D(2026, 12, 31))
    assert region_figures(region=regions[ANDING], period=december)[0].enrolled == 0
    figures_refresh(since=D(2026, 11, 1))
    total, _ = region_figures(region=regions[ANDING], period=december)
    assert (total.enrolled, total.enrolled_by_cause["other"], total.one_click) == (1, 1, 0)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_weekly_chart_counts_breaches_from_the_summaries(regions, enrolled):
    from apps.deadlines.models import Clock, Stage

    Clock.objects.create(
        subject_type="household",
        subject_id=1,
        stage=Stage.HELP_PLAN,
        region_code=XIANGQUAN_V,
        due_on=D(2026, 11, 25),
        due_at=day(11, 26),
        breached_at=day(11, 26),
    )
    week = D(2026, 11, 23)  # Monday
    assert {w["week"]: w["breached"] for w in weekly_trend(region=regions[ANDING])}[week] == 0
    figures_refresh(since=D(2026, 11, 1))
    for code in (ANDING, XIANGQUAN, "620000000000"):
        trend = {w["week"]: w["breached"] for w in weekly_trend(region=regions[code])}
        assert trend[week] == 1, code
    assert {w["week"]: w["breached"] for w in weekly_trend(region=regions[LUJIAGOU])}[week] == 0


def test_a_household_enrolled_through_the_workflow_is_counted(
    regions, case, line, grid_wogou, township_lujiagou, county_anding
):
    """The real path: a QR declaration of illness, reviewed and approved by the county."""
    to_county(case, grid_wogou, township_lujiagou)
    ds.declaration_county_approve(declaration=case, actor=county_anding)
    figures_refresh(since=None)
    total, _ = region_figures(region=regions[ANDING], period=Period.this_year())
    assert total.enrolled == 1 and total.enrolled_by_channel["qr"] == 1
    assert total.enrolled_by_cause["illness"] == 1 and total.one_click_share == 1.0
