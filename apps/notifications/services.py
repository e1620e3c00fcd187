import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.identity import mobile_hash
from apps.core.logging import mask_text

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


def sms_to(phones, template: str, **params) -> list[OutgoingSms]:
    """The same message to each of `phones`."""
    return [OutgoingSms(template=template, recipient=p, params=params) for p in phones]


def quiet_hours_end(now: dt.datetime) -> dt.datetime | None:
    """When SMS may go out again if `now` is within the night's quiet hours (21:00–08:00
    local by default), else None."""
    start, end = settings.SMS_QUIET_HOURS
    local = timezone.localtime(now)
    if local.hour >= start or local.hour < end:
        day = local.date() + dt.timedelta(days=1 if local.hour >= start else 0)
        return timezone.make_aware(dt.datetime.combine(day, dt.time(end)))
    return None


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
    now = timezone.now()
    hold_until = quiet_hours_end(now) if respect_quiet_hours else None
    rows = {}
    for sms in messages:
        get_template(sms.template)  # unknown templates fail here, not in the worker
        recipient_hash = mobile_hash(sms.recipient)
        dedupe_key = f"{subject}:{sms.template}:{recipient_hash}"
        rows.setdefault(
            dedupe_key,
            Message(
                template=sms.template,
                recipient=sms.recipient,
                recipient_hash=recipient_hash,
                params=sms.params,
                subject=subject,
                dedupe_key=dedupe_key,
                region_code=region_code,
                created_at=now,
                next_attempt_at=hold_until or now,
            ),
        )
    if ignore_existing:
        existing = Message.objects.filter(dedupe_key__in=list(rows)).values_list(
            "dedupe_key", flat=True
        )
        for key in existing:
            del rows[key]
    ids = [m.pk for m in Message.objects.bulk_create(rows.values())]
    if hold_until is None and ids:
        transaction.on_commit(lambda: messages_dispatch(message_ids=ids))
    return ids


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
    """The sweep: settle rows stuck in "sending", then dispatch what is overdue.

    A row is overdue once it has been due for the grace period (long enough for the
    after-commit dispatch to have been handled) and was not dispatched by an earlier
    sweep within DISPATCH_STALE_AFTER, so a backlogged worker is not handed the same
    rows every minute.
    """
    now = timezone.now()
    messages_settle_abandoned(now=now)
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


def messages_settle_abandoned(*, now: dt.datetime, limit: int = 50) -> None:
    """Settle rows a dead worker left in "sending": sent if the provider has them, else
    pending again.

    The worker may have died after the provider accepted the SMS: sending it again
    would reach the recipient twice. Every SMS carries its row's id (Aliyun's OutId,
    Tencent's SessionContext), so the provider's records tell. When the provider
    cannot be asked for now, the row waits for the next sweep; when it refuses to
    answer (no permission), the SMS is sent again: a duplicate beats a lost notice.
    """
    backend = get_backend()
    abandoned = Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT
    ).order_by("claimed_at")[:limit]
    for message in abandoned:
        try:
            provider_id = backend.find_sent(
                phone=message.recipient, reference=str(message.pk), since=message.claimed_at
            )
        except SmsError as exc:
            logger.warning(
                "outbox: cannot ask the provider about message %s: %s",
                message.pk,
                mask_text(str(exc)),
            )
            if exc.transient:
                continue
            provider_id = None
        # Conditional, like the claim: a concurrent sweep settles each row once.
        row = Message.objects.filter(
            pk=message.pk, status=Message.Status.SENDING, claimed_at=message.claimed_at
        )
        if provider_id is None:
            row.update(status=Message.Status.PENDING)
        else:
            row.update(
                status=Message.Status.SENT,
                provider_id=provider_id[:128],
                sent_at=message.claimed_at,
                last_error="",
            )


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
