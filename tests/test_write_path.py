"""A submission is written by the models' own save() and bulk_create() in one
transaction, the same code on SQLite and PostgreSQL: whatever the schema gains, such as
a column the database fills with its own default, reaches both alike."""

from contextlib import contextmanager

import pytest
from django.db import connection, models
from django.urls import reverse

from apps.deadlines.models import Clock
from apps.declarations.models import Declaration
from apps.notifications.models import Message

from .conftest import WOGOU, form_data

pytestmark = pytest.mark.django_db(transaction=True)  # schema changes on SQLite need it


@contextmanager
def column_with_db_default(model, name: str, default: int):
    """A column `name` added to `model`'s table and to the model for the test's length,
    filled by the database (`db_default`), as a migration would add it."""
    field = models.PositiveSmallIntegerField(db_default=default)
    field.contribute_to_class(model, name)
    with connection.schema_editor() as editor:
        editor.add_field(model, field)
    try:
        yield field
    finally:
        with connection.schema_editor() as editor:
            editor.remove_field(model, field)
        model._meta.local_fields.remove(field)
        model._meta._expire_cache()
        delattr(model, name)


@pytest.mark.parametrize("model", [Declaration, Clock, Message], ids=lambda m: m.__name__)
def test_a_submission_fills_a_new_db_default_column_on_every_intake_table(
    client, regions, grid_wogou, model
):
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    with column_with_db_default(model, "priority", 3):
        assert client.post(url, form_data()).status_code == 302
        values = set(model.objects.values_list("priority", flat=True))
    assert values == {3}
    assert (Declaration.objects.count(), Clock.objects.count(), Message.objects.count()) == (
        1,
        2,
        2,
    )
