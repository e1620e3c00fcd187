"""Working days.

For now Monday to Friday. The official calendar (public holidays, make-up working
days) replaces this in the deadlines feature; callers only use these functions.
"""

import datetime as dt


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (start itself not counted)."""
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


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
