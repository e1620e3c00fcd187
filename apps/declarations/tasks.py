from celery import shared_task

from .services.reminders import deadlines_sweep


@shared_task
def sweep_deadlines() -> dict[str, int]:
    return deadlines_sweep()
