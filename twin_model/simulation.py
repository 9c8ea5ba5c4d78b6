"""Monte Carlo of the next month: posterior-predictive scenarios, parameter-set scenarios,
their forecast summary, and the calibration of earlier forecasts.

Pure computation (numpy + polars): no I/O, no dagster, no PyMC. The caller hands in the
posterior draws written by ``twin_model.inference`` (a long frame) and the history the
model was fitted on; scenario matrices come back as numpy arrays ``[n_paths, horizon, N]``
of daily *simple* returns with the strategies as the last axis, in the caller's
``strategy_ids`` order.

Return model (from ``twin_model.inference``)
-------------------------------------------
For strategy ``i`` and posterior draw ``d`` the daily return is

    r = alpha_i^(d) + beta_i^(d) * b + sigma_i^(d) * e,    e ~ unit-variance Student-t(nu_i^(d))

where ``b`` is the benchmark's daily return and ``nu = +inf`` means ``e`` is standard
normal. The draws frame has one row per ``(draw, strategy_id)`` with the columns ``draw,
strategy_id, daily_mean, alpha, beta, sigma, nu, vol, sharpe``; a null or NaN ``nu`` is
read as ``+inf`` (normal). A unit-variance Student-t needs ``nu > 2``: a ``nu`` below
``MIN_TAIL_DF`` (2.1) is raised to it for the fresh draws described below.

1. Posterior-predictive simulation (``simulate_posterior_predictive``)
----------------------------------------------------------------------
Notation: history ``R[t, i]`` (``t = 0 .. T-1``, NaN = masked cell), benchmark ``b[t]``
(or none), ``D`` posterior draws, ``P = n_paths`` paths, ``H = horizon`` business days.

* Posterior-mean parameters: ``alpha_hat_i, beta_hat_i, sigma_hat_i`` = the mean over the
  draws of ``alpha, beta, sigma``.
* Eligible history days ``S``: the days whose benchmark is observed (finite); every day when
  there is no benchmark, and then ``b[t] = 0`` (the model has no market term; inference is
  expected to fit ``beta = 0`` and ``alpha`` = the daily mean in that case).
* Standardised residuals, on the eligible days:

      z[t, i] = (R[t, i] - alpha_hat_i - beta_hat_i * b[t]) / sigma_hat_i        (NaN if masked)

  and, with ``center_residuals=True`` (the default), each strategy's residuals are
  centred, ``z[t, i] -= mean over its observed eligible days of z[., i]``. Centring keeps
  the simulated mean equal to the posterior's ``alpha^(d) + beta^(d) E[b]``: a
  hierarchical or Student-t fit does not put ``alpha_hat`` at the sample mean (shrinkage,
  down-weighted outliers), and adding back uncentred residuals would quietly undo it.
  Centring shifts a whole column by a constant, so it leaves the residuals' dispersion,
  tails and cross-strategy co-movement untouched. The residuals are not re-scaled.
* Each path ``p`` draws one posterior draw ``d_p`` uniformly (with replacement) from the
  ``D`` draws, and keeps it for all ``H`` days (a path is one possible "true" model).
* Each path-day ``(p, k)`` draws one eligible history day ``s = s_pk`` uniformly (with
  replacement) -- a *joint* bootstrap: the same day for every strategy -- and

      r[p, k, i] = alpha_i^(d_p) + beta_i^(d_p) * b[s] + sigma_i^(d_p) * z[s, i]

  where ``z[s, i]`` is masked, a fresh unit-variance Student-t draw with ``nu_i^(d_p)``
  degrees of freedom takes its place (``sqrt((nu - 2) / nu) * t_nu``; standard normal for
  ``nu = inf``).
* Floor: a simple return cannot fall below -100%; ``r`` is clipped at ``RETURN_FLOOR`` =
  -0.99 (a 99% one-day loss). The floor only binds for absurd parameters or residuals.

What the scenarios keep: posterior parameter uncertainty (the spread of ``alpha, beta,
sigma`` across draws, held fixed within a path, so a month's outcome varies more than a
single-model simulation would); the fat tails and skew of the historical residuals; the
cross-strategy correlation of the residuals on the same day; the market co-movement
through ``beta * b[s]`` with the benchmark's own empirical distribution. What they do not
keep: serial dependence -- days are drawn independently, so volatility clustering,
momentum in the benchmark and regime persistence are lost; also the masked-cell draws are
independent of the other strategies on that day.

RNG: ``numpy.random.SeedSequence(seed).spawn(3)`` gives three independent streams, one for
the draw of each path, one for the history days, one for the fresh Student-t draws, so the
scenarios depend on ``seed`` alone and masking one more cell does not reshuffle the rest.

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

3. Parameter sets (``ParameterSet``, ``simulate_parameter_set``)
---------------------------------------------------------------
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

4. Forecast calibration (``forecast_calibration``)
--------------------------------------------------
Horizons count *observed* returns (``available`` and a non-null ``ret``), not calendar or
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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "SimulationSettings",
    "ParameterSet",
    "simulate_posterior_predictive",
    "forecast_summary",
    "fitted_parameter_set",
    "residual_correlation",
    "simulate_parameter_set",
    "repair_correlation",
    "forecast_calibration",
    "compounded_returns",
    "path_troughs",
    "RETURN_FLOOR",
    "MIN_TAIL_DF",
    "PERIODS_PER_YEAR",
]

PERIODS_PER_YEAR = 252
"""Business days a year: daily mean = annual / 252, daily sd = annual / sqrt(252)."""

RETURN_FLOOR = -0.99
"""Simulated daily simple returns are clipped at this floor so wealth stays positive."""

MIN_TAIL_DF = 2.1
"""Smallest Student-t df used for a unit-variance draw (the variance is infinite at 2)."""

EIGEN_FLOOR = 1e-8
"""Smallest eigenvalue kept when a correlation matrix is repaired to positive definite."""

_DRAW_COLUMNS = ("alpha", "beta", "sigma", "nu")


@dataclass(frozen=True)
class SimulationSettings:
    """How many paths, how far, which seed; the valley's quantile.

    ``center_residuals``: centre each strategy's bootstrap residuals (see the module
    docstring); set False for the raw ``z = (r - alpha_hat - beta_hat b) / sigma_hat``.
    """

    horizon: int = 21
    n_paths: int = 2000
    seed: int = 20260102
    valley_quantile: float = 0.05
    center_residuals: bool = True

    def __post_init__(self) -> None:
        if int(self.horizon) < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if int(self.n_paths) < 1:
            raise ValueError(f"n_paths must be >= 1, got {self.n_paths}")
        if not 0.0 < float(self.valley_quantile) < 1.0:
            raise ValueError(f"valley_quantile must be in (0, 1), got {self.valley_quantile}")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _ids(strategy_ids: Sequence[str]) -> list[str]:
    ids = [str(s) for s in strategy_ids]
    if len(ids) == 0:
        raise ValueError("strategy_ids is empty")
    if len(set(ids)) != len(ids):
        raise ValueError("strategy_ids holds duplicates")
    return ids


def _posterior_arrays(draws: pl.DataFrame, ids: list[str]) -> dict[str, np.ndarray]:
    """The draws as ``[D, N]`` arrays of alpha, beta, sigma, nu (columns in ``ids`` order)."""
    needed = {"draw", "strategy_id", *_DRAW_COLUMNS}
    absent = needed - set(draws.columns)
    if absent:
        raise ValueError(f"posterior draws lack columns {sorted(absent)}")
    frame = draws.select("draw", "strategy_id", *_DRAW_COLUMNS).filter(pl.col("strategy_id").is_in(ids))
    present = set(frame["strategy_id"].unique().to_list())
    missing = [s for s in ids if s not in present]
    if missing:
        raise ValueError(f"posterior draws hold no rows for strategies {missing}")
    draw_values, row = np.unique(frame["draw"].to_numpy(), return_inverse=True)
    col = frame["strategy_id"].replace_strict({s: i for i, s in enumerate(ids)}, return_dtype=pl.Int64).to_numpy()
    n_draws, n = len(draw_values), len(ids)
    count = np.zeros((n_draws, n), dtype=np.int64)
    np.add.at(count, (row, col), 1)
    if (count != 1).any():
        bad = sorted({ids[j] for j in np.nonzero(count != 1)[1]})
        raise ValueError(f"posterior draws need exactly one row per (draw, strategy); broken for {bad}")
    out = {}
    for name in _DRAW_COLUMNS:
        arr = np.empty((n_draws, n))
        arr[row, col] = frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[name] = arr
    nu = out["nu"]
    nu[np.isnan(nu)] = np.inf
    for name in ("alpha", "beta", "sigma"):
        if not np.isfinite(out[name]).all():
            raise ValueError(f"posterior draws hold null or non-finite {name}")
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
    benchmark: np.ndarray | None,
    alpha_hat: np.ndarray,
    beta_hat: np.ndarray,
    sigma_hat: np.ndarray,
    center: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Benchmark ``b[S]`` and standardised residuals ``z[S, N]`` on the eligible days."""
    if benchmark is None:
        b = np.zeros(returns.shape[0])
        eligible = np.ones(returns.shape[0], dtype=bool)
    else:
        b = np.asarray(benchmark, dtype=float).reshape(-1)
        if b.shape[0] != returns.shape[0]:
            raise ValueError(f"benchmark has {b.shape[0]} days, returns have {returns.shape[0]}")
        eligible = np.isfinite(b)
    if not eligible.any():
        raise ValueError("no history day to bootstrap: the benchmark is never observed (or returns are empty)")
    b = b[eligible]
    r = returns[eligible]
    with np.errstate(invalid="ignore"):
        z = (r - alpha_hat[None, :] - beta_hat[None, :] * b[:, None]) / sigma_hat[None, :]
    z[~np.isfinite(z)] = np.nan
    if center:
        observed = np.isfinite(z)
        n_obs = observed.sum(axis=0)
        sums = np.where(observed, z, 0.0).sum(axis=0)
        means = np.divide(sums, n_obs, out=np.zeros_like(sums), where=n_obs > 0)
        z = z - means[None, :]
    return b, z


