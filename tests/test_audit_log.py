"""The audit log is append-only: PostgreSQL refuses to change or delete its rows, and
only the retention purge removes old ones, leaving a row that says so."""

import datetime as dt

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.audit.models import Action, AuditEntry, Result
from apps.audit.services import MIN_RETENTION_DAYS, purge_older_than, record

from .conftest import require_postgres

pytestmark = pytest.mark.django_db


def test_postgresql_refuses_to_change_or_delete_an_audit_row(grid_wogou):
    require_postgres()
    entry = record(Action.REVEAL, actor=grid_wogou, target="declarations.declaration:1")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(result=Result.DENIED)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.actor_name = "someone-else"
        entry.save()
    entry.refresh_from_db()
    assert (entry.actor_name, entry.result) == (grid_wogou.username, Result.OK)


def test_the_purge_removes_only_rows_past_the_retention_and_is_itself_recorded(grid_wogou):
    now = timezone.now()
    old = record(Action.SIGN_IN, actor=grid_wogou)
    recent = record(Action.SIGN_IN, actor=grid_wogou)
    # A row written long ago.
    stale = AuditEntry.objects.create(
        at=now - dt.timedelta(days=MIN_RETENTION_DAYS + 1),
        actor=grid_wogou,
        actor_name=grid_wogou.username,
        action=Action.SIGN_IN,
    )
    assert purge_older_than(MIN_RETENTION_DAYS, now=now) == 1
    assert not AuditEntry.objects.filter(pk=stale.pk).exists()
    assert AuditEntry.objects.filter(pk__in=[old.pk, recent.pk]).count() == 2
    purge = AuditEntry.objects.get(action=Action.PURGE)
    assert purge.detail["removed"] == 1 and purge.actor_name == "system"


def test_the_purge_refuses_a_retention_under_180_days(grid_wogou):
    record(Action.SIGN_IN, actor=grid_wogou)
    with pytest.raises(ValueError):
        purge_older_than(MIN_RETENTION_DAYS - 1)
    assert AuditEntry.objects.filter(action=Action.SIGN_IN).count() == 1
    assert not AuditEntry.objects.filter(action=Action.PURGE).exists()
