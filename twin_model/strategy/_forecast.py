"""Posterior-predictive scenarios of the next month and their forecast summary (the
monthly valley).

Pure computation (numpy + polars): no I/O, no dagster, no PyMC. The caller hands in the
posterior draws written by the strategy model (``FitResult.draws``, a long frame) and the history the
model was fitted on; scenario matrices come back as numpy arrays ``[n_paths, horizon, N]``
of daily *simple* returns with the strategies as the last axis, in the caller's
``strategy_ids`` order.

Return model (from the strategy model)
-------------------------------------
For strategy ``i`` and posterior draw ``d`` the daily return is

    r = alpha_i^(d) + sum_k beta_ik^(d) * x_k + sigma_i^(d) * e,    e ~ unit-variance Student-t(nu_i^(d))

where ``x`` are the fit's regressors that day (the factor design: the benchmark and each
other factor's spread over it) and ``nu = +inf`` means ``e`` is standard normal. The
draws frame (``twin_model.contracts``) has one row per ``(draw, strategy_id)``; the betas
are its ``beta_<regressor>`` columns (or its ``beta`` column when the one regressor is
the benchmark given as a ``[T]`` array); a null or NaN ``nu`` is read as ``+inf`` (normal). A unit-variance Student-t needs ``nu > 2``: a ``nu`` below
``MIN_TAIL_DF`` (2.1) is raised to it for the fresh draws described below.

1. Posterior-predictive simulation (``simulate_posterior_predictive``)
----------------------------------------------------------------------
Notation: history ``R[t, i]`` (``t = 0 .. T-1``, NaN = masked cell), regressors ``x[t, k]``
(``K`` of them, possibly none), ``D`` posterior draws, ``P = n_paths`` paths, ``H =
horizon`` business days.

* Posterior-mean parameters: ``alpha_hat_i, beta_hat_ik, sigma_hat_i`` = the mean over the
  draws of ``alpha, beta_k, sigma``.
* Eligible history days ``S``: the days on which every regressor is observed (finite);
  every day without regressors (alpha over cash).
* Standardised residuals, on the eligible days:

      z[t, i] = (R[t, i] - alpha_hat_i - sum_k beta_hat_ik x[t, k]) / sigma_hat_i   (NaN if masked)

  and, with ``center_residuals=True`` (the default), each strategy's residuals are
  centred, ``z[t, i] -= mean over its observed eligible days of z[., i]``. Centring keeps
  the simulated mean equal to the posterior's ``alpha^(d) + beta^(d)' E[x]``: a
  hierarchical or Student-t fit does not put ``alpha_hat`` at the sample mean (shrinkage,
  down-weighted outliers), and adding back uncentred residuals would quietly undo it.
  Centring shifts a whole column by a constant, so it leaves the residuals' dispersion,
  tails and cross-strategy co-movement untouched. The residuals are not re-scaled.
* Each path ``p`` draws one posterior draw per strategy, ``d_pi``, with probability its
  weight (the draws artefact's ``weight``: ``1/D`` for a fit, the importance weights on a
  reweighted day), and keeps it for all ``H`` days (a path is one possible "true"
  model). One uniform ``u_p`` per path is inverted through each strategy's cumulative
  weights in draw order, ``d_pi = min{d : sum_{j <= d} w_ji > u_p}``: with equal weights
  every strategy gets the same draw ``floor(u_p D)``, so a fit's joint draws stay joint;
  with importance weights each strategy follows its own. Resampling here is only for the
  simulation; the stored draws are never resampled.
* Each path-day ``(p, k)`` draws one eligible history day ``s = s_pk`` uniformly (with
  replacement) -- a *joint* bootstrap: the same day for every strategy -- and

      r[p, k, i] = alpha_i^(d_p) + sum_j beta_ij^(d_p) x[s, j] + sigma_i^(d_p) * z[s, i]

  where ``z[s, i]`` is masked, a fresh unit-variance Student-t draw with ``nu_i^(d_p)``
  degrees of freedom takes its place (``sqrt((nu - 2) / nu) * t_nu``; standard normal for
  ``nu = inf``).
* Floor: a simple return cannot fall below -100%; ``r`` is clipped at ``RETURN_FLOOR`` =
  -0.99 (a 99% one-day loss). The floor only binds for absurd parameters or residuals.

What the scenarios keep: posterior parameter uncertainty (the spread of ``alpha, beta,
sigma`` across draws, held fixed within a path, so a month's outcome varies more than a
single-model simulation would); the fat tails and skew of the historical residuals; the
cross-strategy correlation of the residuals on the same day (so the shared risk of a
sector block); the factor co-movement through ``beta' x[s]`` with the factors' own joint
empirical distribution. What they do not
keep: serial dependence -- days are drawn independently, so volatility clustering,
momentum in the benchmark and regime persistence are lost; also the masked-cell draws are
independent of the other strategies on that day.

RNG: ``numpy.random.SeedSequence(seed).spawn(3)`` gives three independent streams, one for
the draw of each path, one for the history days, one for the fresh Student-t draws, so the
scenarios depend on ``seed`` alone and masking one more cell does not reshuffle the rest.
``predictive_model`` prepares the arrays once and ``simulate_predictive`` draws from them
with any ``SeedSequence``: the policy search (``twin_model.twin``) gives each path its own.

2. Forecast summary (``forecast_summary``)
-----------------------------------------
For each path the month's compounded return is ``R_p = prod_k (1 + r[p, k]) - 1``:
``mean_return`` = mean of ``R_p``; ``p05, p50, p95`` = percentiles of ``R_p`` (numpy's
default linear interpolation); ``prob_loss`` = share of paths with ``R_p < 0``;
``expected_shortfall_95`` = the mean of the ``R_p`` at or below ``p05`` (negative for a
loss). The monthly valley: the month-to-date P&L ``W_pk - 1`` with
``W_pk = prod_{j <= k} (1 + r[p, j])`` and ``W_p0 = 1`` (wealth 1 before the first day), so
each path's trough ``m_p = min(0, min_k (W_pk - 1)) <= 0``; ``monthly_valley`` = the
``valley_quantile`` (default 5th) percentile of ``m_p`` over paths (<= 0, the level at
which the solution layer pauses a strategy) and ``expected_trough`` = mean of ``m_p``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.contracts import beta_column, decode_draws, decode_weights

RETURN_FLOOR = -0.99
"""Simulated daily simple returns are clipped at this floor so wealth stays positive."""

MIN_TAIL_DF = 2.1
"""Smallest Student-t df used for a unit-variance draw (the variance is infinite at 2)."""

_DRAW_COLUMNS = ("alpha", "sigma", "nu")


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class SimulationSettings:
    """How many paths, how far, which seed; the valley's quantile (``strategies.yaml``'s
    ``forecast`` section is this type, with its defaults).

    ``center_residuals``: centre each strategy's bootstrap residuals (see the module
    docstring); set False for the raw ``z = (r - alpha_hat - beta_hat b) / sigma_hat``.
    """

    horizon: int = Field(default=21, ge=1)
    n_paths: int = Field(default=2000, ge=1)
    seed: int = 20260102
    valley_quantile: float = Field(default=0.05, gt=0, lt=1)
    center_residuals: bool = True


def _ids(strategy_ids: Sequence[str]) -> list[str]:
    ids = [str(s) for s in strategy_ids]
    if len(ids) == 0:
        raise ValueError("strategy_ids is empty")
    if len(set(ids)) != len(ids):
        raise ValueError("strategy_ids holds duplicates")
    return ids


def _regressors(factors: np.ndarray | None, factor_ids: Sequence[str] | None, t: int) -> tuple[np.ndarray, list[str]]:
    """``x [T, K]`` and the draws columns of its betas: none without factors; the ``beta``
    column for a ``[T]`` benchmark; ``beta_<id>`` for a ``[T, K]`` array named by ``factor_ids``."""
    if factors is None:
        return np.zeros((t, 0)), []
    x = np.asarray(factors, dtype=float)
    if x.ndim == 1:
        if x.shape[0] != t:
            raise ValueError(f"benchmark has {x.shape[0]} days, returns have {t}")
        return x[:, None], ["beta"]
    if factor_ids is None or x.shape != (t, len(factor_ids)):
        raise ValueError(f"factors must be [T, K] = [{t}, K] named by factor_ids, got shape {x.shape}")
    return x, [beta_column(f) for f in factor_ids]


def _posterior_arrays(draws: pl.DataFrame, ids: list[str], beta_columns: list[str]) -> dict[str, np.ndarray]:
    """The draws as ``[D, N]`` arrays of alpha, sigma, nu and ``betas [D, N, K]`` (columns in
    ``ids`` order; a missing nu is +inf), checked usable for simulation."""
    out = decode_draws(draws, ids, [*_DRAW_COLUMNS, *beta_columns])
    out["weight"] = decode_weights(draws, ids)
    nu = out["nu"]
    nu[np.isnan(nu)] = np.inf
    betas = np.stack([out.pop(c) for c in beta_columns], axis=-1) if beta_columns else None
    out["betas"] = betas if betas is not None else np.zeros((*out["alpha"].shape, 0))
    for name in ("alpha", "betas", "sigma"):
        if not np.isfinite(out[name]).all():
            raise ValueError(f"posterior draws hold null or non-finite {'beta' if name == 'betas' else name}")
    if (out["sigma"] <= 0).any():
        raise ValueError("posterior draws hold sigma <= 0")
    if (nu <= 0).any():
        raise ValueError("posterior draws hold nu <= 0")
    return out


def _unit_t(rng: np.random.Generator, df: np.ndarray) -> np.ndarray:
    """Unit-variance Student-t draws, one per entry of ``df`` (normal where df is inf)."""
    df = np.asarray(df, dtype=float)
    out = rng.standard_normal(df.shape)
    fat = np.isfinite(df)
    if fat.any():
        nu = np.maximum(df[fat], MIN_TAIL_DF)
        chi2 = rng.chisquare(nu)
        # t = Z / sqrt(chi2 / nu); unit variance: times sqrt((nu - 2) / nu)  ->  Z * sqrt((nu-2)/chi2)
        out[fat] = out[fat] * np.sqrt((nu - 2.0) / chi2)
    return out


def _history_residuals(
    returns: np.ndarray,
    x: np.ndarray,
    alpha_hat: np.ndarray,
    beta_hat: np.ndarray,
    sigma_hat: np.ndarray,
    center: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Regressors ``x[S, K]`` and standardised residuals ``z[S, N]`` on the eligible days
    (``beta_hat`` is ``[N, K]``)."""
    eligible = np.isfinite(x).all(axis=1)
    if not eligible.any():
        raise ValueError("no history day to bootstrap: no day has every factor observed (or returns are empty)")
    x = x[eligible]
    r = returns[eligible]
    with np.errstate(invalid="ignore"):
        z = (r - alpha_hat[None, :] - x @ beta_hat.T) / sigma_hat[None, :]
    z[~np.isfinite(z)] = np.nan
    if center:
        observed = np.isfinite(z)
        n_obs = observed.sum(axis=0)
        sums = np.where(observed, z, 0.0).sum(axis=0)
        means = np.divide(sums, n_obs, out=np.zeros_like(sums), where=n_obs > 0)
        z = z - means[None, :]
    return x, z


