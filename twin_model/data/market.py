"""The market as the firm sees it: the daily market regime from the benchmark's closes."""

import polars as pl

from twin_model.conventions import PERIODS_PER_YEAR

VOLATILITY_STATES = ((0.12, "low_vol"), (0.25, "normal_vol"), (float("inf"), "high_vol"))
"""21-day annualised benchmark volatility below 12% is low, below 25% normal, else high."""

RISK_SCALE = {"low_vol": 1.0, "normal_vol": 1.0, "high_vol": 0.5}
"""Suggested multiplier of a solution's risk budget per volatility state (halved in stress)."""

DOWNTREND_SCALE = 0.75
"""Further multiplier when the benchmark closes below its 200-day average."""


def market_regime(closes: pl.DataFrame, days: list) -> pl.DataFrame:
    """The market regime on each of ``days`` from the benchmark's closes up to that day.

    ``closes``: ``date, close`` of the benchmark, ascending, with enough history before
    the first day (200 closes for the trend). Indicators, on observed closes only:

    - vol_21d, vol_63d: sample std (ddof=1) of the last 21 / 63 simple returns x sqrt(252);
    - trend_ratio = close / mean(last 200 closes) - 1, trend "up" when >= 0 else "down";
    - drawdown_252d = close / max(last 252 closes) - 1 (<= 0);
    - volatility_state from vol_21d by VOLATILITY_STATES; regime = "<trend>_<state>";
    - risk_scale = RISK_SCALE[state] x (DOWNTREND_SCALE if trend is down else 1).

    A day without a close (holiday) gets no row; a day with too little history for an
    indicator gets null there and the regime "unknown" with risk_scale 1.
    """
    ordered = closes.sort("date")
    ret = pl.col("close") / pl.col("close").shift(1) - 1
    frame = ordered.with_columns(
        vol_21d=ret.rolling_std(21, min_samples=21) * PERIODS_PER_YEAR**0.5,
        vol_63d=ret.rolling_std(63, min_samples=63) * PERIODS_PER_YEAR**0.5,
        trend_ratio=pl.col("close") / pl.col("close").rolling_mean(200, min_samples=200) - 1,
        drawdown_252d=pl.col("close") / pl.col("close").rolling_max(252, min_samples=1) - 1,
    ).filter(pl.col("date").is_in(days))
    state = pl.when(pl.col("vol_21d").is_null()).then(None)
    for bound, name in VOLATILITY_STATES:
        state = state.when(pl.col("vol_21d") < bound).then(pl.lit(name))
    trend = (
        pl.when(pl.col("trend_ratio").is_null())
        .then(None)
        .when(pl.col("trend_ratio") >= 0)
        .then(pl.lit("up"))
        .otherwise(pl.lit("down"))
    )
    frame = frame.with_columns(volatility_state=state, trend=trend)
    known = pl.col("volatility_state").is_not_null() & pl.col("trend").is_not_null()
    scale = pl.col("volatility_state").replace_strict(RISK_SCALE, default=1.0, return_dtype=pl.Float64)
    return frame.with_columns(
        regime=pl.when(known).then(pl.col("trend") + "_" + pl.col("volatility_state")).otherwise(pl.lit("unknown")),
        risk_scale=pl.when(known)
        .then(scale * pl.when(pl.col("trend") == "down").then(DOWNTREND_SCALE).otherwise(1.0))
        .otherwise(1.0),
    ).select(
        "date",
        "regime",
        "trend",
        "volatility_state",
        "vol_21d",
        "vol_63d",
        "trend_ratio",
        "drawdown_252d",
        "risk_scale",
    )
