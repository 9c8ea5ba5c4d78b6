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
from collections.abc import Sequence

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
    return forecast_calibration_days(forecasts, returns, [as_of], horizon)


def forecast_calibration_days(
    forecasts: pl.DataFrame, returns: pl.DataFrame, days: Sequence[datetime.date], horizon: int = 21
) -> pl.DataFrame:
    """``forecast_calibration`` of each of ``days`` in one pass (rows by date, then
    strategy): per strategy the realised returns of every forecast once, and the running
    score of ``as_of = o_J`` from cumulative counts over ``m <= J - h``, so a day's row
    reads no return after it although ``returns`` runs to the last day."""
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    h = int(horizon)
    wanted = {d.date() if isinstance(d, datetime.datetime) else d for d in days}
    for frame, cols, what in (
        (forecasts, {"date", "strategy_id", "p05", "p95"}, "forecasts"),
        (returns, {"date", "strategy_id", "ret"}, "returns"),
    ):
        absent = cols - set(frame.columns)
        if absent:
            raise ValueError(f"{what} lack columns {sorted(absent)}")
    if not wanted:
        return pl.DataFrame(schema=_CALIBRATION_SCHEMA)
    last = max(wanted)
    obs = _observed_returns(returns, last)
    fc = _forecast_bands(forecasts, last)
    rows = []
    for (sid,), g in obs.group_by("strategy_id", maintain_order=True):
        rows += _score_strategy(sid, g, fc.filter(pl.col("strategy_id") == sid), wanted, h)
    if not rows:
        return pl.DataFrame(schema=_CALIBRATION_SCHEMA)
    return pl.DataFrame(rows, schema=_CALIBRATION_SCHEMA).sort("date", "strategy_id")


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


def _score_strategy(sid: str, g: pl.DataFrame, bands: pl.DataFrame, wanted: set, h: int) -> list[dict]:
    """The calibration rows of one strategy (its observed returns ``g``, its forecast
    ``bands``) on each wanted day ``o_J`` with ``J >= h`` whose forecast ``o_{J-h}`` has a band."""
    dates = g["date"].to_list()
    if len(dates) <= h:
        return []
    ret = g["ret"].to_numpy()
    # realised[m]: compounded return of observations m+1 .. m+h, for m = 0 .. M-h-1
    realised = np.prod(sliding_window_view(1.0 + ret[1:], h), axis=1) - 1.0
    known = {d: (lo, hi) for d, lo, hi in bands.drop_nulls(["p05", "p95"]).select("date", "p05", "p95").iter_rows()}
    forecast_dates = dates[: len(realised)]
    scored = np.array([d in known for d in forecast_dates], dtype=bool)
    low = np.array([known[d][0] if d in known else np.nan for d in forecast_dates])
    high = np.array([known[d][1] if d in known else np.nan for d in forecast_dates])
    with np.errstate(invalid="ignore"):
        inside = scored & (low <= realised) & (realised <= high)
    n_scored, n_inside = np.cumsum(scored), np.cumsum(inside)
    rows = []
    for m in range(len(realised)):
        as_of = dates[m + h]
        if as_of not in wanted or not scored[m]:
            continue
        rows.append(
            {
                "date": as_of,
                "strategy_id": sid,
                "forecast_date": dates[m],
                "horizon_days": h,
                "realised_return": float(realised[m]),
                "p05": float(low[m]),
                "p95": float(high[m]),
                "inside_band": bool(inside[m]),
                "n_evaluated": int(n_scored[m]),
                "coverage_rate": float(n_inside[m] / n_scored[m]),
            }
        )
    return rows
