"""Stage 4 of the solution step, targets: whether to rebalance (the triggers) and, if so,
the allocation by the solution's policy, scaled by ramps and tiers and cut by the risk
actions; otherwise the targets in force are held."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from twin_model.conventions import (
    AllocationStatus,
    ManualActionKind,
    RebalanceTrigger,
    RiskAction,
    Severity,
    StrategyStatus,
    Tier,
)
from twin_model.optimize import InfeasibleRequestError, Optimizer, ledoit_wolf_covariance
from twin_model.portfolio import (
    Allocation,
    AllocationInputs,
    Breach,
    PolicyInput,
    allocate,
    allocation_policy,
    blocks_new_risk,
    reduce_to_limits,
)
from twin_model.solution._book import Book
from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import HAS_SLOT, SolutionState, StrategyState, Violation, violation_key

COVARIANCE_WINDOW = 252
"""Trailing rows (all selected strategies observed) behind the allocation covariance."""
MIN_COVARIANCE_ROWS = 21


@dataclass
class TargetDecision:
    rebalanced: bool
    triggers: list[str]
    targets: dict[str, float]
    scale: dict[str, float]
    cash: dict[str, float]
    exposure: float
    status: AllocationStatus
    message: str = ""
    allocation: dict = field(default_factory=dict)
    moments: tuple[list[str], np.ndarray, np.ndarray] | None = None


def _triggers(
    rules: SolutionRules,
    state: SolutionState,
    inputs: DayInputs,
    strategies: Mapping[str, StrategyState],
    book: Book,
    breaches: list[Breach],
    events: set[str],
    cooldown: int,
) -> list[str]:
    day = inputs.day
    found = []
    if book.cold_start:
        found.append(RebalanceTrigger.LAUNCH)
    elif rules.monthly and day.month != state.day.month:
        found.append(RebalanceTrigger.MONTHLY)
    continuing = [s for s, st in strategies.items() if st.status == StrategyStatus.ACTIVE and s in state.strategies]
    drift = max((abs(book.held.get(s, 0.0) - state.strategies[s].target) for s in continuing), default=0.0)
    if drift > rules.drift_threshold:
        found.append(RebalanceTrigger.DRIFT)
    if any(_new_or_worse(b, state.violations) for b in breaches if b.action != RiskAction.ALERT):
        found.append(RebalanceTrigger.RISK)
    if any(m.action == ManualActionKind.REBALANCE for m in rules.manual_on(day)):
        found.append(RebalanceTrigger.MANUAL)
    found += sorted(events)
    if state.cooldown_days_left == 1 and cooldown == 0:
        found.append(RebalanceTrigger.RECOVERY)
    if state.awaiting_allocation and cooldown == 0:
        found.append(RebalanceTrigger.RETRY)
    return found


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


def _new_or_worse(breach: Breach, open_before: Mapping[tuple[str, str, str], Violation]) -> bool:
    """A breach not open yesterday, or open at a lower severity: the targets set since do
    not yet reflect its action (a continuing breach's action is already in them)."""
    before = open_before.get(violation_key(breach))
    return before is None or _SEVERITY_RANK[breach.severity] > _SEVERITY_RANK[before.breach.severity]


def decide_targets(
    rules: SolutionRules,
    state: SolutionState,
    inputs: DayInputs,
    strategies: dict[str, StrategyState],
    book: Book,
    breaches: list[Breach],
    events: set[str],
    cooldown: int,
    optimizer: Optimizer | None,
) -> TargetDecision:
    triggers = _triggers(rules, state, inputs, strategies, book, breaches, events, cooldown)
    exposure = rules.target_exposure * (inputs.risk_scale if rules.use_market_regime else 1.0)
    if cooldown > 0:
        targets = {s: 0.0 for s in strategies}
        return TargetDecision(
            bool(triggers) or any(book.held.values()),
            triggers,
            targets,
            {s: 0.0 for s in strategies},
            {"cash_pauses": 0.0, "cash_risk": exposure, "cash_other": 0.0},
            exposure,
            AllocationStatus.COOLDOWN,
            f"in cash after a drawdown stop: {cooldown} business days of cooldown left",
        )
    if not triggers:
        return _hold(state, strategies)
    decision = allocate_targets(rules, inputs, strategies, book, exposure, triggers, optimizer)
    return _apply_risk(decision, breaches, book, inputs)


def _hold(state: SolutionState, strategies: Mapping[str, StrategyState]) -> TargetDecision:
    """No trigger: keep the targets (and the exposure they were set for); only forced
    exits (pauses) go to cash."""
    cash = dict(state.cash)
    targets, scale = {}, {}
    for s, st in strategies.items():
        previous = state.strategies.get(s, StrategyState())
        keep = st.status == StrategyStatus.ACTIVE
        targets[s] = previous.target if keep else 0.0
        scale[s] = previous.scale if keep else 0.0
        if not keep:
            cash["cash_pauses"] += previous.target
    invested = sum(targets.values())
    why = f"no rebalance trigger: the targets set on {state.last_rebalance} hold ({invested:.1%} invested)"
    return TargetDecision(False, [], targets, scale, cash, state.exposure, AllocationStatus.HELD, why)


def _selection(rules: SolutionRules, strategies: Mapping[str, StrategyState], inputs: DayInputs) -> list[str]:
    """Strategies with a slot: active ones and paused ones still selected, with moments."""
    return [
        s
        for s, st in strategies.items()
        if st.status in HAS_SLOT
        and st.tier != Tier.NONE
        and s in inputs.expected_return
        and inputs.column(s) is not None
    ]


def _all_cash(
    triggers: list[str],
    strategies: Mapping[str, StrategyState],
    exposure: float,
    status: AllocationStatus,
    message: str,
    moments=None,
) -> TargetDecision:
    """A rebalance that could not allocate: every target 0, the exposure in ``cash_other``."""
    zero = {s: 0.0 for s in strategies}
    cash = {"cash_pauses": 0.0, "cash_risk": 0.0, "cash_other": exposure}
    return TargetDecision(True, triggers, zero, dict(zero), cash, exposure, status, message, moments=moments)


def allocate_targets(
    rules: SolutionRules,
    inputs: DayInputs,
    strategies: Mapping[str, StrategyState],
    book: Book,
    exposure: float,
    triggers: list[str],
    optimizer: Optimizer | None,
) -> TargetDecision:
    """The targets of a rebalance (stage 4 before the risk overlay): select from the alpha
    pool, estimate the covariance of the last ``COVARIANCE_WINDOW`` complete rows, allocate
    ``min(exposure, capacity, leverage limit)`` by the rules' policy, then scale each
    active strategy by its ramp, tier and bet size. The month-end search's fast path calls
    this on a simulated path's day so its books are the step's."""
    ids = _selection(rules, strategies, inputs)
    if not ids:
        why = "no strategy selected from the alpha pool: all cash"
        return _all_cash(triggers, strategies, exposure, AllocationStatus.NO_STRATEGIES, why)
    X = inputs.complete_rows(ids, COVARIANCE_WINDOW)
    if X.shape[0] < max(MIN_COVARIANCE_ROWS, 2):
        why = f"only {X.shape[0]} days where all of {len(ids)} selected strategies report: all cash"
        return _all_cash(triggers, strategies, exposure, AllocationStatus.INSUFFICIENT_HISTORY, why)
    covariance = ledoit_wolf_covariance(X)
    investable = min(exposure, _capacity(rules, ids, inputs), rules.leverage_limit)
    allocation, status, message = _allocate(rules, inputs, ids, covariance, book, strategies, investable, optimizer)
    if allocation is None:
        return _all_cash(triggers, strategies, exposure, status, message, moments=(ids, _mu(inputs, ids), covariance))
    targets, scale, cash_pauses, scaled_out = {}, {}, 0.0, 0.0
    for s in strategies:
        w = allocation.weights.get(s, 0.0)
        active = strategies[s].status == StrategyStatus.ACTIVE
        ramp = strategies[s].ramp_factor(rules.ramp_days) if active else 0.0
        size = rules.tier_scale(strategies[s].tier) * rules.bet_scale(inputs.p_profitable.get(s))
        targets[s], scale[s] = w * ramp * size, ramp * size
        cash_pauses += w - w * ramp
        scaled_out += w * ramp * (1.0 - size)
    invested = sum(allocation.weights.values())
    cash = {"cash_pauses": cash_pauses, "cash_risk": 0.0, "cash_other": exposure - invested + scaled_out}
    return TargetDecision(
        True,
        triggers,
        targets,
        scale,
        cash,
        exposure,
        status,
        message,
        allocation=allocation.details,
        moments=(ids, _mu(inputs, ids), covariance),
    )


def _mu(inputs: DayInputs, ids: list[str]) -> np.ndarray:
    return np.array([inputs.expected_return[s] for s in ids])


def _capacity(rules: SolutionRules, ids: list[str], inputs: DayInputs) -> float:
    """Most the bounds allow to invest: ``sum over sectors of min(cap_s, n_s x max_weight)``."""
    counts: dict[str, int] = {}
    for s in ids:
        sector = inputs.sector_of(s)
        counts[sector] = counts.get(sector, 0) + 1
    return float(sum(min(rules.sector_limits.get(k, math.inf), n * rules.max_weight) for k, n in counts.items()))


def _allocate(
    rules: SolutionRules,
    inputs: DayInputs,
    ids: list[str],
    covariance: np.ndarray,
    book: Book,
    strategies: Mapping[str, StrategyState],
    investable: float,
    optimizer: Optimizer | None,
) -> tuple[Allocation | None, str, str]:
    """(allocation or None, status, message); the turnover limit is relaxed, and said so,
    when no book within it exists (forced exits are already outside it)."""
    policy = allocation_policy(rules.policy_kind)
    previous = {s: book.held.get(s, 0.0) for s in ids if strategies[s].status == StrategyStatus.ACTIVE}
    base = dict(
        strategy_ids=tuple(ids),
        sectors=tuple(inputs.sector_of(s) for s in ids),
        expected_return=_mu(inputs, ids),
        expected_return_sd=np.array([inputs.expected_return_sd.get(s, 0.0) for s in ids]),
        covariance=covariance,
        sharpe=np.array([inputs.sharpe.get(s, 0.0) for s in ids]),
        scenarios=inputs.scenarios(ids) if inputs.scenarios and policy.needs(PolicyInput.SCENARIOS) else None,
        previous_weights=previous,
        min_weight=min(rules.min_weight, investable / len(ids)),
        max_weight=rules.max_weight,
        sector_limits={k: v for k, v in rules.sector_limits.items()},
        leverage_limit=rules.leverage_limit,
        target_exposure=investable,
    )
    params = dict(rules.policy_params)
    if policy.needs(PolicyInput.OPTIMIZER):
        params["optimizer"] = optimizer
    try:
        allocation = allocate(
            AllocationInputs(turnover_limit=rules.turnover_limit, **base), rules.policy_kind, **params
        )
        return allocation, AllocationStatus.OPTIMAL, ""
    except InfeasibleRequestError as error:
        if rules.turnover_limit is None:
            return None, AllocationStatus.INFEASIBLE, f"allocation impossible, all cash: {error}"
        first = str(error)
    try:
        allocation = allocate(AllocationInputs(turnover_limit=None, **base), rules.policy_kind, **params)
    except InfeasibleRequestError as error:
        return None, AllocationStatus.INFEASIBLE, f"allocation impossible, all cash: {error}"
    return allocation, AllocationStatus.TURNOVER_RELAXED, f"turnover limit {rules.turnover_limit} relaxed: {first}"


def _apply_risk(decision: TargetDecision, breaches: list[Breach], book: Book, inputs: DayInputs) -> TargetDecision:
    """Risk actions scale the targets; with a high or critical violation open no target
    exceeds its held weight (no new risk). What they remove is ``cash_risk``."""
    actionable = [b for b in breaches if b.action == RiskAction.REDUCE_PROPORTIONALLY]
    before = sum(decision.targets.values())
    targets = reduce_to_limits(decision.targets, actionable, inputs.positions) if actionable else dict(decision.targets)
    if blocks_new_risk(breaches):
        targets = {s: min(t, max(book.held.get(s, 0.0), 0.0)) for s, t in targets.items()}
    removed = before - sum(targets.values())
    scale = {
        s: decision.scale[s] * (targets[s] / decision.targets[s]) if decision.targets[s] > 0 else decision.scale[s]
        for s in targets
    }
    cash = dict(decision.cash)
    cash["cash_risk"] += removed
    return replace(decision, targets=targets, scale=scale, cash=cash)


ALLOCATION_FAILED = (AllocationStatus.INSUFFICIENT_HISTORY, AllocationStatus.INFEASIBLE)


def still_awaiting(decision: TargetDecision, state: SolutionState) -> bool:
    """Whether the book waits for an allocation that failed (retried every day until it works)."""
    if decision.status in ALLOCATION_FAILED:
        return True
    return state.awaiting_allocation and not decision.rebalanced
