r"""A fixed linear preconditioner for the betas of each residual block.

Why
---
Members of a block share one residual risk (``_likelihood``), and they are regressed on
the same factors, so their coefficients are correlated in the posterior the way their
residuals are: in the Gaussian limit (seemingly unrelated regressions with identical
regressors, Zellner 1962) ``Cov(vec B) = Sigma_b (x) (X'X)^-1``. The bundled factor
sleeves' residuals correlate about 0.9, so their betas on one factor correlate 0.8-0.96
across members. NUTS adapts a *diagonal* mass matrix, which cannot follow that, and
sampled directly the sleeves' betas mixed slowly and, worse, a chain could settle in a
far worse local mode (benchmark betas near 1 with the shared risk absorbing the
difference, 500 log-density units below the main mode): on the bundled firm's last
window 4 of 8 seeds had a chain stuck there (R-hat 1.5-1.8), which sends the block to the
conjugate fallback (benchmarks/beta_mixing.py, RESULTS.md).

What
----
The model samples ``W`` (flat) and sets ``beta = M W`` with ``M`` block-diagonal and
lower-triangular, ``M_b = chol(Psi_b) / mean_i sqrt(Psi_b,ii)`` for block ``b`` (identity
for a strategy alone and for padding columns). ``Psi_b`` is the scatter matrix of the
members' least-squares residuals (each on ``[1, factors]`` over its observed days) under
a multivariate t with ``TAIL_DF`` degrees of freedom, over the days every member is
observed, by the EM fixed point (Kent, Tyler and Vardi 1994)::

    q_t   = e_t' Psi^-1 e_t
    w_t   = (nu + m) / (nu + q_t)
    Psi  <- sum_t w_t e_t e_t' / T

A t rather than the sample covariance because the model's density is a t: its posterior
correlation follows the t's down-weighting of the large days (the sample correlation of
the sleeves' residuals, 0.5-0.8, under-stated the posterior's 0.8-0.96 and whitened less).
The prior stays on ``beta`` (``N(mu_beta, tau_beta)``, added as a potential), and ``M`` is
data fixed before sampling, so the change of variables has a constant Jacobian: the
posterior of every parameter is exactly the centred model's (a test holds the two log
densities equal up to a constant). Only the sampler's geometry changes; any positive
definite ``M`` would be correct, this one makes the members' betas nearly uncorrelated.
Whitening the factor direction as well (by ``chol((X'X)^-1)``) was tried and made the
local mode above *more* likely (every seed), so ``M`` acts across members only.
"""

from __future__ import annotations

import numpy as np

from twin_model.strategy._window import ReturnWindow

TAIL_DF = 5.0
"""Degrees of freedom of the t whose scatter sets the preconditioner (a typical block's nu)."""

EM_ITERATIONS = 100
EM_TOLERANCE = 1e-10
EIGEN_FLOOR = 1e-6
"""Eigenvalues of a block's scatter, relative to its largest, are floored at this (a
member that is a linear combination of others would make it singular)."""


def factor_residuals(window: ReturnWindow) -> np.ndarray:
    """``[T, N]`` least-squares residuals of each strategy on ``[1, factors]`` over its
    observed cells (``window.mask``); NaN elsewhere, and for a strategy with no more
    observed cells than regressors."""
    mask = window.mask
    x = np.column_stack([np.ones(mask.shape[0]), np.nan_to_num(window.factors)])
    resid = np.full(window.returns.shape, np.nan)
    for i in range(mask.shape[1]):
        ok = mask[:, i]
        if ok.sum() > x.shape[1]:
            coef = np.linalg.lstsq(x[ok], window.returns[ok, i], rcond=None)[0]
            resid[ok, i] = window.returns[ok, i] - x[ok] @ coef
    return resid


def t_scatter(residuals: np.ndarray, nu: float = TAIL_DF) -> np.ndarray:
    """``[m, m]`` maximum-likelihood scatter of zero-mean multivariate-t rows ``[T, m]``
    with ``nu`` degrees of freedom (the EM fixed point in the module docstring, started
    from the second-moment matrix)."""
    e = np.asarray(residuals, dtype=float)
    t, m = e.shape
    if t <= m:
        raise ValueError(f"a scatter of {m} series needs more than {m} rows, got {t}")
    scatter = e.T @ e / t
    for _ in range(EM_ITERATIONS):
        q = np.einsum("ti,ij,tj->t", e, np.linalg.pinv(scatter), e)
        w = (nu + m) / (nu + q)
        updated = (e * w[:, None]).T @ e / t
        converged = np.abs(updated - scatter).max() <= EM_TOLERANCE * np.abs(scatter).max()
        scatter = updated
        if converged:
            break
    return 0.5 * (scatter + scatter.T)


def beta_mixing(window: ReturnWindow, n_max: int) -> np.ndarray:
    """``M`` ``[n_max, n_max]`` of the module docstring for ``window``'s strategies (the first
    ``N`` columns; the padding columns get identity). A block whose members are observed
    together on no more days than twice its size, or whose residuals have no spread,
    keeps identity (no preconditioning: correct, only slower)."""
    mixing = np.eye(n_max)
    sizes = window.block_sizes
    if not window.factor_ids or not (sizes >= 2).any():
        return mixing
    resid = factor_residuals(window)
    for b in np.unique(window.blocks[sizes >= 2]):
        members = np.nonzero(window.blocks == b)[0]
        complete = np.isfinite(resid[:, members]).all(axis=1)
        if complete.sum() <= 2 * len(members):
            continue
        block = _scaled_cholesky(t_scatter(resid[np.ix_(complete, members)]))
        if block is not None:
            mixing[np.ix_(members, members)] = block
    return mixing


def _scaled_cholesky(scatter: np.ndarray) -> np.ndarray | None:
    """``chol(Psi) / mean sqrt(diag Psi)`` after flooring ``Psi``'s eigenvalues; None for a
    scatter with no spread."""
    lam, vec = np.linalg.eigh(scatter)
    if not lam[-1] > 0:
        return None
    floored = (vec * np.maximum(lam, EIGEN_FLOOR * lam[-1])) @ vec.T
    scale = float(np.sqrt(np.diag(floored)).mean())
    return np.linalg.cholesky(0.5 * (floored + floored.T)) / scale
