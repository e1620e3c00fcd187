"""Celery tasks of the screening app: thin wrappers that call a service."""

from celery import shared_task

from apps.core.imports import TASK_OPTIONS, run_task

from .feeds import FeedImporter
from .services import civil_affairs_exports_all
from .services.reminders import sweep


@shared_task
def sweep_deadlines() -> dict[str, int]:
    """Every clock of the system: breaches flagged, reminders sent (warnings included)."""
    return sweep()


@shared_task
def export_for_civil_affairs() -> int:
    """Weekly: each county's declarations exported for civil affairs and compared with
    the assistance rolls; declarants on none become low-income warnings."""
    return civil_affairs_exports_all()


@shared_task(**TASK_OPTIONS)
def import_feed(self, batch_id: int) -> str:
    """One department batch (an upload or an API batch): checked, matched, raised."""
    return run_task(self, FeedImporter, batch_id)
