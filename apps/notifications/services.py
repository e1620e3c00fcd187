import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.identity import mobile_hash
from apps.core.logging import mask_text
from apps.core.sql import new_row

from .backends import SmsError, get_backend
from .models import Message
from .templates_registry import get_template

logger = logging.getLogger(__name__)

# A row left in "sending" this long belongs to a worker that died mid-send.
SENDING_TIMEOUT = dt.timedelta(minutes=10)
# A row the sweep dispatched that is still pending after this long is dispatched again.
DISPATCH_STALE_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OutgoingSms:
    template: str
    recipient: str  # normalised mainland mobile number
    params: dict


def quiet_hours_end(now: dt.datetime) -> dt.datetime | None:
    """When SMS may go out again if `now` is within the night's quiet hours (21:00–08:00
    local by default), else None."""
    start, end = settings.SMS_QUIET_HOURS
    local = timezone.localtime(now)
    if local.hour >= start or local.hour < end:
        day = local.date() + dt.timedelta(days=1 if local.hour >= start else 0)
        return timezone.make_aware(dt.datetime.combine(day, dt.time(end)))
    return None


def messages_build(
    *,
    subject,
    region_code: str,
    messages: list[OutgoingSms],
    hold_until: dt.datetime | None = None,
) -> list[Message]:
    """Unsaved outbox rows, one per (subject, template, recipient): a recipient listed
    twice gets one SMS. With `hold_until`, none is sent before then.

    `subject` is a string such as "declaration:42", or, when the subject's row is
    written in the same statement, an `apps.core.sql.InsertedId` as text; the unique
    `dedupe_key` follows it either way. `messages_enqueue` is the usual way in.
    """
    now = timezone.now()
    rows, seen = [], set()
    for sms in messages:
        get_template(sms.template)  # unknown templates fail here, not in the worker
        recipient_hash = mobile_hash(sms.recipient)
        if (sms.template, recipient_hash) in seen:
            continue
        seen.add((sms.template, recipient_hash))
        suffix = f":{sms.template}:{recipient_hash}"
        rows.append(
            new_row(
                Message,
                template=sms.template,
                recipient=sms.recipient,
                recipient_hash=recipient_hash,
                params=sms.params,
                subject=subject,
                dedupe_key=subject + suffix,
                region_code=region_code,
                created_at=now,
                next_attempt_at=hold_until or now,
            )
        )
    return rows


def messages_enqueue(
    *,
    subject: str,
    region_code: str,
    messages: list[OutgoingSms],
    respect_quiet_hours: bool = False,
    ignore_existing: bool = False,
) -> list[int]:
    """Write messages to the outbox inside the caller's transaction; send after commit.

    One row per (subject, template, recipient): a recipient listed twice gets one SMS.
    With `respect_quiet_hours`, a message written at night waits for the morning. With
    `ignore_existing`, messages already in the outbox are skipped (a repeated daily job).
    """
    hold_until = quiet_hours_end(timezone.now()) if respect_quiet_hours else None
    rows = messages_build(
        subject=subject, region_code=region_code, messages=messages, hold_until=hold_until
    )
    if ignore_existing:
        existing = set(
            Message.objects.filter(dedupe_key__in=[m.dedupe_key for m in rows]).values_list(
                "dedupe_key", flat=True
            )
        )
        rows = [m for m in rows if m.dedupe_key not in existing]
    created = Message.objects.bulk_create(rows)
    ids = [m.pk for m in created]
    if hold_until is None:
        messages_dispatch_on_commit(message_ids=ids)
    return ids


def messages_dispatch_on_commit(*, message_ids: list[int]) -> None:
    """Once the current transaction commits (at once outside one), hand the messages to
    Celery: through the per-process batch publisher when Celery has a real broker, else
    (the embedded default, tests) directly, which runs the task in-process."""
    if not message_ids:
        return
    ids = list(message_ids)
    connection = transaction.get_connection()
    if connection.in_atomic_block or not connection.get_autocommit():
        transaction.on_commit(lambda: _dispatch_committed(ids))
    else:
        _dispatch_committed(ids)  # autocommit: the rows were committed with their statement


def _dispatch_committed(ids: list[int]) -> None:
    from .publisher import publisher, publisher_enabled

    if publisher_enabled():
        publisher.submit(ids)
    else:
        messages_dispatch(message_ids=ids)


def messages_dispatch(*, message_ids: list[int]) -> bool:
    """Hand messages to Celery as one task. Never raises: with the broker down the rows
    stay pending for the sweep, and the request that caused them still succeeds."""
    from .tasks import send_messages

    if not message_ids:
        return True
    try:
        send_messages.delay(list(message_ids))
    except Exception as exc:  # broker unreachable
        logger.warning(
            "outbox: broker unavailable (%s), %d message(s) left for the sweep",
            type(exc).__name__,
            len(message_ids),
        )
        return False
    return True


def messages_dispatch_pending(*, limit: int = 1000, batch: int = 100) -> int:
    """The sweep: release rows stuck in "sending", then dispatch what is overdue.

    A row is overdue once it has been due for the grace period (long enough for the
    after-commit dispatch to have been handled) and was not dispatched by an earlier
    sweep within DISPATCH_STALE_AFTER, so a backlogged worker is not handed the same
    rows every minute.
    """
    now = timezone.now()
    Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT
    ).update(status=Message.Status.PENDING)
    grace = dt.timedelta(seconds=settings.OUTBOX_DISPATCH_GRACE_SECONDS)
    ids = list(
        Message.objects.due_for_dispatch(
            due_before=now - grace, stale_before=now - DISPATCH_STALE_AFTER
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    Message.objects.filter(pk__in=ids).update(dispatched_at=now)
    for start in range(0, len(ids), batch):
        if not messages_dispatch(message_ids=ids[start : start + batch]):
            Message.objects.filter(pk__in=ids[start:], dispatched_at=now).update(dispatched_at=None)
            return start
    return len(ids)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def message_send(*, message_id: int) -> str:
    """Send one message if it is still pending; returns its resulting status.

    The claim is a conditional UPDATE: of any number of workers handed the same id, one
    gets the row and the others do nothing.
    """
    now = timezone.now()
    claimed = Message.objects.filter(
        pk=message_id, status=Message.Status.PENDING, next_attempt_at__lte=now
    ).update(status=Message.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    message = Message.objects.get(pk=message_id)
    try:
        provider_id = get_backend().send(
            phone=message.recipient,
            template=get_template(message.template),
            params=message.params,
            reference=str(message.pk),
        )
    except SmsError as exc:
        final = not exc.transient or message.attempts >= settings.SMS_MAX_ATTEMPTS
        message.status = Message.Status.FAILED if final else Message.Status.PENDING
        message.last_error = mask_text(str(exc))[:1000]
        message.next_attempt_at = now + _backoff(message.attempts)
        message.dispatched_at = None
        message.save(update_fields=["status", "last_error", "next_attempt_at", "dispatched_at"])
        logger.warning(
            "outbox: message %s attempt %s failed: %s",
            message.pk,
            message.attempts,
            message.last_error,
        )
        return message.status
    message.status = Message.Status.SENT
    message.provider_id = provider_id[:128]
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save(update_fields=["status", "provider_id", "sent_at", "last_error"])
    return message.status
