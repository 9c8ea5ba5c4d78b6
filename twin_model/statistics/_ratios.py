"""Performance ratios: annual return and volatility, Sharpe, Sortino, Calmar, alpha and
beta, the shape of the distribution (skew, kurtosis) and the hit rate."""

from __future__ import annotations

import numpy as np

from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.statistics._base import ReturnsLike, _as_array, _clean, _moments, _one, _ratio
from twin_model.statistics._drawdowns import _drawdown


def _annual_return(X: np.ndarray, periods_per_year: float) -> np.ndarray:
    mask = ~np.isnan(X)
    n = mask.sum(axis=1)
    growth = np.prod(np.where(mask, 1.0 + X, 1.0), axis=1)
    ruined = np.any(mask & (X <= -1.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = growth ** (periods_per_year / n) - 1.0
    return np.where(n == 0, np.nan, np.where(ruined, -1.0, out))


def _sortino(X: np.ndarray, target: float, periods_per_year: float) -> np.ndarray:
    mask = ~np.isnan(X)
    n = mask.sum(axis=1)
    excess = np.where(mask, X - target, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        downside = np.sqrt((np.minimum(excess, 0.0) ** 2).sum(axis=1) / n)
        mean = excess.sum(axis=1) / n
    out = _ratio(mean, downside) * np.sqrt(periods_per_year)
    return np.where(n >= 2, out, np.nan)


def _alpha_beta(Y, M, risk_free, periods_per_year) -> tuple[np.ndarray, np.ndarray]:
    pair = ~np.isnan(Y) & ~np.isnan(M)
    n = pair.sum(axis=1).astype(float)
    y = np.where(pair, Y - risk_free, 0.0)
    m = np.where(pair, M - risk_free, 0.0)
    lo = np.min(np.where(pair, M, np.inf), axis=1, initial=np.inf)
    hi = np.max(np.where(pair, M, -np.inf), axis=1, initial=-np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        my, mm = y.sum(axis=1) / n, m.sum(axis=1) / n
        dm = np.where(pair, m - mm[:, None], 0.0)
        beta = (dm * np.where(pair, y - my[:, None], 0.0)).sum(axis=1) / (dm * dm).sum(axis=1)
        alpha = (1.0 + (my - beta * mm)) ** periods_per_year - 1.0
    ok = (n >= 2) & (lo < hi)
    return np.where(ok, alpha, np.nan), np.where(ok, beta, np.nan)


def annual_return(returns: ReturnsLike, *, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Geometric annual return: ``prod(1 + r)**(periods_per_year / n) - 1``.

    -1 once a return is <= -1 (the capital is gone). NaN without observations.
    """
    return _one(_annual_return(_clean(returns)[None, :], periods_per_year))


def annual_volatility(returns: ReturnsLike, *, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """``std(r, ddof=1) * sqrt(periods_per_year)``; NaN below 2 observations, 0 if constant."""
    return float(_one(_moments(_clean(returns)[None, :]).std) * np.sqrt(periods_per_year))


def annual_volatilities(rows: np.ndarray, *, periods_per_year: float = PERIODS_PER_YEAR) -> np.ndarray:
    """``annual_volatility`` of each row of ``rows [M, T]`` (NaN = not observed) at once."""
    return _moments(np.asarray(rows, dtype=float)).std * np.sqrt(periods_per_year)


def sharpe_ratio(returns: ReturnsLike, *, risk_free: float = 0.0, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe: ``mean(e) / std(e, ddof=1) * sqrt(periods_per_year)``, ``e = r - risk_free``.

    NaN below 2 observations or when ``std(e) = 0``.
    """
    m = _moments(_clean(returns)[None, :] - risk_free)
    return float(_one(_ratio(m.mean, m.std)) * np.sqrt(periods_per_year))


def sortino_ratio(returns: ReturnsLike, *, target: float = 0.0, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Annualised Sortino: ``mean(r - target) / DD * sqrt(periods_per_year)``.

    ``DD = sqrt(mean(min(r - target, 0)**2))`` averages over all N periods. NaN below 2
    observations or when DD = 0.
    """
    return _one(_sortino(_clean(returns)[None, :], target, periods_per_year))


def calmar_ratio(returns: ReturnsLike, *, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """``annual_return / |max_drawdown|``; NaN when there is no drawdown."""
    X = _clean(returns)[None, :]
    return _one(_ratio(_annual_return(X, periods_per_year), -_drawdown(X)[0]))


def alpha_beta(
    returns: ReturnsLike,
    benchmark: ReturnsLike,
    *,
    risk_free: float = 0.0,
    periods_per_year: float = PERIODS_PER_YEAR,
) -> tuple[float, float]:
    """(annualised alpha, beta) of OLS ``r - rf = a + beta (m - rf) + eps``.

    ``beta = cov(e_r, e_m) / var(e_m)``, ``a = mean(e_r) - beta mean(e_m)``, annualised by
    compounding like empyrical: ``alpha = (1 + a)**periods_per_year - 1``. Periods where
    either series is NaN are dropped; NaN below 2 pairs or for a constant benchmark.
    """
    y, m = _as_array(returns), _as_array(benchmark, "benchmark")
    if y.shape != m.shape:
        raise ValueError(f"returns and benchmark differ in length: {y.size} vs {m.size}")
    alpha, beta = _alpha_beta(y[None, :], m[None, :], risk_free, periods_per_year)
    return _one(alpha), _one(beta)


def skewness(returns: ReturnsLike) -> float:
    """Adjusted Fisher-Pearson skew ``G1 = m3 / m2**1.5 * sqrt(n(n-1)) / (n-2)``.

    ``m_k`` are the biased central moments ``mean((r - mean r)**k)``; equals
    ``scipy.stats.skew(r, bias=False)``. NaN below 3 observations or for a constant series.
    """
    return _one(_moments(_clean(returns)[None, :]).skew)


def kurtosis(returns: ReturnsLike) -> float:
    """Adjusted Pearson (non-excess) kurtosis, 3 for normal data.

    ``3 + ((n+1)(m4/m2**2 - 3) + 6)(n-1) / ((n-2)(n-3))``; equals
    ``scipy.stats.kurtosis(r, fisher=False, bias=False)``. NaN below 4 observations or for a
    constant series.
    """
    return _one(_moments(_clean(returns)[None, :]).kurt)


def hit_rate(returns: ReturnsLike) -> float:
    """Share of observed returns strictly above 0; NaN without observations."""
    x = _clean(returns)
    return float(np.mean(x > 0)) if x.size else float("nan")
