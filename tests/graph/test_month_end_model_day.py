"""The month end's model day (twin_assets.twin.assets.modelled_day): a month whose last
weekday is a market holiday (Memorial Day, Monday 31 May 2021) has solution rows on it but
no traded returns, so no strategy posterior; the month-end search, projection and launch
decision draw from the posterior of the traded day before it (Friday 28 May)."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from twin_assets.shared.month_end import POSTERIORS, modelled_day

D = dt.date


class PosteriorDays:
    """A warehouse whose posterior table holds rows on ``days`` only (read by date range)."""

    def __init__(self, days: list[dt.date]):
        self.days = days
        self.asked: list[str] = []

    def read_history(self, table: str, start: dt.date, end: dt.date, columns=None) -> pl.DataFrame:
        self.asked.append(table)
        return pl.DataFrame({"date": [d for d in self.days if start <= d <= end]}, schema={"date": pl.Date})


def test_a_holiday_month_end_draws_from_the_traded_day_before_it():
    warehouse = PosteriorDays([D(2021, 5, 26), D(2021, 5, 27), D(2021, 5, 28), D(2021, 6, 1)])
    assert modelled_day(warehouse, D(2021, 5, 31)) == D(2021, 5, 28)
    assert warehouse.asked == [POSTERIORS.qualified_name]


def test_a_traded_month_end_is_its_own_model_day():
    assert modelled_day(PosteriorDays([D(2021, 6, 29), D(2021, 6, 30)]), D(2021, 6, 30)) == D(2021, 6, 30)


def test_no_posterior_near_the_month_end_fails_naming_it():
    with pytest.raises(dg.Failure, match="no usable posterior on 2021-05-31: materialise models.strategy_posteriors"):
        modelled_day(PosteriorDays([D(2021, 5, 14)]), D(2021, 5, 31))
