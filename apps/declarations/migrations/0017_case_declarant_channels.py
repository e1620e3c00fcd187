
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0016_household_identity'),
    ]

    operations = [
        migrations.AlterField(
            model_name='casedeclarant',
            name='channel',
            field=models.CharField(choices=[('qr', 'QR self-declaration'), ('proxy', "declared on someone's behalf"), ('visit', 'cadre visit'), ('hotline', '12317 hotline'), ('paper', 'paper application'), ('warning', 'department warning')], max_length=16, verbose_name='channel'),
        ),
    ]
