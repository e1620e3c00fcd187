import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('declarations', '0010_action_code'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Consent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('notice_version', models.CharField(max_length=16, verbose_name='notice version')),
                ('given_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='given at')),
                ('channel', models.CharField(choices=[('form', 'public form'), ('home_visit', 'signed authorization letter at the home visit')], max_length=16, verbose_name='channel')),
                ('given_by', models.CharField(choices=[('applicant', 'the applicant'), ('declarant', "the declarant, on the applicant's behalf")], max_length=16, verbose_name='given by')),
                ('declaration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consents', to='declarations.declaration')),
                ('document', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='+', to='declarations.visitdocument', verbose_name='signed letter')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
            ],
            options={
                'verbose_name': 'consent',
                'verbose_name_plural': 'consents',
                'ordering': ['given_at', 'pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('channel', 'form'), ('document__isnull', False), _connector='OR'), name='consent_letter_has_document')],
            },
        ),
    ]
