"""The moments a request gives or implies, and the risk factor the problems use.

The risk term is written ``sum_squares(L.T @ w)`` with ``L`` a lower-triangular factor of
``S / s`` (``s`` = mean diagonal of S): Cholesky, or for a singular S the triangular factor
from an eigen-decomposition and a QR step (see :func:`psd_factor`; tiny negative
eigenvalues clipped to 0).  ``L`` enters a problem as a ``cp.Parameter`` holding its
``n (n + 1) / 2`` lower-triangle entries, scattered into the matrix by a constant map
(:func:`lower_param`), so each problem is DPP and the zeros above the diagonal never reach
the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.errors import InfeasibleRequestError
from twin_model.optimize._request import OptimizationRequest


@dataclass(frozen=True)
class Moments:
    """Annual expected returns and covariance, with the risk scale and factor."""

    mu: np.ndarray
    sigma: np.ndarray  # symmetrised
    s: float  # mean variance, the risk scale (1 if it is 0)
    factor: np.ndarray  # lower-triangular L with L L' = sigma / s


def ledoit_wolf_covariance(returns: np.ndarray) -> np.ndarray:
    """Annualised Ledoit-Wolf covariance of periodic returns ``X [T][N]`` (Ledoit and Wolf
    2004, as scikit-learn's ``LedoitWolf`` computes it; the tests compare the two). With
    ``Y = X - mean(X)``, ``S = Y'Y / T``, ``m = tr(S) / N``::

        d2 = ||S - m I||_F^2 / N
        b2 = min(d2, sum_t ||y_t y_t' - S||_F^2 / (N T^2))
        cov = (1 - b2 / d2) S + (b2 / d2) m I             (S itself when b2 = 0)

    written in numpy: the allocation stage estimates one on every simulated path's
    rebalance, where scikit-learn's input checks cost ten times the arithmetic."""
    y = np.asarray(returns, dtype=float)
    y = y - y.mean(axis=0)
    t, n = y.shape
    if n == 1:
        return np.atleast_2d((y**2).mean()) * PERIODS_PER_YEAR
    s = y.T @ y / t
    m = np.trace(s) / n
    y2 = y**2
    b2 = (np.sum(y2.T @ y2) / t - np.sum(s**2)) / (n * t)
    d2 = (np.sum(s**2) - 2.0 * m * np.trace(s) + n * m**2) / n
    b2 = min(b2, d2)
    shrinkage = 0.0 if b2 == 0 else b2 / d2
    shrunk = (1.0 - shrinkage) * s
    shrunk.flat[:: n + 1] += shrinkage * m
    return shrunk * PERIODS_PER_YEAR


def _finite(name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)):
        raise InfeasibleRequestError(f"{name} holds NaN or infinite values")


def _matrix(name: str, rows: list[list[float]]) -> np.ndarray:
    try:
        return np.asarray(rows, dtype=float)
    except ValueError as exc:
        raise InfeasibleRequestError(f"{name} is not a matrix: {exc}") from None


def _given_moments(req: OptimizationRequest, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from a request that gives its covariance."""
    sigma = _matrix("covariance", req.covariance)
    if sigma.shape != (n, n):
        raise InfeasibleRequestError(f"covariance has shape {sigma.shape}, strategies need ({n}, {n})")
    _finite("covariance", sigma)
    mu_given = [s.expected_return for s in req.strategies]
    if any(m is None for m in mu_given):
        raise InfeasibleRequestError("expected_return is missing for some strategies and no returns were given")
    return np.asarray(mu_given, dtype=float), sigma


def _estimated_moments(req: OptimizationRequest, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from a request that gives returns: Ledoit-Wolf, and the mean return
    where a strategy states no expected return."""
    r = _matrix("returns", req.returns)
    if r.ndim != 2 or r.shape[1] != n:
        raise InfeasibleRequestError(f"returns has shape {r.shape}, strategies need [T][{n}]")
    _finite("returns", r)
    if r.shape[0] < n or r.shape[0] < 2:
        raise InfeasibleRequestError(
            f"returns has T={r.shape[0]} observations for N={n} strategies: a sample covariance needs T >= N"
        )
    sigma = ledoit_wolf_covariance(r)
    mean = r.mean(axis=0) * PERIODS_PER_YEAR
    mu = np.array([mean[i] if s.expected_return is None else s.expected_return for i, s in enumerate(req.strategies)])
    return mu, sigma


def request_moments(req: OptimizationRequest, notes: list[str]) -> Moments:
    """The request's moments, checked (finite, symmetric, positive semi-definite) and factored."""
    n = len(req.strategies)
    if req.covariance is not None and req.returns is not None:
        raise InfeasibleRequestError("give covariance or returns, not both")
    if req.covariance is not None:
        mu, sigma = _given_moments(req, n)
    elif req.returns is not None:
        mu, sigma = _estimated_moments(req, n)
        notes.append(f"covariance: Ledoit-Wolf shrinkage of the returns, x{PERIODS_PER_YEAR}")
    else:
        raise InfeasibleRequestError("give covariance or returns")
    _finite("expected_return", mu)
    scale = float(np.max(np.abs(np.diag(sigma)))) if n else 1.0
    scale = scale if scale > 0 else 1.0
    if np.max(np.abs(sigma - sigma.T)) > 1e-10 * scale:
        raise InfeasibleRequestError("covariance is not symmetric")
    sigma = 0.5 * (sigma + sigma.T)
    chol = psd_factor(sigma, 1e-10 * scale)
    s = float(np.mean(np.diag(sigma)))
    s = s if s > 0 else 1.0
    return Moments(mu=mu, sigma=sigma, s=s, factor=chol / np.sqrt(s))


def psd_factor(sigma: np.ndarray, tol: float) -> np.ndarray:
    """Lower-triangular ``L`` with ``L L' = sigma``; raises unless ``min eig(sigma) >= -tol``.

    Positive definite ``sigma``: Cholesky (its success bounds the smallest eigenvalue
    below by ``-O(n^2 eps) max diag``, rounding level).  Otherwise ``sigma = V diag(lam) V'``
    with ``lam`` clipped at 0, and the QR decomposition ``(V diag(sqrt(lam)))' = Q R`` gives
    ``sigma = R' R``, so ``L = R'``.  Either way ``L`` is triangular: the risk term then puts
    ``n (n + 1) / 2`` entries, not ``n^2``, through the DPP map and into the solver.
    """
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        pass
    lam, vec = np.linalg.eigh(sigma)
    if lam[0] < -tol:
        raise InfeasibleRequestError(f"covariance is not positive semi-definite (min eigenvalue {lam[0]:.3g})")
    return np.linalg.qr((vec * np.sqrt(np.clip(lam, 0.0, None))).T, mode="r").T


def lower_param(n: int, name: str) -> tuple[cp.Parameter, cp.Expression]:
    """A parameter ``l`` for the lower triangle of an (n, n) factor (``np.tril_indices``
    order) and the factor itself, ``L = reshape(M l)`` with ``M`` a constant 0/1 scatter
    matrix.  DPP, and only ``n (n + 1) / 2`` entries reach the problem data and the solver's
    KKT system (an (n, n) parameter sends all ``n^2``, zeros included)."""
    rows, cols = np.tril_indices(n)
    k = len(rows)
    scatter = sp.csr_array((np.ones(k), (rows + n * cols, np.arange(k))), shape=(n * n, k))
    p = cp.Parameter(k, name=name)
    return p, cp.reshape(scatter @ p, (n, n), order="F")


def lower(m: np.ndarray) -> np.ndarray:
    """The lower triangle of ``m`` in the order of :func:`lower_param`."""
    return m[np.tril_indices(m.shape[0])]
