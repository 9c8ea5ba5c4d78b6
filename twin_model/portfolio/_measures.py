"""The measures the risk rules and the solution step share: current drawdown, the rows
where every held strategy is observed, and the diversification ratio."""

from __future__ import annotations

import math

import numpy as np

VOLATILITY_WINDOW = 63
"""Trailing rows used for volatility, correlation and the diversification ratio."""
TAIL_WINDOW = 252
"""Trailing rows used for historical VaR / CVaR."""
TOLERANCE = 1e-12
"""Relative tolerance of a limit against rounding (and of a zero drawdown)."""


def current_drawdown(returns) -> float:
    """``W_T / max(1, W_1..W_T) - 1`` with ``W_t = prod_{s<=t}(1 + r_s)`` (NaN dropped); <= 0.

    The drawdown of the latest wealth from its running peak (wealth 1 before the first
    return). NaN without observations.
    """
    r = np.asarray(returns, dtype=float).ravel()
    r = r[~np.isnan(r)]
    if r.size == 0:
        return float("nan")
    wealth = np.cumprod(1.0 + r)
    peak = max(1.0, float(np.max(wealth)))
    dd = float(wealth[-1] / peak - 1.0)
    return min(dd, 0.0) if dd > -TOLERANCE else dd


def complete_rows(X: np.ndarray, window: int) -> np.ndarray:
    """The last ``window`` rows of ``X`` [T, N] in which no column is NaN (every strategy observed)."""
    return X[~np.isnan(X).any(axis=1)][-window:]


def diversification_ratio(weights: np.ndarray, covariance: np.ndarray) -> float:
    """``DR = sum_i |w_i| sqrt(Sigma_ii) / sqrt(w' Sigma w)``; NaN when ``w' Sigma w`` is not positive."""
    w = np.asarray(weights, dtype=float)
    variance = float(w @ covariance @ w)
    if not variance > 0:
        return float("nan")
    return float(np.abs(w) @ np.sqrt(np.clip(np.diag(covariance), 0.0, None))) / math.sqrt(variance)
