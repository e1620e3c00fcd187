
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_key_rotation'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['-at', '-pk'], 'permissions': [('export_auditentry', 'Can export the audit log')], 'verbose_name': 'audit entry', 'verbose_name_plural': 'audit log'},
        ),
    ]
