"""The metalabel's features of each (date, strategy): only what the raw, models and stats
tables knew on that date (never the alpha pool, which may read the metalabel).

Columns (``FEATURE_COLUMNS``), per (t, strategy i):

- raw returns: ``ret_5d`` = prod(1 + r) - 1 over i's last 5 observed returns up to t;
- posterior (``models.strategy_posteriors``, the latest row dated <= t, rows with
  ``converged`` False skipped when the frame has the column):
  ``p_alpha_positive``, ``alpha_sd`` (posterior sd of alpha), ``sharpe_mean``, and
  ``p_alpha_rank`` = (rank of p_alpha_positive among every strategy with a posterior known
  that day, average ranks for ties) / (their number), in (0, 1];
- statistics (``stats.strategy_statistics`` of date t), for each window w of
  ``StatisticsWindow``: ``sharpe_w``, ``volatility_w`` (annual_volatility),
  ``max_drawdown_w``, ``hit_rate_w``; and ``mtd_pnl``;
- month to date against the forecast's valley (``models.strategy_forecasts``, the
  posterior parameter set, the latest row dated <= t): ``monthly_valley`` and
  ``mtd_vs_valley`` = mtd_pnl / -monthly_valley (-1: the month sits at its 5 % valley;
  null when the valley is 0);
- market (``raw.market_regime`` of date t, whose regime is "<trend>_<volatility_state>"):
  ``risk_scale``, ``market_vol_21d``, ``trend_up`` (trend: 1 up, 0 down) and ``vol_state``
  (volatility_state: 0 low, 1 normal, 2 high), both null when the regime is unknown.

A missing input (a frame passed as None, no row for the key, a null statistic) gives a
null feature, and so does a non-finite value (inf or NaN, e.g. a Sharpe over zero
volatility); the model pipelines impute it (median plus a missing-indicator for the
logistic regression; gradient boosting routes missing values natively).
"""

from __future__ import annotations

import polars as pl

from twin_model.conventions import ParameterSetName, StatisticsWindow, observed_return

_STAT_COLUMNS = {
    "sharpe": "sharpe",
    "annual_volatility": "volatility",
    "max_drawdown": "max_drawdown",
    "hit_rate": "hit_rate",
}
_VOL_STATES = {"low_vol": 0.0, "normal_vol": 1.0, "high_vol": 2.0}

FEATURE_COLUMNS: tuple[str, ...] = (
    "ret_5d",
    "p_alpha_positive",
    "alpha_sd",
    "sharpe_mean",
    "p_alpha_rank",
    *[f"{name}_{w.value}" for w in StatisticsWindow for name in _STAT_COLUMNS.values()],
    "mtd_pnl",
    "monthly_valley",
    "mtd_vs_valley",
    "risk_scale",
    "market_vol_21d",
    "trend_up",
    "vol_state",
)
"""The feature columns of ``metalabel_features`` (after date and strategy_id), all Float64."""


def _raw_features(returns: pl.DataFrame) -> pl.DataFrame:
    """ret_5d on every (date, strategy_id) of ``returns`` (carried over unobserved days)."""
    obs = returns.with_columns(observed_return(returns.columns).alias("_obs")).sort("strategy_id", "date")
    growth = pl.when(pl.col("_obs")).then(1.0 + pl.col("ret").cast(pl.Float64)).otherwise(None)
    obs = obs.with_columns(growth.log().alias("_log"))
    # the last 5 observed log-growths: a rolling sum over the observed rows only, carried to the others
    observed = obs.filter(pl.col("_obs")).with_columns(
        (pl.col("_log").rolling_sum(5).over("strategy_id").exp() - 1.0).alias("ret_5d")
    )
    out = obs.join(observed.select("date", "strategy_id", "ret_5d"), on=["date", "strategy_id"], how="left")
    out = out.sort("strategy_id", "date").with_columns(pl.col("ret_5d").forward_fill().over("strategy_id"))
    return out.select("date", "strategy_id", "ret_5d")


def _posterior_features(keys: pl.DataFrame, posteriors: pl.DataFrame) -> pl.DataFrame:
    """Latest posterior row dated <= t, and the cross-strategy rank of p_alpha_positive."""
    cols = ["p_alpha_positive", "alpha_sd", "sharpe_mean"]
    if "converged" in posteriors.columns:
        posteriors = posteriors.filter(pl.col("converged"))
    post = posteriors.select("date", "strategy_id", *[pl.col(c).cast(pl.Float64) for c in cols])
    joined = keys.sort("strategy_id", "date").join_asof(
        post.sort("strategy_id", "date").rename({"date": "_posterior_date"}),
        left_on="date",
        right_on="_posterior_date",
        by="strategy_id",
        strategy="backward",
        check_sortedness=False,
    )
    rank = pl.col("p_alpha_positive").rank("average").over("date") / pl.col("p_alpha_positive").count().over("date")
    return joined.with_columns(rank.alias("p_alpha_rank")).drop("_posterior_date")


