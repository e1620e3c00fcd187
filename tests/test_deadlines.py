"""Working days, clocks, the breach sweep and the reminders (time moved with time_machine)."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from apps.deadlines.calendar import add_working_days
from apps.deadlines.models import CalendarYear, Clock, Stage
from apps.deadlines.services import ClockSpec, clock_mark, clocks_start, clocks_sweep
from apps.declarations import services as s
from apps.declarations.services.reminders import deadlines_sweep
from apps.notifications.models import Message

from .conftest import WOGOU, declaration_input, require_postgres

pytestmark = pytest.mark.django_db

CST = dt.timezone(dt.timedelta(hours=8))


def at(*args):
    return dt.datetime(*args, tzinfo=CST)


def submit(regions, when, **kw):
    with time_machine.travel(when, tick=False):
        return s.declaration_submit(
            village=regions[WOGOU], data=declaration_input(**kw)
        ).declaration


def clocks(declaration):
    return {c.stage: c for c in Clock.objects.for_subject("declaration", declaration.pk)}


# --- the calendar ------------------------------------------------------------------------


def test_across_the_spring_festival_with_its_make_up_saturday(regions, grid_wogou):
    # Thu 12 Feb 2026: Sat 14 Feb is worked, 15–23 Feb are off, Sat 28 Feb is worked.
    case = submit(regions, at(2026, 2, 12, 10))
    mine = clocks(case)
    assert mine[Stage.VERIFY].due_on == dt.date(2026, 2, 26)
    assert mine[Stage.ENROL].due_on == dt.date(2026, 3, 11)
    assert not mine[Stage.VERIFY].provisional
    sms = Message.objects.get(template="grid_new_declaration")
    assert sms.params["due"] == "02月26日"


def test_across_national_day_with_its_make_up_sunday_and_saturday(regions, grid_wogou):
    # Fri 26 Sep 2025: Sun 28 Sep is worked, 1–8 Oct are off, Sat 11 Oct is worked.
    case = submit(regions, at(2025, 9, 26, 16))
    assert clocks(case)[Stage.VERIFY].due_on == dt.date(2025, 10, 10)
    assert clocks(case)[Stage.ENROL].due_on == dt.date(2025, 10, 23)


def test_a_year_with_no_confirmed_calendar_falls_back_to_monday_to_friday(regions, grid_wogou):
    assert not CalendarYear.objects.filter(year=2027).exists()
    case = submit(regions, at(2027, 1, 29, 10))  # a Friday
    verify = clocks(case)[Stage.VERIFY]
    assert verify.due_on == dt.date(2027, 2, 5)  # Mon–Fri, whatever the Spring Festival brings
    assert verify.provisional


def test_confirming_a_year_applies_its_holidays_to_new_clocks(regions, grid_wogou):
    from apps.deadlines.models import CalendarDay

    CalendarYear.objects.create(year=2027, confirmed=True, source="test")
    CalendarDay.objects.create(date=dt.date(2027, 2, 1), kind="holiday", name="test")
    assert add_working_days(dt.date(2027, 1, 29), 1) == dt.date(2027, 2, 2)


def test_the_admin_warns_while_a_year_is_unconfirmed(client, regions, grid_wogou):
    from apps.accounts.models import User

    submit(regions, at(2027, 1, 29, 10))
    admin = User.objects.create_superuser("root", "", "pw")
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert "2027" in page and "calendar-warning" in page
    CalendarYear.objects.create(year=2027, confirmed=True, source="国务院办公厅通知")
    assert "calendar-warning" not in client.get("/admin/").content.decode()


# --- clocks, marks and the sweep ------------------------------------------------------------


def test_due_dates_are_fixed_when_the_clock_starts(regions, grid_wogou):
    from apps.deadlines.models import DeadlinePolicy

    case = submit(regions, at(2026, 11, 2, 9))
    DeadlinePolicy.objects.filter(stage=Stage.VERIFY).update(limit=3)
    later = submit(regions, at(2026, 11, 2, 9), id_number="621102199005050038", phone="13700001111")
    assert clocks(case)[Stage.VERIFY].due_on == dt.date(2026, 11, 9)
    assert clocks(later)[Stage.VERIFY].due_on == dt.date(2026, 11, 5)


def test_marks_on_time_due_soon_overdue_met_and_met_late(regions, grid_wogou):
    case = submit(regions, at(2026, 11, 2, 9))  # verify due Mon 9 Nov
    verify = clocks(case)[Stage.VERIFY]
    assert clock_mark(verify, today=dt.date(2026, 11, 3)).status == "on_time"
    assert clock_mark(verify, today=dt.date(2026, 11, 3)).working_days == 4
    assert clock_mark(verify, today=dt.date(2026, 11, 6)).status == "due_soon"  # Friday before
    assert clock_mark(verify, today=dt.date(2026, 11, 11)).status == "overdue"
    assert clock_mark(verify, today=dt.date(2026, 11, 11)).working_days == 2
    with time_machine.travel(at(2026, 11, 12, 10), tick=False):
        s.declaration_accept(declaration=case, actor=grid_wogou)
        from .review_steps import visit

        s.declaration_record_visit(
            declaration=case, actor=grid_wogou, visit=visit(visit_date=dt.date(2026, 11, 12))
        )
    verify = clocks(case)[Stage.VERIFY]
    mark = clock_mark(verify, today=dt.date(2026, 11, 20))
    assert (mark.status, mark.working_days) == ("met_late", 3)
    assert verify.breached_at == verify.due_at
    assert clocks(case)[Stage.FEEDBACK].due_on == dt.date(2026, 11, 19)


def test_the_sweep_flags_exactly_the_clocks_past_due_and_not_met(regions, grid_wogou):
    early = submit(regions, at(2026, 11, 2, 9))  # verify due 9 Nov, enrol due 23 Nov
    late = submit(
        regions, at(2026, 11, 6, 9), id_number="621102199005050038", phone="13700001111"
    )  # 13 Nov
    met = submit(regions, at(2026, 11, 2, 9), id_number="621121197503150023", phone="13700002222")
    with time_machine.travel(at(2026, 11, 5, 9), tick=False):
        s.declaration_withdraw(declaration=met, reason="好转", by_applicant=True)
    assert clocks_sweep(now=at(2026, 11, 9, 23, 59)) == 0  # not yet: due by the end of the 9th
    assert clocks_sweep(now=at(2026, 11, 10, 0, 1)) == 1
    assert clocks(early)[Stage.VERIFY].breached_at is not None
    assert clocks(early)[Stage.ENROL].breached_at is None
    assert clocks(late)[Stage.VERIFY].breached_at is None
    assert all(c.breached_at is None for c in clocks(met).values())
    assert clocks_sweep(now=at(2026, 11, 10, 0, 1)) == 0  # idempotent


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_flag_each_clock_once(regions, grid_wogou):
    require_postgres()
    for i in range(40):
        Clock.objects.create(
            subject_type="test",
            subject_id=i,
            stage=Stage.VERIFY,
            region_code=WOGOU,
            due_on=dt.date(2026, 11, 9),
            due_at=at(2026, 11, 10),
            started_at=at(2026, 11, 2),
        )
    barrier, results = threading.Barrier(2), []

    def sweep():
        barrier.wait()
        try:
            results.append(clocks_sweep(now=at(2026, 11, 11)))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 40]
    assert Clock.objects.filter(breached_at=at(2026, 11, 10)).count() == 40


# --- reminders ------------------------------------------------------------------------------


def test_the_worker_is_reminded_the_working_day_before_once(regions, grid_wogou):
    submit(regions, at(2026, 11, 2, 9))  # verify due Mon 9 Nov
    with time_machine.travel(at(2026, 11, 5, 10), tick=False):  # Thursday: not yet
        deadlines_sweep()
    assert not Message.objects.filter(template="deadline_tomorrow").exists()
    with time_machine.travel(at(2026, 11, 6, 10), tick=False):  # Friday: the working day before
        deadlines_sweep()
        deadlines_sweep()  # beat fired twice
    reminder = Message.objects.get(template="deadline_tomorrow")
    assert reminder.recipient == "13800138000" and reminder.params["name"] == "魏*常"


def test_a_breach_tells_the_worker_and_the_township_once(regions, grid_wogou, township_lujiagou):
    submit(regions, at(2026, 11, 2, 9))
    for _ in range(2):
        with time_machine.travel(at(2026, 11, 10, 10), tick=False):
            deadlines_sweep()
    worker = Message.objects.filter(template="deadline_breached")
    above = Message.objects.filter(template="deadline_breached_above")
    assert [m.recipient for m in worker] == ["13800138000"]
    assert [m.recipient for m in above] == ["13700137000"]


def test_an_appeal_past_its_days_tells_the_township_deciding_it(
    regions, grid_wogou, township_lujiagou
):
    case = submit(regions, at(2026, 11, 2, 9))
    with time_machine.travel(at(2026, 11, 3, 10), tick=False):  # appeal due Tue 10 Nov
        s.declaration_accept(declaration=case, actor=grid_wogou)
        s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入高于监测线。")
        appeal = s.appeal_file(declaration=case, reason="收入算错了。", channel="online")
    with time_machine.travel(at(2026, 11, 11, 10), tick=False):
        deadlines_sweep()
    clock = Clock.objects.get(subject_type="appeal", subject_id=appeal.pk)
    breached = Message.objects.filter(
        template="deadline_breached", subject__startswith=f"clock:{clock.pk}:"
    )
    assert [m.recipient for m in breached] == ["13700137000"]


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_send_each_reminder_once(regions, grid_wogou, township_lujiagou):
    require_postgres()
    for i in range(12):
        body = f"6211021970{i % 12 + 1:02d}{i + 1:02d}{i:03d}"
        from apps.core.identity import id_check_digit

        submit(
            regions,
            at(2026, 11, 2, 9),
            id_number=body + id_check_digit(body),
            phone=f"1390000{i:04d}",
        )
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            deadlines_sweep(now=at(2026, 11, 10, 10))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Message.objects.filter(template="deadline_breached").count() == 12
    assert Message.objects.filter(template="deadline_breached_above").count() == 12


def test_quiet_hours_hold_reminders_until_eight(regions, grid_wogou):
    submit(regions, at(2026, 11, 2, 9))
    with time_machine.travel(at(2026, 11, 6, 22, 30), tick=False):
        deadlines_sweep()
    reminder = Message.objects.get(template="deadline_tomorrow")
    assert reminder.status == Message.Status.PENDING
    assert reminder.next_attempt_at == at(2026, 11, 7, 8)


def test_an_urgent_clock_is_not_held_at_night(regions, grid_wogou):
    case = submit(regions, at(2026, 11, 2, 9))
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        clocks_start(
            subject_type="declaration",
            subject_id=case.pk,
            region_code=WOGOU,
            stages=[ClockSpec(Stage.GREEN_CHANNEL, urgent=True)],
        )
    with time_machine.travel(at(2026, 12, 2, 23, 0), tick=False):
        deadlines_sweep()
    green = Message.objects.filter(
        template="deadline_tomorrow", subject__contains=":deadline_tomorrow"
    )
    urgent = [m for m in green if Clock.objects.get(pk=int(m.subject.split(":")[1])).urgent]
    assert urgent and all(m.next_attempt_at == at(2026, 12, 2, 23) for m in urgent)
