"""The SMS outbox: written with the declaration, sent after commit, exactly once."""

import datetime as dt
import time

import kombu.pools
import pytest
import redis
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.notifications import backends
from apps.notifications.backends import SmsError
from apps.notifications.models import Message
from apps.notifications.services import (
    OutgoingSms,
    message_send,
    messages_dispatch,
    messages_dispatch_pending,
    messages_enqueue,
)
from config.celery import app as celery_app

from .conftest import ID_A, ID_B, WOGOU, declaration_input, form_data, require_redis

pytestmark = pytest.mark.django_db


def test_the_village_grid_worker_is_told_with_a_masked_name_and_the_visit_date(
    regions, grid_wogou, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declaration = declaration_submit(
            village=regions[WOGOU], data=declaration_input()
        ).declaration
    grid = next(m for m in backends.outbox if m["template"] == "grid_new_declaration")
    assert grid["phone"] == "13800138000"
    assert grid["params"]["name"] == "魏*常"
    assert grid["params"]["village"] == "窝沟村"
    assert grid["params"]["due"]
    receipt = next(m for m in backends.outbox if m["template"] == "applicant_receipt")
    assert receipt["phone"] == "13912345678"
    assert receipt["params"]["tracking"] == declaration.tracking_number_display
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def test_no_grid_worker_means_village_staff_then_township_are_told(regions, township_lujiagou):
    declaration_submit(village=regions[WOGOU], data=declaration_input())
    notice = Message.objects.get(template="grid_new_declaration")
    assert notice.recipient == "13700137000"


@time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC))  # a Friday
def test_the_visit_date_counts_five_working_days(regions, grid_wogou):
    declaration_submit(village=regions[WOGOU], data=declaration_input())
    assert Message.objects.get(template="grid_new_declaration").params["due"] == "11月27日"


def test_sms_are_queued_only_after_commit_and_vanish_with_a_rollback(
    regions, grid_wogou, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        declaration_submit(village=regions[WOGOU], data=declaration_input())
        assert Message.objects.count() == 2
        raise RuntimeError("something later in the request failed")
    assert not Declaration.objects.exists() and not Message.objects.exists()
    assert callbacks == [] and backends.outbox == []


def test_a_message_is_claimed_once_however_often_it_is_dispatched(
    regions, grid_wogou, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declaration_submit(village=regions[WOGOU], data=declaration_input())  # eager: sent
    first = Message.objects.first()
    assert message_send(message_id=first.pk) == "skipped"
    assert len(backends.outbox) == 2


def test_a_transient_failure_is_retried_later_with_backoff(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        backends.LocmemBackend,
        "send",
        lambda self, **kw: (_ for _ in ()).throw(SmsError("throttled", transient=True)),
    )
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            (pk,) = messages_enqueue(
                subject="test:1",
                region_code=WOGOU,
                messages=[
                    OutgoingSms(
                        template="applicant_receipt",
                        recipient="13912345678",
                        params={"tracking": "1", "due": "1"},
                    )
                ],
            )
        message = Message.objects.get(pk=pk)
        assert (message.status, message.attempts) == (Message.Status.PENDING, 1)
        assert message.next_attempt_at == timezone.now() + dt.timedelta(seconds=30)
        assert message.last_error == "throttled"
        assert messages_dispatch_pending() == 0  # not yet due
    monkeypatch.undo()
    # Due at 9:00:30; the sweep leaves it the grace minute for its own dispatch first.
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 1, tzinfo=dt.UTC), tick=False):
        assert messages_dispatch_pending() == 0
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 2, tzinfo=dt.UTC), tick=False):
        assert messages_dispatch_pending() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 2)


def test_a_permanent_failure_is_marked_failed_without_the_number_in_the_error(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, **kw):
        raise SmsError("isv.MOBILE_NUMBER_ILLEGAL 13912345678", transient=False)

    monkeypatch.setattr(backends.LocmemBackend, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        (pk,) = messages_enqueue(
            subject="test:2",
            region_code=WOGOU,
            messages=[
                OutgoingSms(template="applicant_receipt", recipient="13912345678", params={})
            ],
        )
    message = Message.objects.get(pk=pk)
    assert message.status == Message.Status.FAILED
    assert "13912345678" not in message.last_error and "139****5678" in message.last_error


def test_a_row_left_sending_by_a_dead_worker_is_released(regions, grid_wogou, settings):
    settings.OUTBOX_DISPATCH_GRACE_SECONDS = 0
    declaration_submit(village=regions[WOGOU], data=declaration_input())
    Message.objects.update(
        status=Message.Status.SENDING, claimed_at=timezone.now() - dt.timedelta(minutes=11)
    )
    backends.outbox.clear()
    messages_dispatch_pending()
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}
    assert len(backends.outbox) == 2


