import apps.core.fields
from apps.core.migration_ops import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('screening', '0003_civil_affairs_export_expiry'),
    ]

    # Free text that may describe health or hardship is encrypted at rest: the
    # existing values first (in batches), then the fields change.
    operations = [
        encrypt_columns("screening", "warning", ["outcome_reason"]),
        encrypt_columns("screening", "warningevent", ["reason"]),
        migrations.AlterField(
            model_name='warning',
            name='outcome_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, max_length=1000, verbose_name='finding'),
        ),
        migrations.AlterField(
            model_name='warningevent',
            name='reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason'),
        ),
    ]
