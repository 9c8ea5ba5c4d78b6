"""The risk-parity arithmetic: budgets, the log-barrier Newton solve, hierarchical risk
parity's weights and the bound clipping that follows them.

Risk parity: ``min 0.5 y' S y - b' log(y)``, ``y > 0``, then ``w = y / sum(y)``; at the
optimum ``y_i (S y)_i = b_i``, so risk contributions ``w_i (S w)_i`` are proportional to
``b``.  Strictly convex, solved by damped Newton.

Hierarchical risk parity, Lopez de Prado (2016): correlation distance
``d_ij = sqrt(0.5 (1 - rho_ij))``; single linkage
(``scipy.cluster.hierarchy.linkage(squareform(d), "single")``); the quasi-diagonal order is
``scipy.cluster.hierarchy.leaves_list``; recursive bisection splits each ordered list into
two halves (first half ``len // 2`` items) as in the paper, the cluster variance is
``w_ivp' S_c w_ivp`` with inverse-variance weights ``w_ivp`` and the left half gets
``alpha = 1 - V_left / (V_left + V_right)``.
"""

from __future__ import annotations

import numpy as np

from twin_model.errors import InfeasibleRequestError
from twin_model.optimize._request import OptimizationRequest


def risk_budgets(req: OptimizationRequest, ids: list[str]) -> np.ndarray:
    """``risk_parameters.risk_budgets`` over ``ids``, normalised to sum 1 (default equal)."""
    rb = req.risk_parameters.risk_budgets
    if rb is None:
        return np.full(len(ids), 1.0 / len(ids))
    unknown = sorted(set(rb) - set(ids))
    if unknown:
        raise InfeasibleRequestError(f"risk_budgets name unknown strategies {unknown}")
    b = np.array([float(rb.get(i, 0.0)) for i in ids])
    if np.any(~np.isfinite(b)) or np.any(b <= 0):
        raise InfeasibleRequestError("risk_budgets must be positive for every strategy")
    return b / b.sum()


def newton_log_barrier(sigma: np.ndarray, b: np.ndarray, max_iter: int = 200) -> tuple[np.ndarray, int]:
    """argmin f(y) = 0.5 y'Sy - b'log y by damped Newton; returns (y, iterations).

    Step ``d = H^-1 g`` with ``g = S y - b / y`` and ``H = S + diag(b / y^2)``; the Newton
    decrement ``dec = g' d`` stops it below 1e-24.  The step is halved until ``y > 0`` and,
    while ``dec > 1e-12``, until ``f`` falls by ``dec t / 4`` (Armijo).  Below 1e-12 full
    steps are taken (quadratic convergence): f's rounding (~1e-16 |f|) hides the decrease
    there, and backtracking on it would stall.
    """
    diag = np.diag(sigma)
    if np.any(diag <= 0):
        raise InfeasibleRequestError("RISK_PARITY needs every strategy to have positive variance")
    y = np.sqrt(b / diag)
    f = lambda z: 0.5 * z @ sigma @ z - b @ np.log(z)  # noqa: E731
    for it in range(1, max_iter + 1):
        g = sigma @ y - b / y
        H = sigma + np.diag(b / y**2)
        step = np.linalg.solve(H, g)
        dec = float(g @ step)
        if dec < 1e-24:
            return y, it
        t = 1.0
        while np.any(y - t * step <= 0):
            t *= 0.5
        if dec > 1e-12:
            f0 = f(y)
            while f(y - t * step) > f0 - 0.25 * t * dec and t > 1e-12:
                t *= 0.5
        y = y - t * step
    return y, max_iter


def clip_redistribute(w: np.ndarray, lo: float, hi: float, max_iter: int = 1000) -> np.ndarray:
    """Clip to [lo, hi] and move the excess/shortfall proportionally onto the free weights,
    repeated until nothing moves."""
    w = w.copy()
    fixed = np.zeros(len(w), dtype=bool)
    for _ in range(max_iter):
        over = (w > hi + 1e-15) & ~fixed
        under = (w < lo - 1e-15) & ~fixed
        if not over.any() and not under.any():
            break
        w[over] = hi
        w[under] = lo
        fixed |= over | under
        free = ~fixed
        gap = 1.0 - w.sum()
        if not free.any():
            break
        base = w[free].sum()
        if base > 0:
            w[free] += gap * w[free] / base
        else:
            w[free] += gap / free.sum()
    return w


def _cluster_variance(sigma: np.ndarray, idx: list[int]) -> float:
    """``w_ivp' S_c w_ivp`` with inverse-variance weights over the cluster ``idx``."""
    sub = sigma[np.ix_(idx, idx)]
    ivp = 1.0 / np.diag(sub)
    ivp /= ivp.sum()
    return float(ivp @ sub @ ivp)


def _quasi_diagonal_order(sigma: np.ndarray, std: np.ndarray) -> list[int]:
    """The leaves of the single-linkage tree over the correlation distance."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    corr = np.clip(sigma / np.outer(std, std), -1.0, 1.0)
    dist = np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, None))
    np.fill_diagonal(dist, 0.0)
    link = linkage(squareform(dist, checks=False), method="single")
    return [int(i) for i in leaves_list(link)]


def hrp_weights(sigma: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """HRP weights (before bounds) and the quasi-diagonal order (see the module docstring)."""
    n = sigma.shape[0]
    std = np.sqrt(np.diag(sigma))
    if np.any(std <= 0):
        raise InfeasibleRequestError("HIERARCHICAL_RISK_PARITY needs positive variances")
    if n == 1:
        return np.ones(1), [0]
    order = _quasi_diagonal_order(sigma, std)
    w = np.ones(n)
    stack = [order]
    while stack:
        items = stack.pop()
        if len(items) < 2:
            continue
        half = len(items) // 2
        left, right = items[:half], items[half:]
        v1, v2 = _cluster_variance(sigma, left), _cluster_variance(sigma, right)
        alpha = 1.0 - v1 / (v1 + v2)
        w[left] *= alpha
        w[right] *= 1.0 - alpha
        stack += [left, right]
    return w / w.sum(), order
