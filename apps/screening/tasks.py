"""Celery tasks of the screening app: thin wrappers that call a service."""

from celery import shared_task
from django.core.management import call_command

from apps.core.imports import TASK_OPTIONS, run_task
from apps.core.locks import exclusive

from .feeds import FeedImporter
from .services import civil_affairs_exports_all
from .services.reminders import sweep


@shared_task
def sweep_deadlines() -> dict[str, int]:
    """Every clock of the system: breaches flagged, reminders sent (warnings included)."""
    return sweep()


@shared_task
@exclusive("civil-affairs-exports")
def export_for_civil_affairs() -> int | None:
    """Weekly: each county's declarations exported for civil affairs and compared with
    the assistance rolls; declarants on none become low-income warnings. One run at a
    time (None: another run holds the lock)."""
    return civil_affairs_exports_all()


@shared_task
def purge_expired() -> None:
    """Daily: what is past its retention (apps.screening.retention), one run at a time."""
    call_command("purge_expired")


@shared_task(**TASK_OPTIONS)
def import_feed(self, batch_id: int) -> str:
    """One department batch (an upload or an API batch): checked, matched, raised."""
    return run_task(self, FeedImporter, batch_id)