@dataclass(frozen=True)
class PredictiveModel:
    """What the simulation needs, prepared once from the draws and the history: the
    posterior arrays (``alpha, sigma, nu, weight [D, N]``, ``betas [D, N, K]``) and the
    eligible history days' regressors ``x [S, K]`` and standardised residuals ``z [S, N]``
    (see the module docstring), columns in ``strategy_ids`` order."""

    strategy_ids: tuple[str, ...]
    alpha: np.ndarray
    betas: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray
    weight: np.ndarray
    x: np.ndarray
    z: np.ndarray


def predictive_model(
    draws: pl.DataFrame,
    returns: np.ndarray,
    factors: np.ndarray | None,
    strategy_ids: Sequence[str],
    settings: SimulationSettings = SimulationSettings(),
    factor_ids: Sequence[str] | None = None,
) -> PredictiveModel:
    """The ``PredictiveModel`` of ``draws`` over the ``[T, N]`` history ``returns`` (NaN =
    masked, columns in ``strategy_ids`` order) and its regressors (as for
    ``simulate_posterior_predictive``); ``settings`` supplies ``center_residuals``."""
    ids = _ids(strategy_ids)
    hist = np.asarray(returns, dtype=float)
    if hist.ndim != 2 or hist.shape[1] != len(ids):
        raise ValueError(f"returns must be [T, {len(ids)}], got shape {hist.shape}")
    x, beta_columns = _regressors(factors, factor_ids, hist.shape[0])
    post = _posterior_arrays(draws, ids, beta_columns)
    alpha, betas, sigma = post["alpha"], post["betas"], post["sigma"]
    x_hist, z_hist = _history_residuals(
        hist, x, alpha.mean(axis=0), betas.mean(axis=0), sigma.mean(axis=0), settings.center_residuals
    )
    return PredictiveModel(tuple(ids), alpha, betas, sigma, post["nu"], post["weight"], x_hist, z_hist)


