"""The monthly draw (config/celery.py): a thin wrapper around the service."""

from celery import shared_task

from apps.core.locks import exclusive

from .services import draw_counties


@shared_task
@exclusive("spot-check-draw")
def draw_spot_checks() -> int | None:
    """One run at a time (None: another run holds the lock); each county's draw is
    made once a month whatever runs (a unique constraint)."""
    return draw_counties()
