"""The summary tables (apps/supervision/summaries.py) give the same figures as the live
aggregation, on the hand-worked world and on generated data; incremental refreshes
pick up changes; the page says how fresh the figures are."""

import datetime as dt
import random
import re

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse

from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Declaration, State
from apps.regions.models import Level, Region, Role
from apps.supervision.models import DailyFigures, FiguresRefresh, Span
from apps.supervision.selectors import Period, region_figures, region_figures_live
from apps.supervision.summaries import figures_refresh

from .conftest import make_staff
from .rates_world import ANDING, CST, LUJIAGOU, WOGOU, XIANGQUAN, XIANGQUAN_V, day

pytestmark = pytest.mark.django_db

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
NOVEMBER_QUERY = {"start": "2026-11-01", "end": "2026-11-30"}
FIELDS = [
    "received",
    "closed",
    "accepted_in_time",
    "enrolled_in_time",
    "clocks_due",
    "clocks_breached",
    "currently_overdue",
]


def assert_same(region, period):
    summary_total, summary_rows = region_figures(region=region, period=period)
    live_total, live_rows = region_figures_live(region=region, period=period)
    pairs = [(region.code, summary_total, live_total)]
    assert [r.region.code for r in summary_rows] == [r.region.code for r in live_rows]
    pairs += [
        (a.region.code, a.figures, b.figures) for a, b in zip(summary_rows, live_rows, strict=True)
    ]
    for code, a, b in pairs:
        for name in FIELDS:
            assert getattr(a, name) == getattr(b, name), (code, period, name)
        for name in ("avg_days_to_accept", "avg_days_to_enrol"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None), (code, period, name)
            assert x is None or x == pytest.approx(y), (code, period, name)
    return summary_total


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_summaries_match_the_live_figures_on_the_hand_worked_world(regions, world):
    for code in ("620000000000", "621100000000", ANDING, LUJIAGOU, XIANGQUAN, WOGOU):
        for period in (
            NOVEMBER,
            Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
            Period(dt.date(2026, 11, 10), dt.date(2026, 11, 10)),
        ):
            assert_same(regions[code], period)
    total = assert_same(regions[ANDING], NOVEMBER)
    assert (total.received, total.clocks_due, total.clocks_breached) == (5, 7, 4)
    # The by_child=False form (one group: the region itself).
    a, _ = region_figures(region=regions[ANDING], period=NOVEMBER, by_child=False)
    b, _ = region_figures_live(region=regions[ANDING], period=NOVEMBER, by_child=False)
    assert (a.received, a.clocks_due, a.avg_days_to_enrol) == (b.received, b.clocks_due, 14.0)


def _random_world(regions, n=200, seed=20261201):
    """`n` declarations in the demo villages over October–December 2026, in every
    state, with verify and enrolment clocks met, met late, running, breached or stopped,
    plus a few clocks of another kind of case."""
    rng = random.Random(seed)
    villages = [r for r in regions.values() if r.level == Level.VILLAGE]
    for i in range(n):
        village = rng.choice(villages)
        submitted = dt.datetime(2026, 10, 1, tzinfo=CST) + dt.timedelta(
            minutes=rng.randrange(90 * 24 * 60)
        )
        state = rng.choice(list(State))
        d = Declaration.objects.create(
            tracking_number=f"9{i:011d}",
            state=state,
            channel="qr",
            village=village,
            region_code=village.code,
            name=f"随{i}",
            phone="13900000000",
            phone_hash=f"rp{i}",
            id_number="x",
            id_hash=f"rid{i}",
            address_group="1组",
            submitted_at=submitted,
        )
        stopped = state in (State.WITHDRAWN, State.MERGED) and rng.random() < 0.7
        for stage, days in ((Stage.VERIFY, 7), (Stage.ENROL, 21)):
            if rng.random() < 0.1:
                continue  # no clock at all
            due_on = submitted.astimezone(CST).date() + dt.timedelta(days=days)
            due_at = dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time.min, tzinfo=CST)
            met = submitted + dt.timedelta(days=rng.uniform(0, 30)) if rng.random() < 0.7 else None
            breached = (met is not None and met > due_at) or (met is None and rng.random() < 0.5)
            Clock.objects.create(
                subject_type="declaration",
                subject_id=d.pk,
                stage=stage,
                region_code=village.code,
                started_at=submitted,
                due_on=due_on,
                due_at=due_at,
                met_at=met,
                breached_at=due_at if breached else None,
                working_days_taken=(
                    rng.choice([None, rng.randrange(1, 25)]) if met and not stopped else None
                ),
                cancelled=stopped and (rng.random() < 0.8),
            )
    for i in range(20):  # clocks of other kinds of case count in the overdue rate
        village = rng.choice(villages)
        due_on = dt.date(2026, 10, 1) + dt.timedelta(days=rng.randrange(80))
        due_at = dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time.min, tzinfo=CST)
        Clock.objects.create(
            subject_type="household",
            subject_id=i,
            stage=Stage.HELP_PLAN,
            region_code=village.code,
            due_on=due_on,
            due_at=due_at,
            breached_at=due_at if rng.random() < 0.4 else None,
            cancelled=rng.random() < 0.2,
        )


