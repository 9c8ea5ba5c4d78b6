"""Return measures over long frames (``date``, a series key, ``ret``), as the dashboard
plots them: growth of 1, drawdown, historical VaR/CVaR, calendar-month compounding and
trailing-window Sharpe, volatility and beta.

Conventions: simple daily returns; a null return (an unobserved day) is dropped, so
windows count observed returns; 252 periods a year; sample std (ddof 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.statistics import conditional_value_at_risk, value_at_risk

ROLLING_WINDOW = 63
"""Observed returns in a rolling window (about a quarter)."""
TAIL_CONFIDENCE = 0.95


def growth(returns: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per ``by``, ordered by date: ``wealth`` = prod(1 + ret) up to the day (wealth 1
    before the first return); null returns are dropped."""
    return returns.drop_nulls("ret").sort(by, "date").with_columns(wealth=(pl.col("ret") + 1.0).cum_prod().over(by))


def drawdown(returns: pl.DataFrame, by: str) -> pl.DataFrame:
    """``growth`` plus ``drawdown`` = wealth / running peak - 1 (<= 0), the peak starting
    at wealth 1 before the first return (as ``twin_model.statistics.max_drawdown``)."""
    grown = growth(returns, by)
    peak = pl.max_horizontal(pl.col("wealth").cum_max().over(by), pl.lit(1.0))
    return grown.with_columns(drawdown=pl.col("wealth") / peak - 1.0)


@dataclass(frozen=True)
class TailRisk:
    """Historical one-day VaR and CVaR at ``confidence``, as returns (negative: a loss):
    VaR is the (1 - confidence) quantile of the observed returns (linear interpolation),
    CVaR the mean of the returns at or below it."""

    var: float
    cvar: float
    n_obs: int
    confidence: float = TAIL_CONFIDENCE


def tail_risk(returns, confidence: float = TAIL_CONFIDENCE) -> TailRisk:
    """Historical VaR/CVaR of a sequence of daily returns (nulls/NaN dropped)."""
    values = np.asarray([r for r in returns if r is not None], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return TailRisk(float("nan"), float("nan"), 0, confidence)
    level = 1.0 - confidence
    return TailRisk(
        value_at_risk(values, level=level), conditional_value_at_risk(values, level=level), int(values.size), confidence
    )


def tail_risk_table(returns: pl.DataFrame, by: str, confidence: float = TAIL_CONFIDENCE) -> pl.DataFrame:
    """``by``, var, cvar, n_obs, confidence: ``tail_risk`` of each series."""
    rows = []
    for (key,), group in returns.sort(by, "date").group_by(by, maintain_order=True):
        risk = tail_risk(group.get_column("ret").to_list(), confidence)
        rows.append({by: key, "var": risk.var, "cvar": risk.cvar, "n_obs": risk.n_obs, "confidence": confidence})
    schema = {by: pl.String, "var": pl.Float64, "cvar": pl.Float64, "n_obs": pl.Int64, "confidence": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def monthly_returns(returns: pl.DataFrame, by: str) -> pl.DataFrame:
    """``by``, year, month, ret: each calendar month's daily returns compounded,
    prod(1 + r) - 1 (a month with no observed return is absent)."""
    return (
        returns.drop_nulls("ret")
        .with_columns(year=pl.col("date").dt.year(), month=pl.col("date").dt.month())
        .group_by(by, "year", "month")
        .agg(ret=(pl.col("ret") + 1.0).product() - 1.0, n_obs=pl.len())
        .sort(by, "year", "month")
    )


def rolling_metrics(
    returns: pl.DataFrame, benchmark: pl.DataFrame, by: str, window: int = ROLLING_WINDOW
) -> pl.DataFrame:
    """Per ``by`` and day, over the trailing ``window`` observed returns: annualised
    Sharpe (mean / std x sqrt(252), risk-free 0), annualised volatility (std x sqrt(252))
    and beta to ``benchmark`` (date, ret; cov / var over the same days). Rows before the
    first full window are left out; days without a benchmark return are dropped."""
    joined = (
        returns.drop_nulls("ret")
        .join(benchmark.select("date", bench=pl.col("ret")).drop_nulls("bench"), on="date", how="inner")
        .sort(by, "date")
    )
    root = float(np.sqrt(PERIODS_PER_YEAR))
    mean = pl.col("ret").rolling_mean(window)
    std = pl.col("ret").rolling_std(window, ddof=1)
    cov = (pl.col("ret") * pl.col("bench")).rolling_mean(window) - mean * pl.col("bench").rolling_mean(window)
    var = (pl.col("bench") ** 2).rolling_mean(window) - pl.col("bench").rolling_mean(window) ** 2
    return (
        joined.with_columns(
            sharpe=(mean / std * root).over(by),
            volatility=(std * root).over(by),
            beta=(cov / var).over(by),
        )
        .drop_nulls("volatility")
        .select("date", by, "sharpe", "volatility", "beta")
    )
