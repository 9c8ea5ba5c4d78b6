"""Tail risk: historical VaR and CVaR, and their Cornish-Fisher (modified) versions."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from twin_model.statistics._base import ReturnsLike, _check_level, _clean, _moments, _one


def _var_cvar(X: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated ``level`` quantile (numpy's default) and the mean at or below it."""
    rows = X.shape[0]
    if X.shape[1] == 0:
        return np.full(rows, np.nan), np.full(rows, np.nan)
    S = np.sort(X, axis=1)  # NaN sort last
    n = (~np.isnan(S)).sum(axis=1)
    h = (n - 1) * level
    snapped = np.round(h)
    h = np.where(np.abs(h - snapped) < 1e-9, snapped, h)  # exact order statistic when h is whole
    lo = np.clip(np.floor(h).astype(np.int64), 0, None)
    hi = np.clip(np.minimum(lo + 1, n - 1), 0, None)
    a, b = S[np.arange(rows), lo], S[np.arange(rows), hi]
    t = h - lo
    var = np.where(t >= 0.5, b - (b - a) * (1.0 - t), a + (b - a) * t)  # numpy's lerp
    var = np.where(n == 0, np.nan, var)
    tail = S <= var[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cvar = np.where(tail, S, 0.0).sum(axis=1) / tail.sum(axis=1)
    return var, np.where(n == 0, np.nan, cvar)


def _cf_tail_mean(level: float, skew: np.ndarray, excess_kurtosis: np.ndarray) -> np.ndarray:
    """(1/level) * integral over p in (0, level] of the Cornish-Fisher quantile z_cf(p)."""
    q = ndtri(level)
    phi = np.exp(-0.5 * q * q) / np.sqrt(2.0 * np.pi)
    S, K = skew, excess_kurtosis
    return -phi / level * (1.0 + q * S / 6.0 + (q * q - 1.0) * K / 24.0 + (1.0 - 2.0 * q * q) * S * S / 36.0)


def historical_tail(returns: ReturnsLike, *, level: float = 0.05) -> tuple[float, float]:
    """``(value_at_risk, conditional_value_at_risk)`` of ``returns`` at ``level`` from one sort."""
    _check_level(level)
    var, cvar = _var_cvar(_clean(returns)[None, :], level)
    return _one(var), _one(cvar)


def value_at_risk(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """``numpy.quantile(r, level)`` (linear interpolation): negative for a loss."""
    return historical_tail(returns, level=level)[0]


def conditional_value_at_risk(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """Mean of the returns at or below ``value_at_risk(r, level=level)``."""
    return historical_tail(returns, level=level)[1]


def cornish_fisher_quantile(level: float, *, skew=0.0, excess_kurtosis=0.0):
    """Cornish-Fisher adjusted standard quantile, with ``z = Phi^-1(level)``, S, K = excess kurtosis:

    ``z_cf = z + (z^2 - 1) S/6 + (z^3 - 3z) K/24 - (2z^3 - 5z) S^2/36``.
    """
    _check_level(level)
    z = ndtri(level)
    S, K = skew, excess_kurtosis
    return z + (z**2 - 1.0) * S / 6.0 + (z**3 - 3.0 * z) * K / 24.0 - (2.0 * z**3 - 5.0 * z) * S**2 / 36.0


def cornish_fisher_var(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """Modified VaR ``mean(r) + z_cf * std(r, ddof=1)``, z_cf from ``cornish_fisher_quantile``
    with the sample skew and excess kurtosis (``kurtosis - 3``). NaN below 4 observations."""
    m = _moments(_clean(returns)[None, :])
    return _one(m.mean + cornish_fisher_quantile(level, skew=m.skew, excess_kurtosis=m.kurt - 3.0) * m.std)


def cornish_fisher_cvar(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """Modified CVaR: the mean of the Cornish-Fisher quantile over levels p in (0, level].

    ``mean + std * (1/level) * integral_0^level z_cf(p) dp``. With ``q = Phi^-1(level)``
    and the truncated normal moments the integral is closed-form:
    ``(1/level) integral = -phi(q)/level * (1 + q S/6 + (q^2 - 1) K/24 + (1 - 2q^2) S^2/36)``
    (K = excess kurtosis); with S = K = 0 it is the normal expected shortfall
    ``mean - std phi(q)/level``. NaN below 4 observations.
    """
    _check_level(level)
    m = _moments(_clean(returns)[None, :])
    return _one(m.mean + _cf_tail_mean(level, m.skew, m.kurt - 3.0) * m.std)
