"""Factor returns from closes: simple returns per ticker, a price index made a total
return by the daily share of its dividend yield, and the factor settings' bounds."""

import datetime as dt
import math

import polars as pl
import pytest
from pydantic import ValidationError

from twin_model.data.factors import FactorSettings, daily_dividend, factor_returns_from_closes

D1, D2, D3 = dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)


def _closes(rows):
    return pl.DataFrame(rows, schema=["date", "ticker", "close"], orient="row")


def test_each_ticker_returns_over_its_own_consecutive_closes():
    closes = _closes([(D1, "ETF", 100.0), (D2, "ETF", 110.0), (D3, "ETF", 99.0), (D2, "IDX", 50.0), (D3, "IDX", 51.0)])
    frame = factor_returns_from_closes(closes, "IDX")
    # each ticker's first close has no previous one: no row; 110/100 - 1, 99/110 - 1, 51/50 - 1
    assert frame.rows() == [
        (D2, "ETF", pytest.approx(0.10), False),
        (D3, "ETF", pytest.approx(-0.10), False),
        (D3, "IDX", pytest.approx(0.02), True),
    ]


def test_a_price_index_earns_its_dividend_yield_spread_over_252_business_days():
    closes = _closes([(D1, "IDX", 100.0), (D2, "IDX", 101.0), (D1, "ETF", 10.0), (D2, "ETF", 10.0)])
    frame = factor_returns_from_closes(closes, "IDX", {"IDX": 0.018})
    by_id = {factor_id: ret for _, factor_id, ret, _ in frame.iter_rows()}
    add_on = math.exp(math.log(1.018) / 252) - 1  # the 252nd root of 1.018, independently
    assert by_id["IDX"] == pytest.approx(0.01 + add_on, rel=1e-12)
    assert by_id["ETF"] == 0.0  # no yield listed: its closes are already total returns
    assert add_on == pytest.approx(0.018 / 252, rel=0.01)  # about 0.71 bp a day


def test_the_daily_dividend_compounds_to_the_annual_yield():
    assert (1 + daily_dividend(0.018)) ** 252 == pytest.approx(1.018, rel=1e-12)
    assert daily_dividend(0.0) == 0.0


def test_the_settings_default_to_the_sp500_and_a_1_8_percent_yield():
    settings = FactorSettings()
    assert (settings.benchmark, settings.dividend_yield) == ("SP500", 0.018)
    assert settings.price_index_label() == "price + 1.80% dividend yield"


@pytest.mark.parametrize("fields", [{"dividend_yield": -0.01}, {"dividend_yield": 0.25}, {"benchmark": " SP500"}])
def test_settings_out_of_bounds_are_refused(fields):
    with pytest.raises(ValidationError):
        FactorSettings(**fields)
