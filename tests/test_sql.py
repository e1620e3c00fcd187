"""The one-statement writer (apps/core/sql.py) and the indexes of the tables every
submission writes to."""

import datetime as dt

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy

from apps.core import crypto
from apps.core.sql import Insert, InsertedId, insert_together, new_row
from apps.deadlines.models import Clock
from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.notifications.models import Message

from .conftest import ID_A, ID_B, WOGOU, declaration_input, require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


def message(**values) -> Message:
    base = {
        "template": "applicant_receipt",
        "recipient": "13912345678",
        "recipient_hash": "h" * 64,
        "params": {"tracking": "1234 5678 9012"},
        "subject": "test:1",
        "dedupe_key": "test:1:applicant_receipt",
        "region_code": "621102100201",
    }
    return Message(**(base | values))


def test_values_of_another_type_than_the_column_stores_are_still_prepared_by_the_field():
    # Values of exactly the stored type are written as they are; any other goes through
    # the field: a lazy translation into a text column, True into an integer column, a
    # naive time into a time column (made aware in the current time zone, with Django's
    # warning), a sealed phone number into an encrypted column.
    naive = dt.datetime(2026, 12, 2, 9, 30)  # noqa: DTZ001
    phone = crypto.seal("13700000001")
    row = message(last_error=gettext_lazy("pending"), attempts=True, recipient=phone)
    row.next_attempt_at = naive
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        insert_together([Insert("messages", [row], returning=True)])
    stored = Message.objects.get(pk=row.pk)
    assert stored.last_error == "待发送"  # Chinese, as the interface is
    assert stored.attempts == 1
    assert stored.next_attempt_at == timezone.make_aware(naive)
    assert stored.recipient == "13700000001"
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipient FROM notifications_message WHERE id = %s", [row.pk])
        (column,) = cursor.fetchone()
    assert column == phone.token and "13700000001" not in column


def test_a_sealed_value_is_encrypted_once_for_every_column_that_stores_it():
    phone = crypto.seal("13700000001")
    assert phone == "13700000001" and crypto.decrypt(phone.token) == "13700000001"
    first = message(recipient=phone)
    second = message(recipient=phone, template="grid_new_declaration", dedupe_key="test:1:grid")
    insert_together([Insert("messages", [first, second], returning=True)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT recipient FROM notifications_message")
        assert [row[0] for row in cursor.fetchall()] == [phone.token]


def test_new_row_builds_the_instance_the_keyword_constructor_builds():
    values = {
        "template": "applicant_receipt",
        "recipient": "13912345678",
        "recipient_hash": "h" * 64,
        "params": {"tracking": "1234 5678 9012"},
        "subject": "test:1",
        "dedupe_key": "test:1:applicant_receipt",
        "region_code": "621102100201",
        "next_attempt_at": timezone.now(),
    }
    with time_machine.travel(timezone.now(), tick=False):  # created_at: the same now
        fast, usual = new_row(Message, **values), Message(**values)
    fields = [f.attname for f in Message._meta.concrete_fields]
    assert [getattr(fast, f) for f in fields] == [getattr(usual, f) for f in fields]
    assert fast.pk is None and fast._state.adding
    clock = new_row(Clock, stage="verify", due_on=dt.date(2026, 12, 9))
    assert clock.stage == "verify" and clock.cancelled is False and clock.met_at is None
    with pytest.raises(TypeError, match="no field 'stag'"):
        new_row(Clock, stag="verify")


def test_new_row_still_tells_whoever_listens_to_a_models_creation():
    # Without receivers, new_row fills the instance without Django's constructor loop;
    # a receiver of pre_init or post_init (connected at any time) still hears of it.
    from django.db.models.signals import post_init

    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.subject)

    assert new_row(Message, subject="a").subject == "a" and not heard
    post_init.connect(receiver, sender=Message)
    try:
        new_row(Message, subject="b")
    finally:
        post_init.disconnect(receiver, sender=Message)
    assert heard == ["b"]


def test_new_row_makes_a_fresh_value_of_a_callable_default_for_every_row():
    # Constant defaults are worked out once per model; a callable one (a list, a dict,
    # the time) must still be called for each row, or two rows would share one list.
    first, second = new_row(Message), new_row(Message)
    assert first.params == {} and first.params is not second.params
    first.params["x"] = 1
    assert second.params == {}
    assert new_row(Message, params={"a": 1}).params == {"a": 1}


def test_enum_members_and_json_values_are_stored_as_the_orm_stores_them():
    # Sent as text (not through the field's preparation): read back, they are the
    # same values and JSON types as rows written by the ORM.
    fast = message(dedupe_key="k:fast", params={"n": 1, "list": [1, "二"], "none": None})
    fast.status = Message.Status.PENDING
    insert_together([Insert("m", [fast], returning=True)])
    usual = message(dedupe_key="k:usual", params={"n": 1, "list": [1, "二"], "none": None})
    usual.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, jsonb_typeof(params), params::text FROM notifications_message"
            " WHERE id IN (%s, %s) ORDER BY dedupe_key",
            [fast.pk, usual.pk],
        )
        fast_row, usual_row = cursor.fetchall()
    assert fast_row == usual_row
    assert fast_row[:2] == ("pending", "object")


