
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('screening', '0004_encrypt_free_text'),
    ]

    operations = [
        migrations.AlterField(
            model_name='warningevent',
            name='warning',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='screening.warning'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='warningevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='3b01370801a44894314b23e689f5e8de1c4f3c29', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_67ea7', table='screening_warningevent', when='BEFORE')),
        ),
    ]