def simulate_predictive(
    model: PredictiveModel, n_paths: int, horizon: int, seed: int | np.random.SeedSequence
) -> np.ndarray:
    """Scenarios ``[n_paths, horizon, N]`` from ``model``: the streams are
    ``SeedSequence(seed).spawn(3)`` (a ``SeedSequence`` is used as given), see the module
    docstring."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng_draw, rng_day, rng_fill = (np.random.default_rng(s) for s in root.spawn(3))
    d = _path_draws(model.weight, rng_draw.random(n_paths))  # [P, N] posterior draw of each path
    s = rng_day.integers(0, model.x.shape[0], size=(n_paths, horizon))  # history day of each path-day
    cols = np.arange(len(model.strategy_ids))

    z = model.z[s]  # [P, H, N]
    masked = np.isnan(z)
    if masked.any():
        p_idx, _, i_idx = np.nonzero(masked)
        z[masked] = _unit_t(rng_fill, model.nu[d[p_idx, i_idx], i_idx])
    systematic = np.einsum("phk,pnk->phn", model.x[s], model.betas[d, cols])
    scen = model.alpha[d, cols][:, None, :] + systematic + model.sigma[d, cols][:, None, :] * z
    np.maximum(scen, RETURN_FLOOR, out=scen)
    return scen


def simulate_posterior_predictive(
    draws: pl.DataFrame,
    returns: np.ndarray,
    factors: np.ndarray | None,
    strategy_ids: Sequence[str],
    settings: SimulationSettings = SimulationSettings(),
    factor_ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Scenarios ``[n_paths, horizon, N]`` of daily simple returns (columns in
    ``strategy_ids`` order): posterior draw per path, joint bootstrap of history days
    (factors and residuals together) per day.

    ``returns`` is the ``[T, N]`` history (NaN = masked) in ``strategy_ids`` column order;
    ``factors`` the fit's regressors ``[T, K]`` named by ``factor_ids`` (a window's
    ``factors`` and ``factor_ids``), a ``[T]`` benchmark (betas from the draws' ``beta``
    column), or None. See the module docstring.
    """
    model = predictive_model(draws, returns, factors, strategy_ids, settings, factor_ids)
    return simulate_predictive(model, int(settings.n_paths), int(settings.horizon), settings.seed)


