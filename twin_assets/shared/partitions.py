"""The business-day partitions definition every daily asset shares, and the month
partitions of the month-end assets (a job cannot mix the two).

It is built from ``calendar.yaml`` alone (never from a data file), so a broken data file
fails one asset instead of the whole code location. Nothing is read when this module is
imported: ``firm_calendar`` and ``daily_partitions`` read the calendar the first time a
definition asks for them (an asset's decorator, the schedule), once per process.
"""

import datetime as dt
import functools
from collections.abc import Sequence
from itertools import groupby

import dagster as dg

from twin_model.calendar import business_days, first_of_next_month, next_business_day
from twin_resources.config import CalendarConfig, load_calendar

PARTITION_FORMAT = "%Y-%m-%d"
CADENCE_TAG, MONTH_END_CADENCE, ON_DEMAND_CADENCE = "cadence", "month_end", "on_demand"
MONTH_END_TAGS = {CADENCE_TAG: MONTH_END_CADENCE}
"""Tags of the monthly-partitioned assets: jobs select (or leave out) the month ends by them.
The unpartitioned back-test is tagged ``ON_DEMAND_CADENCE``: only its own job runs it."""


def business_day_partitions(calendar: CalendarConfig) -> dg.TimeWindowPartitionsDefinition:
    """Monday-Friday partitions from the first business day.

    A closed calendar ends on its last business day. An open-ended (live) one also holds
    the day in progress (``end_offset=1``), so the schedule can ask for a Friday's
    partition on the Saturday morning after it.
    """
    last = calendar.last_business_day
    # A partition's window runs to the next weekday's midnight: end there to include it.
    end = next_business_day(last) if last else None
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * 1-5",
        start=calendar.first_business_day.strftime(PARTITION_FORMAT),
        end=end.strftime(PARTITION_FORMAT) if end else None,
        fmt=PARTITION_FORMAT,
        timezone=calendar.timezone,
        end_offset=0 if end else 1,
    )


def partition_days(keys: list[str]) -> list[dt.date]:
    """Partition keys as dates, in order."""
    return sorted(dt.date.fromisoformat(key) for key in keys)


def partition_key(day: dt.date) -> str:
    """The partition key of a business day."""
    return day.strftime(PARTITION_FORMAT)


def month_end_partitions(calendar: CalendarConfig) -> dg.MonthlyPartitionsDefinition:
    """One partition per calendar month of the firm's calendar (key: the month's first
    day), for the month-end assets (the policy search). A closed calendar ends with the
    month of its last business day; an open one holds the month in progress."""
    last = calendar.last_business_day
    end = first_of_next_month(last) if last else None
    return dg.MonthlyPartitionsDefinition(
        start_date=calendar.first_business_day.replace(day=1).strftime(PARTITION_FORMAT),
        end_date=end.strftime(PARTITION_FORMAT) if end else None,
        fmt=PARTITION_FORMAT,
        timezone=calendar.timezone,
        end_offset=0 if end else 1,
    )


@functools.cache
def firm_calendar() -> CalendarConfig:
    """The firm's calendar (``calendar.yaml`` of ``TWIN_CONFIG_DIR``), read on first use."""
    return load_calendar()


@functools.cache
def daily_partitions() -> dg.TimeWindowPartitionsDefinition:
    """The business-day partitions of the firm's calendar, built on first use."""
    return business_day_partitions(firm_calendar())


@functools.cache
def monthly_partitions() -> dg.MonthlyPartitionsDefinition:
    """The month partitions of the firm's calendar, built on first use."""
    return month_end_partitions(firm_calendar())


def month_key(day: str) -> str:
    """The month partition key (the month's first day) of the ISO ``day``."""
    return day[:8] + "01"


def month_steps(days: Sequence[str], calendar: Sequence[str]) -> list[tuple[list[str], str | None]]:
    """``days`` (ISO, in order) cut into calendar months, each with its month partition key
    when the month is complete in them (its month end is then searched), else None.

    A month is complete when its last day in ``days`` is the calendar's last business day
    of that month and either the calendar goes on past it or it is the month's last weekday
    (a calendar that stops mid-month leaves that month open)."""
    steps = []
    for month, chunk in groupby(days, key=month_key):
        chunk = list(chunk)
        in_calendar = [d for d in calendar if month_key(d) == month]
        first = dt.date.fromisoformat(month)
        month_last = first_of_next_month(first) - dt.timedelta(days=1)
        weekday_end = business_days(first, month_last)[-1].isoformat()
        goes_on = calendar[-1] > chunk[-1]
        complete = bool(in_calendar) and chunk[-1] == in_calendar[-1] and (goes_on or chunk[-1] >= weekday_end)
        steps.append((chunk, month if complete else None))
    return steps
