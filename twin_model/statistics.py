"""Risk and performance statistics of periodic simple returns.

Every function takes a 1-D numpy array, polars Series or sequence of periodic simple
returns ``r_1 .. r_n`` (0.01 = +1 %) and works called with the returns alone; options are
keyword-only. ``strategy_statistics_table`` builds the ``stats.strategy_statistics``
table from the same formulas, vectorised over strategies.

Conventions (pinned in DESIGN.md "Public Python surface")
-------------------------------------------------------
* ``periods_per_year=252``; std is the sample std (ddof=1); ``risk_free`` is per period.
* Sharpe uses excess returns ``e = r - risk_free``; Sortino's ``target`` defaults to 0 and
  its downside deviation averages over all N periods.
* Max drawdown starts from wealth 1 before the first return and is <= 0.
* VaR is the ``level`` (5 %) quantile of returns, numpy's linear interpolation, negative
  for a loss; CVaR is the mean of the returns at or below it.
* Skew is scipy's bias-adjusted Fisher-Pearson coefficient (``scipy.stats.skew(bias=False)``),
  kurtosis the bias-adjusted Pearson (non-excess) kurtosis
  (``scipy.stats.kurtosis(bias=False, fisher=False)``); normal data gives 0 and 3.
* PSR, DSR and min TRL use the per-period (not annualised) Sharpe ``mean(r)/std(r)``.
* Alpha is annualised by compounding, as empyrical does: ``(1 + alpha_period)**252 - 1``.

NaN policy
----------
NaN (and polars nulls) mark unavailable periods and are dropped before computing, so the
remaining returns are compounded back to back and windows count observed returns. An
infinite return raises ``ValueError``. ``alpha_beta`` drops a period when either series is
NaN there.

Too-short and degenerate series (the result is NaN, "not computable", never inf)
--------------------------------------------------------------------------------
* no observation: every statistic is NaN (``max_drawdown_duration`` is 0; month-to-date
  P&L and trough are 0: nothing earned yet this month);
* a statistic that needs dispersion (volatility, Sharpe, Sortino, alpha/beta) needs at
  least 2 observations; skewness 3 and kurtosis 4 (the bias adjustment divides by
  ``n - 2`` and ``(n - 2)(n - 3)``), so Cornish-Fisher VaR/CVaR need 4;
* PSR, DSR and min TRL need at least 3 observations, and since they use the adjusted
  kurtosis they are NaN below 4;
* a constant series (every observed value equal) has std exactly 0: volatility 0, and
  Sharpe, Sortino, skew, kurtosis, Cornish-Fisher and PSR are NaN. Sortino is also NaN
  when no return falls below the target (zero downside deviation), alpha/beta when the
  benchmark is constant, Calmar when there is no drawdown.
* ``min_track_record_length`` is +inf (not NaN) when SR <= SR*: no track record suffices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

__all__ = [
    "PERIODS_PER_YEAR",
    "WINDOWS",
    "STATISTICS_SCHEMA",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar_ratio",
    "alpha_beta",
    "skewness",
    "kurtosis",
    "value_at_risk",
    "conditional_value_at_risk",
    "cornish_fisher_quantile",
    "cornish_fisher_var",
    "cornish_fisher_cvar",
    "probabilistic_sharpe_ratio",
    "expected_maximum_sharpe",
    "deflated_sharpe_ratio",
    "min_track_record_length",
    "hit_rate",
    "month_to_date_pnl",
    "month_to_date_trough",
    "strategy_statistics_table",
]

PERIODS_PER_YEAR = 252
WINDOWS: dict[str, int | None] = {"21d": 21, "63d": 63, "252d": 252, "inception": None}
"""Trailing windows of the statistics table, in observed returns (None: all of them)."""

_DRAWDOWN_TOLERANCE = 1e-12
"""Wealth below its peak by less than this (relative) counts as at the peak (rounding)."""

ReturnsLike = np.ndarray | pl.Series | Sequence[float]


# --------------------------------------------------------------------------- inputs


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


# ------------------------------------------------------------- kernels (rows = series)
# Each kernel takes a 2-D array, one series per row, NaN meaning "no observation". The
# path-dependent kernels (drawdown, month to date) also assume NaN only pads a row on the
# left, which is how the public functions (NaN dropped) and the table (right-aligned
# matrix of observed returns) call them.


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


def _psr(sr, n, skew, kurt, benchmark_sharpe) -> np.ndarray:
    """Phi((SR - SR*) sqrt(n-1) / sqrt(1 - g3 SR + (g4-1)/4 SR^2)); NaN when not computable."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
        z = (sr - benchmark_sharpe) * np.sqrt(n - 1.0) / np.sqrt(var)
    return np.where((n >= 3) & (var > 0), ndtr(z), np.nan)


