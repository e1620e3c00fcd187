from celery import shared_task

from .services.reminders import deadlines_sweep, morning_digest


@shared_task
def sweep_deadlines() -> dict[str, int]:
    return deadlines_sweep()


@shared_task
def send_morning_digest() -> int:
    return morning_digest()
