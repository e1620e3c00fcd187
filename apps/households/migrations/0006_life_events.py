import django.db.models.deletion
import django_fsm
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0005_history_append_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='householdmember',
            name='joined_on',
            field=models.DateField(blank=True, null=True, verbose_name='joined on'),
        ),
        migrations.AddField(
            model_name='householdmember',
            name='left_on',
            field=models.DateField(blank=True, null=True, verbose_name='no longer a member since'),
        ),
        migrations.AddField(
            model_name='householdmember',
            name='left_reason',
            field=models.CharField(blank=True, choices=[('died', 'died'), ('left', 'left the household'), ('split', 'formed a household of their own'), ('merged', 'moved with the household into another')], max_length=16, verbose_name='why no longer a member'),
        ),
        migrations.AddField(
            model_name='monitoredhousehold',
            name='merged_into',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='absorbed', to='households.monitoredhousehold', verbose_name='merged into'),
        ),
        migrations.AddField(
            model_name='monitoredhousehold',
            name='split_from',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='split_offs', to='households.monitoredhousehold', verbose_name='split off from'),
        ),
        migrations.AlterField(
            model_name='monitoredhousehold',
            name='status',
            field=django_fsm.FSMField(choices=[('monitoring', 'under monitoring'), ('eliminated', 'risk eliminated'), ('merged', 'merged into another household')], db_index=True, default='monitoring', max_length=50, protected=True, verbose_name='status'),
        ),
    ]