def _path_draws(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``[P, N]``: for each uniform ``u_p`` and strategy ``i``, the first draw whose
    cumulative weight exceeds ``u_p`` (see the module docstring)."""
    cumulative = np.cumsum(weights, axis=0)
    cumulative /= cumulative[-1]
    last = weights.shape[0] - 1
    return np.stack(
        [np.minimum(np.searchsorted(cumulative[:, i], u, side="right"), last) for i in range(weights.shape[1])],
        axis=1,
    )


def _check_scenarios(scenarios: np.ndarray, n: int | None = None) -> np.ndarray:
    scen = np.asarray(scenarios, dtype=float)
    if scen.ndim != 3:
        raise ValueError(f"scenarios must be [n_paths, horizon, N], got shape {scen.shape}")
    if n is not None and scen.shape[2] != n:
        raise ValueError(f"scenarios hold {scen.shape[2]} strategies, strategy_ids {n}")
    if scen.shape[0] == 0 or scen.shape[1] == 0:
        raise ValueError(f"scenarios are empty (shape {scen.shape})")
    if not np.isfinite(scen).all():
        raise ValueError("scenarios hold non-finite returns")
    return scen


def compounded_returns(scenarios: np.ndarray) -> np.ndarray:
    """``[n_paths, N]``: each path's compounded return over the horizon, prod(1 + r) - 1."""
    scen = _check_scenarios(scenarios)
    return np.prod(1.0 + scen, axis=1) - 1.0


def path_troughs(scenarios: np.ndarray) -> np.ndarray:
    """``[n_paths, N]``: each path's lowest month-to-date P&L, min(0, min_k W_k - 1) <= 0."""
    scen = _check_scenarios(scenarios)
    pnl = np.cumprod(1.0 + scen, axis=1) - 1.0
    return np.minimum(pnl.min(axis=1), 0.0)


def forecast_summary(
    scenarios: np.ndarray, strategy_ids: Sequence[str], settings: SimulationSettings = SimulationSettings()
) -> pl.DataFrame:
    """One row per strategy: the month's compounded-return distribution and monthly valley.

    Columns: strategy_id, horizon_days, n_paths (taken from the scenarios' shape),
    mean_return, p05, p50, p95, prob_loss, expected_shortfall_95, monthly_valley,
    expected_trough. ``settings`` supplies ``valley_quantile``.
    """
    ids = _ids(strategy_ids)
    scen = _check_scenarios(scenarios, len(ids))
    month = np.prod(1.0 + scen, axis=1) - 1.0  # [P, N]
    trough = path_troughs(scen)  # [P, N]
    p05, p50, p95 = np.percentile(month, [5.0, 50.0, 95.0], axis=0)
    tail = month <= p05[None, :]  # never empty: the minimum is <= p05
    es = np.where(tail, month, 0.0).sum(axis=0) / tail.sum(axis=0)
    valley = np.percentile(trough, 100.0 * float(settings.valley_quantile), axis=0)
    n = len(ids)
    return pl.DataFrame(
        {
            "strategy_id": ids,
            "horizon_days": np.full(n, scen.shape[1], dtype=np.int64),
            "n_paths": np.full(n, scen.shape[0], dtype=np.int64),
            "mean_return": month.mean(axis=0),
            "p05": p05,
            "p50": p50,
            "p95": p95,
            "prob_loss": (month < 0.0).mean(axis=0),
            "expected_shortfall_95": es,
            "monthly_valley": np.minimum(valley, 0.0),
            "expected_trough": trough.mean(axis=0),
        },
        schema={
            "strategy_id": pl.String,
            "horizon_days": pl.Int64,
            "n_paths": pl.Int64,
            "mean_return": pl.Float64,
            "p05": pl.Float64,
            "p50": pl.Float64,
            "p95": pl.Float64,
            "prob_loss": pl.Float64,
            "expected_shortfall_95": pl.Float64,
            "monthly_valley": pl.Float64,
            "expected_trough": pl.Float64,
        },
    )
