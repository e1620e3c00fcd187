"""Working days by China's official calendar.

Public holidays are off; the weekend days the State Council declares working days
(调休) are on. A year's exceptions count once the year is confirmed in the admin; a
year without a confirmed calendar falls back to Monday–Friday and the deadlines
computed in it are marked provisional.
"""

import calendar as _pycalendar
import datetime as dt

from apps.core.memo import TTLMemo

# The calendar changes a few times a year; every process re-reads it within minutes.
_years = TTLMemo(ttl=300)
# Due dates by (start, limit, unit): every case opened on a day gets the same ones.
_periods = TTLMemo(ttl=300)


def _exceptions(year: int) -> dict[dt.date, bool] | None:
    """{date: is_working_day} for a confirmed year; None for an unconfirmed one."""

    def load():
        from .models import CalendarDay, CalendarYear

        if not CalendarYear.objects.filter(year=year, confirmed=True).exists():
            return {"confirmed": False}
        days = CalendarDay.objects.filter(date__year=year).values_list("date", "kind")
        return {"confirmed": True, "days": {d: kind == "workday" for d, kind in days}}

    data = _years.get_or_compute(year, load)
    return data["days"] if data["confirmed"] else None


def calendar_changed() -> None:
    """Forget the cached years (after an admin edits the calendar)."""
    _years.clear()
    _periods.clear()


def is_confirmed(year: int) -> bool:
    return _exceptions(year) is not None


def is_working_day(day: dt.date) -> bool:
    exceptions = _exceptions(day.year)
    if exceptions and day in exceptions:
        return exceptions[day]
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (start itself not counted)."""
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def next_working_day(day: dt.date) -> dt.date:
    return add_working_days(day, 1)


def add_months(start: dt.date, months: int) -> dt.date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(start.day, _pycalendar.monthrange(year, month)[1]))


def add_period(start: dt.date, limit: int, unit: str) -> tuple[dt.date, bool]:
    """The due date of a limit from `start`, and whether it is provisional (computed
    across a year with no confirmed calendar)."""
    return _periods.get_or_compute((start, limit, unit), lambda: _add_period(start, limit, unit))


def _add_period(start: dt.date, limit: int, unit: str) -> tuple[dt.date, bool]:
    if unit == "working_days":
        due = add_working_days(start, limit)
        provisional = any(not is_confirmed(y) for y in range(start.year, due.year + 1))
        return due, provisional
    if unit == "months":
        return add_months(start, limit), False
    return start + dt.timedelta(days=limit), False


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days from `start` to `end` (start not counted); negative when `end` is
    before `start` — how many working days a deadline is overdue."""
    if end == start:
        return 0
    sign, (a, b) = (1, (start, end)) if end > start else (-1, (end, start))
    days, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days += 1
    return sign * days
