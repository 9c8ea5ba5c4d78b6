r"""Hierarchical Bayesian model of daily strategy returns, fitted once per day.

For every strategy of the firm this module learns, from a trailing window of daily
returns (two years by default), the posterior of its alpha over the benchmark, its
market beta, its residual volatility and tails, and from those its daily mean, its total
volatility and its annual Sharpe ratio. The PyMC model is compiled **once** per padded
shape (by nutpie, through numba) and re-used across dates and strategy sets by swapping
its data; where NUTS does not converge for a strategy, an exact conjugate regression
takes its place and says so.

Windows
-------
``return_window`` turns the long ``strategy_returns`` frame into a ``ReturnWindow``: the
last ``window_days`` dates up to ``end`` on which at least one strategy has an observed
return (windows count observed returns, not calendar days or partitions), the strategies
with at least one observed return in it (sorted by id), a ``[T, N]`` matrix of simple
returns with NaN for every masked cell (``available`` False, null or NaN ``ret``, or no
row at all), and the benchmark's simple returns on the same dates (NaN where missing).
A flat day (``ret`` 0.0, available) is data, never a mask.

Model
-----
Strategy ``i = 1..N``, day ``t = 1..T``, benchmark return ``b_t``; ``m_it = 1`` when
``r_it`` is observed **and** ``b_t`` is observed (a NaN benchmark day masks that day for
every strategy), else 0. Without a benchmark ``b_t = 0`` and ``beta_i = 0`` exactly.

    r_it | .  ~ StudentT(nu_i, mu_it, s_i)         for every cell with m_it = 1
    s_i       = sigma_i * sqrt((nu_i - 2) / nu_i)  (so sigma_i is the residual sd)
    mu_it     = alpha_i + beta_i * b_t
    alpha_i   = ir_i * sigma_i,   ir_i = mu_ir + tau_ir * z_i,   z_i ~ N(0, 1)  (non-centred)
    beta_i    ~ N(mu_beta, tau_beta)                                            (centred)

    mu_ir   ~ N(0, 0.05)        tau_ir   ~ HalfNormal(0.05)
    mu_beta ~ N(0, 1)           tau_beta ~ HalfNormal(0.5)
    sigma_i ~ LogNormal(log 0.01, 1)
    nu_i    = 2.1 + g_i,        g_i ~ Gamma(shape 2, rate 0.1)

The alpha hierarchy is non-centred (``z``): with 20 to 500 returns per strategy the daily
information ratio of alpha is weakly identified (its standard error ``1/sqrt(T)`` is
about the size of ``tau_ir``), the regime where the centred form makes a funnel. Pooling
the *information ratio* ``alpha / sigma`` rather than alpha itself puts strategies of
different volatility on one scale, so a calm and a wild strategy shrink alike.

The beta hierarchy is **centred**, although non-centred (``beta_i = mu_beta + tau_beta
w_i``) was the first design: the data pin every beta down (standard error about
``sigma_i / (sd(b) sqrt(T))`` ~ 0.03 against a spread ``tau_beta`` ~ 0.4), the regime
where the non-centred form ties ``mu_beta``, ``tau_beta`` and all the ``w_i`` together
along a curved ridge. Measured on 40 synthetic strategies x 504 days (2 x 300 + 300):
non-centred, ``mu_beta`` and ``tau_beta`` had R-hat 1.13-1.50 and bulk ESS 4-13;
centred, R-hat <= 1.013 and ESS 880-1,200; the per-strategy diagnostics were alike.
``build_model(..., centred_beta=False)`` keeps the non-centred form for comparison.
Without a benchmark the beta hierarchy is left out of the model altogether (a centred
hierarchy with no data would be a pure funnel).

Prior choices:

* ``mu_ir ~ N(0, 0.05)``, ``tau_ir ~ HalfNormal(0.05)``: a daily IR of 0.05 is an annual
  Sharpe of alpha of 0.8; persistent alpha above 2 a year (0.13 a day) is rare, and the
  prior keeps it possible but sceptical -- the point of pooling.
* ``sigma_i ~ LogNormal(log 0.01, 1)``: centred on 1% a day (16% a year) with 95% of
  its mass between 0.14% and 7% a day (2% to 113% a year). Unlike ``HalfNormal(0.05)`` it
  puts no mass near zero volatility, where ``alpha = ir * sigma`` and the likelihood
  scale degenerate; with hundreds of returns the data swamp it either way.
* ``nu_i - 2.1 ~ Gamma(2, 0.1)`` (Juarez and Steel 2010): mean 22.1, mode 12.1, yet 6%
  of its mass below nu = 6 (19% below 10), so fat tails are found when the data have
  them and a near-normal strategy drifts to large ``nu``. The 2.1 floor keeps the variance finite
  (sigma_i is the sd only for nu > 2) and keeps ``s_i`` away from 0, where the geometry
  would blow up.

Derived per posterior draw, with ``bbar`` and ``v_b`` the mean and sample variance
(ddof = 1) of the benchmark over the window's observed benchmark days (both 0 without a
benchmark)::

    daily_mean_i = alpha_i + beta_i * bbar
    vol_i        = sqrt(beta_i^2 * v_b + sigma_i^2)                 (total daily vol)
    sharpe_i     = sqrt(252) * daily_mean_i / vol_i                 (annual)

Masking and padding
-------------------
The model has fixed shapes: ``N_max`` strategies (``N`` rounded up to a multiple of
``STRATEGY_BUCKET`` = 8) by ``T_max`` days (``window_days``; a longer window is rounded
up to a multiple of 64). Returns, benchmark and the 0/1 mask are ``pm.Data``. The
likelihood is a ``pm.Potential`` of the hand-written Student-t log density: the
per-cell kernel ``-(nu_i + 1)/2 * log1p(((r_it - mu_it)/s_i)^2 / nu_i)`` multiplied by
``m_it`` and summed, plus the per-strategy normalising constant times ``sum_t m_it``.
Masked cells hold a finite fill value (0), so ``0 * kernel`` is exactly 0 and they
contribute nothing to the log density or its gradient. No masked array ever goes into
``observed`` (PyMC would impute every missing cell as a parameter and change the
graph). Days before the window's first date are fully masked rows; strategies beyond
``N`` are fully masked columns, dropped from every output: their ``z, beta, sigma, nu``
simply sample the prior, which is correct (an unobserved member of the group leaves the
other posteriors unchanged) but costs time -- at most 7 idle columns of the likelihood
and 28 idle dimensions of the sampler per fit, which is why the bucket is 8 and not
larger.

Compiling once
--------------
``StrategyModelFitter`` builds the model for a padded shape with ``pm.Data``, compiles it
with ``nutpie.compile_pymc_model`` (numba backend) on first use, keeps it in a
per-fitter cache keyed by ``(N_max, T_max, with_benchmark)`` and, for every later window
of that shape, swaps the data in with nutpie's ``CompiledPyMCModel.with_data(name=array,
...)`` (read in nutpie 0.16.8's source: it returns a copy of the compiled model whose
user data point at read-only copies of the new arrays; only the rank is checked, so the
padding keeps shapes fixed; the numba functions are shared) and samples with
``nutpie.sample``. ``compile_seconds`` adds up the time spent compiling;
``fit_seconds`` in the summary excludes it. Fitters made with ``with_settings`` share
the cache. There is no module-level state.

Convergence and the exact fallback
----------------------------------
Diagnostics per strategy, over its parameters ``alpha_i, beta_i`` (when there is a
benchmark), ``sigma_i, nu_i`` and ``sharpe_i``: ``rhat_max`` is the largest
rank-normalised split R-hat and ``ess_bulk_min`` the smallest bulk ESS, both from
``arviz.rhat`` / ``arviz.ess`` (ArviZ 0.2x) on the nutpie draws; ``divergences`` is the
run's total of post-warm-up divergent transitions. A strategy's NUTS fit is
``converged`` when ``rhat_max <= max_rhat``, ``ess_bulk_min >= min_ess_bulk`` and
``divergences <= max_divergence_share * chains * draws``. The hyper-parameters'
diagnostics are reported in ``FitResult.hyper``.

A strategy that did not converge gets the **exact** conjugate fit instead (method
``conjugate``; ``fallback_reason`` names every failed check, e.g. ``"rhat 1.12 > 1.05"``);
its row keeps the NUTS diagnostics so nothing is hidden, and ``converged`` is True since
its draws are exact. ``FitSettings.method = "conjugate"`` skips NUTS altogether
(``fallback_reason`` ``"configured"``, diagnostics null).

Conjugate model, per strategy, on its observed cells (``y`` its returns, ``X = [1, b]``,
or ``X = [1]`` and ``beta = 0`` without a benchmark)::

    y | theta, s2 ~ N(X theta, s2 I),      theta = (alpha, beta)
    theta | s2    ~ N(m0, s2 V0),          m0 = (0, 0),  V0 = diag(1, 1e4)
    s2            ~ InvGamma(a0, b0),      a0 = 2,  b0 = 1e-4

Weakly informative on the scale of daily returns: ``alpha`` has prior sd ``sigma`` (a
daily information ratio of 1, an annual Sharpe of 16), ``beta`` prior sd ``100 sigma``
(about 1 at sigma = 1%; two years of benchmark data carry ~600 times its precision);
``s2`` has prior mean 1e-4 (sigma = 1% a day) and the weight of 4 observations. The
posterior is NIG with ``Vn = (V0^-1 + X'X)^-1``, ``mn = Vn (V0^-1 m0 + X'y)``,
``an = a0 + n/2``, ``bn = b0 + (|y - X mn|^2 + (mn - m0)' V0^-1 (mn - m0)) / 2``. Draws
are exact and independent: ``s2 ~ InvGamma(an, bn)``, then ``theta ~ N(mn, s2 Vn)``,
from ``numpy.random.default_rng([seed, crc32(strategy_id)])`` so a strategy's draws do
not depend on which other strategies fell back. ``nu`` is +inf (normal likelihood), so a
conjugate row has ``nu_mean`` +inf and ``nu_sd`` null.
In a conjugate row ``alpha_mean``, ``alpha_sd``, ``alpha_q05``, ``alpha_q95``,
``p_alpha_positive``, ``beta_mean`` and ``beta_sd`` are the closed-form values of the
marginal Student-t posteriors (``t_{2an}(mn_j, sqrt(bn/an * Vn_jj))``, variance
``bn/(an - 1) * Vn_jj``); every other column comes from the draws.

Reproducibility: the same window, settings and seed give identical summaries and draws
(nutpie seeds each chain and its jittered start from ``seed``).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

__all__ = [
    "ReturnWindow",
    "return_window",
    "FitSettings",
    "FitResult",
    "StrategyModelFitter",
    "conjugate_fit",
    "build_model",
    "padded_shape",
    "padded_arrays",
    "stored_variables",
    "nig_posterior",
    "SUMMARY_SCHEMA",
    "DRAWS_SCHEMA",
]

TRADING_DAYS_PER_YEAR = 252
STRATEGY_BUCKET = 8
"""Strategies are padded up to a multiple of this (idle columns cost time, see above)."""
LONG_WINDOW_BUCKET = 64
"""A window longer than ``window_days`` is padded up to a multiple of this many days."""

# Hierarchical model priors (see the module docstring).
PRIOR_MU_IR_SD = 0.05
PRIOR_TAU_IR_SD = 0.05
PRIOR_MU_BETA_SD = 1.0
PRIOR_TAU_BETA_SD = 0.5
PRIOR_SIGMA_LOG_MEDIAN = math.log(0.01)
PRIOR_SIGMA_LOG_SD = 1.0
NU_FLOOR = 2.1
PRIOR_NU_SHAPE = 2.0
PRIOR_NU_RATE = 0.1

# Conjugate (normal-inverse-gamma) fallback prior.
NIG_PRIOR_MEAN = np.array([0.0, 0.0])
NIG_PRIOR_V = np.array([1.0, 1.0e4])  # diagonal of V0 (alpha, beta), in units of s2
NIG_PRIOR_A = 2.0
NIG_PRIOR_B = 1.0e-4

DRAW_COLUMNS = ("daily_mean", "alpha", "beta", "sigma", "nu", "vol", "sharpe")

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "strategy_id": pl.String(),
    "n_obs": pl.Int64(),
    "daily_mean_mean": pl.Float64(),
    "daily_mean_sd": pl.Float64(),
    "alpha_mean": pl.Float64(),
    "alpha_sd": pl.Float64(),
    "beta_mean": pl.Float64(),
    "beta_sd": pl.Float64(),
    "vol_mean": pl.Float64(),
    "vol_sd": pl.Float64(),
    "nu_mean": pl.Float64(),
    "nu_sd": pl.Float64(),
    "sharpe_mean": pl.Float64(),
    "sharpe_sd": pl.Float64(),
    "sharpe_q05": pl.Float64(),
    "sharpe_q95": pl.Float64(),
    "alpha_q05": pl.Float64(),
    "alpha_q95": pl.Float64(),
    "p_alpha_positive": pl.Float64(),
    "p_sharpe_above_hurdle": pl.Float64(),
    "rhat_max": pl.Float64(),
    "ess_bulk_min": pl.Float64(),
    "divergences": pl.Int64(),
    "converged": pl.Boolean(),
    "method": pl.String(),
    "fallback_reason": pl.String(),
    "sampler": pl.String(),
    "draws": pl.Int64(),
    "chains": pl.Int64(),
    "seed": pl.Int64(),
    "window_start": pl.Date(),
    "window_end": pl.Date(),
    "window_days": pl.Int64(),
    "fit_seconds": pl.Float64(),
}
DRAWS_SCHEMA: dict[str, pl.DataType] = {
    "draw": pl.Int64(),
    "strategy_id": pl.String(),
    **{name: pl.Float64() for name in DRAW_COLUMNS},
}
HYPER_SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "mean": pl.Float64(),
    "sd": pl.Float64(),
    "rhat": pl.Float64(),
    "ess_bulk": pl.Float64(),
}
HYPER_PARAMETERS = ("mu_ir", "tau_ir", "mu_beta", "tau_beta")


# --- windows --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReturnWindow:
    """A trailing window of daily strategy returns, NaN where a return is masked.

    ``returns[t, i]`` is strategy ``strategy_ids[i]`` on ``dates[t]``; ``benchmark[t]`` the
    benchmark's simple return that day (NaN where missing) or ``None`` for no benchmark.
    """

    strategy_ids: tuple[str, ...]
    dates: tuple[datetime.date, ...]
    returns: np.ndarray
    benchmark: np.ndarray | None

    def __post_init__(self) -> None:
        returns = np.array(self.returns, dtype=np.float64, copy=True)
        returns.setflags(write=False)
        n, t = len(self.strategy_ids), len(self.dates)
        if returns.shape != (t, n):
            raise ValueError(f"returns has shape {returns.shape}, expected (T, N) = ({t}, {n})")
        if len(set(self.strategy_ids)) != n:
            raise ValueError("strategy_ids must be unique")
        if t and any(b <= a for a, b in zip(self.dates, self.dates[1:])):
            raise ValueError("dates must be strictly ascending")
        if np.isinf(returns).any():
            raise ValueError("returns must be finite or NaN (masked)")
        object.__setattr__(self, "returns", returns)
        if self.benchmark is not None:
            bench = np.array(self.benchmark, dtype=np.float64, copy=True).reshape(-1)
            bench.setflags(write=False)
            if bench.shape != (t,):
                raise ValueError(f"benchmark has {bench.size} values, expected one per date ({t})")
            if np.isinf(bench).any():
                raise ValueError("benchmark must be finite or NaN (missing)")
            object.__setattr__(self, "benchmark", bench)

    @property
    def mask(self) -> np.ndarray:
        """``[T, N]`` bool: the cells the model sees (return observed, benchmark observed)."""
        observed = ~np.isnan(self.returns)
        if self.benchmark is not None:
            observed &= ~np.isnan(self.benchmark)[:, None]
        return observed

    @property
    def n_obs(self) -> np.ndarray:
        """Observed returns per strategy that enter the fit (``mask`` column sums)."""
        return self.mask.sum(axis=0).astype(np.int64)

    def benchmark_moments(self) -> tuple[float, float]:
        """Mean and sample variance (ddof = 1) of the observed benchmark days; (0, 0) without one."""
        if self.benchmark is None:
            return 0.0, 0.0
        b = self.benchmark[~np.isnan(self.benchmark)]
        if b.size == 0:
            raise ValueError(
                "the benchmark has no observed day in the window; pass benchmark=None to fit without one"
            )
        return float(b.mean()), float(b.var(ddof=1)) if b.size > 1 else 0.0


def return_window(
    returns: pl.DataFrame,
    benchmark: pl.DataFrame | None,
    end: datetime.date,
    window_days: int = 504,
) -> ReturnWindow:
    """The trailing window of ``window_days`` observed dates up to and including ``end``.

    ``returns``: long frame ``date, strategy_id, ret`` (nullable) and optionally
    ``available`` (absent or null means available). ``benchmark``: long frame
    ``date, ret`` (simple returns) or None. The window is the last ``window_days`` dates
    on or before ``end`` on which at least one strategy has an observed return (windows
    count observed returns, not calendar days). A row with ``available`` False or a
    null/NaN ``ret`` is masked (NaN), never zero; a flat day (``ret`` 0.0, available) is
    data. The strategies are those with at least one observed return in the window,
    sorted by id. Benchmark days missing (or null) on a window date are NaN.
    Raises ``ValueError`` for duplicate (date, strategy_id) or benchmark dates, or when
    nothing is observed on or before ``end``.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    for column in ("date", "strategy_id", "ret"):
        if column not in returns.columns:
            raise ValueError(f"returns frame lacks column {column!r}")
    available = (
        pl.col("available").fill_null(True) if "available" in returns.columns else pl.lit(True)
    )
    frame = (
        returns.lazy()
        .filter(pl.col("date") <= end)
        .select(
            pl.col("date").cast(pl.Date),
            pl.col("strategy_id").cast(pl.String),
            pl.col("ret").cast(pl.Float64),
            (available & pl.col("ret").is_not_null() & pl.col("ret").is_not_nan().fill_null(False)).alias(
                "observed"
            ),
        )
        .collect()
    )
    if frame.select(pl.struct("date", "strategy_id").is_duplicated().any()).item():
        dup = frame.filter(pl.struct("date", "strategy_id").is_duplicated()).row(0, named=True)
        raise ValueError(f"duplicate return row for {dup['strategy_id']} on {dup['date']}")
    observed = frame.filter(pl.col("observed"))
    dates = observed.get_column("date").unique().sort().tail(window_days)
    if dates.len() == 0:
        raise ValueError(f"no observed strategy return on or before {end}")
    observed = observed.filter(pl.col("date").is_in(dates.implode()))
    ids = observed.get_column("strategy_id").unique().sort()

    date_list = dates.to_list()
    id_list = ids.to_list()
    t_index = {d: k for k, d in enumerate(date_list)}
    i_index = {s: k for k, s in enumerate(id_list)}
    matrix = np.full((len(date_list), len(id_list)), np.nan)
    rows = [t_index[d] for d in observed.get_column("date").to_list()]
    cols = [i_index[s] for s in observed.get_column("strategy_id").to_list()]
    matrix[rows, cols] = observed.get_column("ret").to_numpy()

    bench_values: np.ndarray | None = None
    if benchmark is not None:
        for column in ("date", "ret"):
            if column not in benchmark.columns:
                raise ValueError(f"benchmark frame lacks column {column!r}")
        bench = benchmark.select(pl.col("date").cast(pl.Date), pl.col("ret").cast(pl.Float64))
        bench = bench.filter(pl.col("date").is_in(dates.implode()))
        if bench.get_column("date").is_duplicated().any():
            raise ValueError("duplicate benchmark date")
        bench_values = np.full(len(date_list), np.nan)
        ok = bench.filter(pl.col("ret").is_not_null() & pl.col("ret").is_not_nan())
        bench_values[[t_index[d] for d in ok.get_column("date").to_list()]] = ok.get_column("ret").to_numpy()
    return ReturnWindow(tuple(id_list), tuple(date_list), matrix, bench_values)