@time_machine.travel(day(12, 10, 10), tick=False)
def test_the_summaries_match_the_live_figures_on_generated_data(regions):
    _random_world(regions)
    figures_refresh(since=None)
    periods = [
        Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        Period(dt.date(2026, 12, 5), dt.date(2026, 12, 20)),  # runs past today
        Period(dt.date(2026, 10, 17), dt.date(2026, 10, 17)),
        # Part of October, the whole of November (its month rows), part of December.
        Period(dt.date(2026, 10, 17), dt.date(2026, 12, 8)),
    ]
    assert_months_sum_their_days()
    codes = {"620000000000", "621100000000", ANDING, "621121000000", LUJIAGOU, WOGOU}
    codes |= {r.code for r in regions.values() if r.level == Level.TOWNSHIP}
    codes.add(next(r.code for r in regions.values() if r.level == Level.VILLAGE))
    checked = 0
    for code in sorted(codes):
        for period in periods:
            checked += assert_same(regions[code], period).received
    assert checked > 100  # the data reach the regions checked


def assert_months_sum_their_days():
    """Every month row is the sum of its month's day rows, and every month with day
    rows has its month row."""
    days = {
        (g["level"], g["code"], g["month"]): g["n"]
        for g in DailyFigures.objects.filter(span=Span.DAY)
        .annotate(month=TruncMonth("day"))
        .values("level", "code", "month")
        .annotate(n=Sum("received") + Sum("clocks_due") + Sum("enrolled") + Sum("breached"))
    }
    months = {
        (r.level, r.code, r.day): r.received + r.clocks_due + r.enrolled + r.breached
        for r in DailyFigures.objects.filter(span=Span.MONTH)
    }
    assert days and months == days


@time_machine.travel(day(12, 1, 10), tick=False)
def test_an_incremental_refresh_recomputes_recent_days_only(regions, world):
    rows = DailyFigures.objects.count()
    assert rows and DailyFigures.objects.filter(level=Level.COUNTY, code=ANDING[:6]).exists()
    # E is withdrawn (submitted 20 Nov); a refresh from 15 Nov picks it up.
    Declaration.objects.filter(pk=world["E"].pk).update(state=State.WITHDRAWN)
    stale, _ = region_figures(region=regions[ANDING], period=NOVEMBER)
    assert stale.closed == 3
    figures_refresh(since=dt.date(2026, 11, 15))
    fresh, _ = region_figures(region=regions[ANDING], period=NOVEMBER)
    assert fresh.closed == 4 and DailyFigures.objects.count() == rows
    assert_same(regions[ANDING], NOVEMBER)
    # November's month rows (what a page over the whole month reads) moved too.
    assert_months_sum_their_days()
    # A change before `since` waits for the next full rebuild.
    Declaration.objects.filter(pk=world["C"].pk).update(state=State.REJECTED)
    figures_refresh(since=dt.date(2026, 11, 15))
    assert region_figures(region=regions[ANDING], period=NOVEMBER)[0].closed == 4
    call_command("refresh_figures", "--full", verbosity=0)
    assert region_figures(region=regions[ANDING], period=NOVEMBER)[0].closed == 5
    assert_same(regions[XIANGQUAN], NOVEMBER)
    assert FiguresRefresh.objects.latest("finished_at").since is None


