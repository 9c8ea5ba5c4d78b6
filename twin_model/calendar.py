"""Business days: Monday to Friday. Holidays are not removed here: a weekday on which the
source delivers nothing is an empty partition, and windows count observed returns."""

from __future__ import annotations

import datetime as dt

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


def _step(day: dt.date, direction: int) -> dt.date:
    step = day + dt.timedelta(days=direction)
    while not is_business_day(step):
        step += dt.timedelta(days=direction)
    return step
