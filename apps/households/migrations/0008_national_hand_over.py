import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0007_one_monitored_household_per_roster_household'),
        ('regions', '0002_alter_staffmembership_role'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='monitoredhousehold',
            name='imported',
            field=models.BooleanField(default=False, verbose_name='imported from the national system'),
        ),
        migrations.AddField(
            model_name='monitoredhousehold',
            name='national_code',
            field=models.CharField(blank=True, max_length=30, null=True, unique=True, verbose_name='national household code'),
        ),
        migrations.AddField(
            model_name='monitoredhousehold',
            name='national_recorded_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='recorded in the national system'),
        ),
        migrations.CreateModel(
            name='NationalExport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_code', models.CharField(editable=False, max_length=12)),
                ('period_start', models.DateField(verbose_name='from')),
                ('period_end', models.DateField(verbose_name='to')),
                ('enrolled', models.PositiveIntegerField(default=0, verbose_name='newly enrolled')),
                ('changed', models.PositiveIntegerField(default=0, verbose_name='changed')),
                ('eliminated', models.PositiveIntegerField(default=0, verbose_name='risk eliminated')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='exported at')),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='exported by')),
                ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region', verbose_name='county')),
            ],
            options={
                'verbose_name': 'national export',
                'verbose_name_plural': 'national exports',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='NationalImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('region_code', models.CharField(editable=False, max_length=12)),
                ('file', models.FileField(upload_to='national-imports/%Y/%m/')),
                ('original_name', models.CharField(max_length=200, verbose_name='file name')),
                ('sha256', models.CharField(editable=False, max_length=64)),
                ('status', models.CharField(choices=[('pending', 'waiting'), ('running', 'importing'), ('failed', 'refused: see the errors'), ('done', 'imported')], default='pending', max_length=16, verbose_name='status')),
                ('total_rows', models.PositiveIntegerField(default=0, verbose_name='rows')),
                ('processed_rows', models.PositiveIntegerField(default=0, verbose_name='rows checked')),
                ('error_count', models.PositiveIntegerField(default=0, verbose_name='bad rows')),
                ('errors', models.JSONField(blank=True, default=list)),
                ('households_created', models.PositiveIntegerField(default=0)),
                ('households_updated', models.PositiveIntegerField(default=0)),
                ('members_created', models.PositiveIntegerField(default=0)),
                ('members_updated', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='uploaded at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('region', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='regions.region', verbose_name='county')),
                ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='uploaded by')),
            ],
            options={
                'verbose_name': 'national import',
                'verbose_name_plural': 'national imports',
                'ordering': ['-created_at'],
            },
        ),
    ]