@time_machine.travel(day(12, 1, 10), tick=False)
def test_new_cases_and_overdue_clocks_wait_for_the_refresh(regions, world):
    # Currently overdue comes from the summaries too (OverdueFigures): as fresh as the
    # other figures, the time on the page.
    Clock.objects.create(
        subject_type="household",
        subject_id=1,
        stage=Stage.HELP_PLAN,
        region_code=XIANGQUAN_V,
        due_on=dt.date(2026, 11, 20),
        due_at=day(11, 21),
        breached_at=day(11, 21),
    )
    before, _ = region_figures(region=regions[XIANGQUAN], period=NOVEMBER)
    assert (before.clocks_due, before.currently_overdue) == (1, 1)
    call_command("refresh_figures", verbosity=0)  # the last 120 days
    after, _ = region_figures(region=regions[XIANGQUAN], period=NOVEMBER)
    assert (after.clocks_due, after.clocks_breached, after.currently_overdue) == (2, 2, 2)
    assert_same(regions[XIANGQUAN], NOVEMBER)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_page_says_how_fresh_the_figures_are(client, regions, world):
    user = make_staff("county-sup", regions[ANDING], Role.COUNTY)
    client.force_login(user)
    url = reverse("supervision:region", args=[ANDING])
    FiguresRefresh.objects.update(finished_at=day(12, 1, 9) + dt.timedelta(minutes=50))
    page = client.get(url, {"start": "2026-11-01", "end": "2026-11-30"}).content.decode()
    assert "09:50" in page
    FiguresRefresh.objects.all().delete()
    page = client.get(url, {"start": "2026-11-01", "end": "2026-11-30"}).content.decode()
    assert "09:50" not in page and "57.1%" in page  # the rows stay; only the time is gone
    assert Region.objects.filter(code=ANDING).exists()


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_page_shows_new_figures_after_each_refresh_and_only_then(client, regions, world):
    """The figures part of the page is kept in the cache under the last refresh: a
    change to the cases shows once a refresh has run, the named lists at once."""
    user = make_staff("county-sup", regions[ANDING], Role.COUNTY)
    client.force_login(user)
    url = reverse("supervision:region", args=[ANDING])
    FiguresRefresh.objects.update(finished_at=day(12, 1, 9))  # the world's, an hour ago

    def kpi(page, label):
        return re.search(rf'<span class="kpi[^"]*">([^<]+)</span>{label}', page).group(1)

    page = client.get(url, NOVEMBER_QUERY).content.decode()
    assert kpi(page, "办结率") == "60.0%"
    Declaration.objects.filter(pk=world["E"].pk).update(state=State.WITHDRAWN)
    page = client.get(url, NOVEMBER_QUERY).content.decode()
    assert kpi(page, "办结率") == "60.0%"  # as of the last refresh, as the page says
    figures_refresh(since=dt.date(2026, 11, 15))
    page = client.get(url, NOVEMBER_QUERY).content.decode()
    assert kpi(page, "办结率") == "80.0%"
    # Another user of the county reads the same figures; an outsider is refused first.
    other = make_staff("county-sup-2", regions[ANDING], Role.COUNTY)
    client.force_login(other)
    assert kpi(client.get(url, NOVEMBER_QUERY).content.decode(), "办结率") == "80.0%"
    client.force_login(make_staff("xiangquan-sup", regions[XIANGQUAN], Role.TOWNSHIP))
    assert client.get(url, NOVEMBER_QUERY).status_code == 404


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_cached_figures_link_to_the_children_with_the_period_not_a_visitors_query(
    client, regions, world
):
    """The figures part is rendered once and shown to every user of the region: its
    links to the children carry the period, never what a first visitor put in the query
    string."""
    client.force_login(make_staff("county-sup", regions[ANDING], Role.COUNTY))
    url = reverse("supervision:region", args=[ANDING])
    hostile = {**NOVEMBER_QUERY, "x": '"><script>alert(1)</script>'}
    first = client.get(url, hostile).content.decode()
    assert "<script>alert(1)" not in first
    client.force_login(make_staff("county-sup-2", regions[ANDING], Role.COUNTY))
    page = client.get(url, NOVEMBER_QUERY).content.decode()
    child = reverse("supervision:region", args=[LUJIAGOU])
    start, end = NOVEMBER_QUERY["start"], NOVEMBER_QUERY["end"]
    assert f'href="{child}?start={start}&amp;end={end}"' in page
    assert "alert(1)" not in page


