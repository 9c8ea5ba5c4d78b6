"""Parameter sets, the twin's "stochastic fit": named beliefs that generate seeded scenarios.

The twin's "stochastic fit": a named set of per-strategy beliefs (annual arithmetic mean,
annual volatility, Student-t tail df, optional correlation) that generates seeded
scenarios, so the model's belief (``fitted_parameter_set``) and an expert's view can be
simulated with the same seed and tabulated side by side through ``forecast_summary``:

    r[p, k, i] = annual_return_i / 252 + annual_volatility_i / sqrt(252) * x[p, k, i]

``x[., ., i]`` has a unit-variance Student-t(``tail_df_i``) marginal (normal for inf), and
the strategies are joined by a Gaussian copula with the given correlation ``C``: correlated
normals ``g = L eps`` with ``C = L L'`` (Cholesky; a ``C`` that is not positive definite is
first repaired by clipping its eigenvalues at ``EIGEN_FLOOR`` and re-scaling to a unit
diagonal). A normal strategy takes ``x = g`` directly, so its Pearson correlations are
exactly ``C``. A Student-t strategy takes, for each day, a sample of ``n_paths`` fresh
unit-variance t draws re-ordered across paths to follow the ranks of its ``g`` (the
Iman-Conover rank re-ordering): each cell's marginal is exactly the Student-t, the rank
(Spearman) correlation is the Gaussian copula's ``6/pi * asin(C_ij / 2)``, and the Pearson
correlation of two t strategies is slightly below ``C_ij`` (the copula's, not the
marginals', correlation is what ``C`` sets). No tail dependence beyond what ``C`` implies;
no serial dependence. ``correlation=None`` means independent strategies. Returns are
clipped at ``RETURN_FLOOR`` as above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.strategy._forecast import (
    RETURN_FLOOR,
    SimulationSettings,
    _history_residuals,
    _ids,
    _posterior_arrays,
    _regressors,
    _unit_t,
)

EIGEN_FLOOR = 1e-8
"""Smallest eigenvalue kept when a correlation matrix is repaired to positive definite."""


@dataclass(frozen=True)
class ParameterSet:
    """A named belief about every strategy, from which seeded scenarios are drawn.

    ``annual_return``: arithmetic annual mean (daily mean = annual_return / 252);
    ``annual_volatility``: daily sd = annual_volatility / sqrt(252); ``tail_df``: Student-t
    df (> 2; inf = normal); ``correlation``: ``[N, N]`` Gaussian-copula correlation or None
    (independent). ``correlation_ids`` names the strategies of the correlation's rows and
    columns; None means they are in the ``strategy_ids`` order given to
    ``simulate_parameter_set``.
    """

    name: str
    annual_return: dict[str, float]
    annual_volatility: dict[str, float]
    tail_df: dict[str, float]
    correlation: np.ndarray | None = None
    correlation_ids: tuple[str, ...] | None = None


def fitted_parameter_set(
    draws: pl.DataFrame,
    name: str = "fitted",
    *,
    correlation: np.ndarray | None = None,
    correlation_ids: Sequence[str] | None = None,
) -> ParameterSet:
    """The posterior's belief as a ParameterSet: per strategy ``annual_return =
    252 * mean(daily_mean)``, ``annual_volatility = sqrt(252) * mean(vol)``, ``tail_df =
    median(nu)`` (a null nu counts as inf). The draws carry no cross-strategy information,
    so ``correlation`` is None unless given (e.g. ``residual_correlation(...)``)."""
    absent = {"strategy_id", "daily_mean", "vol", "nu"} - set(draws.columns)
    if absent:
        raise ValueError(f"posterior draws lack columns {sorted(absent)}")
    if draws.height == 0:
        raise ValueError("posterior draws are empty")
    agg = draws.group_by("strategy_id", maintain_order=True).agg(
        (pl.col("daily_mean").mean() * PERIODS_PER_YEAR).alias("annual_return"),
        (pl.col("vol").mean() * math.sqrt(PERIODS_PER_YEAR)).alias("annual_volatility"),
        pl.col("nu").cast(pl.Float64).fill_nan(None).fill_null(math.inf).median().alias("tail_df"),
    )
    ids = agg["strategy_id"].to_list()
    return ParameterSet(
        name=name,
        annual_return=dict(zip(ids, agg["annual_return"].to_list(), strict=True)),
        annual_volatility=dict(zip(ids, agg["annual_volatility"].to_list(), strict=True)),
        tail_df=dict(zip(ids, agg["tail_df"].to_list(), strict=True)),
        correlation=None if correlation is None else np.asarray(correlation, dtype=float),
        correlation_ids=None if correlation_ids is None else tuple(str(s) for s in correlation_ids),
    )


def residual_correlation(
    draws: pl.DataFrame,
    returns: np.ndarray,
    factors: np.ndarray | None,
    strategy_ids: Sequence[str],
    factor_ids: Sequence[str] | None = None,
) -> np.ndarray:
    """``[N, N]`` pairwise-complete correlation of the standardised residuals (posterior
    means, eligible days as in the simulation), 0 where two strategies share fewer than 3
    observed days or a residual is constant. Not necessarily PSD (pairwise deletion):
    ``simulate_parameter_set`` repairs it."""
    ids = _ids(strategy_ids)
    hist = np.asarray(returns, dtype=float)
    if hist.ndim != 2 or hist.shape[1] != len(ids):
        raise ValueError(f"returns must be [T, {len(ids)}], got shape {hist.shape}")
    x, beta_columns = _regressors(factors, factor_ids, hist.shape[0])
    post = _posterior_arrays(draws, ids, beta_columns)
    _, z = _history_residuals(
        hist, x, post["alpha"].mean(axis=0), post["betas"].mean(axis=0), post["sigma"].mean(axis=0), False
    )
    n = len(ids)
    obs = np.isfinite(z)
    corr = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            both = obs[:, i] & obs[:, j]
            if both.sum() < 3:
                continue
            x, y = z[both, i], z[both, j]
            x, y = x - x.mean(), y - y.mean()
            den = math.sqrt(float(x @ x) * float(y @ y))
            if den > 0:
                corr[i, j] = corr[j, i] = float(np.clip((x @ y) / den, -1.0, 1.0))
    return corr


def repair_correlation(correlation: np.ndarray) -> np.ndarray:
    """The matrix itself when it is a positive-definite correlation matrix; otherwise the
    symmetrised matrix with its eigenvalues clipped at ``EIGEN_FLOOR`` and re-scaled to a
    unit diagonal."""
    c = np.asarray(correlation, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"correlation must be square, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("correlation holds non-finite entries")
    if not np.allclose(np.diag(c), 1.0, atol=1e-8) or (np.abs(c) > 1.0 + 1e-12).any():
        raise ValueError("correlation needs a unit diagonal and entries in [-1, 1]")
    c = 0.5 * (c + c.T)
    try:
        np.linalg.cholesky(c)
        return c
    except np.linalg.LinAlgError:
        pass
    lam, vec = np.linalg.eigh(c)
    c = (vec * np.maximum(lam, EIGEN_FLOOR)) @ vec.T
    scale = 1.0 / np.sqrt(np.diag(c))
    c = c * scale[:, None] * scale[None, :]
    return 0.5 * (c + c.T)


def _ordered(values: Mapping[str, float], ids: list[str], what: str) -> np.ndarray:
    missing = [s for s in ids if s not in values]
    if missing:
        raise ValueError(f"parameter set has no {what} for strategies {missing}")
    return np.array([float(values[s]) for s in ids])


def _copula_factor(params: ParameterSet, ids: list[str]) -> np.ndarray | None:
    """The Cholesky factor of the (repaired) correlation in ``ids`` order; None without one."""
    if params.correlation is None:
        return None
    n = len(ids)
    corr = np.asarray(params.correlation, dtype=float)
    if params.correlation_ids is not None:
        where = {s: k for k, s in enumerate(params.correlation_ids)}
        if corr.shape != (len(where), len(where)):
            raise ValueError("correlation's shape does not match correlation_ids")
        missing = [s for s in ids if s not in where]
        if missing:
            raise ValueError(f"correlation has no row for strategies {missing}")
        pick = np.array([where[s] for s in ids])
        corr = corr[np.ix_(pick, pick)]
    if corr.shape != (n, n):
        raise ValueError(f"correlation must be [{n}, {n}], got {corr.shape}")
    return np.linalg.cholesky(repair_correlation(corr))


def simulate_parameter_set(
    params: ParameterSet, strategy_ids: Sequence[str], settings: SimulationSettings = SimulationSettings()
) -> np.ndarray:
    """Seeded scenarios ``[n_paths, horizon, N]`` of daily simple returns from a ParameterSet
    (Gaussian copula, Student-t marginals; see the module docstring)."""
    ids = _ids(strategy_ids)
    n = len(ids)
    mu = _ordered(params.annual_return, ids, "annual_return") / PERIODS_PER_YEAR
    sd = _ordered(params.annual_volatility, ids, "annual_volatility") / math.sqrt(PERIODS_PER_YEAR)
    df = _ordered(params.tail_df, ids, "tail_df")
    if not (np.isfinite(mu).all() and np.isfinite(sd).all()) or (sd < 0).any():
        raise ValueError(f"parameter set {params.name!r}: returns and volatilities must be finite, vol >= 0")
    if np.isnan(df).any() or (df <= 2.0).any():
        raise ValueError(f"parameter set {params.name!r}: tail_df must be > 2 (inf = normal)")
    chol = _copula_factor(params, ids)

    n_paths, horizon = int(settings.n_paths), int(settings.horizon)
    rng_copula, rng_marginal = (np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(2))
    g = rng_copula.standard_normal((n_paths, horizon, n))
    if chol is not None:
        g = g @ chol.T  # rows of eps times L': cov = L L' = C
    x = g
    fat = np.flatnonzero(np.isfinite(df))
    if fat.size:
        # Iman-Conover: per (day, strategy) a fresh t sample, sorted, placed by the ranks of g
        sample = np.sort(_unit_t(rng_marginal, np.broadcast_to(df[fat], (n_paths, horizon, fat.size))), axis=0)
        ranks = np.argsort(np.argsort(g[:, :, fat], axis=0), axis=0)
        x = g.copy()
        x[:, :, fat] = np.take_along_axis(sample, ranks, axis=0)
    scen = mu[None, None, :] + sd[None, None, :] * x
    np.maximum(scen, RETURN_FLOOR, out=scen)
    return scen
