import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('regions', '0002_alter_staffmembership_role'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='staffmembership',
            name='groups',
            field=models.CharField(blank=True, help_text='Grid workers only; separated by commas, e.g. 1组,2组. Empty: all.', max_length=200, verbose_name='village groups covered'),
        ),
        migrations.CreateModel(
            name='Absence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('start', models.DateField(verbose_name='from')),
                ('end', models.DateField(verbose_name='to (inclusive)')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='recorded')),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
                ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region', verbose_name='village')),
                ('substitute', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='substitutions', to=settings.AUTH_USER_MODEL, verbose_name='substitute')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='absences', to=settings.AUTH_USER_MODEL, verbose_name='absent grid worker')),
            ],
            options={
                'verbose_name': 'absence',
                'verbose_name_plural': 'absences',
                'ordering': ['-start', 'pk'],
                'indexes': [models.Index(fields=['substitute', 'end'], name='absence_substitute_idx'), models.Index(fields=['region', 'end'], name='absence_village_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('end__gte', models.F('start'))), name='absence_dates'), models.CheckConstraint(condition=models.Q(('substitute', models.F('user')), _negated=True), name='absence_someone_else')],
            },
        ),
    ]
