"""Working days by China's official calendar.

Public holidays are off; the weekend days the State Council declares working days
(调休) are on. A year's exceptions count once the year is confirmed in the admin; a
year without a confirmed calendar falls back to Monday–Friday and the deadlines
computed in it are marked provisional.

The calendar is read from the database for the span of years a computation needs; a
page that marks many clocks reads it once (`WorkingCalendar.spanning`) and hands it on.
"""

import calendar as _pycalendar
import datetime as dt


class WorkingCalendar:
    """The official working days of the years `first`…`last`, read in two queries."""

    def __init__(self, first: int, last: int):
        from .models import CalendarDay, CalendarYear

        self.first, self.last = first, last
        self.confirmed = set(
            CalendarYear.objects.filter(year__range=(first, last), confirmed=True).values_list(
                "year", flat=True
            )
        )
        days = CalendarDay.objects.filter(date__year__in=self.confirmed)
        self.exceptions = {d: kind == "workday" for d, kind in days.values_list("date", "kind")}

    @classmethod
    def spanning(cls, *days: dt.date, extra_years: int = 0) -> "WorkingCalendar":
        years = [d.year for d in days]
        return cls(min(years), max(years) + extra_years)

    def covers(self, *days: dt.date) -> bool:
        return all(self.first <= d.year <= self.last for d in days)

    def is_confirmed(self, year: int) -> bool:
        return year in self.confirmed

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date `days` working days after `start` (start itself not counted)."""
        day, counted = start, 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days from `start` to `end` (start not counted); negative when `end`
        is before `start` — how many working days a deadline is overdue."""
        sign, (a, b) = (1, (start, end)) if end >= start else (-1, (end, start))
        days, day = 0, a
        while day < b:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days += 1
        return sign * days


def _for_working_days(start: dt.date, days: int) -> WorkingCalendar:
    # About 250 working days a year: the span the count can reach, and a year to spare.
    return WorkingCalendar.spanning(start, extra_years=1 + days // 250)


def is_confirmed(year: int) -> bool:
    return WorkingCalendar(year, year).is_confirmed(year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    return _for_working_days(start, days).add_working_days(start, days)


def next_working_day(day: dt.date) -> dt.date:
    return add_working_days(day, 1)


def working_days_between(
    start: dt.date, end: dt.date, calendar: WorkingCalendar | None = None
) -> int:
    if calendar is None or not calendar.covers(start, end):
        calendar = WorkingCalendar.spanning(start, end)
    return calendar.working_days_between(start, end)


def add_months(start: dt.date, months: int) -> dt.date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(start.day, _pycalendar.monthrange(year, month)[1]))


def add_period(
    start: dt.date, limit: int, unit: str, calendar: WorkingCalendar | None = None
) -> tuple[dt.date, bool]:
    """The due date of a limit from `start`, and whether it is provisional (computed
    across a year with no confirmed calendar)."""
    if unit == "working_days":
        # No stretch of the official calendar has fewer than half its days working,
        # past the Spring Festival's fortnight: the due date is before `latest`.
        latest = start + dt.timedelta(days=2 * limit + 14)
        if calendar is None or not calendar.covers(start, latest):
            calendar = _for_working_days(start, limit)
        due = calendar.add_working_days(start, limit)
        provisional = any(not calendar.is_confirmed(y) for y in range(start.year, due.year + 1))
        return due, provisional
    if unit == "months":
        return add_months(start, limit), False
    return start + dt.timedelta(days=limit), False
