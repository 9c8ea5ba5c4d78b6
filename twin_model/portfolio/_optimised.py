"""The optimiser-backed policies: equal risk contribution, hierarchical risk budgets and
the optimiser itself, each a request to :func:`twin_model.optimize.optimize` for the
fully invested ``u = w / T`` (see :mod:`twin_model.portfolio._inputs`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from twin_model.conventions import PolicyKind
from twin_model.optimize import (
    Constraints,
    Method,
    Objective,
    OptimizationRequest,
    Optimizer,
    RiskParameters,
    StrategyInput,
    optimize,
)
from twin_model.portfolio._inputs import Allocation, AllocationInputs, make_allocation


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
                strategy_id=i,
                expected_return=float(mu),
                sector=sec,
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


def _run(
    inputs: AllocationInputs,
    request: OptimizationRequest,
    policy: PolicyKind,
    details: dict,
    optimizer: Optimizer | None = None,
) -> Allocation:
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
    return make_allocation(inputs, w, policy, details)


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
    alloc = _run(
        inputs, req, PolicyKind.EQUAL_RISK_CONTRIBUTION, {"formula": "w_i (Sigma w)_i equal for all i"}, optimizer
    )
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
    alloc = _run(inputs, req, PolicyKind.HIERARCHICAL_RISK_BUDGET, details, optimizer)
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
    req = _request(
        inputs, obj, meth, risk_free_rate=risk_free_rate, risk_aversion=risk_aversion, max_volatility=max_volatility
    )
    return _run(inputs, req, PolicyKind.OPTIMIZER, {"formula": f"optimize({obj.value}, {meth.value})"}, optimizer)