def test_task_arguments_carry_ids_only(
    regions, grid_wogou, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.notifications import tasks

    calls = []
    monkeypatch.setattr(tasks.send_messages, "delay", lambda *a, **kw: calls.append((a, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        declaration_submit(village=regions[WOGOU], data=declaration_input())
    # One task per declaration, carrying message ids only.
    assert len(calls) == 1
    (args, kwargs) = calls[0]
    assert not kwargs and len(args[0]) == 2 and all(isinstance(i, int) for i in args[0])


def test_the_sweep_does_not_hand_a_backlogged_worker_the_same_rows_every_minute(
    regions, grid_wogou, monkeypatch, settings
):
    from apps.notifications import tasks

    settings.OUTBOX_DISPATCH_GRACE_SECONDS = 0
    declaration_submit(village=regions[WOGOU], data=declaration_input())  # not committed: pending
    published = []
    monkeypatch.setattr(tasks.send_messages, "delay", lambda ids: published.append(ids))
    assert messages_dispatch_pending() == 2
    assert messages_dispatch_pending() == 0
    assert len(published) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert messages_dispatch_pending() == 2  # still pending after 5 minutes: again


# --- a real Celery worker on Redis ----------------------------------------------------


def wait_until(predicate, timeout=20.0):
    """Wait for a real worker (another thread) to finish; not a clock-based test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _reset_producer_pools():
    """Forget cached broker connections so a changed broker_url takes effect."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """Celery publishing to the real Redis, tasks no longer run in-process."""
    require_redis()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    celery_app.conf.task_always_eager = False
    _reset_producer_pools()
    yield
    celery_app.conf.task_always_eager = True
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    _reset_producer_pools()


@pytest.fixture
def worker(broker, transactional_db):
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def all_sent() -> bool:
    return (
        Message.objects.exists()
        and not Message.objects.exclude(status=Message.Status.SENT).exists()
    )


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_sms_after_commit(client, regions, grid_wogou, worker):
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    assert client.post(url, form_data()).status_code == 302
    assert wait_until(all_sent)
    assert sorted(m["template"] for m in backends.outbox) == [
        "applicant_receipt",
        "grid_new_declaration",
    ]
    assert all(m.provider_id for m in Message.objects.all())


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_declaration_accepted_while_the_broker_is_down_gets_its_sms_exactly_once_when_it_returns(
    client, regions, grid_wogou, broker, settings
):
    # The broker goes away: nothing listens on port 1.
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    _reset_producer_pools()
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    started = time.monotonic()
    response = client.post(url, form_data())
    assert response.status_code == 302
    assert time.monotonic() - started < 10  # the farmer is not kept waiting
    # The after-commit dispatch tried the broker, failed, and left the rows to the sweep.
    assert client.get(response["Location"]).status_code == 200
    declaration = Declaration.objects.get()
    assert declaration.id_number == ID_A
    assert (
        Message.objects.filter(status=Message.Status.PENDING, dispatched_at__isnull=True).count()
        == 2
    )
    assert backends.outbox == []

    # The broker is back; a worker runs; beat's sweep fires — twice, as beats do.
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    _reset_producer_pools()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert messages_dispatch_pending() == 0  # within the grace period
        settings.OUTBOX_DISPATCH_GRACE_SECONDS = 0  # a minute later
        assert messages_dispatch_pending() == 2
        Message.objects.update(dispatched_at=None)  # as if the first sweep's bookkeeping was lost
        messages_dispatch_pending()
        messages_dispatch(message_ids=list(Message.objects.values_list("pk", flat=True)))
        assert wait_until(all_sent)
        # Let every duplicate dispatch reach the worker before counting.
        assert wait_until(
            lambda: redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery") == 0
        )
    sent = [(m["template"], m["phone"]) for m in backends.outbox]
    assert sorted(sent) == [
        ("applicant_receipt", "13912345678"),
        ("grid_new_declaration", "13800138000"),
    ]
    assert Message.objects.filter(attempts=1).count() == 2


# --- dispatch after commit, to the real broker ------------------------------------------


def queued_tasks(task: str = "apps.notifications.tasks.send_messages") -> list:
    """The first argument (for send_messages: the message ids) of each `task` waiting
    in the Redis queue."""
    import base64
    import json

    raw = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("celery", 0, -1)
    tasks = []
    for item in reversed(raw):  # LPUSHed: oldest last
        envelope = json.loads(item)
        if envelope["headers"]["task"] == task:
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            tasks.append(args[0])
    return tasks


def queued_count() -> int:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery")


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_before_commit_nor_after_a_rollback(regions, grid_wogou, broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        declaration_submit(village=regions[WOGOU], data=declaration_input())
        raise RuntimeError("the request failed later")
    with transaction.atomic():
        declaration = declaration_submit(
            village=regions[WOGOU], data=declaration_input(id_number=ID_B)
        ).declaration
        assert queued_count() == 0
    ids = list(
        Message.objects.filter(subject=f"declaration:{declaration.pk}").values_list("pk", flat=True)
    )
    assert len(ids) == 2 and queued_tasks() == [ids]
    # And the check for a surge of declarations (supervision), after commit too.
    assert queued_tasks("apps.supervision.tasks.check_surge") == [WOGOU]
    assert queued_count() == 2
    assert Message.objects.count() == 2  # the rolled-back one left nothing


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_many_submissions_are_each_sent_exactly_once(client, regions, grid_wogou, worker):
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    people = [ID_A, ID_B, "621102198001010034"]
    for i, id_number in enumerate(people):
        data = form_data(id_number=id_number, phone=f"1391234000{i}", token=f"{i:032x}")
        assert client.post(url, data).status_code == 302
    assert wait_until(lambda: Message.objects.count() == 6 and all_sent())
    assert wait_until(lambda: redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery") == 0)
    assert len(backends.outbox) == 6
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_ids_lost_with_the_process_are_sent_once_by_the_sweep(
    client, regions, grid_wogou, worker, monkeypatch, settings
):
    # The web process dies between commit and publish: its ids never reach the broker.
    from apps.notifications.tasks import send_messages

    monkeypatch.setattr(send_messages, "delay", lambda ids: None)
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    assert client.post(url, form_data()).status_code == 302
    monkeypatch.undo()
    assert Message.objects.filter(status=Message.Status.PENDING).count() == 2
    settings.OUTBOX_DISPATCH_GRACE_SECONDS = 0  # a minute later, beat's sweep
    assert messages_dispatch_pending() == 2
    assert wait_until(all_sent)
    assert len(backends.outbox) == 2
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
