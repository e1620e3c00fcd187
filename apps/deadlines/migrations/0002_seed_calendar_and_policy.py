"""The official calendar for 2024–2026 and the policy's default deadlines.

Calendar source: the `chinese-calendar` package (1.11.0), which transcribes the State
Council's yearly notices on public holidays (国务院办公厅关于安排节假日的通知). Later
years are entered and confirmed by provincial admins when the notice is published.
"""

from django.db import migrations

YEARS = (2024, 2025, 2026)
SOURCE = "chinese-calendar 1.11.0 (国务院办公厅节假日安排通知)"



def seed(apps, schema_editor):
    from chinese_calendar.constants import holidays, workdays

    CalendarYear = apps.get_model("deadlines", "CalendarYear")
    CalendarDay = apps.get_model("deadlines", "CalendarDay")
    DeadlinePolicy = apps.get_model("deadlines", "DeadlinePolicy")
    for year in YEARS:
        CalendarYear.objects.update_or_create(year=year, defaults={"confirmed": True, "source": SOURCE})
    rows = []
    for date, name in holidays.items():
        # Holidays on a weekend change nothing: only weekday holidays are exceptions.
        if date.year in YEARS and date.weekday() < 5:
            rows.append(CalendarDay(date=date, kind="holiday", name=str(name)))
    for date, name in workdays.items():
        if date.year in YEARS:
            rows.append(CalendarDay(date=date, kind="workday", name=str(name)))
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)
    from apps.deadlines.defaults import DEFAULT_POLICIES

    for stage, (limit, unit, starts_on, source) in DEFAULT_POLICIES.items():
        DeadlinePolicy.objects.update_or_create(
            stage=stage, defaults={"limit": limit, "unit": unit, "starts_on": starts_on, "source": source}
        )


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
