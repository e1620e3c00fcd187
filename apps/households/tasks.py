"""Celery tasks of the households app: thin wrappers that call a service.

Periodic: the daily end of time-bound measures and the monthly look-back sampling
(config/celery.py). The roster import task lives here too.
"""

from celery import shared_task

from apps.core.imports import TASK_OPTIONS, run_task
from apps.core.locks import exclusive

from .national import NationalImporter
from .roster import RosterImporter
from .services import lookbacks_sample, measures_end_expired


@shared_task
def end_expired_measures() -> int:
    return measures_end_expired()


@shared_task
@exclusive("look-back-sampling")
def sample_look_backs() -> int | None:
    """One run at a time (None: another run holds the lock)."""
    return lookbacks_sample()


@shared_task(**TASK_OPTIONS)
def import_roster(self, import_id: int) -> str:
    return run_task(self, RosterImporter, import_id)


@shared_task(**TASK_OPTIONS)
def import_national(self, import_id: int) -> str:
    return run_task(self, NationalImporter, import_id)