def _min_trl(sr, skew, kurt, benchmark_sharpe, confidence) -> np.ndarray:
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    with np.errstate(divide="ignore", invalid="ignore"):
        trl = 1.0 + var * (ndtri(confidence) / (sr - benchmark_sharpe)) ** 2
    trl = np.where(sr <= benchmark_sharpe, np.inf, trl)
    return np.where(var > 0, trl, np.nan)  # NaN inputs fail var > 0


def _expected_max_sharpe(trials: np.ndarray) -> float:
    N = trials.size
    if N < 2:
        return float("nan")
    g = np.euler_gamma
    spread = (1.0 - g) * ndtri(1.0 - 1.0 / N) + g * ndtri(1.0 - 1.0 / (N * np.e))
    return float(np.std(trials, ddof=1) * spread)


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


def _month_to_date(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(compounded return, running minimum of the compounded return from 0) per row."""
    growth = np.cumprod(np.where(np.isnan(X), 1.0, 1.0 + X), axis=1) - 1.0
    pnl = growth[:, -1] if X.shape[1] else np.zeros(X.shape[0])
    return pnl, np.min(growth, axis=1, initial=0.0)


def _one(values) -> float:
    return float(np.asarray(values)[0])


# --------------------------------------------------------------------- public functions


def annual_return(returns: ReturnsLike, *, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """Geometric annual return: ``prod(1 + r)**(periods_per_year / n) - 1``.

    -1 once a return is <= -1 (the capital is gone). NaN without observations.
    """
    return _one(_annual_return(_clean(returns)[None, :], periods_per_year))


def annual_volatility(returns: ReturnsLike, *, periods_per_year: float = PERIODS_PER_YEAR) -> float:
    """``std(r, ddof=1) * sqrt(periods_per_year)``; NaN below 2 observations, 0 if constant."""
    return float(_one(_moments(_clean(returns)[None, :]).std) * np.sqrt(periods_per_year))


def sharpe_ratio(
    returns: ReturnsLike, *, risk_free: float = 0.0, periods_per_year: float = PERIODS_PER_YEAR
) -> float:
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


def value_at_risk(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """``numpy.quantile(r, level)`` (linear interpolation): negative for a loss."""
    _check_level(level)
    return _one(_var_cvar(_clean(returns)[None, :], level)[0])


def conditional_value_at_risk(returns: ReturnsLike, *, level: float = 0.05) -> float:
    """Mean of the returns at or below ``value_at_risk(r, level=level)``."""
    _check_level(level)
    return _one(_var_cvar(_clean(returns)[None, :], level)[1])


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


def probabilistic_sharpe_ratio(returns: ReturnsLike, *, benchmark_sharpe: float = 0.0) -> float:
    """Bailey & Lopez de Prado (2012): probability that the true Sharpe exceeds SR*.

    ``PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))`` with the
    per-period SR = mean/std (ddof=1), g3 = ``skewness``, g4 = ``kurtosis`` (Pearson) and
    SR* = ``benchmark_sharpe`` per period. NaN below 4 observations (see module docstring).
    """
    m = _moments(_clean(returns)[None, :])
    return _one(_psr(_ratio(m.mean, m.std), m.n, m.skew, m.kurt, benchmark_sharpe))


def expected_maximum_sharpe(trial_sharpes: ReturnsLike) -> float:
    """SR0, the expected maximum of N per-period trial Sharpe ratios under no skill:

    ``SR0 = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))`` with V the
    sample variance (ddof=1) of the trial Sharpes and gamma Euler-Mascheroni. NaN trials
    are dropped; NaN with fewer than 2 trials.
    """
    return _expected_max_sharpe(_clean(trial_sharpes, "trial_sharpes"))


def deflated_sharpe_ratio(returns: ReturnsLike, trial_sharpes: ReturnsLike) -> float:
    """``probabilistic_sharpe_ratio(r, benchmark_sharpe=expected_maximum_sharpe(trial_sharpes))``.

    ``trial_sharpes`` holds the per-period Sharpe ratio of every trial (this one included).
    """
    return probabilistic_sharpe_ratio(returns, benchmark_sharpe=expected_maximum_sharpe(trial_sharpes))


def min_track_record_length(
    returns: ReturnsLike, *, benchmark_sharpe: float = 0.0, confidence: float = 0.95
) -> float:
    """Observations needed for ``PSR >= confidence``, in periods:

    ``1 + (1 - g3 SR + (g4 - 1)/4 SR^2) (Phi^-1(confidence) / (SR - SR*))^2`` with the
    per-period SR; +inf when SR <= SR*; NaN below 4 observations or for a constant series.
    """
    _check_level(confidence, "confidence")
    m = _moments(_clean(returns)[None, :])
    sr = _ratio(m.mean, m.std)
    trl = _min_trl(sr, m.skew, m.kurt, benchmark_sharpe, confidence)
    return _one(np.where(m.n >= 3, trl, np.nan))


def hit_rate(returns: ReturnsLike) -> float:
    """Share of observed returns strictly above 0; NaN without observations."""
    x = _clean(returns)
    return float(np.mean(x > 0)) if x.size else float("nan")


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


# ----------------------------------------------------------------------- table builder

_FLOAT_COLUMNS = [
    "annual_return", "annual_volatility", "sharpe", "sortino", "calmar", "max_drawdown",
    "var_95", "cvar_95", "cf_var_95", "cf_cvar_95", "skew", "kurtosis", "alpha", "beta",
    "psr", "dsr", "min_track_record_length", "hit_rate", "mtd_pnl", "mtd_trough",
]  # fmt: skip
STATISTICS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "strategy_id": pl.String(),
    "window": pl.String(),
    "n_obs": pl.Int64(),
    **{c: pl.Float64() for c in _FLOAT_COLUMNS[:6]},
    "max_drawdown_duration": pl.Int64(),
    **{c: pl.Float64() for c in _FLOAT_COLUMNS[6:]},
}
"""Columns of ``strategy_statistics_table`` in order. Not computable is null (never NaN);
``min_track_record_length`` is +inf when the Sharpe does not beat 0."""


def _window_statistics(X: np.ndarray, B: np.ndarray | None) -> dict[str, np.ndarray]:
    """Every statistic of each row of X (left NaN-padded observed returns)."""
    ppy = PERIODS_PER_YEAR
    m = _moments(X)
    sr = _ratio(m.mean, m.std)
    mdd, duration = _drawdown(X)
    ann = _annual_return(X, ppy)
    var, cvar = _var_cvar(X, 0.05)
    excess_kurt = m.kurt - 3.0
    trials = sr[np.isfinite(sr)]
    alpha, beta = _alpha_beta(X, B, 0.0, ppy) if B is not None else (np.full(len(sr), np.nan),) * 2
    with np.errstate(invalid="ignore"):
        hits = (X > 0).sum(axis=1) / m.n
    return {
        "n_obs": m.n.astype(np.int64),
        "annual_return": ann,
        "annual_volatility": m.std * np.sqrt(ppy),
        "sharpe": sr * np.sqrt(ppy),
        "sortino": _sortino(X, 0.0, ppy),
        "calmar": _ratio(ann, -mdd),
        "max_drawdown": mdd,
        "max_drawdown_duration": duration,
        "var_95": var,
        "cvar_95": cvar,
        "cf_var_95": m.mean + cornish_fisher_quantile(0.05, skew=m.skew, excess_kurtosis=excess_kurt) * m.std,
        "cf_cvar_95": m.mean + _cf_tail_mean(0.05, m.skew, excess_kurt) * m.std,
        "skew": m.skew,
        "kurtosis": m.kurt,
        "alpha": alpha,
        "beta": beta,
        "psr": _psr(sr, m.n, m.skew, m.kurt, 0.0),
        "dsr": _psr(sr, m.n, m.skew, m.kurt, _expected_max_sharpe(trials)),
        "min_track_record_length": np.where(m.n >= 3, _min_trl(sr, m.skew, m.kurt, 0.0, 0.95), np.nan),
        "hit_rate": hits,
    }


def _observed(returns: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Observed rows up to as_of (available, ret neither null nor NaN), by strategy and date."""
    available = pl.col("available").fill_null(False) if "available" in returns.columns else pl.lit(True)
    obs = (
        returns.lazy()
        .with_columns(pl.col("ret").cast(pl.Float64))
        .filter((pl.col("date") <= as_of) & available & pl.col("ret").is_not_null() & pl.col("ret").is_not_nan())
        .select("date", "strategy_id", "ret")
        .sort("strategy_id", "date")
        .collect()
    )
    if obs["ret"].is_infinite().any():
        raise ValueError("returns contain an infinite ret")
    if obs.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("returns hold more than one observed row for a (strategy_id, date)")
    return obs


