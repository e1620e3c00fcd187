"""The figures part of a supervision page: everything it shows from the summary
tables (totals, the table by child region, the breakdowns, the two charts), computed
from them, rendered once, and kept in Django's cache until the next refresh.

The Celery worker computes the pages supervisors land on right after each refresh
(`warm_page_figures`: the province, the cities and the counties, for the page's
preset periods), so that their first visitor does not pay for them; any other page or
period is computed by its first request after a refresh."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps.declarations.models import Channel
from apps.households.models import Difficulty
from apps.regions.models import Level, Region

from . import charts
from .selectors import ONE_CLICK_GOAL, Period, region_figures, weekly_trend
from .summaries import last_refresh

logger = logging.getLogger(__name__)

# How long the figures of a page stay cached: a refresh changes the key anyway.
FIGURES_CACHE_SECONDS = 30 * 60


def _freshness(refresh) -> str | None:
    """When the summary tables (and currently overdue) were last refreshed: "HH:MM"
    today, else with the day."""
    if refresh is None:
        return None
    local = timezone.localtime(refresh.finished_at)
    return f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%Y-%m-%d %H:%M}"


def _cache_key(refresh, region, period) -> str:
    """The figures of a region and period as of a refresh, on a day, in a language."""
    return ":".join(
        [
            "supervision-page-figures",
            f"{refresh.pk}-{refresh.finished_at.timestamp()}" if refresh else "none",
            region.code,
            period.start.isoformat(),
            period.end.isoformat(),
            timezone.localdate().isoformat(),
            get_language(),
        ]
    )


def page_figures(region, period) -> dict:
    """The page's figures, tables and charts: everything that comes from the summary
    tables. They change only when a refresh rewrites those, so they are kept in the
    cache under the last refresh (and the day, and the language of the charts): the
    first request after a refresh computes them, the others read them. The caller has
    checked that the user may see the region."""
    refresh = last_refresh()
    key = _cache_key(refresh, region, period)
    try:
        figures = cache.get_or_set(
            key, lambda: _figures_computed(region, period), FIGURES_CACHE_SECONDS
        )
    except Exception as exc:  # the cache's client errors differ by backend
        # Redis full (it evicts nothing: it is also the broker) or unreachable: the
        # page is computed as if the cache were empty, not refused.
        logger.warning("dashboard figures not cached (%s)", type(exc).__name__)
        figures = _figures_computed(region, period)
    return {**figures, "refreshed": _freshness(refresh)}


def _figures_computed(region, period) -> dict:
    """The figures, and the part of the page that shows them rendered once
    (supervision/_region_figures.html: every request until the next refresh shows the
    same), its links to the children keeping the period."""
    figures = _figures_of(region, period)
    figures["figures_html"] = render_to_string(
        "supervision/_region_figures.html", {**figures, "period_query": period.query}
    )
    return figures


def _figures_of(region, period) -> dict:
    total, rows = region_figures(region=region, period=period)
    ranked = sorted(
        (r for r in rows if r.figures.overdue_rate is not None),
        key=lambda r: -r.figures.overdue_rate,
    )
    trend = weekly_trend(region=region)
    return {
        "total": total,
        "rows": rows,
        "ranking_svg": charts.bars(
            [(r.region.name, r.figures.overdue_rate, "#b40000") for r in ranked[:20]],
            title=_("Regions ranked by overdue rate"),
            axis_label=_("Overdue rate: deadlines missed of those due in the period"),
            legend=[(_("Overdue rate"), "#b40000")],
        ),
        "trend_svg": charts.columns(
            [
                (_("Received"), [w["received"] for w in trend], "#0b57d0"),
                (_("Deadlines breached"), [w["breached"] for w in trend], "#b40000"),
            ],
            [f"{w['week']:%m-%d}" for w in trend],
            title=_("Weekly trend (last 12 weeks)"),
            y_label=_("Cases"),
            x_label=_("Week starting (month-day)"),
        ),
        **_enrolled_context(total),
        # Translated once, not once per cell of every child region.
        "channels": [str(label) for label in Channel.labels],
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _enrolled_context(total) -> dict:
    """The new monitored households of the region and period, broken down."""
    return {
        "one_click_goal": round(ONE_CLICK_GOAL * 100),
        "enrolled_channels": [
            (str(Channel(c).label), n, _share(n, total.enrolled))
            for c, n in total.enrolled_by_channel.items()
        ],
        "enrolled_causes": [
            (str(Difficulty(k).label), n, _share(n, total.enrolled))
            for k, n in total.enrolled_by_cause.items()
        ],
        "months": list(total.by_month.items()),
    }


def warm_page_figures() -> int:
    """After a refresh: the figures part of the pages supervisors land on, computed and
    cached by the worker (the province, the cities and the counties, for each of the
    page's preset periods, in the interface's language). Stops at the first error of
    the cache (the pages then compute their own). How many were computed."""
    computed = 0
    refresh = last_refresh()
    regions = Region.objects.filter(level__lte=Level.COUNTY).order_by("code")
    with translation.override(settings.LANGUAGE_CODE):
        for region in regions:
            for _label, period in Period.presets():
                key = _cache_key(refresh, region, period)
                try:
                    if cache.get(key) is None:  # else a visitor was first
                        cache.set(key, _figures_computed(region, period), FIGURES_CACHE_SECONDS)
                        computed += 1
                except Exception as exc:  # the cache's client errors differ by backend
                    logger.warning("dashboard figures not warmed (%s)", type(exc).__name__)
                    return computed
    return computed
