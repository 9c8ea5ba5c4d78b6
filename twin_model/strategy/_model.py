r"""The hierarchical PyMC model of daily strategy returns, on padded shapes.

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
"""

from __future__ import annotations

import math

import numpy as np

from twin_model.strategy._window import ReturnWindow

STRATEGY_BUCKET = 8
"""Strategies are padded up to a multiple of this (idle columns cost time, see above)."""

LONG_WINDOW_BUCKET = 64
"""A window longer than ``window_days`` is padded up to a multiple of this many days."""

PRIOR_MU_IR_SD = 0.05
PRIOR_TAU_IR_SD = 0.05
PRIOR_MU_BETA_SD = 1.0
PRIOR_TAU_BETA_SD = 0.5
PRIOR_SIGMA_LOG_MEDIAN = math.log(0.01)
PRIOR_SIGMA_LOG_SD = 1.0
NU_FLOOR = 2.1
PRIOR_NU_SHAPE = 2.0
PRIOR_NU_RATE = 0.1


def padded_shape(n_strategies: int, n_days: int, window_days: int) -> tuple[int, int]:
    """``(N_max, T_max)``: strategies up to a multiple of 8, days to ``window_days`` (or a
    multiple of 64 when the window is longer)."""
    n_max = max(STRATEGY_BUCKET, -(-n_strategies // STRATEGY_BUCKET) * STRATEGY_BUCKET)
    t_max = window_days if n_days <= window_days else -(-n_days // LONG_WINDOW_BUCKET) * LONG_WINDOW_BUCKET
    return n_max, t_max


def padded_arrays(window: ReturnWindow, n_max: int, t_max: int, masked_fill: float = 0.0) -> dict[str, np.ndarray]:
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
        constant = pt.gammaln(0.5 * (nu + 1.0)) - pt.gammaln(0.5 * nu) - 0.5 * pt.log(nu * math.pi) - pt.log(scale)
        n_obs = pt.sum(mask, axis=0)
        pm.Potential("loglik", pt.sum(mask * kernel) + pt.sum(n_obs * constant))
    return model


def stored_variables(with_benchmark: bool) -> list[str]:
    """The variables nutpie keeps in the trace."""
    names = ["alpha", "sigma", "nu", "mu_ir", "tau_ir"]
    return names + (["beta", "mu_beta", "tau_beta"] if with_benchmark else [])
