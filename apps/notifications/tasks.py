from celery import shared_task

from . import services


@shared_task(acks_late=True)
def send_messages(message_ids: list[int]) -> list[str]:
    # Retries are rows, not countdowns: a failed attempt sets the row's next attempt
    # time and the sweep below dispatches it again, so a lost task loses nothing.
    return [services.message_send(message_id=message_id) for message_id in message_ids]


@shared_task
def dispatch_pending_messages() -> int:
    return services.messages_dispatch_pending()
