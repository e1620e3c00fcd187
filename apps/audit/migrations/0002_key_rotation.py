import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='KeyRotation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=100, unique=True)),
                ('last_pk', models.BigIntegerField(default=0)),
                ('rows', models.PositiveBigIntegerField(default=0)),
                ('hashes_changed', models.PositiveBigIntegerField(default=0)),
                ('files', models.PositiveBigIntegerField(default=0)),
                ('finished', models.BooleanField(default=False)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
    ]
