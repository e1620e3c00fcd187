from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0013_history_append_only'),
    ]

    operations = [
        migrations.AlterField(
            model_name='declaration',
            name='channel',
            field=models.CharField(choices=[('qr', 'QR self-declaration'), ('proxy', "declared on someone's behalf"), ('visit', 'cadre visit'), ('hotline', '12317 hotline'), ('paper', 'paper application'), ('warning', 'department warning')], max_length=16, verbose_name='channel'),
        ),
    ]
