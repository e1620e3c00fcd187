from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('screening', '0002_warning_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='civilaffairsexport',
            name='expired_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='file deleted'),
        ),
        migrations.AlterField(
            model_name='civilaffairsexport',
            name='file',
            field=models.FileField(blank=True, upload_to='civil-affairs/%Y/%m/'),
        ),
    ]
