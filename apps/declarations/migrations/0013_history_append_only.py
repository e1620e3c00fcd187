
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0012_encrypt_free_text'),
    ]

    operations = [
        migrations.AlterField(
            model_name='transition',
            name='declaration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transitions', to='declarations.declaration'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='transition',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='5fe8fc20a6af4e583f5d30c00080988dd756ac53', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_0b2da', table='declarations_transition', when='BEFORE')),
        ),
    ]
