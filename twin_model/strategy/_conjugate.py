"""The exact conjugate (normal-inverse-gamma) fit: the fallback where NUTS does not
converge, and the whole fit when ``FitSettings.method`` is conjugate.

Conjugate model, per strategy, on its observed cells (``y`` its returns, ``X = [1, x]``
with ``x`` the window's ``K`` regressors, or ``X = [1]`` without factors)::

    y | theta, s2 ~ N(X theta, s2 I),      theta = (alpha, beta_1..beta_K)
    theta | s2    ~ N(m0, s2 V0),          m0 = 0,  V0 = diag(1, 1e4, ..., 1e4)
    s2            ~ InvGamma(a0, b0),      a0 = 2,  b0 = 1e-4

The residuals are independent normal: the fallback ignores the shared residual risk of a
block (its ``loading`` draws are 0) and fat tails, and every row it writes says
``method = conjugate``. Weakly informative on the scale of daily returns: ``alpha`` has
prior sd ``sigma`` (a daily information ratio of 1, an annual Sharpe of 16), each ``beta``
prior sd ``100 sigma`` (about 1 at sigma = 1%; two years of factor data carry ~600 times
its precision);
``s2`` has prior mean 1e-4 (sigma = 1% a day) and the weight of 4 observations. The
posterior is NIG with ``Vn = (V0^-1 + X'X)^-1``, ``mn = Vn (V0^-1 m0 + X'y)``,
``an = a0 + n/2``, ``bn = b0 + (|y - X mn|^2 + (mn - m0)' V0^-1 (mn - m0)) / 2``. Draws
are exact and independent: ``s2 ~ InvGamma(an, bn)``, then ``theta ~ N(mn, s2 Vn)``,
from ``numpy.random.default_rng([seed, crc32(strategy_id)])`` so a strategy's draws do
not depend on which other strategies fell back. ``nu`` is +inf (normal likelihood), so a
conjugate row has ``nu_mean`` +inf and ``nu_sd`` null.
In a conjugate row ``alpha_mean``, ``alpha_sd``, ``alpha_q05``, ``alpha_q95``,
``p_alpha_positive``, ``beta_mean`` and ``beta_sd`` (the benchmark's beta) are the
closed-form values of the marginal Student-t posteriors (``t_{2an}(mn_j, sqrt(bn/an * Vn_jj))``, variance
``bn/(an - 1) * Vn_jj``); every other column comes from the draws.

Reproducibility: the same window, settings and seed give identical summaries and draws
(nutpie seeds each chain and its jittered start from ``seed``).
"""

from __future__ import annotations

import math
import time
import zlib

import numpy as np
from scipy import stats

from twin_model.contracts import draw_quantities, encode_draws
from twin_model.conventions import FitMethod
from twin_model.strategy._results import FitResult, FitSettings, _draw_columns, _summarise_draws, _summary_frame
from twin_model.strategy._window import ReturnWindow

NIG_PRIOR_ALPHA_V = 1.0  # V0 of alpha, in units of s2
NIG_PRIOR_BETA_V = 1.0e4  # V0 of each beta, in units of s2
NIG_PRIOR_A = 2.0
NIG_PRIOR_B = 1.0e-4
_CONJUGATE_SAMPLER = f"exact normal-inverse-gamma (numpy {np.__version__})"


def conjugate_fit(window: ReturnWindow, settings: FitSettings, seed: int, reason: str | list[str]) -> FitResult:
    """The exact normal-inverse-gamma fit of every strategy of ``window`` (method
    "conjugate", ``fallback_reason`` = ``reason``, or ``reason[i]`` for strategy ``i``; NUTS
    diagnostics null)."""
    if not window.strategy_ids:
        raise ValueError("the window has no strategy")
    started = time.perf_counter()
    n = len(window.strategy_ids)
    total = settings.chains * settings.draws
    columns = draw_quantities(window.factor_ids)
    flat = {name: np.empty((total, n)) for name in columns}
    exact = []
    for i in range(n):
        fit = _conjugate_strategy(window, i, settings, seed)
        for name in columns:
            flat[name][:, i] = fit["draws"][name]
        exact.append(fit["exact"])
    cols = _summarise_draws(flat, settings.hurdle_sharpe, window.factor_ids)
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
        method=[FitMethod.CONJUGATE.value] * n,
        fallback_reason=[reason] * n if isinstance(reason, str) else list(reason),
        sampler=[_CONJUGATE_SAMPLER] * n,
        fit_seconds=time.perf_counter() - started,
    )
    return FitResult(summary=summary, draws=encode_draws(window.strategy_ids, flat, window.factor_ids))


