"""Forecast calibration: how often earlier forecasts' bands held what happened.

Horizons count *observed* returns (``conventions.observed_return``), not calendar or
business days. For strategy ``i`` with observed days ``o_0 < o_1 < ... <= as_of``, the
forecast dated ``o_m`` (its band ``p05, p95`` of the next ``h`` observed returns' compounded
return) matures on ``o_{m+h}`` and is scored with

    realised_m = prod_{j = m+1 .. m+h} (1 + ret[o_j]) - 1,    inside_m = p05 <= realised_m <= p95.

The row of ``as_of`` exists when ``as_of`` is an observed day ``o_J`` of the strategy and a
forecast dated ``o_{J-h}`` exists; it carries that forecast's ``realised_return`` and
``inside_band``, and the running score over *every* forecast that has matured on or before
``as_of`` (all ``m`` with ``m + h <= J``): ``n_evaluated`` and ``coverage_rate`` (share
inside the band). Everything is recomputed from the inputs on each call, so the asset is
self-contained and idempotent (a re-run or back-fill of any day gives the same row), and
no return dated after ``as_of`` is read. Forecasts dated on a day that is not an observed
day of the strategy, or with a null band, are not scored.
"""

from __future__ import annotations

import datetime

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from twin_model.contracts import TABLES
from twin_model.conventions import observed_return

_CALIBRATION_SCHEMA = TABLES["models.forecast_calibration"].columns()


def forecast_calibration(
    forecasts: pl.DataFrame, returns: pl.DataFrame, as_of: datetime.date, horizon: int = 21
) -> pl.DataFrame:
    """Score the forecast that matures on ``as_of`` and the running band coverage of all
    forecasts matured by then, per strategy (horizons in observed returns; see the module
    docstring).

    ``forecasts``: date, strategy_id, p05, p95 (band of the compounded return over the next
    ``horizon`` observed returns). ``returns``: date, strategy_id, ret (nullable)[,
    available]. Columns out: date, strategy_id, forecast_date, horizon_days,
    realised_return, p05, p95, inside_band, n_evaluated, coverage_rate.
    """
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    h = int(horizon)
    if isinstance(as_of, datetime.datetime):
        as_of = as_of.date()
    for frame, cols, what in (
        (forecasts, {"date", "strategy_id", "p05", "p95"}, "forecasts"),
        (returns, {"date", "strategy_id", "ret"}, "returns"),
    ):
        absent = cols - set(frame.columns)
        if absent:
            raise ValueError(f"{what} lack columns {sorted(absent)}")
    obs = _observed_returns(returns, as_of)
    fc = _forecast_bands(forecasts, as_of)
    rows = []
    for (sid,), g in obs.group_by("strategy_id", maintain_order=True):
        row = _score_strategy(sid, g, fc, as_of, h)
        if row is not None:
            rows.append(row)
    return pl.DataFrame(rows, schema=_CALIBRATION_SCHEMA) if rows else pl.DataFrame(schema=_CALIBRATION_SCHEMA)


def _observed_returns(returns: pl.DataFrame, as_of: datetime.date) -> pl.DataFrame:
    """The observed returns up to ``as_of`` (strategy_id, date, ret), by strategy and date."""
    obs = (
        returns.lazy()
        .with_columns(pl.col("date").cast(pl.Date), pl.col("ret").cast(pl.Float64))
        .filter((pl.col("date") <= as_of) & observed_return(returns.columns))
        .select("strategy_id", "date", "ret")
        .sort("strategy_id", "date")
        .collect()
    )
    if obs.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("returns hold more than one observed row per (strategy_id, date)")
    return obs


def _forecast_bands(forecasts: pl.DataFrame, as_of: datetime.date) -> pl.DataFrame:
    """The forecasts dated up to ``as_of`` (strategy_id, date, p05, p95), one per strategy and date."""
    fc = (
        forecasts.lazy()
        .with_columns(pl.col("date").cast(pl.Date), pl.col("p05").cast(pl.Float64), pl.col("p95").cast(pl.Float64))
        .filter(pl.col("date") <= as_of)
        .select("strategy_id", "date", "p05", "p95")
        .collect()
    )
    if fc.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("forecasts hold more than one row per (strategy_id, date)")
    return fc


def _score_strategy(sid: str, g: pl.DataFrame, fc: pl.DataFrame, as_of: datetime.date, h: int) -> dict | None:
    """The calibration row of one strategy on ``as_of`` (its observed returns ``g``), or None
    when ``as_of`` is not its observed day or no forecast matures that day."""
    dates = g["date"].to_list()
    if len(dates) <= h or dates[-1] != as_of:
        return None
    ret = g["ret"].to_numpy()
    # realised[m]: compounded return of observations m+1 .. m+h, for m = 0 .. M-h-1
    realised = np.prod(sliding_window_view(1.0 + ret[1:], h), axis=1) - 1.0
    scored = (
        pl.DataFrame(
            {"date": dates[: len(realised)], "realised_return": realised},
            schema={"date": pl.Date, "realised_return": pl.Float64},
        )
        .join(fc.filter(pl.col("strategy_id") == sid), on="date", how="inner")
        .filter(pl.col("p05").is_not_null() & pl.col("p95").is_not_null())
        .with_columns(
            ((pl.col("p05") <= pl.col("realised_return")) & (pl.col("realised_return") <= pl.col("p95"))).alias(
                "inside_band"
            )
        )
    )
    today = scored.filter(pl.col("date") == dates[-1 - h])
    if today.height == 0:
        return None
    t = today.row(0, named=True)
    return {
        "date": as_of,
        "strategy_id": sid,
        "forecast_date": t["date"],
        "horizon_days": h,
        "realised_return": t["realised_return"],
        "p05": t["p05"],
        "p95": t["p95"],
        "inside_band": t["inside_band"],
        "n_evaluated": scored.height,
        "coverage_rate": float(scored["inside_band"].mean()),
    }
