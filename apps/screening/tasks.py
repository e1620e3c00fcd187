"""Celery tasks of the screening app: thin wrappers that call a service."""

from celery import shared_task

from .services.reminders import sweep


@shared_task
def sweep_deadlines() -> dict[str, int]:
    """Every clock of the system: breaches flagged, reminders sent (warnings included)."""
    return sweep()
