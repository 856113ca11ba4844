"""Working-day deadlines under the official holiday calendar (国务院办公厅 节假日安排), from ``chinesecalendar``.

The library knows the State Council's yearly schedule, including the weekend days that become working days
(调休). For a year whose schedule is not published yet it raises; we then count Monday–Friday and say so, rather
than guess holidays.
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar


def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, the official calendar covers that day)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The date ``days`` working days after ``start`` (the day of receipt does not count), and whether the official
    calendar covered every day counted."""
    day, left, covered = start, days, True
    while left > 0:
        day += dt.timedelta(days=1)
        work, known = is_workday(day)
        covered = covered and known
        if work:
            left -= 1
    return day, covered
