import apps.core.fields
from apps.core.migration_ops import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0003_event_actor_label'),
    ]

    # Free text that may describe health or hardship is encrypted at rest: the
    # existing values first (in batches), then the fields change.
    operations = [
        encrypt_columns("households", "eliminationproposal", ["refusal_reason", "override_reason"]),
        encrypt_columns("households", "followup", ["findings"]),
        encrypt_columns("households", "helpplan", ["returned_reason"]),
        encrypt_columns("households", "householdevent", ["reason"]),
        encrypt_columns("households", "lookback", ["findings"]),
        migrations.AlterField(
            model_name='eliminationproposal',
            name='override_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name="county's reason for overriding"),
        ),
        migrations.AlterField(
            model_name='eliminationproposal',
            name='refusal_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason for refusing'),
        ),
        migrations.AlterField(
            model_name='followup',
            name='findings',
            field=apps.core.fields.EncryptedTextField(blank=True, max_length=2000, verbose_name='findings'),
        ),
        migrations.AlterField(
            model_name='helpplan',
            name='returned_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='sent back because'),
        ),
        migrations.AlterField(
            model_name='householdevent',
            name='reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason'),
        ),
        migrations.AlterField(
            model_name='lookback',
            name='findings',
            field=apps.core.fields.EncryptedTextField(blank=True, max_length=2000, verbose_name='findings'),
        ),
    ]