def _statistics_features(statistics: pl.DataFrame) -> pl.DataFrame:
    """One row per (date, strategy_id): the four statistics of every window, and mtd_pnl."""
    wide = statistics.select(
        "date", "strategy_id", "window", *[pl.col(c).cast(pl.Float64) for c in _STAT_COLUMNS]
    ).pivot(on="window", index=["date", "strategy_id"], values=list(_STAT_COLUMNS))
    renames = {f"{c}_{w.value}": f"{_STAT_COLUMNS[c]}_{w.value}" for c in _STAT_COLUMNS for w in StatisticsWindow}
    wide = wide.rename({k: v for k, v in renames.items() if k in wide.columns})
    mtd = statistics.group_by("date", "strategy_id").agg(pl.col("mtd_pnl").cast(pl.Float64).first())
    return wide.join(mtd, on=["date", "strategy_id"], how="left")


def _valley_features(keys: pl.DataFrame, forecasts: pl.DataFrame) -> pl.DataFrame:
    """Latest posterior forecast's monthly_valley dated <= t."""
    valley = forecasts.filter(pl.col("parameter_set") == ParameterSetName.POSTERIOR.value).select(
        pl.col("date").alias("_forecast_date"), "strategy_id", pl.col("monthly_valley").cast(pl.Float64)
    )
    return (
        keys.sort("strategy_id", "date")
        .join_asof(
            valley.sort("strategy_id", "_forecast_date"),
            left_on="date",
            right_on="_forecast_date",
            by="strategy_id",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("_forecast_date")
    )


def _regime_features(regime: pl.DataFrame) -> pl.DataFrame:
    """risk_scale, market_vol_21d, trend_up and vol_state of each date (the regime's two parts)."""
    return regime.select(
        "date",
        pl.col("risk_scale").cast(pl.Float64),
        pl.col("vol_21d").cast(pl.Float64).alias("market_vol_21d"),
        pl.col("trend")
        .replace_strict({"up": 1.0, "down": 0.0}, default=None, return_dtype=pl.Float64)
        .alias("trend_up"),
        pl.col("volatility_state")
        .replace_strict(_VOL_STATES, default=None, return_dtype=pl.Float64)
        .alias("vol_state"),
    )


def metalabel_features(
    returns: pl.DataFrame,
    posteriors: pl.DataFrame | None,
    statistics: pl.DataFrame | None,
    forecasts: pl.DataFrame | None,
    regime: pl.DataFrame | None,
) -> pl.DataFrame:
    """The features of every (date, strategy_id) row of ``returns`` (module docstring).

    Inputs are the tables' frames: ``returns`` (date, strategy_id, ret[, available]),
    ``posteriors`` (date, strategy_id, p_alpha_positive, alpha_sd, sharpe_mean),
    ``statistics`` (date, strategy_id, window, sharpe, annual_volatility, max_drawdown,
    hit_rate, mtd_pnl), ``forecasts`` (date, strategy_id, parameter_set, monthly_valley),
    ``regime`` (date, trend, volatility_state, vol_21d, risk_scale); any may be None (its features null).
    Every feature at t reads rows dated <= t only. Columns: date, strategy_id,
    ``FEATURE_COLUMNS`` (Float64); rows ordered by date then strategy_id.
    """
    out = _raw_features(returns)
    keys = out.select("date", "strategy_id")
    if posteriors is not None:
        out = out.join(_posterior_features(keys, posteriors), on=["date", "strategy_id"], how="left")
    if statistics is not None:
        out = out.join(_statistics_features(statistics), on=["date", "strategy_id"], how="left")
    if forecasts is not None:
        out = out.join(_valley_features(keys, forecasts), on=["date", "strategy_id"], how="left")
    if regime is not None:
        out = out.join(_regime_features(regime), on="date", how="left")
    if "monthly_valley" in out.columns and "mtd_pnl" in out.columns:
        ratio = pl.when(pl.col("monthly_valley") < 0).then(pl.col("mtd_pnl") / -pl.col("monthly_valley"))
        out = out.with_columns(ratio.alias("mtd_vs_valley"))
    missing = [pl.lit(None, dtype=pl.Float64).alias(c) for c in FEATURE_COLUMNS if c not in out.columns]
    out = out.with_columns(missing)
    finite = [
        pl.when(pl.col(c).cast(pl.Float64).is_finite()).then(pl.col(c).cast(pl.Float64)).alias(c)
        for c in FEATURE_COLUMNS
    ]
    return out.select("date", "strategy_id", *finite).sort("date", "strategy_id")
