"""Naming the constraint groups that cannot hold together (plain cvxpy, run on failure only).

Each group is tried alone with the bounds and full investment, then in pairs, then all
together; MAX_SHARPE that is feasible but has no portfolio above the risk-free rate says so
with the best excess return the constraints allow.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from twin_model.optimize._data import ProblemData
from twin_model.optimize._request import Objective


def _groups(d: ProblemData, w: cp.Variable) -> dict[str, list]:
    """The request's constraint groups beyond the bounds, by the name the message uses."""
    groups: dict[str, list] = {}
    if d.sector_names:
        groups["sector_limits"] = [d.sector_matrix @ w <= d.sector_caps]
    if d.has_turnover:
        groups["turnover_limit (from previous_weights)"] = [
            cp.norm1(w - d.w_prev) <= 2 * d.turnover_limit - d.removed_prev
        ]
    if d.leverage_limit is not None:
        groups["leverage_limit"] = [cp.norm1(w) <= d.leverage_limit]
    if d.max_vol is not None:
        groups["max_volatility"] = [cp.norm(np.sqrt(d.s) * d.factor.T @ w, 2) <= d.max_vol]
    return groups


def _feasible(cons: list) -> bool:
    p = cp.Problem(cp.Minimize(0), cons)
    try:
        p.solve(solver="CLARABEL")
    except cp.error.SolverError:
        p.solve(solver="SCS")
    return p.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def _conflicts(base: list, groups: dict[str, list], bounds: str) -> str | None:
    """The message naming the groups that fail alone, in pairs or all together; None if they hold."""
    alone = [g for g, c in groups.items() if not _feasible(base + c)]
    if alone:
        return "infeasible: " + ", ".join(alone) + f" cannot hold with {bounds}"
    names = list(groups)
    pairs = [
        f"{a} + {b}" for k, a in enumerate(names) for b in names[k + 1 :] if not _feasible(base + groups[a] + groups[b])
    ]
    if pairs:
        return "infeasible: " + "; ".join(pairs) + f" cannot hold together with {bounds}"
    if not _feasible(base + [c for cs in groups.values() for c in cs]):
        return "infeasible: " + " + ".join(groups) + f" together with {bounds}"
    return None


def diagnose(d: ProblemData, objective: Objective, mu: np.ndarray | None = None) -> str:
    """Name the constraint groups that cannot hold together."""
    w = cp.Variable(d.n)
    base = [cp.sum(w) == 1, w >= d.min_w, w <= d.max_w]
    groups = _groups(d, w)
    bounds = f"min_weight/max_weight [{d.min_w}, {d.max_w}] with full investment"
    if not _feasible(base):
        return f"infeasible: {bounds}"
    conflict = _conflicts(base, groups, bounds)
    if conflict is not None:
        return conflict
    if objective == Objective.MAX_SHARPE:
        all_cons = base + [c for cs in groups.values() for c in cs]
        p = cp.Problem(cp.Maximize(((d.mu if mu is None else mu) - d.rf) @ w), all_cons)
        p.solve(solver="CLARABEL")
        best = p.value if p.value is not None else float("nan")
        return (
            "MAX_SHARPE: no portfolio allowed by the constraints has expected return above "
            f"risk_free_rate {d.rf} (best excess return {best:.6g}); constraints: " + ", ".join([bounds, *groups])
        )
    return "solver reported infeasible/unbounded under: " + ", ".join([bounds, *groups])