def replica_fit(window: ReturnWindow, replicas: dict[str, str], settings: FitSettings, seed: int) -> FitResult:
    """The exact fit of the strategies ``replicas`` names (id -> reason,
    ``_replication.replicated``), each a block of one: the conjugate model has no shared
    residual risk, and the row says so (``residual_block`` null)."""
    alone = window.select(list(replicas), shared=False)
    return conjugate_fit(alone, settings, seed, [replicas[s] for s in alone.strategy_ids])


def nig_posterior(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(mn, Vn, an, bn)`` of the NIG posterior for ``y = x theta + e`` under the module's prior
    (``x``'s first column the intercept, alpha; the others the regressors, one beta each)."""
    k = x.shape[1]
    m0 = np.zeros(k)
    v0_inv = np.diag(1.0 / np.array([NIG_PRIOR_ALPHA_V] + [NIG_PRIOR_BETA_V] * (k - 1)))
    precision = v0_inv + x.T @ x
    vn = np.linalg.inv(precision)
    vn = 0.5 * (vn + vn.T)
    mn = np.linalg.solve(precision, v0_inv @ m0 + x.T @ y)
    resid = y - x @ mn
    an = NIG_PRIOR_A + 0.5 * y.size
    bn = NIG_PRIOR_B + 0.5 * (resid @ resid + (mn - m0) @ v0_inv @ (mn - m0))
    return mn, vn, float(an), float(bn)


def _conjugate_strategy(window: ReturnWindow, i: int, settings: FitSettings, seed: int) -> dict:
    """Strategy ``i``'s exact draws (every draws column) and closed-form summary values."""
    sid = window.strategy_ids[i]
    observed = window.mask[:, i]
    y = window.returns[observed, i]
    x = np.column_stack([np.ones(y.size), window.factors[observed]])
    mn, vn, an, bn = nig_posterior(y, x)

    total = settings.chains * settings.draws
    rng = np.random.default_rng([seed, zlib.crc32(sid.encode())])
    s2 = 1.0 / rng.gamma(an, 1.0 / bn, size=total)
    chol = np.linalg.cholesky(vn)
    theta = mn[None, :] + np.sqrt(s2)[:, None] * (rng.standard_normal((total, mn.size)) @ chol.T)
    infinite, zero = np.full(total, np.inf), np.zeros(total)
    draws = _draw_columns(window, theta[:, 0], theta[:, 1:], np.sqrt(s2), infinite, zero)

    dof = 2.0 * an
    exact: dict[str, float] = {"beta_mean": 0.0, "beta_sd": 0.0}
    bench = None if window.benchmark_id is None else 1 + window.factor_ids.index(window.benchmark_id)
    for name, j in (("alpha", 0), ("beta", bench)):
        if j is None:
            continue
        scale = math.sqrt(bn / an * vn[j, j])
        exact[f"{name}_mean"] = float(mn[j])
        exact[f"{name}_sd"] = math.sqrt(bn / (an - 1.0) * vn[j, j])
        if name == "alpha":
            exact["alpha_q05"] = float(mn[j] + scale * stats.t.ppf(0.05, dof))
            exact["alpha_q95"] = float(mn[j] + scale * stats.t.ppf(0.95, dof))
            exact["p_alpha_positive"] = float(stats.t.cdf(mn[j] / scale, dof))
    return {"draws": draws, "exact": exact}
