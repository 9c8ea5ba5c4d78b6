"""``calendar.yaml``: the business days and the firm's holidays."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from pydantic import Field, field_validator, model_validator

from twin_model.calendar import HolidayCalendar, exchange_names
from twin_resources.config._base import StrictModel


class CalendarConfig(StrictModel):
    """Business days run Monday to Friday from ``first_business_day``; a live firm leaves
    ``last_business_day`` out (open-ended).

    A weekday may be without data only when the firm's holiday calendar says so:
    ``holidays`` names an exchange calendar (an ``exchange_calendars`` code such as XNYS)
    and ``no_data_days`` lists further weekdays (the firm's own holidays, or a day it
    accepts as empty). Any other weekday without rows fails the run naming the day.
    """

    first_business_day: dt.date
    last_business_day: dt.date | None = None
    timezone: str = "America/New_York"
    schedule_time: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: str | None = None
    no_data_days: list[dt.date] = []

    @field_validator("first_business_day", "last_business_day")
    @classmethod
    def _weekday(cls, value: dt.date | None) -> dt.date | None:
        if value is not None:
            _require_weekday(value)
        return value

    @field_validator("no_data_days")
    @classmethod
    def _weekdays(cls, days: list[dt.date]) -> list[dt.date]:
        for day in days:
            _require_weekday(day)
        return days

    @field_validator("holidays")
    @classmethod
    def _known_exchange(cls, value: str | None) -> str | None:
        if value is not None and value not in exchange_names():
            raise ValueError(f"unknown exchange calendar {value!r} (an exchange_calendars code such as 'XNYS')")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CalendarConfig:
        if self.last_business_day is not None and self.last_business_day < self.first_business_day:
            raise ValueError("last_business_day is before first_business_day")
        return self

    @property
    def open_ended(self) -> bool:
        return self.last_business_day is None

    def holiday_calendar(self) -> HolidayCalendar:
        return HolidayCalendar(self.holidays, frozenset(self.no_data_days))


def _require_weekday(day: dt.date) -> None:
    if day.weekday() >= 5:
        raise ValueError(f"{day} is a {day.strftime('%A')}, not a business day")
