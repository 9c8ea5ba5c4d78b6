"""Sharpe inference (Bailey & Lopez de Prado): the probabilistic and deflated Sharpe ratios,
the expected maximum Sharpe of N trials and the minimum track record length."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from twin_model.statistics._base import ReturnsLike, _check_level, _clean, _moments, _one, _ratio


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


def min_track_record_length(returns: ReturnsLike, *, benchmark_sharpe: float = 0.0, confidence: float = 0.95) -> float:
    """Observations needed for ``PSR >= confidence``, in periods:

    ``1 + (1 - g3 SR + (g4 - 1)/4 SR^2) (Phi^-1(confidence) / (SR - SR*))^2`` with the
    per-period SR; +inf when SR <= SR*; NaN below 4 observations or for a constant series.
    """
    _check_level(confidence, "confidence")
    m = _moments(_clean(returns)[None, :])
    sr = _ratio(m.mean, m.std)
    trl = _min_trl(sr, m.skew, m.kurt, benchmark_sharpe, confidence)
    return _one(np.where(m.n >= 3, trl, np.nan))
