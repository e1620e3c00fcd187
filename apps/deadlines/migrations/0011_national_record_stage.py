from django.db import migrations, models


def add_policy(apps, schema_editor):
    from apps.deadlines.defaults import DEFAULT_POLICIES

    DeadlinePolicy = apps.get_model("deadlines", "DeadlinePolicy")
    limit, unit, starts_on, source = DEFAULT_POLICIES["national_record"]
    DeadlinePolicy.objects.get_or_create(
        stage="national_record",
        defaults={"limit": limit, "unit": unit, "starts_on": starts_on, "source": source},
    )


class Migration(migrations.Migration):

    dependencies = [
        ('deadlines', '0010_fewer_clock_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='clock',
            name='stage',
            field=models.CharField(choices=[('verify', 'acceptance and home visit'), ('feedback', 'feedback to the applicant'), ('enrol', 'enrolment'), ('appeal', 'appeal decision'), ('help_plan', 'help plan'), ('green_channel', 'green-channel identification'), ('warning', 'department warning verified'), ('follow_up', 'follow-up visit'), ('follow_up_close', 'follow-up visit (household not yet stable)'), ('look_back', 'look-back review'), ('national_record', 'recorded in the national system')], max_length=32, verbose_name='stage'),
        ),
        migrations.AlterField(
            model_name='deadlinepolicy',
            name='stage',
            field=models.CharField(choices=[('verify', 'acceptance and home visit'), ('feedback', 'feedback to the applicant'), ('enrol', 'enrolment'), ('appeal', 'appeal decision'), ('help_plan', 'help plan'), ('green_channel', 'green-channel identification'), ('warning', 'department warning verified'), ('follow_up', 'follow-up visit'), ('follow_up_close', 'follow-up visit (household not yet stable)'), ('look_back', 'look-back review'), ('national_record', 'recorded in the national system')], max_length=32, unique=True, verbose_name='stage'),
        ),
        migrations.RunPython(add_policy, migrations.RunPython.noop),
    ]