def summary_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "supervision_dailyfigures" in q["sql"]]


@time_machine.travel(day(12, 1, 10), tick=False)
def test_after_a_refresh_the_worker_has_computed_the_pages_supervisors_land_on(
    client, regions, world
):
    """The refresh task computes, for the province, the cities and the counties, the
    figures part of each preset period: their first visitor after the refresh reads no
    summary row. A period nobody computed, or a township, is computed by its first
    visitor."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.supervision.tasks import refresh_figures

    refresh_figures()
    county = make_staff("county-sup", regions[ANDING], Role.COUNTY)
    client.force_login(county)
    url = reverse("supervision:region", args=[ANDING])
    for _label, period in Period.presets():
        query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url, query)
        assert page.status_code == 200
        assert summary_reads(queries) == []
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200  # the default: this year
    assert summary_reads(queries) == []
    # The presets are offered at one tap, the shown one marked.
    this_month = Period.this_month()
    assert (
        f'<a href="?start={this_month.start}&amp;end={this_month.end}" aria-current="true">本月</a>'
        in client.get(url, {"start": this_month.start, "end": this_month.end}).content.decode()
    )
    with CaptureQueriesContext(connection) as queries:
        client.get(url, NOVEMBER_QUERY)
    assert summary_reads(queries)
    client.force_login(make_staff("township-sup", regions[LUJIAGOU], Role.TOWNSHIP))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("supervision:region", args=[LUJIAGOU]))
    assert summary_reads(queries)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_page_is_served_when_the_cache_cannot_be_reached(client, regions, world, settings):
    user = make_staff("county-sup", regions[ANDING], Role.COUNTY)
    client.force_login(user)
    # Nothing listens on port 1: every cache call fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    response = client.get(reverse("supervision:region", args=[ANDING]), NOVEMBER_QUERY)
    assert response.status_code == 200
    assert '<span class="kpi">60.0%</span>办结率' in response.content.decode()
    # The refresh still runs; the pages compute their own figures.
    from apps.supervision.page_figures import warm_page_figures

    assert warm_page_figures() == 0


def test_the_weekly_chart_counts_received_declarations_from_the_summaries(regions):
    from apps.declarations.services import declaration_submit
    from apps.supervision.selectors import weekly_trend

    from .conftest import ID_A, ID_B, declaration_input

    wogou = Region.objects.get(code=WOGOU)
    for id_number in (ID_A, ID_B):
        declaration_submit(village=wogou, data=declaration_input(id_number=id_number))
    province = Region.objects.get(level=Level.PROVINCE)
    assert weekly_trend(region=province)[-1]["received"] == 0  # not yet summarised
    figures_refresh(since=None)
    for region in (province, Region.objects.get(code=ANDING), wogou):
        assert weekly_trend(region=region)[-1]["received"] == 2
    assert weekly_trend(region=Region.objects.get(code=XIANGQUAN))[-1]["received"] == 0
