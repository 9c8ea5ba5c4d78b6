"""Business days: Monday to Friday. Holidays are not removed here: a weekday on which the
source delivers nothing is an empty partition, and windows count observed returns.

Which weekdays may be empty is the firm's ``HolidayCalendar``: an exchange's holidays
(from the maintained ``exchange_calendars`` rules) and the days the firm lists itself.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < 5


def business_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every weekday from ``start`` to ``end``, both included."""
    if end < start:
        return []
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    return days[np.is_busday(days)].astype(dt.date).tolist()


def previous_business_day(day: dt.date) -> dt.date:
    """The weekday before ``day`` (Friday for a Monday, a Saturday or a Sunday)."""
    return _step(day, -1)


def next_business_day(day: dt.date) -> dt.date:
    """The weekday after ``day`` (Monday for a Friday, a Saturday or a Sunday)."""
    return _step(day, 1)


def first_of_next_month(day: dt.date) -> dt.date:
    """The first calendar day of the month after ``day``'s (day 28 plus four days is always
    in the next month)."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _step(day: dt.date, direction: int) -> dt.date:
    step = day + dt.timedelta(days=direction)
    while not is_business_day(step):
        step += dt.timedelta(days=direction)
    return step


# --- holidays ----------------------------------------------------------------------------


def exchange_names() -> set[str]:
    """The exchange calendars ``exchange_calendars`` knows (MIC codes such as XNYS, and aliases)."""
    import exchange_calendars

    return set(exchange_calendars.get_calendar_names(include_aliases=True))


def exchange_holidays(exchange: str, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """The weekdays from ``start`` to ``end`` on which ``exchange`` is closed, with the
    holiday's name ("closure" for an ad hoc one, such as a national day of mourning)."""
    import exchange_calendars
    import pandas as pd

    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values, which pandas 3.1 deprecates for tz-aware data
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        # whole years: the library needs start < end, and caches a calendar per bounds
        calendar = exchange_calendars.get_calendar(
            exchange, start=dt.date(start.year, 1, 1), end=dt.date(end.year, 12, 31)
        )
    sessions = set(calendar.sessions.date)
    closed = [day for day in business_days(start, end) if day not in sessions]
    named = calendar.regular_holidays.holidays(pd.Timestamp(start), pd.Timestamp(end), return_name=True)
    names = {stamp.date(): name for stamp, name in named.items()}
    return {day: names.get(day, "closure") for day in closed}


@dataclass(frozen=True)
class HolidayCalendar:
    """The weekdays on which the firm expects no data: ``exchange``'s holidays (an
    ``exchange_calendars`` code, or None) and the ``listed`` days of its own config."""

    exchange: str | None = None
    listed: frozenset[dt.date] = frozenset()

    @property
    def description(self) -> str:
        parts = [f"{self.exchange} holidays"] if self.exchange else []
        parts += [f"{len(self.listed)} listed no-data day(s)"] if self.listed else []
        return " and ".join(parts) or "no holiday calendar"

    def no_data_days(self, start: dt.date, end: dt.date) -> dict[dt.date, str]:
        """Each weekday from ``start`` to ``end`` that may have no data, with why."""
        reasons = exchange_holidays(self.exchange, start, end) if self.exchange else {}
        reasons = {day: f"{self.exchange} holiday ({name})" for day, name in reasons.items()}
        for day in sorted(self.listed):
            if start <= day <= end:
                reasons.setdefault(day, "listed as a no-data day in the calendar config")
        return dict(sorted(reasons.items()))
