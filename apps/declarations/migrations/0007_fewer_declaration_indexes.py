# Fewer indexes on the table every submission writes to (docs/decisions.md, "Only the
# indexes something reads"). Django's AlterField, dropping id_hash's db_index, also drops
# every other single-column index on id_hash, the partial unique index of
# one_open_declaration_per_person included; so that constraint is removed first and
# made again last, by name, as it was.

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0006_green_channel_help"),
        ("households", "0002_roster_plans_monitoring"),
        ("regions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="declaration",
            name="one_open_declaration_per_person",
        ),
        migrations.AlterField(
            model_name="declaration",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="entered by",
            ),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="declarant_phone_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="household",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="declarations",
                to="households.monitoredhousehold",
                verbose_name="household",
            ),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="id_hash",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_from",
                to="declarations.declaration",
                verbose_name="merged into",
            ),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="phone_hash",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="region_code",
            field=models.CharField(editable=False, max_length=12, verbose_name="region code"),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="state",
            field=django_fsm.FSMField(
                choices=[
                    ("submitted", "submitted"),
                    ("accepted", "accepted, home visit due"),
                    ("verified", "home visit done"),
                    ("in_notice", "under public notice"),
                    ("returned", "returned to the village"),
                    ("township_review", "under township review"),
                    ("county_review", "awaiting county approval"),
                    ("enrolled", "enrolled for monitoring"),
                    ("rejected", "not enrolled"),
                    ("withdrawn", "withdrawn"),
                    ("merged", "merged into another declaration"),
                ],
                default="submitted",
                max_length=50,
                protected=True,
                verbose_name="state",
            ),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="submission_token",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AlterField(
            model_name="declaration",
            name="tracking_number",
            field=models.CharField(editable=False, max_length=12, verbose_name="tracking number"),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(fields=["id_hash"], name="declaration_person_idx"),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("created_by__isnull", False)),
                fields=["created_by"],
                name="declaration_created_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("household__isnull", False)),
                fields=["household"],
                name="declaration_household_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="declaration_merged_into_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="declaration",
            constraint=models.UniqueConstraint(
                fields=("tracking_number",), name="unique_tracking_number"
            ),
        ),
        migrations.AddConstraint(
            model_name="declaration",
            constraint=models.UniqueConstraint(
                fields=("submission_token",), name="unique_submission_token"
            ),
        ),
        migrations.AddConstraint(
            model_name="declaration",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("state__in", ["enrolled", "rejected", "withdrawn", "merged"]), _negated=True
                ),
                fields=("id_hash",),
                name="one_open_declaration_per_person",
            ),
        ),
    ]
