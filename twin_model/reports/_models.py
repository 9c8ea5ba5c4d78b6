"""The strategy deep dive's data: posterior intervals, the one-month forecast bands, the
alpha pool's history with its reasons and the reliability of the metalabels."""

from __future__ import annotations

import datetime as dt

import polars as pl

from twin_model.conventions import ParameterSetName

RELIABILITY_BINS = 5


def posterior_intervals(posteriors: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """strategy_id, parameter (sharpe | alpha), mean, q05, q95 on ``as_of``: the annual
    Sharpe and the alpha over the factors with their 90% posterior intervals."""
    today = posteriors.filter(pl.col("date") == as_of)
    parts = [
        today.select("strategy_id", parameter=pl.lit(name), mean=f"{name}_mean", q05=f"{name}_q05", q95=f"{name}_q95")
        for name in ("sharpe", "alpha")
    ]
    return pl.concat(parts).sort("parameter", "strategy_id")


def forecast_bands(forecasts: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """strategy_id, horizon_days, p05, p50, p95, mean_return, prob_loss, monthly_valley:
    the posterior one-month forecast made on ``as_of`` (the fitted parameter set)."""
    return (
        forecasts.filter((pl.col("date") == as_of) & (pl.col("parameter_set") == ParameterSetName.POSTERIOR.value))
        .select("strategy_id", "horizon_days", "p05", "p50", "p95", "mean_return", "prob_loss", "monthly_valley")
        .sort("p50")
    )


def pool_history(pool: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(date, in_pool: the pool's size each day; the decisions that changed a strategy's
    state, newest first: date, strategy_id, in_pool, evidence, reason)."""
    size = pool.group_by("date").agg(in_pool=pl.col("in_pool").sum()).sort("date")
    changes = (
        pool.filter(pl.col("changed"))
        .select("date", "strategy_id", "in_pool", "evidence", "reason")
        .sort("date", "strategy_id", descending=[True, False])
    )
    return size, changes


def reliability(scores: pl.DataFrame, bins: int = RELIABILITY_BINS) -> pl.DataFrame:
    """bin, predicted (mean P(profitable)), realised (share profitable), n: the matured
    metalabel predictions in ``bins`` equal-width bins of the predicted probability (a
    probability of 1 falls in the last bin); empty bins are left out."""
    return (
        scores.with_columns(bin=(pl.col("p_profitable") * bins).floor().clip(0, bins - 1).cast(pl.Int64))
        .group_by("bin")
        .agg(
            predicted=pl.col("p_profitable").mean(),
            realised=pl.col("realised").cast(pl.Float64).mean(),
            n=pl.len(),
        )
        .sort("bin")
    )


def calibration_today(calibration: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """strategy_id, coverage_rate, n_evaluated: how often realised months fell inside the
    forecast bands, as known on the last day at or before ``as_of``."""
    known = calibration.filter(pl.col("date") <= as_of)
    if known.height == 0:
        return known.select("strategy_id", "coverage_rate", "n_evaluated")
    last = known.get_column("date").max()
    return (
        known.filter(pl.col("date") == last).select("strategy_id", "coverage_rate", "n_evaluated").sort("strategy_id")
    )
