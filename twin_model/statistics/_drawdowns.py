"""Drawdowns: the deepest fall from a peak, the longest spell below one, and the month to
date (its P&L and its trough)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from twin_model.statistics._base import ReturnsLike, _as_array, _clean, _one

_DRAWDOWN_TOLERANCE = 1e-12
"""Wealth below its peak by less than this (relative) counts as at the peak (rounding)."""


def _longest_run(flags: np.ndarray) -> np.ndarray:
    """Length of the longest run of True in each row."""
    c = np.cumsum(flags, axis=1)
    last_reset = np.maximum.accumulate(np.where(flags, 0, c), axis=1)
    return np.max(c - last_reset, axis=1, initial=0)


def _drawdown(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max drawdown, longest spell below a peak in periods) per row."""
    mask = ~np.isnan(X)
    n = mask.sum(axis=1)
    wealth = np.cumprod(np.where(mask, 1.0 + X, 1.0), axis=1)
    peak = np.maximum(np.maximum.accumulate(wealth, axis=1), 1.0)
    dd = wealth / peak - 1.0
    mdd = np.where(n == 0, np.nan, np.min(dd, axis=1, initial=0.0))
    return mdd, _longest_run(dd < -_DRAWDOWN_TOLERANCE).astype(np.int64)


def _month_to_date(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(compounded return, running minimum of the compounded return from 0) per row."""
    growth = np.cumprod(np.where(np.isnan(X), 1.0, 1.0 + X), axis=1) - 1.0
    pnl = growth[:, -1] if X.shape[1] else np.zeros(X.shape[0])
    return pnl, np.min(growth, axis=1, initial=0.0)


def max_drawdown(returns: ReturnsLike) -> float:
    """``min_t(W_t / max(1, W_1..W_t) - 1)`` with ``W_t = prod_{s<=t}(1 + r_s)``, capped at 0.

    Wealth starts at 1 before the first return, so a first negative return is a drawdown.
    """
    return _one(_drawdown(_clean(returns)[None, :])[0])


def max_drawdown_duration(returns: ReturnsLike) -> int:
    """Longest run of consecutive periods whose wealth is below its previous peak (start 1).

    A period counts when ``W_t < max(1, W_1..W_t)`` by more than a relative 1e-12; the
    period that regains the peak does not count. 0 without a drawdown or observations.
    """
    return int(_drawdown(_clean(returns)[None, :])[1][0])


def _month_slice(returns: ReturnsLike, dates, as_of: dt.date) -> np.ndarray:
    """Returns dated in as_of's month up to as_of, in date order, NaN dropped."""
    x = _as_array(returns)
    days = (dates.to_numpy() if isinstance(dates, pl.Series) else np.asarray(dates)).astype("datetime64[D]")
    if days.shape != x.shape:
        raise ValueError(f"returns and dates differ in length: {x.size} vs {days.size}")
    end = np.datetime64(as_of, "D")
    keep = (days.astype("datetime64[M]") == end.astype("datetime64[M]")) & (days <= end) & ~np.isnan(x)
    order = np.argsort(days[keep], kind="stable")
    return x[keep][order]


def month_to_date_pnl(returns: ReturnsLike, dates, as_of: dt.date) -> float:
    """``prod(1 + r) - 1`` over the returns dated from the 1st of as_of's month to as_of.

    ``dates`` is parallel to ``returns`` (dates, numpy datetime64 or a polars Date Series).
    0 when no return is observed in that span.
    """
    return _one(_month_to_date(_month_slice(returns, dates, as_of)[None, :])[0])


def month_to_date_trough(returns: ReturnsLike, dates, as_of: dt.date) -> float:
    """``min(0, min_t(prod_{s<=t}(1 + r_s) - 1))`` over the month to date: <= 0."""
    return _one(_month_to_date(_month_slice(returns, dates, as_of)[None, :])[1])
