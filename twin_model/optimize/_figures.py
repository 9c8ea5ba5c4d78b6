"""What the response reports, recomputed from the weights: every constraint (one string
per violation), the expected return, volatility and Sharpe ratio (unscaled, annual)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from twin_model.optimize._data import ProblemData
from twin_model.optimize._request import OptimizationMetadata, OptimizationRequest, OptimizationResponse

TOL = 1e-6


@dataclass(frozen=True)
class Solution:
    """A method's answer before the figures: weights, the mu they are reported on, and how
    they were found."""

    w: np.ndarray
    mu: np.ndarray
    solver: str
    status: str
    iterations: int
    objective_value: float


def check_constraints(d: ProblemData, w: np.ndarray, tol: float = TOL) -> list[str]:
    """Every constraint recomputed from the weights; one string per violation."""
    v: list[str] = []
    if abs(w.sum() - 1) > tol:
        v.append(f"budget: sum of weights {w.sum():.8g} != 1")
    for i, x in enumerate(w):
        if x < d.min_w - tol:
            v.append(f"min_weight: {d.ids[i]} = {x:.8g} < {d.min_w}")
        if x > d.max_w + tol:
            v.append(f"max_weight: {d.ids[i]} = {x:.8g} > {d.max_w}")
    for nm, row, cap in zip(d.sector_names, d.sector_matrix, d.sector_caps):
        s = float(row @ w)
        if s > cap + tol:
            v.append(f"sector_limits[{nm!r}]: {s:.8g} > {cap}")
    if d.has_turnover:
        to = 0.5 * (np.abs(w - d.w_prev).sum() + d.removed_prev)
        if to > d.turnover_limit + tol:
            v.append(f"turnover_limit: turnover {to:.8g} > {d.turnover_limit}")
    if d.leverage_limit is not None:
        g = float(np.abs(w).sum())
        if g > d.leverage_limit + tol:
            v.append(f"leverage_limit: gross {g:.8g} > {d.leverage_limit}")
    if d.max_vol is not None:
        vol = float(np.sqrt(max(w @ d.sigma @ w, 0.0)))
        if vol > d.max_vol + tol:
            v.append(f"max_volatility: volatility {vol:.8g} > {d.max_vol}")
    return v


def response(req: OptimizationRequest, d: ProblemData, solution: Solution, t0: float) -> OptimizationResponse:
    """The response for ``solution``: weights below 1e-13 in size set to 0, figures and
    violations recomputed from them; the time is counted from ``t0`` (``time.perf_counter``)."""
    w = np.where(np.abs(solution.w) < 1e-13, 0.0, solution.w)
    violations = check_constraints(d, w)
    ret = float(solution.mu @ w)
    vol = float(np.sqrt(max(float(w @ d.sigma @ w), 0.0)))
    sharpe = (ret - d.rf) / vol if vol > 0 else float("nan")
    meta = OptimizationMetadata(
        convergence_status=solution.status,
        iterations=int(solution.iterations),
        optimization_time_ms=(time.perf_counter() - t0) * 1000.0,
        objective_value=float(solution.objective_value),
        constraints_satisfied=not violations,
        solver=solution.solver,
        violations=violations,
        notes=d.notes,
    )
    return OptimizationResponse(
        portfolio_id=req.portfolio_id,
        optimal_weights={i: float(x) for i, x in zip(d.ids, w)},
        expected_return=ret,
        expected_volatility=vol,
        sharpe_ratio=sharpe,
        optimization_metadata=meta,
    )
