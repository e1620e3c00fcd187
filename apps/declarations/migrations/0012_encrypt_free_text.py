import apps.core.fields
from apps.core.migration_ops import encrypt_columns
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0011_consent'),
    ]

    # Free text that may describe health or hardship is encrypted at rest: the
    # existing values first (in batches), then the fields change.
    operations = [
        encrypt_columns("declarations", "appeal", ["reason", "decision_reason"]),
        encrypt_columns("declarations", "declaration", ["description", "rejection_reason"]),
        encrypt_columns("declarations", "greenchannel", ["reason"]),
        encrypt_columns("declarations", "householdvisit", ["findings"]),
        encrypt_columns("declarations", "transition", ["reason"]),
        migrations.AlterField(
            model_name='appeal',
            name='decision_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason for the decision'),
        ),
        migrations.AlterField(
            model_name='appeal',
            name='reason',
            field=apps.core.fields.EncryptedTextField(max_length=1000, verbose_name="applicant's reason"),
        ),
        migrations.AlterField(
            model_name='declaration',
            name='description',
            field=apps.core.fields.EncryptedTextField(blank=True, max_length=500, verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='declaration',
            name='rejection_reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason for not enrolling'),
        ),
        migrations.AlterField(
            model_name='greenchannel',
            name='reason',
            field=apps.core.fields.EncryptedTextField(max_length=1000, verbose_name='why the hardship is plain and urgent'),
        ),
        migrations.AlterField(
            model_name='householdvisit',
            name='findings',
            field=apps.core.fields.EncryptedTextField(max_length=2000, verbose_name='findings'),
        ),
        migrations.AlterField(
            model_name='transition',
            name='reason',
            field=apps.core.fields.EncryptedTextField(blank=True, verbose_name='reason'),
        ),
    ]
