"""The dashboard's charts, drawn on the server as SVG: axes with a scale, the value of
each bar, the dates or names along the axis, a legend, a title for screen readers; no
style attribute (the CSP), no script, nothing fetched; and the bulletin prints them."""

import re
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.urls import reverse

from apps.regions.models import Role
from apps.supervision import charts

from .conftest import make_staff
from .rates_world import ANDING, day

SVG = "{http://www.w3.org/2000/svg}"
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 — our own output, not untrusted input


def texts(svg: str, css_class: str | None = None) -> list[str]:
    """The text of the chart's <text> elements (inside the class's group when given)."""
    root = parse(svg)
    scope = root
    if css_class:
        scope = next(e for e in root.iter() if css_class in (e.get("class") or "").split())
    return [t.text for t in scope.iter(f"{SVG}text")]


def assert_clean(svg: str) -> None:
    assert (
        "style=" not in svg
        and "<script" not in svg
        and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


RANKING = [("安定区", 0.25, "#b40000"), ("通渭县", 0.1, "#b40000")]
TREND = [("申报数", [3, 5, 0, 12], "#0b57d0"), ("超期时限数", [0, 1, 2, 0], "#b40000")]
WEEKS = ["11-02", "11-09", "11-16", "11-23"]


def test_the_ranking_has_names_values_a_scale_and_a_legend():
    svg = charts.bars(
        RANKING, title="各地逾期率排名", axis_label="逾期率", legend=[("逾期率", "#b40000")]
    )
    assert_clean(svg)
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "各地逾期率排名"
    assert root.get("aria-label") == "各地逾期率排名" and root.get("role") == "img"
    labels = texts(svg)
    assert "安定区" in labels and "通渭县" in labels  # the names along the axis
    assert "25%" in labels and "10%" in labels  # each bar's value
    axis = texts(svg, "chart-axis")
    assert axis[:6] == ["0%", "5%", "10%", "15%", "20%", "25%"] and axis[-1] == "逾期率"
    assert texts(svg, "chart-legend") == ["逾期率"]
    lines = parse(svg).find(f".//{SVG}g[@class='chart-axis']").findall(f"{SVG}line")
    assert len(lines) >= 2  # the two axes and their ticks


def test_the_trend_has_dates_a_scale_both_axes_named_and_a_legend():
    svg = charts.columns(TREND, WEEKS, title="近12周走势", y_label="件数", x_label="周起始日")
    assert_clean(svg)
    assert texts(svg, "chart-legend") == ["申报数", "超期时限数"]
    labels = texts(svg)
    for week in WEEKS:
        assert week in labels
    assert [t for t in texts(svg, "chart-axis") if t.isdigit()] == ["0", "5", "10", "15"]
    assert "件数" in texts(svg, "chart-axis") and "周起始日" in texts(svg, "chart-axis")
    for value in ("3", "5", "12", "1", "2"):  # the value over each column but zeros
        assert value in labels
    # Each series' columns and its swatch share a class the bulletin's greys key on.
    root = parse(svg)
    series = [r.get("class") for r in root.iter(f"{SVG}rect") if "chart-bar" in r.get("class")]
    assert series.count("chart-bar chart-series-0") == 4
    assert series.count("chart-bar chart-series-1") == 4


def test_the_old_calls_still_draw():
    """Callers that pass no title, axis names or legend get the same charts, unnamed."""
    svg = charts.bars(RANKING)
    assert_clean(svg)
    assert "25%" in texts(svg) and "chart-legend" not in svg
    assert parse(svg).find(f"{SVG}title") is None
    svg = charts.columns(TREND, WEEKS, width=500, height=180)
    assert texts(svg, "chart-legend") == ["申报数", "超期时限数"]
    assert charts.bars([]) == "" and charts.columns(TREND, []) == ""
    assert "0%" in texts(charts.bars([("甲", 0.0, "#000")]))  # nothing overdue: a scale still


@pytest.mark.parametrize(
    ("top", "whole", "ticks"),
    [(0.37, False, [0, 0.1, 0.2, 0.3, 0.4]), (12, True, [0, 5, 10, 15]), (3, True, [0, 1, 2, 3])],
)
def test_the_scale_is_round(top, whole, ticks):
    assert charts.nice_ticks(top, whole=whole) == pytest.approx(ticks)


@pytest.mark.django_db
@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_dashboard_and_the_bulletin_show_the_labelled_charts(client, regions, world):
    province = make_staff("province-sup", regions["620000000000"], Role.PROVINCE)
    client.force_login(province)
    for name in ("supervision:region", "supervision:bulletin"):
        page = client.get(reverse(name, args=[ANDING]), NOVEMBER).content.decode()
        svgs = re.findall(r"<svg.*?</svg>", page, re.S)
        assert len(svgs) == 2, name
        ranking, trend = sorted(svgs, key=lambda s: "逾期率排名" not in s)
        assert "逾期率" in texts(ranking, "chart-legend")
        assert "鲁家沟镇" in texts(ranking) and "60%" in texts(ranking)
        assert texts(trend, "chart-legend") == ["申报数", "超期时限数"]
        assert "案件" in texts(trend, "chart-axis") and "周起始日（月-日）" in texts(trend)
        for svg in svgs:
            assert_clean(svg)