def strategy_statistics_table(
    returns: pl.DataFrame, benchmark: pl.DataFrame | None, as_of: dt.date
) -> pl.DataFrame:
    """Statistics of every strategy over each trailing window of ``WINDOWS`` as of ``as_of``.

    ``returns`` is long (date, strategy_id, ret, available); a row is *observed* when
    ``available`` is True (a missing column means available) and ``ret`` is neither null
    nor NaN. A window holds the last N observed returns up to and including ``as_of``
    (fewer when the strategy has fewer; ``inception`` holds all), so windows count
    observed returns, not calendar days. ``benchmark`` (date, ret) gives alpha/beta from
    the dates both have; None (or no common date) leaves them null. ``dsr`` deflates
    against the per-period Sharpe of every strategy with a computable Sharpe in the same
    window that day (null with fewer than 2 such trials). ``mtd_pnl`` / ``mtd_trough`` are month to date as of ``as_of`` and the
    same in every window. Strategies without an observed return are omitted; one row per
    (strategy_id, window), ordered by strategy_id then window; columns as
    ``STATISTICS_SCHEMA``, not computable values are null.
    """
    obs = _observed(returns, as_of)
    if obs.height == 0:
        return pl.DataFrame(schema={**STATISTICS_SCHEMA, "strategy_id": returns.schema["strategy_id"]})
    if benchmark is not None:
        bench = benchmark.select("date", pl.col("ret").cast(pl.Float64).fill_nan(None).alias("bench"))
        if bench["bench"].is_infinite().any():
            raise ValueError("benchmark contains an infinite ret")
        if bench["date"].is_duplicated().any():
            raise ValueError("benchmark holds more than one row for a date")
        obs = obs.join(bench, on="date", how="left", maintain_order="left")

    counts = obs.group_by("strategy_id", maintain_order=True).len()
    ids, n = counts["strategy_id"], counts["len"].to_numpy().astype(np.int64)
    S, L = len(n), int(n.max())
    row = np.repeat(np.arange(S), n)
    col = np.arange(obs.height) - np.repeat(np.cumsum(n) - n, n) + np.repeat(L - n, n)

    def matrix(values: np.ndarray) -> np.ndarray:
        out = np.full((S, L), np.nan)
        out[row, col] = values
        return out

    R = matrix(obs["ret"].to_numpy())
    B = matrix(obs["bench"].to_numpy()) if benchmark is not None else None
    in_month = (obs["date"] >= as_of.replace(day=1)).to_numpy()
    mtd_pnl, mtd_trough = _month_to_date(matrix(np.where(in_month, obs["ret"].to_numpy(), np.nan)))

    per_window = []
    for name, size in WINDOWS.items():
        cut = L if size is None else min(size, L)
        stats = _window_statistics(R[:, L - cut :], None if B is None else B[:, L - cut :])
        stats.update(mtd_pnl=mtd_pnl, mtd_trough=mtd_trough, window=np.full(S, name))
        per_window.append(stats)

    def interleave(key: str) -> np.ndarray:  # strategy-major, windows in WINDOWS order
        return np.stack([w[key] for w in per_window], axis=1).ravel()

    k = len(WINDOWS)
    frame = pl.DataFrame(
        {
            "date": pl.Series([as_of] * (S * k), dtype=pl.Date),
            "strategy_id": ids.gather(np.repeat(np.arange(S), k)),
            "window": interleave("window"),
            "n_obs": pl.Series(interleave("n_obs"), dtype=pl.Int64),
            **{c: pl.Series(interleave(c), dtype=pl.Float64).fill_nan(None) for c in _FLOAT_COLUMNS},
            "max_drawdown_duration": pl.Series(interleave("max_drawdown_duration"), dtype=pl.Int64),
        }
    )
    return frame.select(list(STATISTICS_SCHEMA))
