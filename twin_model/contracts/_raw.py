"""The raw layer's tables: what the sources deliver (prices, strategy returns and
positions, factor returns) and the market regime computed from the benchmark."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.contracts._fields import business_day, finite, identifier

MAX_DAILY_RETURN = 0.5
"""A daily return above +50% is treated as a data error, not a trading result."""


def _ret_present_when_available(data: PolarsData) -> pl.LazyFrame:
    """Frame check: a strategy marked available must report a return (masking is explicit)."""
    return data.lazyframe.select(pl.col("ret").is_not_null() | ~pl.col("available"))


class _RawTable(pa.DataFrameModel):
    """What every raw table holds: rows dated on business days (a weekend row is refused)."""

    date: pl.Date = pa.Field(nullable=False)

    @pa.check("date", name="business_day")
    @classmethod
    def business_day(cls, data: PolarsData) -> pl.LazyFrame:
        return business_day(data)


class MarketPrices(_RawTable):
    """raw.market_prices: one close per instrument and business day."""

    ticker: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    close: pl.Float64 = pa.Field(nullable=False, gt=0)
    asset_class: pl.String = pa.Field(nullable=False)
    is_benchmark: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "ticker"]

    @pa.check("close", name="finite")
    @classmethod
    def close_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return finite(data)

    @pa.check("ticker", name="not_blank_or_padded")
    @classmethod
    def ticker_identifier(cls, data: PolarsData) -> pl.LazyFrame:
        return identifier(data)


class StrategyReturns(_RawTable):
    """raw.strategy_returns: W_{t+1} at strategy level.

    ``ret`` is the simple return of the day (net of the strategy's own trading costs);
    ``available`` False marks a day the strategy did not trade, and then ``ret`` may be
    null. A return must be finite, above -100% and at most +50%.
    """

    strategy_id: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    ret: pl.Float64 = pa.Field(nullable=True, gt=-1.0, le=MAX_DAILY_RETURN)
    available: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]

    @pa.check("ret", name="finite")
    @classmethod
    def ret_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return finite(data)

    @pa.check("strategy_id", name="not_blank_or_padded")
    @classmethod
    def strategy_identifier(cls, data: PolarsData) -> pl.LazyFrame:
        return identifier(data)

    @pa.dataframe_check(name="ret_present_when_available")
    @classmethod
    def ret_present_when_available(cls, data: PolarsData) -> pl.LazyFrame:
        return _ret_present_when_available(data)


class StrategyPositions(_RawTable):
    """raw.strategy_positions: the weight of each ticker a bundled strategy holds that day.

    The weight is a fraction of the strategy's capital (negative for a short), held over
    the day's return: it was decided at the previous close.
    """

    strategy_id: pl.String = pa.Field(nullable=False)
    ticker: pl.String = pa.Field(nullable=False)
    weight: pl.Float64 = pa.Field(nullable=False, ge=-1.0, le=1.0)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "ticker"]

    @pa.check("weight", name="finite")
    @classmethod
    def weight_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return finite(data)

    @pa.check("strategy_id", "ticker", name="not_blank_or_padded")
    @classmethod
    def identifiers(cls, data: PolarsData) -> pl.LazyFrame:
        return identifier(data)


class FactorReturns(_RawTable):
    """raw.factor_returns: the factors a strategy's alpha is measured over.

    ``ret`` is the factor's simple return of the day (a total return: dividends
    included), finite, above -100% and at most +50%. On a day with factors exactly one
    of them is the benchmark; a day without rows means alpha is measured over cash.
    """

    date: pl.Date = pa.Field(nullable=False, description="The business day the return was earned.")
    factor_id: pl.String = pa.Field(
        nullable=False, str_length={"min_value": 1}, description="The factor's id (SP500, MTUM, ... or the file's)."
    )
    ret: pl.Float64 = pa.Field(
        nullable=False,
        gt=-1.0,
        le=MAX_DAILY_RETURN,
        description="Simple total return of the day, close to close, as a fraction (0.01 = 1%).",
    )
    is_benchmark: pl.Boolean = pa.Field(
        nullable=False, description="True for the one factor of the day that is the benchmark."
    )

    class Config:
        strict = True
        unique = ["date", "factor_id"]

    @pa.check("ret", name="finite")
    @classmethod
    def ret_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return finite(data)

    @pa.check("factor_id", name="not_blank_or_padded")
    @classmethod
    def factor_identifier(cls, data: PolarsData) -> pl.LazyFrame:
        return identifier(data)

    @pa.dataframe_check(name="one_benchmark_per_day")
    @classmethod
    def one_benchmark_per_day(cls, data: PolarsData) -> pl.LazyFrame:
        """Each row's day has exactly one benchmark factor."""
        return data.lazyframe.select(pl.col("is_benchmark").cast(pl.Int64).sum().over("date") == 1)


class MarketRegime(pa.DataFrameModel):
    """raw.market_regime: the market state behind solution risk budgets (W_{t+1} for solutions).

    From the benchmark: trend (close vs 200-day average) and volatility state (21-day
    realised volatility), their indicators, and the suggested risk_scale of a solution's
    risk budget (twin_model.data.market). "unknown" while history is too short.
    """

    date: pl.Date = pa.Field(nullable=False)
    regime: pl.String = pa.Field(nullable=False)
    trend: pl.String = pa.Field(nullable=True, isin=["up", "down"])
    volatility_state: pl.String = pa.Field(nullable=True, isin=["low_vol", "normal_vol", "high_vol"])
    vol_21d: pl.Float64 = pa.Field(nullable=True, ge=0)
    vol_63d: pl.Float64 = pa.Field(nullable=True, ge=0)
    trend_ratio: pl.Float64 = pa.Field(nullable=True)
    drawdown_252d: pl.Float64 = pa.Field(nullable=True, ge=-1, le=0)
    risk_scale: pl.Float64 = pa.Field(nullable=False, gt=0, le=1)

    class Config:
        strict = True
        unique = ["date"]
