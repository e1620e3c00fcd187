from celery import shared_task

from .summaries import default_since, figures_refresh


@shared_task
def refresh_figures(full: bool = False) -> int:
    """Recompute the dashboards' summary rows: the recent days, or all (`full`)."""
    return figures_refresh(since=None if full else default_since()).rows
