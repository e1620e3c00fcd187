"""Celery tasks of the screening app: thin wrappers that call a service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .feeds import feed_batch_abort, feed_batch_run
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


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def import_feed(batch_id: int) -> str:
    """One department batch (an upload or an API batch): checked, matched, raised."""
    # A lost connection retries (the file stays until the batch ends); anything else,
    # or the last retry, fails the batch so that its page and its API status stop
    # waiting.
    try:
        batch = feed_batch_run(batch_id=batch_id)
    except (OperationalError, InterfaceError):
        if import_feed.request.retries >= import_feed.max_retries:
            feed_batch_abort(batch_id=batch_id)
        raise
    except Exception:
        feed_batch_abort(batch_id=batch_id)
        raise
    return batch.status if batch else "skipped"