def test_columns_left_at_their_default_and_columns_set_are_both_written():
    # A column left at its constant default goes into the statement as a literal; a
    # row beside it that sets the column sends its value. Both read back as written.
    at = timezone.now()
    usual = message(dedupe_key="k:usual")
    unusual = message(dedupe_key="k:unusual", attempts=3, last_error="超时", provider_id="p-1")
    unusual.dispatched_at = at
    unusual.status = Message.Status.FAILED
    insert_together([Insert("m", [usual, unusual], returning=True)])
    first, second = Message.objects.get(pk=usual.pk), Message.objects.get(pk=unusual.pk)
    assert (first.attempts, first.last_error, first.provider_id, first.dispatched_at) == (
        0,
        "",
        "",
        None,
    )
    assert first.status == Message.Status.PENDING
    assert (second.attempts, second.last_error, second.provider_id, second.dispatched_at) == (
        3,
        "超时",
        "p-1",
        at,
    )
    assert second.status == Message.Status.FAILED


def test_a_declaration_names_the_state_fields_django_fsm_would_find():
    from django_fsm import ConcurrentTransitionMixin

    declaration = Declaration()
    found = list(ConcurrentTransitionMixin.state_fields.fget(declaration))
    assert list(declaration.state_fields) == found and found


def test_rows_refer_to_the_row_written_before_them_in_the_same_statement():
    clock = Clock(
        subject_type="test",
        subject_id=InsertedId("first"),
        stage="verify",
        region_code="621102100201",
        due_on=dt.date(2026, 12, 9),
        due_at=timezone.now(),
    )
    ids = insert_together(
        [
            Insert("first", [message()], returning=True),
            Insert("clocks", [clock]),
            Insert(
                "second",
                [message(subject=InsertedId("first").text(prefix="m:"), dedupe_key="other")],
                returning=True,
            ),
        ]
    )
    (first_id,) = ids["first"]
    assert Clock.objects.get().subject_id == first_id
    assert Message.objects.get(pk=ids["second"][0]).subject == f"m:{first_id}"


# --- the tables every submission writes to ---------------------------------------------
# Each index is written on every INSERT; a declaration writes five rows into these three
# tables, so each index here is paid for by every farmer's submission (docs/benchmarks.md,
# "Indexes"). This list makes adding one a decision: say in docs/decisions.md what reads
# it, then add it here.
INTAKE_INDEXES = {
    "declarations_declaration": {
        "declarations_declaration_pkey",
        "unique_tracking_number",
        "unique_submission_token",
        "one_open_declaration_per_person",
        "declaration_person_idx",
        "declaration_region_time_idx",
        "declarations_declaration_submitted_at_15198ace",
        "declarations_declaration_village_id_17635593",
        # partial: only rows that have one
        "declaration_created_by_idx",
        "declaration_household_idx",
        "declaration_merged_into_idx",
    },
    "deadlines_clock": {
        "deadlines_clock_pkey",
        "one_clock_per_stage",
        "clock_region_due_idx",
        "clock_running_stage_idx",
        "clock_sweep_idx",
        # partial: only clocks past due
        "clock_late_idx",
        "clock_overdue_idx",
        "clock_breached_idx",
    },
    "notifications_message": {
        "notifications_message_pkey",
        "unique_dedupe_key",
        "message_due_idx",
        "message_region_idx",
    },
}


def test_the_tables_every_submission_writes_carry_only_the_indexes_something_reads():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE tablename = ANY(%s)",
            [list(INTAKE_INDEXES)],
        )
        found: dict[str, set] = {}
        for table, index in cursor.fetchall():
            found.setdefault(table, set()).add(index)
    assert found == INTAKE_INDEXES


def test_a_submission_is_a_statement_prepared_once_per_connection(regions, grid_wogou):
    # Bound on the server and prepared: PostgreSQL parses and plans it once, then only
    # binds and runs it for every farmer this connection serves.
    def prepared():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                ['WITH "new_declaration" AS (INSERT%'],
            )
            return [row[0] for row in cursor.fetchall()]

    first = declaration_submit(village=regions[WOGOU], data=declaration_input(id_number=ID_A))
    assert first.created and len(prepared()) >= 1
    before = prepared()
    second = declaration_input(id_number=ID_B, phone="13700000001", name="张三")
    assert declaration_submit(village=regions[WOGOU], data=second).created
    assert prepared() == before  # the same statement, run again


@pytest.mark.django_db(transaction=True)
def test_a_submission_after_the_server_closed_the_connection_opens_a_new_one(regions, grid_wogou):
    # PostgreSQL restarted, or the backend was terminated, between two requests: the
    # next farmer's submission goes through on a new connection (Django's health check,
    # CONN_HEALTH_CHECKS, without its round trip).
    import select

    import psycopg

    first = declaration_submit(village=regions[WOGOU], data=declaration_input(id_number=ID_A))
    assert first.created
    old_socket = connection.connection.pgconn.socket
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    assert select.select([old_socket], [], [], 10)[0]  # the server's goodbye has arrived
    wrapper = connections["default"]
    wrapper.health_check_enabled, wrapper.health_check_done = True, False  # a new request
    try:
        second = declaration_input(id_number=ID_B, phone="13700000001", name="张三")
        assert declaration_submit(village=regions[WOGOU], data=second).created
    finally:
        wrapper.health_check_enabled = False
    assert Declaration.objects.count() == 2
