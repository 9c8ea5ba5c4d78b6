"""Solution-level allocation policies: pure functions from what a solution knows today to
target weights over the strategies it selected from the alpha pool.

Every policy takes an :class:`AllocationInputs` and returns an :class:`Allocation` whose
weights sum to ``target_exposure`` (the solution's total exposure), or to less when the
rule leaves cash (fractional Kelly); ``details["cash"]`` always states the difference.

Scaling convention for the optimiser-backed policies: :func:`twin_model.optimize.optimize`
works on fully invested books (``sum(u) == 1``).  A book ``w = T * u`` with
``T = target_exposure`` is solved as ``u`` with every linear limit divided by ``T``:
bounds ``min/T``, ``max/T``, sector caps ``cap/T``, leverage ``L/T``, previous weights
``w_prev/T`` with turnover limit ``tau/T`` (turnover is homogeneous of degree 1) and
``max_volatility/T``; the answer is multiplied back by ``T``.

No I/O; numpy, scipy-free except through ``optimize`` and cvxpy for fractional Kelly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import cvxpy as cp
import numpy as np

from twin_model.optimize import (
    Constraints,
    InfeasibleRequestError,
    Method,
    Objective,
    OptimizationRequest,
    Optimizer,
    RiskParameters,
    StrategyInput,
    optimize,
)

__all__ = [
    "Allocation",
    "AllocationInputs",
    "POLICY_KINDS",
    "allocate",
    "apply_bounds",
    "equal_risk_contribution",
    "fractional_kelly",
    "hierarchical_risk_budget",
    "inverse_volatility",
    "optimizer_policy",
    "performance_based",
    "static",
]

_EPS = 1e-12


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class AllocationInputs:
    """What a solution knows on the allocation date.

    ``expected_return``, ``expected_return_sd``, ``covariance`` and ``sharpe`` are annual;
    ``scenarios`` holds posterior-predictive daily simple returns ``[paths, horizon, N]``
    (or ``None``).  Constraints apply to the final weights ``w`` (which sum to
    ``target_exposure`` unless a rule leaves cash).
    """

    strategy_ids: tuple[str, ...]
    sectors: tuple[str, ...]
    expected_return: np.ndarray
    expected_return_sd: np.ndarray
    covariance: np.ndarray
    sharpe: np.ndarray
    scenarios: np.ndarray | None = None
    previous_weights: Mapping[str, float] = field(default_factory=dict)
    min_weight: float = 0.0
    max_weight: float = 1.0
    sector_limits: Mapping[str, float] = field(default_factory=dict)
    turnover_limit: float | None = None
    leverage_limit: float = 1.0
    target_exposure: float = 1.0

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.strategy_ids)
        n = len(ids)
        if n == 0:
            raise ValueError("AllocationInputs: strategy_ids is empty")
        if len(set(ids)) != n:
            raise ValueError("AllocationInputs: duplicate strategy_ids")
        sectors = tuple(self.sectors)
        if len(sectors) != n:
            raise ValueError(f"AllocationInputs: {len(sectors)} sectors for {n} strategies")
        object.__setattr__(self, "strategy_ids", ids)
        object.__setattr__(self, "sectors", sectors)
        for name in ("expected_return", "expected_return_sd", "sharpe"):
            arr = np.array(getattr(self, name), dtype=float).reshape(-1)
            if arr.shape != (n,):
                raise ValueError(f"AllocationInputs: {name} has shape {arr.shape}, need ({n},)")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        cov = np.array(self.covariance, dtype=float)
        if cov.shape != (n, n):
            raise ValueError(f"AllocationInputs: covariance has shape {cov.shape}, need ({n}, {n})")
        cov.setflags(write=False)
        object.__setattr__(self, "covariance", cov)
        if self.scenarios is not None:
            sc = np.array(self.scenarios, dtype=float)
            if sc.ndim != 3 or sc.shape[2] != n or sc.shape[0] == 0 or sc.shape[1] == 0:
                raise ValueError(
                    f"AllocationInputs: scenarios has shape {sc.shape}, need [paths, horizon, {n}]"
                )
            sc.setflags(write=False)
            object.__setattr__(self, "scenarios", sc)
        object.__setattr__(self, "previous_weights", dict(self.previous_weights or {}))
        object.__setattr__(self, "sector_limits", dict(self.sector_limits or {}))
        if self.min_weight > self.max_weight:
            raise ValueError(
                f"AllocationInputs: min_weight {self.min_weight} exceeds max_weight {self.max_weight}"
            )
        if not self.target_exposure > 0:
            raise ValueError(f"AllocationInputs: target_exposure {self.target_exposure} must be > 0")
        if not self.leverage_limit > 0:
            raise ValueError(f"AllocationInputs: leverage_limit {self.leverage_limit} must be > 0")

    @property
    def n(self) -> int:
        return len(self.strategy_ids)

    @property
    def volatility(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))


@dataclass(frozen=True)
class Allocation:
    """Target weights per strategy id, the policy that produced them and its diagnostics."""

    weights: dict[str, float]
    policy: str
    details: dict[str, Any]


def _allocation(inputs: AllocationInputs, w: np.ndarray, policy: str, details: dict) -> Allocation:
    w = np.where(np.abs(w) < 1e-14, 0.0, np.asarray(w, dtype=float))
    total = float(w.sum())
    details = dict(details)
    details.setdefault("target_exposure", float(inputs.target_exposure))
    details["invested"] = total
    details["cash"] = float(inputs.target_exposure - total)
    return Allocation(
        weights={i: float(x) for i, x in zip(inputs.strategy_ids, w)},
        policy=policy,
        details=details,
    )


# --------------------------------------------------------------------------- bounds


def _solve_clipped_sum(a: np.ndarray, b: np.ndarray, lo: float, hi: float, total: float) -> float | None:
    """Smallest t >= 0 with sum_i clip(a_i + b_i t, lo, hi) == total (b >= 0), or None.

    The sum is non-decreasing and piecewise linear in t, so the root is found exactly on
    the segment between two consecutive breakpoints."""

    def f(t: float) -> float:
        return float(np.clip(a + b * t, lo, hi).sum())

    pos = b > 0
    bps = np.concatenate([[0.0], (lo - a[pos]) / b[pos], (hi - a[pos]) / b[pos]])
    bps = np.unique(bps[bps >= 0.0])
    vals = np.array([f(t) for t in bps])
    if vals[0] >= total - _EPS:
        return 0.0 if abs(vals[0] - total) <= 1e-9 else None
    k = int(np.searchsorted(vals, total - _EPS))
    if k >= len(bps):
        return None
    t0, t1, f0, f1 = bps[k - 1], bps[k], vals[k - 1], vals[k]
    if f1 - f0 <= 0:
        return float(t1)
    return float(t0 + (total - f0) * (t1 - t0) / (f1 - f0))


def apply_bounds(weights, min_weight: float, max_weight: float, total: float):
    """Scale non-negative ``weights`` to sum ``total`` inside ``[min_weight, max_weight]``.

    This is the fixed point of "clip to the bounds, redistribute the excess (or shortfall)
    proportionally over the unclipped weights, repeat until nothing moves":
    ``w_i = clip(c * raw_i, min, max)`` with ``c`` solving ``sum_i w_i = total``.  When the
    weights with ``raw_i > 0`` all sit at ``max`` and the total is still short, the rest is
    shared equally among the others (``w_i = clip(min + e, min, max)``), as for an all-zero
    input.  Accepts a dict (returns a dict) or an array (returns an array).

    Raises ValueError naming the bounds when ``N * max < total`` or ``N * min > total``.
    """
    keys = list(weights) if isinstance(weights, Mapping) else None
    raw = np.array([weights[k] for k in keys] if keys is not None else weights, dtype=float).reshape(-1)
    n = len(raw)
    lo, hi, total = float(min_weight), float(max_weight), float(total)
    if n == 0:
        raise ValueError("apply_bounds: no weights")
    if not np.all(np.isfinite(raw)) or np.any(raw < 0):
        raise ValueError("apply_bounds: weights must be finite and non-negative")
    if lo > hi:
        raise ValueError(f"apply_bounds: min_weight {lo} exceeds max_weight {hi}")
    if n * hi < total - 1e-12:
        raise ValueError(
            f"apply_bounds: infeasible, {n} x max_weight {hi} = {n * hi:.6g} < total {total}"
        )
    if n * lo > total + 1e-12:
        raise ValueError(
            f"apply_bounds: infeasible, {n} x min_weight {lo} = {n * lo:.6g} > total {total}"
        )
    out: np.ndarray | None = None
    if raw.sum() > 0:
        c = _solve_clipped_sum(np.zeros(n), raw, lo, hi, total)
        if c is not None:
            out = np.clip(c * raw, lo, hi)
        else:  # positive raw weights saturated at max: share the rest equally
            base = np.where(raw > 0, hi, np.clip(0.0, lo, hi))
            e = _solve_clipped_sum(base, (raw <= 0).astype(float), lo, hi, total)
            out = np.clip(base + (raw <= 0) * (e or 0.0), lo, hi)
    else:
        e = _solve_clipped_sum(np.full(n, lo), np.ones(n), lo, hi, total)
        out = np.clip(lo + (e or 0.0), lo, hi) * np.ones(n)
    if abs(out.sum() - total) > 1e-9:  # pragma: no cover - guarded by the checks above
        raise ValueError(f"apply_bounds: could not reach total {total} within [{lo}, {hi}]")
    return dict(zip(keys, out.tolist())) if keys is not None else out


def _bounds_details(inputs: AllocationInputs, w: np.ndarray) -> dict:
    return {
        "at_max": [i for i, x in zip(inputs.strategy_ids, w) if x >= inputs.max_weight - 1e-12],
        "at_min": [i for i, x in zip(inputs.strategy_ids, w) if x <= inputs.min_weight + 1e-12],
    }


# --------------------------------------------------------------------------- heuristics


def static(inputs: AllocationInputs, weights: Mapping[str, float]) -> Allocation:
    """Given weights renormalised over the selected strategies.

    ``raw_i = weights.get(id_i, 0)`` (ids not selected are dropped), then
    ``w = apply_bounds(raw, min, max, T)`` i.e. ``w_i = clip(c * raw_i, min, max)``,
    ``sum w = T``.  All-zero raw weights give equal weights ``T / N``.
    """
    weights = dict(weights or {})
    raw = np.array([float(weights.get(i, 0.0)) for i in inputs.strategy_ids])
    details: dict[str, Any] = {
        "formula": "w_i = clip(c * given_i, min, max), sum w = T",
        "ignored_ids": sorted(set(weights) - set(inputs.strategy_ids)),
        "missing_ids": [i for i in inputs.strategy_ids if i not in weights],
    }
    if raw.sum() <= 0:
        details["note"] = "no positive given weight among the selected strategies: equal weights"
    w = apply_bounds(raw, inputs.min_weight, inputs.max_weight, inputs.target_exposure)
    details.update(_bounds_details(inputs, w))
    return _allocation(inputs, w, "static", details)


def inverse_volatility(inputs: AllocationInputs) -> Allocation:
    """``w_i proportional to 1 / sigma_i`` with ``sigma_i = sqrt(Sigma_ii)``, scaled to
    ``T`` and bounded by clip-and-redistribute (:func:`apply_bounds`)."""
    sigma = inputs.volatility
    if np.any(sigma <= 0):
        bad = [i for i, s in zip(inputs.strategy_ids, sigma) if s <= 0]
        raise ValueError(f"inverse_volatility: non-positive volatility for {bad}")
    w = apply_bounds(1.0 / sigma, inputs.min_weight, inputs.max_weight, inputs.target_exposure)
    details = {"formula": "w_i ~ 1/sigma_i", "volatility": sigma.tolist()}
    details.update(_bounds_details(inputs, w))
    return _allocation(inputs, w, "inverse_volatility", details)


def performance_based(inputs: AllocationInputs, floor: float = 0.02) -> Allocation:
    """``w_i proportional to max(sharpe_i, 0)`` with a floor weight for every strategy.

    ``w = apply_bounds(max(sharpe, 0), max(floor, min_weight), max_weight, T)``, i.e.
    ``w_i = clip(c * max(sharpe_i, 0), floor, max)`` with ``sum w = T``: strategies below the
    floor get the floor and the rest is shared in proportion to Sharpe.  When no Sharpe is
    positive the weights are equal (``T / N``), which ``details`` says.
    """
    if floor < 0:
        raise ValueError(f"performance_based: floor {floor} must be >= 0")
    s = np.clip(inputs.sharpe, 0.0, None)
    lo = max(float(floor), float(inputs.min_weight))
    details: dict[str, Any] = {"formula": "w_i = clip(c * max(sharpe_i, 0), floor, max)", "floor": lo}
    if not np.any(s > 0):
        details["note"] = "no positive Sharpe ratio: equal weights"
        s = np.ones(inputs.n)
    w = apply_bounds(s, lo, inputs.max_weight, inputs.target_exposure)
    details.update(_bounds_details(inputs, w))
    return _allocation(inputs, w, "performance", details)


# --------------------------------------------------------------------------- optimiser-backed


def _request(
    inputs: AllocationInputs,
    objective: Objective,
    method: Method,
    *,
    risk_free_rate: float = 0.0,
    risk_aversion: float = 1.0,
    max_volatility: float | None = None,
    risk_budgets: dict[str, float] | None = None,
) -> OptimizationRequest:
    """An OptimizationRequest for ``u = w / T`` (see the module docstring)."""
    T = float(inputs.target_exposure)
    prev = {k: float(v) / T for k, v in inputs.previous_weights.items()} or None
    return OptimizationRequest(
        portfolio_id="solution",
        objective=objective,
        method=method,
        strategies=[
            StrategyInput(
                strategy_id=i, expected_return=float(mu), sector=sec,
                expected_return_sd=float(sd),
            )
            for i, sec, mu, sd in zip(
                inputs.strategy_ids, inputs.sectors, inputs.expected_return, inputs.expected_return_sd
            )
        ],
        covariance=inputs.covariance.tolist(),
        constraints=Constraints(
            min_weight=inputs.min_weight / T,
            max_weight=inputs.max_weight / T,
            sector_limits={k: float(v) / T for k, v in inputs.sector_limits.items()},
            turnover_limit=None if inputs.turnover_limit is None else inputs.turnover_limit / T,
            leverage_limit=inputs.leverage_limit / T,
            previous_weights=prev,
        ),
        risk_parameters=RiskParameters(
            risk_free_rate=risk_free_rate,
            risk_aversion=risk_aversion,
            max_volatility=None if max_volatility is None else max_volatility / T,
            risk_budgets=risk_budgets,
        ),
    )


def _run(inputs: AllocationInputs, request: OptimizationRequest, policy: str, details: dict,
         optimizer: Optimizer | None = None) -> Allocation:
    resp = optimize(request, optimizer)
    u = np.array([resp.optimal_weights[i] for i in inputs.strategy_ids])
    w = u * inputs.target_exposure
    meta = resp.optimization_metadata
    details = dict(details)
    details.update(
        objective=request.objective.value,
        method=request.method.value,
        solver=meta.solver,
        convergence_status=meta.convergence_status,
        objective_value=meta.objective_value,
        violations=list(meta.violations),
        notes=list(meta.notes),
        expected_return=resp.expected_return * inputs.target_exposure,
        expected_volatility=resp.expected_volatility * inputs.target_exposure,
    )
    return _allocation(inputs, w, policy, details)


def _risk_contributions(inputs: AllocationInputs, w: np.ndarray) -> list[float]:
    rc = w * (inputs.covariance @ w)
    tot = rc.sum()
    return (rc / tot).tolist() if tot > 0 else [float("nan")] * len(w)


def equal_risk_contribution(inputs: AllocationInputs, optimizer: Optimizer | None = None) -> Allocation:
    """Equal risk contributions ``w_i (Sigma w)_i = w' Sigma w / N`` via ``optimize`` with
    objective and method RISK_PARITY (log-barrier ``min 0.5 y'Sy - b'log y``, ``b = 1/N``,
    ``w = T y / sum y``).  Binding bounds/sector/turnover limits make the contributions
    unequal; ``details["notes"]`` says so."""
    req = _request(inputs, Objective.RISK_PARITY, Method.RISK_PARITY)
    alloc = _run(inputs, req, "equal_risk_contribution",
                 {"formula": "w_i (Sigma w)_i equal for all i"}, optimizer)
    w = np.array([alloc.weights[i] for i in inputs.strategy_ids])
    alloc.details["risk_contributions"] = _risk_contributions(inputs, w)
    return alloc


def hierarchical_risk_budget(
    inputs: AllocationInputs,
    sector_budgets: Mapping[str, float] | None = None,
    optimizer: Optimizer | None = None,
) -> Allocation:
    """Risk budgeting down a two-level hierarchy.

    Solution risk budget 1 -> sector budgets ``B_s`` (``sector_budgets`` normalised to sum 1;
    default ``1 / #sectors`` over the sectors present) -> strategy budgets
    ``b_i = B_s(i) / n_s(i)`` (equal within a sector).  Weights solve
    ``w_i (Sigma w)_i / w' Sigma w = b_i`` via ``optimize`` RISK_PARITY with
    ``risk_parameters.risk_budgets = b``, scaled to ``T``.
    """
    present: list[str] = []
    for s in inputs.sectors:
        if s not in present:
            present.append(s)
    if sector_budgets is None:
        B = {s: 1.0 / len(present) for s in present}
    else:
        missing = [s for s in present if s not in sector_budgets]
        if missing:
            raise ValueError(f"hierarchical_risk_budget: sector_budgets miss sectors {missing}")
        vals = {s: float(sector_budgets[s]) for s in present}
        if any(not np.isfinite(v) or v <= 0 for v in vals.values()):
            raise ValueError("hierarchical_risk_budget: sector budgets must be positive")
        tot = sum(vals.values())
        B = {s: v / tot for s, v in vals.items()}
    counts = {s: inputs.sectors.count(s) for s in present}
    budgets = {i: B[s] / counts[s] for i, s in zip(inputs.strategy_ids, inputs.sectors)}
    req = _request(inputs, Objective.RISK_PARITY, Method.RISK_PARITY, risk_budgets=budgets)
    details = {
        "formula": "w_i (Sigma w)_i / w'Sigma w = B_sector / n_sector",
        "sector_budgets": B,
        "risk_budgets": budgets,
    }
    if sector_budgets is not None:
        details["ignored_sector_budgets"] = sorted(set(sector_budgets) - set(present))
    alloc = _run(inputs, req, "hierarchical_risk_budget", details, optimizer)
    w = np.array([alloc.weights[i] for i in inputs.strategy_ids])
    alloc.details["risk_contributions"] = _risk_contributions(inputs, w)
    return alloc


def optimizer_policy(
    inputs: AllocationInputs,
    objective: str = "MAX_SHARPE",
    method: str = "MEAN_VARIANCE",
    risk_free_rate: float = 0.0,
    risk_aversion: float = 1.0,
    max_volatility: float | None = None,
    optimizer: Optimizer | None = None,
) -> Allocation:
    """Weights from :func:`twin_model.optimize.optimize` for ``objective``/``method`` with the
    inputs' mu, Sigma, ``expected_return_sd`` (used by ROBUST_OPTIMIZATION), sectors, bounds,
    sector/turnover/leverage limits and previous weights, scaled to ``T``
    (``w = T * u*``).  :class:`InfeasibleRequestError` propagates."""
    try:
        obj, meth = Objective(str(objective).upper()), Method(str(method).upper())
    except ValueError as exc:
        raise ValueError(f"optimizer_policy: {exc}") from None
    req = _request(inputs, obj, meth, risk_free_rate=risk_free_rate,
                   risk_aversion=risk_aversion, max_volatility=max_volatility)
    return _run(inputs, req, "optimizer", {"formula": f"optimize({obj.value}, {meth.value})"}, optimizer)


# --------------------------------------------------------------------------- Kelly


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
        return bool(np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
                    and np.abs(x).sum() <= L + 1e-12 and x.sum() <= T + 1e-12)

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
        raise ValueError(
            f"fractional_kelly: {n} x min_weight {lo} exceeds target_exposure {T} / leverage {L}"
        )
    details: dict[str, Any] = {"fraction": float(fraction)}
    if inputs.scenarios is not None:
        R = _monthly_returns(inputs.scenarios)
        P = R.shape[0]
        w = cp.Variable(n)
        cons = [w >= lo, w <= hi, cp.norm1(w) <= L, cp.sum(w) <= T]
        prob = cp.Problem(cp.Maximize(cp.sum(cp.log(1.0 + R @ w)) / P), cons)
        status, solver, attempts = None, None, []
        for s in ("CLARABEL", "SCS"):
            try:
                prob.solve(solver=s)
            except (cp.error.SolverError, ValueError) as exc:
                attempts.append(f"{s}: {exc}")
                continue
            attempts.append(f"{s}: {prob.status}")
            if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and w.value is not None:
                status, solver = prob.status, s
                break
        if status is None:
            raise InfeasibleRequestError(
                "fractional_kelly: log-growth problem not solved (" + "; ".join(attempts) + ")"
            )
        full = _polish_kelly(R, np.asarray(w.value, dtype=float), lo, hi, T, L)
        details.update(
            method="scenario",
            formula="w* = argmax mean_p log(1 + R_p w); w = fraction * w*",
            solver=solver,
            status=status,
            paths=int(P),
            horizon_days=int(inputs.scenarios.shape[1]),
            expected_log_growth=float(np.mean(np.log1p(R @ full))),
        )
    else:
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
            method="gaussian",
            formula="w* = Sigma^-1 mu (annual), clipped to bounds, capped to leverage/exposure; "
                    "w = fraction * w*",
            unconstrained_kelly=k.tolist(),
            cap_scale=float(scale),
        )
    out = fraction * full
    lifted = [i for i, x in zip(inputs.strategy_ids, out) if x < lo - 1e-12]
    if lifted:
        out = np.maximum(out, lo)
        details["lifted_to_min_weight"] = lifted
    details["full_kelly"] = dict(zip(inputs.strategy_ids, full.tolist()))
    details["note"] = f"{fraction:g} x Kelly; the remainder of target_exposure is cash"
    return _allocation(inputs, out, "fractional_kelly", details)


# --------------------------------------------------------------------------- dispatcher


def allocate(inputs: AllocationInputs, policy_kind: str, **params: Any) -> Allocation:
    """Dispatch a ``SolutionPolicy.kind`` to its policy; ``params`` go to that function.

    ``static`` takes ``weights`` (or the config's ``static_weights``); ``optimizer`` takes
    ``objective``/``method`` (``None`` values mean the defaults).  Unknown kinds raise
    ValueError naming the kind and the known ones.
    """
    params = {k: v for k, v in params.items() if v is not None}
    if policy_kind not in _POLICIES:
        raise ValueError(f"unknown allocation policy kind {policy_kind!r}; known: {', '.join(POLICY_KINDS)}")
    if policy_kind == "static":
        if "static_weights" in params:
            params["weights"] = params.pop("static_weights")
        if "weights" not in params:
            raise ValueError("allocate: policy 'static' needs weights (static_weights)")
    return _POLICIES[policy_kind](inputs, **params)


_POLICIES = {
    "static": static,
    "inverse_volatility": inverse_volatility,
    "equal_risk_contribution": equal_risk_contribution,
    "performance": performance_based,
    "fractional_kelly": fractional_kelly,
    "hierarchical_risk_budget": hierarchical_risk_budget,
    "optimizer": optimizer_policy,
}
POLICY_KINDS = tuple(_POLICIES)
"""The policy kinds of ``config/solutions.yaml`` (``SolutionPolicy.kind``)."""
