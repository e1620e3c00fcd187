"""Celery tasks of the households app: thin wrappers that call a service.

Periodic: the daily end of time-bound measures and the monthly look-back sampling
(config/celery.py). The roster import task lives here too.
"""

from celery import shared_task

from apps.core.imports import TASK_OPTIONS, run_task

from .roster import RosterImporter
from .services import lookbacks_sample, measures_end_expired


@shared_task
def end_expired_measures() -> int:
    return measures_end_expired()


@shared_task
def sample_look_backs() -> int:
    return lookbacks_sample()


@shared_task(**TASK_OPTIONS)
def import_roster(self, import_id: int) -> str:
    return run_task(self, RosterImporter, import_id)
