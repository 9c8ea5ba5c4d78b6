"""Synthetic firms with a known truth for the metalabel tests and benchmark.

Strategy i's return on business day s is r_is = alpha_is + beta_i x_s + e_is, with one market
factor x_s ~ N(0.0003, 0.01^2) and known beta_i. With ``regimes``, each strategy switches
between a calm regime (alpha 0.002, e sd 0.004) and a volatile one (alpha -0.003, e sd
0.015) by a two-state Markov chain that stays put with probability ``stay`` a day (mean
spell 1 / (1 - stay) days): the next month's residual return is then positive in calm spells
and mostly negative in volatile ones, and the regime shows in trailing volatility. Without
``regimes`` the residual is i.i.d. N(0.0002, 0.01^2): nothing observable predicts it.

The tables a production run would hold are derived from the returns up to each day only:
a stand-in posterior (trailing 126 observed returns: alpha_sd = s / sqrt(n),
p_alpha_positive = Phi(m / alpha_sd), sharpe_mean = m / s sqrt(252)) and the real
``strategy_statistics_table`` of each day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.statistics import strategy_statistics_table


@dataclass
class SyntheticFirm:
    returns: pl.DataFrame
    factor_returns: pl.DataFrame
    betas: pl.DataFrame
    calm: np.ndarray  # [strategies, days] True in the calm regime


def business_days(start: dt.date, n: int) -> list[dt.date]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def synthetic_firm(strategies: int, n_days: int, *, regimes: bool, seed: int, stay: float = 0.99) -> SyntheticFirm:
    rng = np.random.default_rng(seed)
    days = business_days(dt.date(2020, 1, 1), n_days)
    x = rng.normal(0.0003, 0.01, n_days)
    beta = rng.uniform(0.2, 1.0, strategies)
    calm = np.ones((strategies, n_days), dtype=bool)
    if regimes:
        calm[:, 0] = rng.random(strategies) < 0.5
        flips = rng.random((strategies, n_days)) > stay
        for s in range(1, n_days):
            calm[:, s] = calm[:, s - 1] ^ flips[:, s]
        alpha = np.where(calm, 0.002, -0.003)
        sd = np.where(calm, 0.004, 0.015)
    else:
        alpha, sd = np.full((strategies, n_days), 0.0002), np.full((strategies, n_days), 0.01)
    r = alpha + beta[:, None] * x[None, :] + sd * rng.standard_normal((strategies, n_days))
    ids = [f"s{i:03d}" for i in range(strategies)]
    returns = pl.DataFrame(
        {
            "date": pl.Series(days * strategies, dtype=pl.Date),
            "strategy_id": np.repeat(ids, n_days),
            "ret": r.ravel(),
            "available": np.ones(strategies * n_days, dtype=bool),
        }
    )
    factor_returns = pl.DataFrame({"date": pl.Series(days, dtype=pl.Date), "factor_id": "market", "ret": x})
    betas = pl.DataFrame(
        {
            "date": pl.Series([days[0]] * strategies, dtype=pl.Date),
            "strategy_id": ids,
            "factor_id": "market",
            "beta": beta,
        }
    )
    return SyntheticFirm(returns, factor_returns, betas, calm)


def stand_in_posteriors(returns: pl.DataFrame, window: int = 126) -> pl.DataFrame:
    """Trailing-window posterior summary of each (date, strategy), from returns up to the date."""
    from scipy.stats import norm

    frame = returns.sort("strategy_id", "date").with_columns(
        pl.col("ret").rolling_mean(window, min_samples=20).over("strategy_id").alias("m"),
        pl.col("ret").rolling_std(window, min_samples=20).over("strategy_id").alias("s"),
        pl.col("ret").cum_count().over("strategy_id").clip(upper_bound=window).alias("n"),
    )
    frame = frame.drop_nulls(["m", "s"]).with_columns((pl.col("s") / pl.col("n").sqrt()).alias("alpha_sd"))
    p = norm.cdf((frame["m"] / frame["alpha_sd"]).to_numpy())
    return frame.select(
        "date",
        "strategy_id",
        pl.Series("p_alpha_positive", p),
        "alpha_sd",
        (pl.col("m") / pl.col("s") * np.sqrt(252)).alias("sharpe_mean"),
    )


def statistics_by_day(returns: pl.DataFrame, days: list[dt.date]) -> pl.DataFrame:
    """``stats.strategy_statistics`` of each of ``days`` (each from the returns up to that day)."""
    return pl.concat([strategy_statistics_table(returns, None, d) for d in days])


def stand_in_statistics(returns: pl.DataFrame) -> pl.DataFrame:
    """A fast stand-in for ``stats.strategy_statistics`` over the 21d and 63d windows: rolling
    annualised volatility, Sharpe and hit rate of the returns up to each day (max_drawdown and
    mtd_pnl null), in the table's long layout."""
    frame = returns.sort("strategy_id", "date")
    parts = []
    for window, n in (("21d", 21), ("63d", 63)):
        mean = pl.col("ret").rolling_mean(n, min_samples=2).over("strategy_id")
        std = pl.col("ret").rolling_std(n, min_samples=2).over("strategy_id")
        parts.append(
            frame.select(
                "date",
                "strategy_id",
                pl.lit(window).alias("window"),
                (mean / std * np.sqrt(252)).alias("sharpe"),
                (std * np.sqrt(252)).alias("annual_volatility"),
                pl.lit(None, dtype=pl.Float64).alias("max_drawdown"),
                (pl.col("ret") > 0)
                .cast(pl.Float64)
                .rolling_mean(n, min_samples=2)
                .over("strategy_id")
                .alias("hit_rate"),
                pl.lit(None, dtype=pl.Float64).alias("mtd_pnl"),
            )
        )
    return pl.concat(parts)
