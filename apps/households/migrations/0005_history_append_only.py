
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0004_encrypt_free_text'),
    ]

    operations = [
        migrations.AlterField(
            model_name='householdevent',
            name='household',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='households.monitoredhousehold'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='householdevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='f2e63016e1343f17670938299bd1e9d861fc9fb0', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_dd870', table='households_householdevent', when='BEFORE')),
        ),
    ]
