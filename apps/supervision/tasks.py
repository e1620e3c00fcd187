from celery import shared_task

from apps.core.locks import exclusive

from .page_figures import warm_page_figures
from .summaries import default_since, figures_refresh


@shared_task
def refresh_figures(full: bool = False) -> int:
    """Recompute the dashboards' summary rows: the recent days, or all (`full`); then
    the figures of the pages supervisors land on, so that their first visitor after
    the refresh does not wait for them."""
    rows = figures_refresh(since=None if full else default_since()).rows
    warm_page_figures()
    return rows


@shared_task
@exclusive("detect-anomalies")
def detect_anomalies() -> int:
    """Run the anomaly rules (apps/supervision/anomalies.py); how many alerts are new."""
    from .anomalies import anomalies_run

    return len(anomalies_run())


@shared_task
def check_surge(region_code: str) -> int:
    """After a declaration: a surge of declarations in its village or township today?"""
    from django.core.cache import cache

    from .anomalies import surge_check
    from .signals import surge_check_key

    # Before counting: a declaration committed after the count queues the next check.
    cache.delete(surge_check_key(region_code))
    return len(surge_check(region_code))
