"""Fractional Kelly: growth-optimal weights from scenarios (or a Gaussian fallback),
scaled down by a fraction, the rest in cash."""

from __future__ import annotations

import warnings
from typing import Any

import cvxpy as cp
import numpy as np

from twin_model.conventions import KellyMethod, PolicyKind
from twin_model.optimize import InfeasibleRequestError
from twin_model.portfolio._inputs import Allocation, AllocationInputs, make_allocation


def _monthly_returns(scenarios: np.ndarray) -> np.ndarray:
    """Compounded horizon return per path and strategy: ``prod_t (1 + r_pt) - 1``."""
    return np.prod(1.0 + scenarios, axis=1) - 1.0


def _polish_kelly(R: np.ndarray, w: np.ndarray, lo: float, hi: float, T: float, L: float) -> np.ndarray:
    """Newton steps on the coordinates strictly inside their bounds (the log-growth is flat
    near its maximum, so interior-point tolerances leave ~1e-4 in w); a step is kept only if
    it stays feasible and does not lower the growth."""

    def growth(x: np.ndarray) -> float:
        g = 1.0 + R @ x
        return float(np.mean(np.log(g))) if np.all(g > 0) else -np.inf

    def feasible(x: np.ndarray) -> bool:
        return bool(
            np.all(x >= lo - 1e-12)
            and np.all(x <= hi + 1e-12)
            and np.abs(x).sum() <= L + 1e-12
            and x.sum() <= T + 1e-12
        )

    w = np.clip(w, lo, hi)
    if not feasible(w) or not np.isfinite(growth(w)):
        return w
    for _ in range(50):
        free = (w > lo + 1e-7) & (w < hi - 1e-7)
        if not free.any():
            break
        g = 1.0 + R @ w
        Rf = R[:, free]
        grad = (Rf / g[:, None]).mean(axis=0)
        hess = -(Rf / g[:, None]).T @ (Rf / g[:, None]) / len(g)
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        f0, t, moved = growth(w), 1.0, False
        while t > 1e-8:
            x = w.copy()
            x[free] += t * step
            if feasible(x) and growth(x) >= f0 - 1e-15:
                w, moved = x, True
                break
            t *= 0.5
        if not moved or np.max(np.abs(t * step)) < 1e-13:
            break
    return w


def fractional_kelly(inputs: AllocationInputs, fraction: float = 0.5) -> Allocation:
    """Fractional growth-optimal (Kelly) weights.

    With scenarios: ``R_pi = prod_t (1 + r_pti) - 1`` (compounded month return of path p)
    and ``w* = argmax_w (1/P) sum_p log(1 + sum_i w_i R_pi)`` subject to
    ``min <= w_i <= max``, ``sum |w| <= leverage_limit``, ``sum w <= T`` (cash allowed),
    solved with cvxpy (Clarabel, then SCS).  Without scenarios (Gaussian fallback):
    ``w* = Sigma^-1 mu`` (annual mu and Sigma; the ratio is the same monthly), clipped to
    the bounds and scaled down to ``sum |w| <= leverage_limit`` and ``sum w <= T``.
    The result is ``fraction * w*``; the rest (``T - sum w``) is cash.  Weights lifted to a
    positive ``min_weight`` after the scaling are listed in ``details``.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fractional_kelly: fraction {fraction} must be in (0, 1]")
    n, T, L = inputs.n, float(inputs.target_exposure), float(inputs.leverage_limit)
    lo, hi = float(inputs.min_weight), float(inputs.max_weight)
    if n * lo > min(T, L) + 1e-12:
        raise ValueError(f"fractional_kelly: {n} x min_weight {lo} exceeds target_exposure {T} / leverage {L}")
    details: dict[str, Any] = {"fraction": float(fraction)}
    kelly = _scenario_kelly if inputs.scenarios is not None else _gaussian_kelly
    full, found = kelly(inputs, lo, hi, T, L)
    details.update(found)
    out = fraction * full
    lifted = [i for i, x in zip(inputs.strategy_ids, out) if x < lo - 1e-12]
    if lifted:
        out = np.maximum(out, lo)
        details["lifted_to_min_weight"] = lifted
    details["full_kelly"] = dict(zip(inputs.strategy_ids, full.tolist()))
    details["note"] = f"{fraction:g} x Kelly; the remainder of target_exposure is cash"
    return make_allocation(inputs, out, PolicyKind.FRACTIONAL_KELLY, details)


def _scenario_kelly(
    inputs: AllocationInputs, lo: float, hi: float, T: float, L: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Full Kelly weights maximising the mean log growth over the scenario paths (cvxpy,
    Clarabel then SCS, polished by Newton steps), and what the solve reports."""
    R = _monthly_returns(inputs.scenarios)
    P = R.shape[0]
    w = cp.Variable(inputs.n)
    cons = [w >= lo, w <= hi, cp.norm1(w) <= L, cp.sum(w) <= T]
    prob = cp.Problem(cp.Maximize(cp.sum(cp.log(1.0 + R @ w)) / P), cons)
    status, solver, attempts = None, None, []
    for s in ("CLARABEL", "SCS"):
        try:
            with warnings.catch_warnings():  # OPTIMAL_INACCURATE is judged below, reported and polished
                warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
                prob.solve(solver=s)
        except (cp.error.SolverError, ValueError) as exc:
            attempts.append(f"{s}: {exc}")
            continue
        attempts.append(f"{s}: {prob.status}")
        if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and w.value is not None:
            status, solver = prob.status, s
            break
    if status is None:
        raise InfeasibleRequestError("fractional_kelly: log-growth problem not solved (" + "; ".join(attempts) + ")")
    full = _polish_kelly(R, np.asarray(w.value, dtype=float), lo, hi, T, L)
    return full, dict(
        method=KellyMethod.SCENARIO,
        formula="w* = argmax mean_p log(1 + R_p w); w = fraction * w*",
        solver=solver,
        status=status,
        paths=int(P),
        horizon_days=int(inputs.scenarios.shape[1]),
        expected_log_growth=float(np.mean(np.log1p(R @ full))),
    )


def _gaussian_kelly(
    inputs: AllocationInputs, lo: float, hi: float, T: float, L: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Full Kelly weights ``Sigma^-1 mu`` clipped to the bounds and capped to the leverage
    and exposure, and how they were found."""
    details: dict[str, Any] = {}
    try:
        k = np.linalg.solve(inputs.covariance, inputs.expected_return)
    except np.linalg.LinAlgError:
        k = np.linalg.pinv(inputs.covariance) @ inputs.expected_return
        details["note_pinv"] = "covariance singular: pseudo-inverse used"
    full = np.clip(k, lo, hi)
    scale = 1.0
    gross, net = float(np.abs(full).sum()), float(full.sum())
    if gross > L:
        scale = min(scale, L / gross)
    if net > T:
        scale = min(scale, T / net)
    full = full * scale
    details.update(
        method=KellyMethod.GAUSSIAN,
        formula="w* = Sigma^-1 mu (annual), clipped to bounds, capped to leverage/exposure; w = fraction * w*",
        unconstrained_kelly=k.tolist(),
        cap_scale=float(scale),
    )
    return full, details
