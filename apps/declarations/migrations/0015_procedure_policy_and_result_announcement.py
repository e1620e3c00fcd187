import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0014_staff_channels'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StepPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.CharField(choices=[('income', 'income comparison'), ('property', 'property check'), ('notice', 'public notice'), ('pass_up', 'passing the case to the township'), ('announcement', 'result announcement')], max_length=16, unique=True, verbose_name='step')),
                ('required_documents', models.JSONField(blank=True, default=list, verbose_name='documents required before the step')),
                ('minimum_days', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='minimum days (notices, counting both ends)')),
                ('names_masked', models.BooleanField(default=False, verbose_name='names masked on posted lists')),
                ('source', models.CharField(blank=True, max_length=200, verbose_name='policy source')),
            ],
            options={
                'verbose_name': 'procedure step policy',
                'verbose_name_plural': 'procedure step policies',
                'ordering': ['step'],
            },
        ),
        migrations.AddField(
            model_name='incomeassessment',
            name='compared_on',
            field=models.DateField(blank=True, null=True, verbose_name='information compared on'),
        ),
        migrations.AlterField(
            model_name='visitdocument',
            name='kind',
            field=models.CharField(choices=[('hukou', 'household register'), ('id_card', 'ID card'), ('consent', "signed consent to check the family's finances"), ('minutes', 'minutes of the democratic evaluation'), ('green', 'evidence for the green channel'), ('result', 'photo of the posted result announcement'), ('other', 'other')], max_length=16, verbose_name='kind'),
        ),
        migrations.CreateModel(
            name='ResultAnnouncement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('start', models.DateField(verbose_name='posted from')),
                ('end', models.DateField(verbose_name='posted until')),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='recorded at')),
                ('declaration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='announcements', to='declarations.declaration')),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='declarations.visitdocument', verbose_name='photo of the posted announcement')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
            ],
            options={
                'verbose_name': 'result announcement',
                'verbose_name_plural': 'result announcements',
                'ordering': ['-start', '-pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('end__gte', models.F('start'))), name='announcement_ends_after_start')],
            },
        ),
    ]