# --- settings and results ----------------------------------------------------------------


@dataclass(frozen=True)
class FitSettings:
    """How a day's fit runs. ``hurdle_sharpe`` is annual; ``method`` is "nuts" or "conjugate"."""

    window_days: int = 504
    draws: int = 300
    tune: int = 300
    chains: int = 2
    seed: int = 20260101
    hurdle_sharpe: float = 0.0
    max_rhat: float = 1.05
    min_ess_bulk: float = 100.0
    max_divergence_share: float = 0.01
    method: str = "nuts"

    def __post_init__(self) -> None:
        if self.method not in ("nuts", "conjugate"):
            raise ValueError(f"method must be 'nuts' or 'conjugate', got {self.method!r}")
        for name in ("window_days", "draws", "chains"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.tune < 0:
            raise ValueError(f"tune must be >= 0, got {self.tune}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


@dataclass
class FitResult:
    """``summary``: one row per strategy (``SUMMARY_SCHEMA``). ``draws``: long posterior draws
    (``DRAWS_SCHEMA``; ``draw`` = chain * draws + index, sharpe annual, the rest daily).
    ``hyper``: the NUTS hyper-parameters' mean, sd, R-hat and bulk ESS (empty for a
    conjugate-only fit)."""

    summary: pl.DataFrame
    draws: pl.DataFrame
    hyper: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HYPER_SCHEMA))


