"""Inputs of the statistics and the kernels every concept shares (moments, a safe ratio).

Each kernel takes a 2-D array, one series per row, NaN meaning "no observation". The
path-dependent kernels (drawdown, month to date) also assume NaN only pads a row on the
left, which is how the public functions (NaN dropped) and the table (right-aligned
matrix of observed returns) call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import polars as pl

ReturnsLike = np.ndarray | pl.Series | Sequence[float]


def _as_array(values: ReturnsLike, name: str = "returns") -> np.ndarray:
    """A 1-D float64 copy; polars nulls become NaN; infinities raise."""
    if isinstance(values, pl.Series):
        x = values.cast(pl.Float64).to_numpy().astype(float, copy=True)
    else:
        x = np.array(values, dtype=float, copy=True)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}")
    if np.isinf(x).any():
        raise ValueError(f"{name} contains an infinite value")
    return x


def _clean(values: ReturnsLike, name: str = "returns") -> np.ndarray:
    """The observed values of ``values``: NaN dropped, order kept (see NaN policy)."""
    x = _as_array(values, name)
    return x[~np.isnan(x)]


def _check_level(level: float, name: str = "level") -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {level}")


def _one(values) -> float:
    return float(np.asarray(values)[0])


class _Moments(NamedTuple):
    n: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    skew: np.ndarray
    kurt: np.ndarray


def _moments(X: np.ndarray) -> _Moments:
    mask = ~np.isnan(X)
    n = mask.sum(axis=1)
    nf = n.astype(float)
    lo = np.min(np.where(mask, X, np.inf), axis=1, initial=np.inf)
    hi = np.max(np.where(mask, X, -np.inf), axis=1, initial=-np.inf)
    constant = lo == hi
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(mask, X, 0.0).sum(axis=1) / nf
        D = np.where(mask, X - mean[:, None], 0.0)
        D2 = D * D
        ss = D2.sum(axis=1)
        m2 = ss / nf
        m3 = (D2 * D).sum(axis=1) / nf
        m4 = (D2 * D2).sum(axis=1) / nf
        std = np.where(constant, 0.0, np.sqrt(ss / (nf - 1.0)))
        skew = m3 / m2**1.5 * np.sqrt(nf * (nf - 1.0)) / (nf - 2.0)
        excess = ((nf + 1.0) * (m4 / m2**2 - 3.0) + 6.0) * (nf - 1.0) / ((nf - 2.0) * (nf - 3.0))
    std = np.where(n >= 2, std, np.nan)
    skew = np.where((n >= 3) & ~constant, skew, np.nan)
    kurt = np.where((n >= 4) & ~constant, excess + 3.0, np.nan)
    return _Moments(n, mean, std, skew, kurt)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)
