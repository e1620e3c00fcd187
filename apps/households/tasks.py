"""Celery tasks of the households app: thin wrappers that call a service.

Periodic: the daily end of time-bound measures and the monthly look-back sampling
(config/celery.py). The roster import task lives here too.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .roster import roster_import_abort, roster_import_run
from .services import lookbacks_sample, measures_end_expired


@shared_task
def end_expired_measures() -> int:
    return measures_end_expired()


@shared_task
def sample_look_backs() -> int:
    return lookbacks_sample()


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def import_roster(import_id: int) -> str:
    # A lost connection retries (the file stays until the import ends); anything else,
    # or the last retry, fails the import so that its page stops waiting.
    try:
        roster_import = roster_import_run(import_id=import_id)
    except (OperationalError, InterfaceError):
        if import_roster.request.retries >= import_roster.max_retries:
            roster_import_abort(import_id=import_id)
        raise
    except Exception:
        roster_import_abort(import_id=import_id)
        raise
    return roster_import.status if roster_import else "skipped"