# --------------------------------------------------------------------------------------
# 1. posterior-predictive simulation
# --------------------------------------------------------------------------------------


def simulate_posterior_predictive(
    draws: pl.DataFrame,
    returns: np.ndarray,
    benchmark: np.ndarray | None,
    strategy_ids: Sequence[str],
    settings: SimulationSettings = SimulationSettings(),
) -> np.ndarray:
    """Scenarios ``[n_paths, horizon, N]`` of daily simple returns (columns in
    ``strategy_ids`` order): posterior draw per path, joint residual bootstrap per day.

    ``returns`` is the ``[T, N]`` history (NaN = masked) in ``strategy_ids`` column order,
    ``benchmark`` its ``[T]`` benchmark returns or None. See the module docstring.
    """
    ids = _ids(strategy_ids)
    hist = np.asarray(returns, dtype=float)
    if hist.ndim != 2 or hist.shape[1] != len(ids):
        raise ValueError(f"returns must be [T, {len(ids)}], got shape {hist.shape}")
    post = _posterior_arrays(draws, ids)
    alpha, beta, sigma, nu = post["alpha"], post["beta"], post["sigma"], post["nu"]
    b_hist, z_hist = _history_residuals(
        hist, benchmark, alpha.mean(axis=0), beta.mean(axis=0), sigma.mean(axis=0), settings.center_residuals
    )

    n_paths, horizon = int(settings.n_paths), int(settings.horizon)
    rng_draw, rng_day, rng_fill = (np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(3))
    d = rng_draw.integers(0, alpha.shape[0], size=n_paths)  # posterior draw of each path
    s = rng_day.integers(0, b_hist.shape[0], size=(n_paths, horizon))  # history day of each path-day

    z = z_hist[s]  # [P, H, N]
    masked = np.isnan(z)
    if masked.any():
        p_idx, _, i_idx = np.nonzero(masked)
        z[masked] = _unit_t(rng_fill, nu[d[p_idx], i_idx])
    scen = alpha[d][:, None, :] + beta[d][:, None, :] * b_hist[s][:, :, None] + sigma[d][:, None, :] * z
    np.maximum(scen, RETURN_FLOOR, out=scen)
    return scen


