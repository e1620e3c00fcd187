from celery import shared_task

from .services.reminders import morning_digest

# The deadline sweep runs from apps.screening.tasks, the highest app that files clocks,
# so that one sweep knows whose every clock is.


@shared_task
def send_morning_digest() -> int:
    return morning_digest()


@shared_task
def sweep_field_uploads() -> dict[str, int]:
    """Old idempotency keys and uploads never used (apps.declarations.resumable)."""
    from .resumable import sweep

    return sweep()