# --- the model ----------------------------------------------------------------------------


def padded_shape(n_strategies: int, n_days: int, window_days: int) -> tuple[int, int]:
    """``(N_max, T_max)``: strategies up to a multiple of 8, days to ``window_days`` (or a
    multiple of 64 when the window is longer)."""
    n_max = max(STRATEGY_BUCKET, -(-n_strategies // STRATEGY_BUCKET) * STRATEGY_BUCKET)
    t_max = window_days if n_days <= window_days else -(-n_days // LONG_WINDOW_BUCKET) * LONG_WINDOW_BUCKET
    return n_max, t_max


def padded_arrays(
    window: ReturnWindow, n_max: int, t_max: int, masked_fill: float = 0.0
) -> dict[str, np.ndarray]:
    """The model's data for ``window``: ``ret`` and ``mask`` ``[t_max, n_max]`` and, when the
    window has a benchmark, ``bench`` ``[t_max]`` (0 on missing days, which the mask
    excludes for every strategy). The window's days fill the last rows (earlier
    rows are padding), its strategies the first columns. Every masked cell of ``ret``
    holds ``masked_fill`` (finite; it is multiplied by a zero mask, so any value gives the
    same log density -- the tests use that to prove masked cells are excluded)."""
    t, n = window.returns.shape
    if n > n_max or t > t_max:
        raise ValueError(f"window ({t} days, {n} strategies) exceeds the padded shape ({t_max}, {n_max})")
    if not math.isfinite(masked_fill):
        raise ValueError("masked_fill must be finite")
    mask = np.zeros((t_max, n_max))
    ret = np.full((t_max, n_max), float(masked_fill))
    observed = window.mask
    mask[t_max - t :, :n] = observed
    ret[t_max - t :, :n] = np.where(observed, window.returns, masked_fill)
    data = {"ret": ret, "mask": mask}
    if window.benchmark is not None:
        window.benchmark_moments()  # raises when no benchmark day is observed
        bench = np.zeros(t_max)
        bench[t_max - t :] = np.nan_to_num(window.benchmark, nan=0.0)
        data["bench"] = bench
    return data


def build_model(n_max: int, t_max: int, *, with_benchmark: bool = True, centred_beta: bool = True):
    """The PyMC model (see the module docstring) with zero data of shape ``[t_max, n_max]``.

    Data containers: ``ret``, ``mask`` ``[t_max, n_max]`` and, with a benchmark, ``bench``
    ``[t_max]``. Without a benchmark the beta hierarchy is left out (``beta`` = 0). Stored
    variables: ``alpha``, ``beta`` (with a benchmark), ``sigma``, ``nu`` ``[n_max]`` and the
    hyper-parameters. ``centred_beta=False`` gives the non-centred beta hierarchy, kept
    only so the benchmark can show why it is not used."""
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        ret = pm.Data("ret", np.zeros((t_max, n_max)))
        mask = pm.Data("mask", np.zeros((t_max, n_max)))

        mu_ir = pm.Normal("mu_ir", 0.0, PRIOR_MU_IR_SD)
        tau_ir = pm.HalfNormal("tau_ir", PRIOR_TAU_IR_SD)
        z = pm.Normal("z", 0.0, 1.0, shape=n_max)
        sigma = pm.LogNormal("sigma", mu=PRIOR_SIGMA_LOG_MEDIAN, sigma=PRIOR_SIGMA_LOG_SD, shape=n_max)
        nu_excess = pm.Gamma("nu_excess", alpha=PRIOR_NU_SHAPE, beta=PRIOR_NU_RATE, shape=n_max)
        nu = pm.Deterministic("nu", NU_FLOOR + nu_excess)
        alpha = pm.Deterministic("alpha", (mu_ir + tau_ir * z) * sigma)
        scale = sigma * pt.sqrt((nu - 2.0) / nu)
        mu = alpha[None, :]

        if with_benchmark:
            bench = pm.Data("bench", np.zeros(t_max))
            mu_beta = pm.Normal("mu_beta", 0.0, PRIOR_MU_BETA_SD)
            tau_beta = pm.HalfNormal("tau_beta", PRIOR_TAU_BETA_SD)
            if centred_beta:
                beta = pm.Normal("beta", mu_beta, tau_beta, shape=n_max)
            else:
                w = pm.Normal("w", 0.0, 1.0, shape=n_max)
                beta = pm.Deterministic("beta", mu_beta + tau_beta * w)
            mu = mu + beta[None, :] * bench[:, None]

        resid = (ret - mu) / scale[None, :]
        kernel = -0.5 * (nu + 1.0)[None, :] * pt.log1p(pt.sqr(resid) / nu[None, :])
        constant = (
            pt.gammaln(0.5 * (nu + 1.0)) - pt.gammaln(0.5 * nu) - 0.5 * pt.log(nu * math.pi) - pt.log(scale)
        )
        n_obs = pt.sum(mask, axis=0)
        pm.Potential("loglik", pt.sum(mask * kernel) + pt.sum(n_obs * constant))
    return model


def stored_variables(with_benchmark: bool) -> list[str]:
    """The variables nutpie keeps in the trace."""
    names = ["alpha", "sigma", "nu", "mu_ir", "tau_ir"]
    return names + (["beta", "mu_beta", "tau_beta"] if with_benchmark else [])


class _CompileCache:
    """Compiled nutpie models by ``(N_max, T_max, with_benchmark)``, and the seconds spent
    compiling them."""

    def __init__(self) -> None:
        self.models: dict[tuple[int, int, bool], Any] = {}
        self.seconds = 0.0

    def get(self, key: tuple[int, int, bool]):
        compiled = self.models.get(key)
        if compiled is None:
            import nutpie

            started = time.perf_counter()
            n_max, t_max, with_benchmark = key
            model = build_model(n_max, t_max, with_benchmark=with_benchmark)
            compiled = nutpie.compile_pymc_model(model, var_names=stored_variables(with_benchmark))
            self.seconds += time.perf_counter() - started
            self.models[key] = compiled
        return compiled


class StrategyModelFitter:
    """Fits ``ReturnWindow``s with one compiled model per padded shape, re-used across calls.

    ``fit(window, seed)`` swaps the window's data into the cached compiled model (compiling
    it on the first window of that shape), samples with nutpie, checks convergence per
    strategy and replaces a non-converged strategy by its exact conjugate fit.
    """

    def __init__(self, settings: FitSettings = FitSettings(), *, _cache: _CompileCache | None = None):
        self.settings = settings
        self._cache = _cache if _cache is not None else _CompileCache()

    @property
    def compile_seconds(self) -> float:
        """Total seconds spent compiling so far (shared with fitters from ``with_settings``)."""
        return self._cache.seconds

    @property
    def compiled_shapes(self) -> tuple[tuple[int, int, bool], ...]:
        """The ``(N_max, T_max, with_benchmark)`` models compiled so far."""
        return tuple(self._cache.models)

    def with_settings(self, **changes) -> StrategyModelFitter:
        """A fitter with some settings changed that shares this one's compiled models."""
        return StrategyModelFitter(dataclasses.replace(self.settings, **changes), _cache=self._cache)

    def fit(self, window: ReturnWindow, seed: int | None = None, *, masked_fill: float = 0.0) -> FitResult:
        """Posterior of every strategy of ``window``. ``seed`` defaults to ``settings.seed``.

        ``masked_fill`` is the finite value written into masked cells of the data array;
        it cannot change the result (see ``padded_arrays``)."""
        settings = self.settings
        seed = settings.seed if seed is None else int(seed)
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not window.strategy_ids:
            raise ValueError("the window has no strategy")
        if settings.method == "conjugate":
            return conjugate_fit(window, settings, seed, "configured")

        import nutpie

        t, n = window.returns.shape
        shape = padded_shape(n, t, settings.window_days)
        data = padded_arrays(window, *shape, masked_fill=masked_fill)
        with_benchmark = window.benchmark is not None
        compiled = self._cache.get((*shape, with_benchmark))

        started = time.perf_counter()
        trace = nutpie.sample(
            compiled.with_data(**data),
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            seed=seed,
            save_warmup=False,
            progress_bar=False,
        )
        posterior = trace.posterior
        arrays = {name: posterior[name].values[:, :, :n] for name in ("alpha", "sigma", "nu")}
        if with_benchmark:
            arrays["beta"] = posterior["beta"].values[:, :, :n]
        else:
            arrays["beta"] = np.zeros_like(arrays["alpha"])
        divergences = int(trace.sample_stats["diverging"].values.sum())
        bbar, var_b = window.benchmark_moments()
        derived = _derive(arrays["alpha"], arrays["beta"], arrays["sigma"], bbar, var_b)
        arrays.update(derived)

        diag_names = ["alpha", "sigma", "nu", "sharpe"] + (["beta"] if with_benchmark else [])
        rhat, ess = _diagnostics({name: arrays[name] for name in diag_names})
        total = settings.chains * settings.draws
        reasons = _failed_checks(rhat, ess, divergences, total, settings)

        flat = {name: arrays[name].reshape(total, n) for name in DRAW_COLUMNS}
        summary_cols = _summarise_draws(flat, settings.hurdle_sharpe)
        hyper = _hyper_summary(posterior)

        fallback = [i for i in range(n) if reasons[i]]
        conj = {}
        for i in fallback:
            conj[i] = _conjugate_strategy(window, i, settings, seed)
            for name in DRAW_COLUMNS:
                flat[name][:, i] = conj[i]["draws"][name]
        if fallback:
            conj_cols = _summarise_draws(flat, settings.hurdle_sharpe)
            for i in fallback:
                for key, values in conj_cols.items():
                    summary_cols[key][i] = values[i]
                for key, value in conj[i]["exact"].items():
                    summary_cols[key][i] = value
        fit_seconds = time.perf_counter() - started

        version = f"nutpie {nutpie.__version__}"
        summary = _summary_frame(
            window,
            summary_cols,
            settings,
            seed,
            rhat_max=[float(v) for v in rhat],
            ess_bulk_min=[float(v) for v in ess],
            divergences=[divergences] * n,
            converged=[True] * n,
            method=["conjugate" if reasons[i] else "nuts" for i in range(n)],
            fallback_reason=[reasons[i] or None for i in range(n)],
            sampler=[_CONJUGATE_SAMPLER if reasons[i] else version for i in range(n)],
            fit_seconds=fit_seconds,
        )
        return FitResult(summary=summary, draws=_draws_frame(window, flat, total), hyper=hyper)


# --- conjugate fallback ----------------------------------------------------------------------

_CONJUGATE_SAMPLER = f"exact normal-inverse-gamma (numpy {np.__version__})"


def conjugate_fit(window: ReturnWindow, settings: FitSettings, seed: int, reason: str) -> FitResult:
    """The exact normal-inverse-gamma fit of every strategy of ``window`` (method
    "conjugate", ``fallback_reason`` = ``reason``, NUTS diagnostics null)."""
    if not window.strategy_ids:
        raise ValueError("the window has no strategy")
    started = time.perf_counter()
    n = len(window.strategy_ids)
    total = settings.chains * settings.draws
    flat = {name: np.empty((total, n)) for name in DRAW_COLUMNS}
    exact = []
    for i in range(n):
        fit = _conjugate_strategy(window, i, settings, seed)
        for name in DRAW_COLUMNS:
            flat[name][:, i] = fit["draws"][name]
        exact.append(fit["exact"])
    cols = _summarise_draws(flat, settings.hurdle_sharpe)
    for i, values in enumerate(exact):
        for key, value in values.items():
            cols[key][i] = value
    summary = _summary_frame(
        window,
        cols,
        settings,
        seed,
        rhat_max=[None] * n,
        ess_bulk_min=[None] * n,
        divergences=[None] * n,
        converged=[True] * n,
        method=["conjugate"] * n,
        fallback_reason=[reason] * n,
        sampler=[_CONJUGATE_SAMPLER] * n,
        fit_seconds=time.perf_counter() - started,
    )
    return FitResult(summary=summary, draws=_draws_frame(window, flat, total))


def nig_posterior(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(mn, Vn, an, bn)`` of the NIG posterior for ``y = x theta + e`` under the module's prior
    (``x`` has 1 column -- alpha only -- or 2 -- alpha, beta)."""
    k = x.shape[1]
    m0 = NIG_PRIOR_MEAN[:k]
    v0_inv = np.diag(1.0 / NIG_PRIOR_V[:k])
    precision = v0_inv + x.T @ x
    vn = np.linalg.inv(precision)
    vn = 0.5 * (vn + vn.T)
    mn = np.linalg.solve(precision, v0_inv @ m0 + x.T @ y)
    resid = y - x @ mn
    an = NIG_PRIOR_A + 0.5 * y.size
    bn = NIG_PRIOR_B + 0.5 * (resid @ resid + (mn - m0) @ v0_inv @ (mn - m0))
    return mn, vn, float(an), float(bn)


def _conjugate_strategy(window: ReturnWindow, i: int, settings: FitSettings, seed: int) -> dict:
    sid = window.strategy_ids[i]
    observed = window.mask[:, i]
    y = window.returns[observed, i]
    has_beta = window.benchmark is not None
    x = np.column_stack([np.ones(y.size), window.benchmark[observed]]) if has_beta else np.ones((y.size, 1))
    mn, vn, an, bn = nig_posterior(y, x)

    total = settings.chains * settings.draws
    rng = np.random.default_rng([seed, zlib.crc32(sid.encode())])
    s2 = 1.0 / rng.gamma(an, 1.0 / bn, size=total)
    chol = np.linalg.cholesky(vn)
    theta = mn[None, :] + np.sqrt(s2)[:, None] * (rng.standard_normal((total, mn.size)) @ chol.T)
    alpha = theta[:, 0]
    beta = theta[:, 1] if has_beta else np.zeros(total)
    sigma = np.sqrt(s2)
    bbar, var_b = window.benchmark_moments()
    derived = _derive(alpha, beta, sigma, bbar, var_b)
    draws = {"alpha": alpha, "beta": beta, "sigma": sigma, "nu": np.full(total, np.inf), **derived}

    dof = 2.0 * an
    exact: dict[str, float] = {}
    for j, name in enumerate(("alpha", "beta")):
        if name == "beta" and not has_beta:
            exact.update(beta_mean=0.0, beta_sd=0.0)
            continue
        scale = math.sqrt(bn / an * vn[j, j])
        exact[f"{name}_mean"] = float(mn[j])
        exact[f"{name}_sd"] = math.sqrt(bn / (an - 1.0) * vn[j, j])
        if name == "alpha":
            exact["alpha_q05"] = float(mn[j] + scale * stats.t.ppf(0.05, dof))
            exact["alpha_q95"] = float(mn[j] + scale * stats.t.ppf(0.95, dof))
            exact["p_alpha_positive"] = float(stats.t.cdf(mn[j] / scale, dof))
    return {"draws": draws, "exact": exact}


# --- shared helpers ------------------------------------------------------------------------


def _derive(alpha, beta, sigma, bbar: float, var_b: float) -> dict[str, np.ndarray]:
    daily_mean = alpha + beta * bbar
    vol = np.sqrt(beta**2 * var_b + sigma**2)
    sharpe = math.sqrt(TRADING_DAYS_PER_YEAR) * daily_mean / vol
    return {"daily_mean": daily_mean, "vol": vol, "sharpe": sharpe}


def _diagnostics(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per strategy: max rank-normalised split R-hat and min bulk ESS over ``arrays``
    (each ``[chains, draws, N]``), via arviz."""
    import arviz as az
    import xarray as xr

    dataset = xr.Dataset({name: (("chain", "draw", "strategy"), values) for name, values in arrays.items()})
    rhat = az.rhat(dataset, method="rank")
    ess = az.ess(dataset, method="bulk")
    rhat_stack = np.stack([rhat[name].values for name in arrays])
    ess_stack = np.stack([ess[name].values for name in arrays])
    # A parameter constant over every draw has no defined R-hat; it cannot fail to mix.
    rhat_stack = np.where(np.isnan(rhat_stack), -np.inf, rhat_stack)
    ess_stack = np.where(np.isnan(ess_stack), np.inf, ess_stack)
    return rhat_stack.max(axis=0), ess_stack.min(axis=0)


def _failed_checks(rhat, ess, divergences: int, total: int, settings: FitSettings) -> list[str]:
    limit = settings.max_divergence_share * total
    reasons = []
    for r, e in zip(rhat, ess):
        failed = []
        if not r <= settings.max_rhat:
            failed.append(f"rhat {r:.3f} > {settings.max_rhat:g}")
        if not e >= settings.min_ess_bulk:
            failed.append(f"ess_bulk {e:.0f} < {settings.min_ess_bulk:g}")
        if divergences > limit:
            failed.append(f"divergences {divergences} > {limit:g}")
        reasons.append("; ".join(failed))
    return reasons


def _summarise_draws(flat: dict[str, np.ndarray], hurdle: float) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in ("daily_mean", "alpha", "beta", "vol", "nu", "sharpe"):
        values = flat[name]
        out[f"{name}_mean"] = values.mean(axis=0)
        with np.errstate(invalid="ignore"):
            sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
            out[f"{name}_sd"] = sd
    # nu is +inf for conjugate draws: mean inf, sd undefined -> report inf and NaN -> null later
    out["sharpe_q05"], out["sharpe_q95"] = np.quantile(flat["sharpe"], [0.05, 0.95], axis=0)
    out["alpha_q05"], out["alpha_q95"] = np.quantile(flat["alpha"], [0.05, 0.95], axis=0)
    out["p_alpha_positive"] = (flat["alpha"] > 0).mean(axis=0)
    out["p_sharpe_above_hurdle"] = (flat["sharpe"] > hurdle).mean(axis=0)
    return {key: np.array(value, dtype=np.float64) for key, value in out.items()}


def _summary_frame(window: ReturnWindow, cols, settings: FitSettings, seed: int, **per_row) -> pl.DataFrame:
    n = len(window.strategy_ids)
    fit_seconds = per_row.pop("fit_seconds")
    data: dict[str, Any] = {"strategy_id": list(window.strategy_ids), "n_obs": window.n_obs.tolist()}
    for key in SUMMARY_SCHEMA:
        if key in cols:
            data[key] = [None if math.isnan(v) else float(v) for v in cols[key]]
    data.update(per_row)
    data.update(
        draws=[settings.chains * settings.draws] * n,
        chains=[settings.chains] * n,
        seed=[seed] * n,
        window_start=[window.dates[0]] * n,
        window_end=[window.dates[-1]] * n,
        window_days=[len(window.dates)] * n,
        fit_seconds=[fit_seconds] * n,
    )
    return pl.DataFrame({key: data[key] for key in SUMMARY_SCHEMA}, schema=SUMMARY_SCHEMA)


def _draws_frame(window: ReturnWindow, flat: dict[str, np.ndarray], total: int) -> pl.DataFrame:
    n = len(window.strategy_ids)
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(total, dtype=np.int64), n),
            "strategy_id": list(window.strategy_ids) * total,
            **{name: flat[name].reshape(-1) for name in DRAW_COLUMNS},
        },
        schema=DRAWS_SCHEMA,
    ).sort("strategy_id", "draw", maintain_order=True)


def _hyper_summary(posterior) -> pl.DataFrame:
    import arviz as az

    names = [name for name in HYPER_PARAMETERS if name in posterior]
    sub = posterior[names]
    rhat = az.rhat(sub, method="rank")
    ess = az.ess(sub, method="bulk")
    rows = []
    for name in names:
        values = sub[name].values
        rows.append(
            {
                "parameter": name,
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)),
                "rhat": float(rhat[name].values),
                "ess_bulk": float(ess[name].values),
            }
        )
    return pl.DataFrame(rows, schema=HYPER_SCHEMA)