# --------------------------------------------------------------------------------------
# 2. forecast summary
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# 3. parameter sets (the "stochastic fit")
# --------------------------------------------------------------------------------------


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
    draws: pl.DataFrame, returns: np.ndarray, benchmark: np.ndarray | None, strategy_ids: Sequence[str]
) -> np.ndarray:
    """``[N, N]`` pairwise-complete correlation of the standardised residuals (posterior
    means, eligible days as in the simulation), 0 where two strategies share fewer than 3
    observed days or a residual is constant. Not necessarily PSD (pairwise deletion):
    ``simulate_parameter_set`` repairs it."""
    ids = _ids(strategy_ids)
    hist = np.asarray(returns, dtype=float)
    if hist.ndim != 2 or hist.shape[1] != len(ids):
        raise ValueError(f"returns must be [T, {len(ids)}], got shape {hist.shape}")
    post = _posterior_arrays(draws, ids)
    _, z = _history_residuals(
        hist, benchmark, post["alpha"].mean(axis=0), post["beta"].mean(axis=0), post["sigma"].mean(axis=0), False
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

    if params.correlation is None:
        chol = None
    else:
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
        chol = np.linalg.cholesky(repair_correlation(corr))

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


# --------------------------------------------------------------------------------------
# 4. forecast calibration
# --------------------------------------------------------------------------------------

_CALIBRATION_SCHEMA = {
    "date": pl.Date,
    "strategy_id": pl.String,
    "forecast_date": pl.Date,
    "horizon_days": pl.Int64,
    "realised_return": pl.Float64,
    "p05": pl.Float64,
    "p95": pl.Float64,
    "inside_band": pl.Boolean,
    "n_evaluated": pl.Int64,
    "coverage_rate": pl.Float64,
}


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
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    h = int(horizon)
    if isinstance(as_of, datetime.datetime):
        as_of = as_of.date()
    for frame, cols, what in (
        (forecasts, {"date", "strategy_id", "p05", "p95"}, "forecasts"),
        (returns, {"date", "strategy_id", "ret"}, "returns"),
    ):
        absent = cols - set(frame.columns)
        if absent:
            raise ValueError(f"{what} lack columns {sorted(absent)}")

    available = pl.col("available").fill_null(True) if "available" in returns.columns else pl.lit(True)
    obs = (
        returns.lazy()
        .with_columns(pl.col("date").cast(pl.Date), pl.col("ret").cast(pl.Float64))
        .filter((pl.col("date") <= as_of) & available & pl.col("ret").is_not_null() & pl.col("ret").is_not_nan())
        .select("strategy_id", "date", "ret")
        .sort("strategy_id", "date")
        .collect()
    )
    if obs.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("returns hold more than one observed row per (strategy_id, date)")
    fc = (
        forecasts.lazy()
        .with_columns(pl.col("date").cast(pl.Date), pl.col("p05").cast(pl.Float64), pl.col("p95").cast(pl.Float64))
        .filter(pl.col("date") <= as_of)
        .select("strategy_id", "date", "p05", "p95")
        .collect()
    )
    if fc.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("forecasts hold more than one row per (strategy_id, date)")

    rows = []
    for (sid,), g in obs.group_by("strategy_id", maintain_order=True):
        dates = g["date"].to_list()
        if len(dates) <= h or dates[-1] != as_of:
            continue
        ret = g["ret"].to_numpy()
        # realised[m]: compounded return of observations m+1 .. m+h, for m = 0 .. M-h-1
        realised = np.prod(sliding_window_view(1.0 + ret[1:], h), axis=1) - 1.0
        scored = (
            pl.DataFrame(
                {"date": dates[: len(realised)], "realised_return": realised},
                schema={"date": pl.Date, "realised_return": pl.Float64},
            )
            .join(fc.filter(pl.col("strategy_id") == sid), on="date", how="inner")
            .filter(pl.col("p05").is_not_null() & pl.col("p95").is_not_null())
            .with_columns(
                ((pl.col("p05") <= pl.col("realised_return")) & (pl.col("realised_return") <= pl.col("p95"))).alias(
                    "inside_band"
                )
            )
        )
        today = scored.filter(pl.col("date") == dates[-1 - h])
        if today.height == 0:
            continue
        t = today.row(0, named=True)
        rows.append(
            {
                "date": as_of,
                "strategy_id": sid,
                "forecast_date": t["date"],
                "horizon_days": h,
                "realised_return": t["realised_return"],
                "p05": t["p05"],
                "p95": t["p95"],
                "inside_band": t["inside_band"],
                "n_evaluated": scored.height,
                "coverage_rate": float(scored["inside_band"].mean()),
            }
        )
    return pl.DataFrame(rows, schema=_CALIBRATION_SCHEMA) if rows else pl.DataFrame(schema=_CALIBRATION_SCHEMA)
