r"""Importance weights of an anchor's draws for a later window (the rolling update's arithmetic).

The anchor is the last NUTS fit: draws ``theta^(s)``, ``s = 1..S``, of the posterior given
the anchor's window ``W_a``. For today's window ``W``, with the hyper-parameters held at
the anchor, the posterior of block ``b`` (a strategy alone, or the members of a sector
that share a residual risk) is the anchor's times the likelihood of the days that
entered over the days that left::

    log w_sb = sum_{t in W \ W_a} l_b(theta^(s), t) - sum_{t in W_a \ W} l_b(theta^(s), t)

``l_b`` the block's log density of one day (``_likelihood.block_loglik``; a masked cell
contributes 0 and a day on which no member is observed contributes 0). Days are compared
by date, so a window that skipped or gained a day is weighed exactly.

Per strategy (``ReweightBy.STRATEGY``) instead of per block, strategy ``i``'s weights use
its own marginal density, the univariate Student-t that is the one-coordinate marginal of
its block's multivariate t (same ``nu_b``, variance ``Sigma_ii = sigma_i^2``)::

    log w_si = sum_{t entered} l_i(theta_i^(s), t) - sum_{t left} l_i(theta_i^(s), t)

This weighs about ``K + 3`` parameters a strategy instead of ``|b| (K + 4)`` a block, so
the weights thin like a lone strategy's (a six-member block's joint weights fell below
the ESS floor after a day or two). It is exact for the coefficients in the Gaussian
limit: with every member regressed on the same factors (seemingly unrelated regressions
with identical regressors, Zellner 1962) the joint posterior of the coefficients is
matrix-normal with covariance ``Sigma (x) (X'X)^-1``, whose marginal for member ``i`` is
what ``y_i`` alone gives with variance ``Sigma_ii``, so the marginal update equals the
block update's marginal. What it leaves out: a member's loading ``c_i`` is not updated
(it enters only through the cross-moments), held at the anchor like the
hyper-parameters, and the Student-t tails and masked cells make the equality approximate
(benchmarks/rolling.py measures both against daily refits). A block's members then carry
different weights, so a forecast path draws each member's parameters through its own
weights (``_forecast``): on a reweighted day the posterior correlation of the members'
alphas (the residual correlation, in the SUR posterior) is only partly kept. It is the
parameter part of a month's risk (``21^2 sd(alpha)^2`` against ``21 sigma^2`` of
return noise, about 4% of a member's monthly variance at 504 days); the residual
co-movement itself comes from the joint bootstrap and is kept whole.

The raw weights are Pareto-smoothed per block (PSIS, Vehtari et al. 2024, through ArviZ's
``psislw``, whose tail length ``min(S/5, 3 sqrt(S / r_eff))`` uses the draws' relative
efficiency) and normalised. ``k_hat`` is the fitted generalised-Pareto shape of the
largest weights: above ``min(1 - 1/log10 S, 0.7)`` the weighted estimate is unreliable.
A block whose raw log-weights are all equal (no member observed on the days that moved)
keeps equal weights and has no ``k_hat`` (NaN). The effective sample size is
``ESS_b = r_eff_b / sum_s w_sb^2`` (``S r_eff`` for equal weights).

``r_eff`` of a block is the relative efficiency of its importance ratios
``exp(log w_sb)`` over the anchor's chains, ``min(1, ESS_mean(ratios) / S)`` (ArviZ's
``ess(method="mean")``), the convention of PSIS-LOO (``loo::relative_eff``): the weights'
own autocorrelation across the chains is what shrinks the information in a weighted mean.
A block whose ratios are all equal has ``r_eff = 1`` (the weighting adds no error; the
draws' own efficiency was judged when the anchor was fitted, ``min_ess_bulk``). Capped at 1,
so anti-correlated NUTS draws never claim more than ``S``. (An earlier rule took the
smallest ESS of the parameters alpha, beta and sigma: with six correlated factor
regressors the slowest beta set it near the floor, so the ESS rule refitted days whose
weights were barely uneven.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from twin_model.conventions import ReweightBy
from twin_model.strategy._likelihood import block_loglik
from twin_model.strategy._window import ReturnWindow


def khat_threshold(n_draws: int) -> float:
    """The largest reliable PSIS shape for ``n_draws`` draws: ``min(1 - 1/log10 S, 0.7)``."""
    return min(1.0 - 1.0 / math.log10(n_draws), 0.7)


def relative_efficiency(log_w: np.ndarray, chains: int) -> np.ndarray:
    """``r_eff`` per column of raw log-weights ``[S, B]`` ordered chain by chain (see the
    module docstring): ``min(1, ESS_mean(exp(log_w - max)) / S)``, 1 for equal weights."""
    import arviz as az

    total, n_blocks = log_w.shape
    if total % chains:
        raise ValueError(f"{total} draws do not split into {chains} chains")
    ratios = np.exp(log_w - log_w.max(axis=0))
    r_eff = np.ones(n_blocks)
    for b in np.flatnonzero(np.ptp(log_w, axis=0) > 0):
        ess = float(az.ess(ratios[:, b].reshape(chains, total // chains), method="mean"))
        r_eff[b] = min(1.0, ess / total)
    return r_eff


def likelihood_inputs(window: ReturnWindow, draws: dict[str, np.ndarray]) -> tuple[dict, np.ndarray, np.ndarray, list]:
    """``(params, returns, factors, blocks)`` of ``block_loglik``: the window's returns,
    factor regressors and blocks as they are (a day with a factor missing is masked inside
    ``block_loglik``, as in the fit), and the draws' ``alpha``, ``betas`` ``[S, N, K]``,
    ``sigma``, ``loading`` and ``nu``."""
    params = {
        "alpha": draws["alpha"],
        "beta": draws["betas"],
        "sigma": draws["sigma"],
        "loading": draws["loading"],
        "nu": draws["nu"],
    }
    return params, window.returns, window.factors, list(window.blocks)


def log_weights(
    anchor_window: ReturnWindow,
    draws: dict[str, np.ndarray],
    window: ReturnWindow,
    by: ReweightBy = ReweightBy.BLOCK,
) -> tuple[np.ndarray, list[int]]:
    """Raw log-weights ``[S, G]`` of the anchor's ``draws`` for ``window`` (the days that
    entered minus the days that left, by date), and each strategy's column: ``G`` blocks
    (``by`` block) or one column a strategy (``by`` strategy, its marginal density)."""
    before, now = set(anchor_window.dates), set(window.dates)
    entered = [t for t, day in enumerate(window.dates) if day not in before]
    left = [t for t, day in enumerate(anchor_window.dates) if day not in now]
    params, returns, factors, blocks = likelihood_inputs(window, draws)
    if by == ReweightBy.STRATEGY:
        params = {**params, "loading": np.zeros_like(params["loading"])}
        blocks = list(range(len(blocks)))
    gained = block_loglik(params, returns[entered], factors[entered], blocks).sum(axis=1)
    _, old_returns, old_factors, _ = likelihood_inputs(anchor_window, draws)
    lost = block_loglik(params, old_returns[left], old_factors[left], blocks).sum(axis=1)
    return gained - lost, blocks


def smoothed_weights(log_w: np.ndarray, r_eff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSIS-smoothed normalised weights ``[S, B]`` and ``k_hat`` ``[B]`` (NaN where the
    raw log-weights are all equal and the weights stay equal)."""
    import arviz as az

    total, n_blocks = log_w.shape
    weights = np.full((total, n_blocks), 1.0 / total)
    k_hat = np.full(n_blocks, np.nan)
    for b in range(n_blocks):
        if np.ptp(log_w[:, b]) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ArviZ warns on a large k_hat; the rules judge it
            smoothed, k = az.psislw(log_w[:, b].copy(), reff=float(r_eff[b]))
        weights[:, b] = np.exp(smoothed - smoothed.max())
        weights[:, b] /= weights[:, b].sum()
        k_hat[b] = float(k)
    return weights, k_hat


def effective_sample_size(weights: np.ndarray, r_eff: np.ndarray) -> np.ndarray:
    """``r_eff / sum_s w_s^2`` per column of normalised ``weights`` ``[S, B]``."""
    return np.asarray(r_eff, dtype=float) / (weights**2).sum(axis=0)
