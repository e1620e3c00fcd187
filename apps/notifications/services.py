import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
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
    rows: dict[str, Message] = {}
    for sms in messages:
        get_template(sms.template)  # unknown templates fail here, not in the worker
        recipient_hash = mobile_hash(sms.recipient)
        dedupe_key = Message.dedupe_key_for(subject, sms.template, recipient_hash)
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
    if rows and budget_spend(len(rows)):
        for message in rows.values():
            if not get_template(message.template).urgent:
                message.status = Message.Status.HELD
    created = Message.objects.bulk_create(rows.values())
    ids = [m.pk for m in created]
    due = [m.pk for m in created if m.status == Message.Status.PENDING]
    if hold_until is None and due:
        transaction.on_commit(lambda: messages_dispatch(message_ids=due))
    return ids


# --- the daily SMS budget ----------------------------------------------------------------


def _budget_key(day: dt.date) -> str:
    return f"sms-budget:{day.isoformat()}"


def budget_spend(count: int) -> bool:
    """Count `count` messages against today's budget; True once the budget is spent
    (the messages that overspend it are held unless urgent). The first overspend of the
    day alerts the province's security administrators.

    Counted in the shared cache, like the rate limits, and failing open likewise: an
    unreachable cache must not hold a farmer's SMS.
    """
    budget = settings.SMS_DAILY_BUDGET
    if not budget:
        return False
    day = timezone.localdate()
    try:
        key = _budget_key(day)
        cache.add(key, 0, 2 * 86400)
        used = cache.incr(key, count)
        over = used > budget
        # Exactly one request a day wins this: the alert is sent once.
        alert = over and cache.add(f"{key}:alerted", 1, 2 * 86400)
    except Exception as exc:  # the cache's client errors differ by backend
        logger.warning("SMS budget not counted, cache unavailable: %s", type(exc).__name__)
        return False
    if alert:
        logger.error("SMS budget of %d spent for %s: non-urgent SMS held", budget, day)
        # After the caller's commit, in a transaction of its own: a rolled-back
        # declaration does not take the alert with it.
        transaction.on_commit(lambda: _budget_alert(day, budget))
    return over


def _budget_alert(day: dt.date, budget: int) -> None:
    """SMS to the province's security administrators (入侵防范: the budget is spent by
    a surge or by abuse of the public pages, theirs to look into), or, if none has a
    mobile number, to the province staff."""
    from apps.regions.models import Level, Role, StaffMembership

    members = (
        StaffMembership.objects.filter(
            is_active=True, user__is_active=True, region__level=Level.PROVINCE
        )
        .filter(role__in=[Role.SECURITY_ADMIN, Role.PROVINCE])
        .values_list("role", "user__mobile", "region__code")
    )
    by_role: dict[str, list[tuple[str, str]]] = {Role.SECURITY_ADMIN: [], Role.PROVINCE: []}
    for role, mobile, code in members:
        if mobile:
            by_role[role].append((mobile, code))
    recipients = by_role[Role.SECURITY_ADMIN] or by_role[Role.PROVINCE]
    if not recipients:
        logger.error("no security administrator or province staff to tell of the SMS budget")
        return
    with transaction.atomic():
        messages_enqueue(
            subject=f"sms-budget:{day.isoformat()}",
            region_code=recipients[0][1],
            messages=sms_to([m for m, _code in recipients], "sms_budget_reached", budget=budget),
            ignore_existing=True,
        )


def messages_release_held(now: dt.datetime) -> int:
    """Held messages of earlier days become pending (after the night's quiet hours):
    they count against the new day's budget but are not held again."""
    start_of_day = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time.min))
    updates: dict = {"status": Message.Status.PENDING}
    wake = quiet_hours_end(now)
    if wake is not None:
        updates["next_attempt_at"] = wake
    released = Message.objects.filter(
        status=Message.Status.HELD, created_at__lt=start_of_day
    ).update(**updates)
    if released:
        budget_spend(released)
    return released


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
    messages_release_held(now)
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
