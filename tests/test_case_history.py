"""Nobody deletes a case or its history by hand: the admin offers no delete, and
PostgreSQL refuses to change or delete a history row (trigger `append_only`) and to
delete a case that has one."""

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from pgtrigger import registry

from apps.accounts.models import User
from apps.declarations.models import Declaration, Transition
from apps.households.models import HouseholdEvent, MonitoredHousehold
from apps.screening.models import Warning, WarningEvent

from .conftest import require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(case, grid_wogou):
    return Transition.record(declaration=case, actor=grid_wogou, kind="note", reason="visited")


def test_postgresql_refuses_to_change_or_delete_a_transition(case, history):
    require_postgres()
    entry = history
    with pytest.raises(DatabaseError), transaction.atomic():
        Transition.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        Transition.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM declarations_transition WHERE id = %s", [entry.pk])
    assert Transition.objects.get(pk=entry.pk).reason == "visited"


@pytest.mark.parametrize("model", [Transition, HouseholdEvent, WarningEvent])
def test_every_history_table_carries_the_append_only_trigger(model):
    require_postgres()
    [(registered, trigger)] = registry.registered(f"{model._meta.label}:append_only")
    assert registered is model
    assert trigger.get_installation_status(model)[0] == "INSTALLED"


def test_a_declaration_with_history_cannot_be_deleted(case, history):
    require_postgres()
    with pytest.raises(ProtectedError), transaction.atomic():
        Declaration.objects.filter(pk=case.pk).delete()
    # Nor in SQL: the history's foreign key holds it.
    with (
        pytest.raises((IntegrityError, DatabaseError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM declarations_declaration WHERE id = %s", [case.pk])
    assert Declaration.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    "model", [Declaration, MonitoredHousehold, Warning, User], ids=lambda m: m.__name__
)
def test_the_admin_offers_no_delete_even_to_the_superuser(client, case, model):
    root = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(root)
    opts = model._meta
    obj = case if model is Declaration else model.objects.first()
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    if obj is not None:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert client.post(url, {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_a_county_clerk_with_every_permission_deletes_nothing(client, regions, case):
    from apps.regions.models import Role

    from .conftest import ANDING, make_staff

    clerk = make_staff("clerk", regions[ANDING], Role.COUNTY)
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(*Permission.objects.filter(content_type__app_label="declarations"))
    client.force_login(clerk)
    url = reverse("admin:declarations_declaration_delete", args=[case.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Declaration.objects.filter(pk=case.pk).exists()
