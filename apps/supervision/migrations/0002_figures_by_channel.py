from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('supervision', '0001_summaries'),
    ]

    operations = [
        migrations.AddField(
            model_name='dailyfigures',
            name='received_hotline',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name='received on the 12317 hotline'),
        ),
        migrations.AddField(
            model_name='dailyfigures',
            name='received_paper',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name='received on paper'),
        ),
        migrations.AddField(
            model_name='dailyfigures',
            name='received_proxy',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name="received on someone's behalf"),
        ),
        migrations.AddField(
            model_name='dailyfigures',
            name='received_qr',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name='received by QR self-declaration'),
        ),
        migrations.AddField(
            model_name='dailyfigures',
            name='received_visit',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name='received on a cadre visit'),
        ),
        migrations.AddField(
            model_name='dailyfigures',
            name='received_warning',
            field=models.PositiveIntegerField(db_default=0, default=0, verbose_name='received from a department warning'),
        ),
    ]
