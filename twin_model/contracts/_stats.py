"""The stats layer's table: risk and performance statistics per strategy and window."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from twin_model.contracts._fields import PROBABILITY, values_of
from twin_model.conventions import StatisticsWindow


class StrategyStatistics(pa.DataFrameModel):
    """stats.strategy_statistics: risk and performance over trailing observed returns.

    Conventions are twin_model.statistics' (252 periods a year, ddof=1, drawdown from
    wealth 1, VaR as the 5% quantile). Null where a statistic is not computable.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    window: pl.String = pa.Field(isin=values_of(StatisticsWindow))
    n_obs: pl.Int64 = pa.Field(gt=0)
    annual_return: pl.Float64 = pa.Field(nullable=True)
    annual_volatility: pl.Float64 = pa.Field(nullable=True, ge=0)
    sharpe: pl.Float64 = pa.Field(nullable=True)
    sortino: pl.Float64 = pa.Field(nullable=True)
    calmar: pl.Float64 = pa.Field(nullable=True)
    max_drawdown: pl.Float64 = pa.Field(nullable=True, ge=-1, le=0)
    max_drawdown_duration: pl.Int64 = pa.Field(nullable=True, ge=0)
    var_95: pl.Float64 = pa.Field(nullable=True)
    cvar_95: pl.Float64 = pa.Field(nullable=True)
    cf_var_95: pl.Float64 = pa.Field(nullable=True)
    cf_cvar_95: pl.Float64 = pa.Field(nullable=True)
    skew: pl.Float64 = pa.Field(nullable=True)
    kurtosis: pl.Float64 = pa.Field(nullable=True)
    alpha: pl.Float64 = pa.Field(nullable=True)
    beta: pl.Float64 = pa.Field(nullable=True)
    psr: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)
    dsr: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)
    min_track_record_length: pl.Float64 = pa.Field(nullable=True)
    hit_rate: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)
    mtd_pnl: pl.Float64 = pa.Field(nullable=True)
    mtd_trough: pl.Float64 = pa.Field(nullable=True, le=0)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "window"]
