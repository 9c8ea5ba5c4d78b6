"""The solution level: one business day of one solution, as a pure step S_t -> S_{t+1}.

A solution (a portfolio of strategies, ``config/solutions.yaml``) carries its state from
day to day: the weights it held at yesterday's close and the targets in force, each
strategy's status (active, paused, stopped, out_of_pool) with pause days left, re-entry
ramp and pause count, the AUM and its peaks, the costs of yesterday's trades still to be
paid, and its open risk violations. ``step`` takes that state and the day's exogenous
information (``DayInputs``: returns, the alpha pool, posterior moments, monthly valleys,
market regime, positions) and returns the next state and the day's record (the rows of
the six ``portfolio.*`` tables). The Dagster multi-asset and the month-end policy search
both call it; it does no I/O.

One day, in order:

1. **Mark to market.** With yesterday's closing weights ``w_i`` and today's returns
   ``r_i`` (an unobserved return counts as 0), ``R = sum_i w_i r_i`` and
   ``AUM_t = AUM_{t-1} (1 + R) - costs - fees + flows``, where ``costs`` is the simulated
   cost of yesterday's trades (fees and flows are 0 at this level). The held weights drift:
   ``h_i = w_i AUM_{t-1} (1 + r_i) / AUM_t``.
2. **Manage strategies.** Selection is the alpha pool through the solution's filters. A
   paused strategy counts its pause down and re-enters along a ramp (target scaled by
   ``k / ramp_days`` on the k-th day back). An active strategy whose P&L since the later
   of the month's start and its last re-entry falls below its monthly valley is paused for
   ``pause_days``; it is stopped (off the list until a manual ``reinstate``) when that P&L
   falls below ``stop_valley_multiple`` x the valley, or when the pause would be its
   ``max_pauses``-th since it entered.
3. **Risk.** ``twin_model.portfolio.evaluate_risk`` on the held book; breaches open, continue
   or resolve violations. A strategy breach whose action is ``pause_strategy`` pauses it;
   ``liquidate`` (drawdown stop) sends the book to cash for ``cooldown_days`` and resets
   the drawdown reference (``risk_peak``) to the AUM at the stop: the recovery rule.
4. **Targets.** Rebalance on launch, the first business day of a month (``monthly``),
   drift ``max_i |h_i - target_i| > drift_threshold``, a new (or worse) breach whose
   action is not an alert, a change of the
   selection (pool entry or exit, a stop, a ramp step), the end of a cooldown, or a
   manual override, or while an allocation that failed (too little history, infeasible)
   awaits a retry; otherwise hold the targets. A rebalance allocates by the solution's
   policy over the selected strategies and the paused ones still in the pool (a paused
   strategy's slot stays in cash), then scales ramping strategies, then applies the risk
   actions (``reduce_to_limits``) and, while a high or critical violation is open, caps
   every target at its held weight (no new risk). Paused, stopped and out-of-pool
   strategies get a zero target at once (a forced exit, exempt from the turnover limit).
5. **Orders.** Trades ``target - held`` (all of them on a rebalance, only forced exits
   otherwise), costed by ``twin_model.portfolio.CostModel``; the simulated cost is paid
   from the next business day's AUM.

Cash accounting of the targets: ``sum_i target_i = exposure - cash_pauses - cash_risk -
cash_other`` where ``exposure = target_exposure x risk_scale`` (the regime scale when the
solution uses it), ``cash_pauses`` is what pauses and ramps hold back, ``cash_risk`` what
risk actions removed and ``cash_other`` the rest (no strategy selected, capacity of the
bounds, a policy that leaves cash such as fractional Kelly, an infeasible allocation).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from twin_model.calendar import next_business_day
from twin_model.conventions import (
    PERIODS_PER_YEAR,
    AllocationStatus,
    ManualActionKind,
    OrderReason,
    RebalanceTrigger,
    RiskAction,
    Severity,
    StrategyStatus,
    Tier,
    ViolationStatus,
)
from twin_model.optimize import InfeasibleRequestError, Optimizer, ledoit_wolf_covariance
from twin_model.portfolio import (
    Allocation,
    AllocationInputs,
    Breach,
    CostModel,
    PolicyInput,
    RiskLimits,
    allocate,
    allocation_policy,
    blocks_new_risk,
    diversification_ratio,
    evaluate_risk,
    reduce_to_limits,
)
from twin_model.solution_state import (
    DayInputs,
    DayRecord,
    ManualAction,
    SolutionRules,
    SolutionState,
    StrategyState,
    Violation,
    violation_key,
)

COVARIANCE_WINDOW = 252
"""Trailing rows (all selected strategies observed) behind the allocation covariance."""
MIN_COVARIANCE_ROWS = 21
RISK_WINDOW = 63
"""Trailing rows behind the reported volatility, diversification ratio and risk contributions."""
MIN_TRADE = 1e-9
"""Weight changes smaller than this are not traded."""

_HAS_SLOT = (StrategyStatus.ACTIVE, StrategyStatus.PAUSED)
"""Statuses that keep a strategy on the solution's list (a paused one keeps its slot in cash)."""

# --------------------------------------------------------------------------- the step


def step(
    rules: SolutionRules,
    state: SolutionState,
    inputs: DayInputs,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
) -> tuple[SolutionState, DayRecord]:
    """One business day of one solution: (S_t, W_{t+1}) -> (S_{t+1}, the day's rows)."""
    day = inputs.day
    if day < rules.launch_date:
        raise ValueError(f"solution {rules.solution_id}: {day} is before its launch date {rules.launch_date}")
    if state.day is not None and state.day >= day:
        raise ValueError(f"solution {rules.solution_id}: state of {state.day} cannot step to {day}")
    book = _mark_to_market(rules, state, inputs)
    strategies, events = _manage(rules, state, inputs, book.held)
    breaches = evaluate_risk(
        rules.solution_id,
        {s: h for s, h in book.held.items() if h != 0},
        inputs.history,
        inputs.strategy_ids,
        book.aum / state.risk_peak - 1.0,
        limits,
        inputs.positions,
    )
    strategies, events = _pause_on_breaches(rules, strategies, breaches, day, events)
    violation_rows, open_violations = _track_violations(rules.solution_id, state.violations, breaches, day)
    risk_peak, cooldown = _recovery(rules, state, breaches, book.aum)
    decision = _decide(rules, state, inputs, strategies, book, breaches, events, cooldown, optimizer)
    orders, close = _orders(rules, inputs, book, strategies, decision, costs)

    strategies = {
        s: replace(st, weight=close.get(s, 0.0), target=decision.targets.get(s, 0.0), scale=decision.scale.get(s, 0.0))
        for s, st in strategies.items()
    }
    pending = float(sum(o["simulated_cost"] for o in orders))
    aum_peak = max(state.aum_peak, book.aum)
    new_state = SolutionState(
        day=day,
        aum=book.aum,
        aum_peak=aum_peak,
        risk_peak=max(risk_peak, book.aum),
        pending_costs=pending,
        cooldown_days_left=cooldown,
        last_rebalance=day if decision.rebalanced else state.last_rebalance,
        awaiting_allocation=_awaiting(decision, state),
        exposure=decision.exposure,
        cash=decision.cash,
        strategies=strategies,
        violations=open_violations,
    )
    record = DayRecord(
        weights=_weight_rows(rules, inputs, state, book, strategies),
        optimization=_optimization_row(rules, inputs, state, decision, len(strategies), len(open_violations)),
        performance=_performance_row(rules, inputs, new_state, book, strategies, decision),
        attribution=_attribution_rows(rules, inputs, state, book, close),
        violations=violation_rows,
        orders=orders,
    )
    return new_state, record


# --------------------------------------------------------------------------- 1. mark to market


@dataclass(frozen=True)
class _Book:
    cold_start: bool
    aum_start: float
    daily_return: float
    costs: float
    aum: float
    held: dict[str, float]
    returns: dict[str, float]


def _mark_to_market(rules: SolutionRules, state: SolutionState, inputs: DayInputs) -> _Book:
    """``AUM_t = AUM_{t-1}(1 + sum w_i r_i) - costs``; held weights drift with their returns."""
    returns = inputs.returns_today()
    if state.day is None:
        return _Book(True, state.aum, 0.0, 0.0, state.aum, {}, returns)
    weights = {s: st.weight for s, st in state.strategies.items()}
    daily = float(sum(w * returns.get(s, 0.0) for s, w in weights.items()))
    aum = state.aum * (1.0 + daily) - state.pending_costs
    if not aum > 0:
        raise ValueError(
            f"solution {rules.solution_id} on {inputs.day}: AUM would fall to {aum:.2f} "
            f"(return {daily:.4%} on {state.aum:.2f}, costs {state.pending_costs:.2f}); the book is wiped out"
        )
    held = {s: w * state.aum * (1.0 + returns.get(s, 0.0)) / aum for s, w in weights.items()}
    return _Book(False, state.aum, daily, state.pending_costs, aum, held, returns)


# --------------------------------------------------------------------------- 2. manage


def _universe(rules: SolutionRules, state: SolutionState, inputs: DayInputs) -> list[str]:
    """Strategies the solution looks at today: the pool's strategies through the filters,
    plus any it still holds or has on its stop list."""
    known = set(inputs.in_pool) | set(state.strategies)
    passing = {
        s for s in known
        if rules.selects(inputs.sector_of(s), inputs.asset_class_of(s))
    }
    holding = {s for s, st in state.strategies.items() if st.weight != 0 or st.target != 0}
    return sorted(passing | holding)


def _manage(
    rules: SolutionRules, state: SolutionState, inputs: DayInputs, held: Mapping[str, float]
) -> tuple[dict[str, StrategyState], set[str]]:
    """Each strategy's status after today's pool, pause, ramp, stop and manual rules.

    Returns the states and the events that call for a rebalance (pool change, ramp).
    """
    day, events = inputs.day, set()
    manual = rules.manual_on(day)
    month_start = day.replace(day=1)
    out: dict[str, StrategyState] = {}
    for s in _universe(rules, state, inputs):
        st = state.strategies.get(s, StrategyState())
        had_slot = st.status == StrategyStatus.PAUSED and st.tier != Tier.NONE
        st = replace(st, tier=rules.tier(inputs, s, on_list=st.status in _HAS_SLOT))
        selected = st.tier != Tier.NONE
        if had_slot and not selected:
            events.add(RebalanceTrigger.POOL_CHANGE)  # its reserved slot can go to the others
        st = _manual(st, [m for m in manual if m.strategy_id == s], events)
        if st.status == StrategyStatus.STOPPED:
            out[s] = st
            continue
        st = _advance_pause_and_ramp(st, rules, selected, day, events)
        st = _selection_change(st, selected, day, events)
        if st.status == StrategyStatus.ACTIVE:
            st = _valley_rule(st, rules, inputs, s, month_start, events)
        out[s] = st
    return out, events


def _manual(st: StrategyState, actions: list[ManualAction], events: set[str]) -> StrategyState:
    for m in actions:
        if m.action == ManualActionKind.STOP and st.status != StrategyStatus.STOPPED:
            st = replace(
                st, status=StrategyStatus.STOPPED, pause_days_left=0, ramp_day=0, reason=f"manual stop on {m.date}"
            )
            events.add(RebalanceTrigger.POOL_CHANGE)
        elif m.action == ManualActionKind.REINSTATE and st.status == StrategyStatus.STOPPED:
            st = replace(st, status=StrategyStatus.OUT_OF_POOL, pause_count=0, reason=f"manual reinstate on {m.date}")
    return st


def _advance_pause_and_ramp(st: StrategyState, rules: SolutionRules, selected: bool, day: dt.date, events: set[str]) -> StrategyState:
    if st.status == StrategyStatus.PAUSED:
        left = st.pause_days_left - 1
        if left > 0:
            return replace(st, pause_days_left=left)
        if not selected:
            return replace(st, status=StrategyStatus.OUT_OF_POOL, pause_days_left=0, ramp_day=0,
                           reason=f"pause over on {day}, no longer selected")
        events.add(RebalanceTrigger.RAMP)
        return replace(
            st, status=StrategyStatus.ACTIVE, pause_days_left=0, ramp_day=1 if rules.ramp_days > 0 else 0,
            watch_from=next_business_day(day), reason=f"pause over on {day}: re-entering over {rules.ramp_days} days",
        )
    if st.ramp_day >= rules.ramp_days:
        return replace(st, ramp_day=0)  # the last ramp day already had full weight
    if st.ramp_day:
        events.add(RebalanceTrigger.RAMP)
        return replace(st, ramp_day=st.ramp_day + 1)
    return st


def _selection_change(st: StrategyState, selected: bool, day: dt.date, events: set[str]) -> StrategyState:
    if st.status == StrategyStatus.ACTIVE and not selected:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return replace(st, status=StrategyStatus.OUT_OF_POOL, ramp_day=0,
                       reason=f"left the alpha pool (or incubation, or the filters) on {day}")
    if st.status == StrategyStatus.OUT_OF_POOL and selected:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return replace(st, status=StrategyStatus.ACTIVE, pause_count=0, watch_from=next_business_day(day),
                       reason=f"selected on {day}")
    return st


def _valley_rule(
    st: StrategyState, rules: SolutionRules, inputs: DayInputs, s: str, month_start: dt.date, events: set[str]
) -> StrategyState:
    """Pause below the monthly valley, stop below ``stop_valley_multiple`` x valley or on the
    ``max_pauses``-th pause. P&L counts from the later of the month's start and re-entry."""
    valley = inputs.valley.get(s)
    if valley is None or not valley < 0:
        return st
    start = max(month_start, st.watch_from) if st.watch_from else month_start
    pnl = inputs.pnl_since(s, start)
    if pnl >= valley:
        return st
    what = f"P&L {pnl:.4%} since {start} below the monthly valley {valley:.4%}"
    if pnl < rules.stop_valley_multiple * valley:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return _stopped(st, f"stopped on {inputs.day}: {what} x {rules.stop_valley_multiple:g}")
    return _paused(st, rules, inputs.day, what, events)


def _paused(st: StrategyState, rules: SolutionRules, day: dt.date, why: str, events: set[str]) -> StrategyState:
    count = st.pause_count + 1
    if count >= rules.max_pauses:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return _stopped(replace(st, pause_count=count), f"stopped on {day}: pause {count} of {rules.max_pauses} ({why})")
    return replace(st, status=StrategyStatus.PAUSED, pause_days_left=rules.pause_days, ramp_day=0, pause_count=count,
                   reason=f"paused on {day} for {rules.pause_days} days: {why}")


def _stopped(st: StrategyState, why: str) -> StrategyState:
    return replace(st, status=StrategyStatus.STOPPED, pause_days_left=0, ramp_day=0, reason=why)


# --------------------------------------------------------------------------- 3. risk


def _pause_on_breaches(
    rules: SolutionRules, strategies: dict[str, StrategyState], breaches: list[Breach], day: dt.date, events: set[str]
) -> tuple[dict[str, StrategyState], set[str]]:
    out = dict(strategies)
    for b in breaches:
        pausable = b.subject in out and out[b.subject].status == StrategyStatus.ACTIVE
        if b.action == RiskAction.PAUSE_STRATEGY and pausable:
            out[b.subject] = _paused(out[b.subject], rules, day, f"risk: {b.rule} {b.severity}", events)
    return out, events


def _track_violations(
    solution_id: str, previous: Mapping[tuple[str, str, str], Violation], breaches: list[Breach], day: dt.date
) -> tuple[list[dict], dict[tuple[str, str, str], Violation]]:
    """Rows for every violation open today or resolved today, and the ones still open."""
    open_now = {}
    for b in breaches:
        key = violation_key(b)
        open_now[key] = Violation(b, previous[key].opened if key in previous else day)
    rows = [_violation_row(solution_id, day, v, ViolationStatus.OPEN, None) for v in open_now.values()]
    rows += [
        _violation_row(solution_id, day, v, ViolationStatus.RESOLVED, day)
        for k, v in sorted(previous.items())
        if k not in open_now
    ]
    return rows, open_now


def _violation_row(
    solution_id: str, day: dt.date, v: Violation, status: ViolationStatus, resolved: dt.date | None
) -> dict:
    b = v.breach
    return {
        "date": day, "solution_id": solution_id, "level": b.level, "rule": b.rule, "subject": b.subject,
        "severity": b.severity, "action": b.action, "value": b.value, "limit_value": b.limit,
        "status": status, "opened_date": v.opened, "resolved_date": resolved, "message": b.message,
    }


def _recovery(rules: SolutionRules, state: SolutionState, breaches: list[Breach], aum: float) -> tuple[float, int]:
    """(drawdown reference, cooldown days left): a liquidation resets the reference to the
    AUM at the stop and keeps the book in cash for ``cooldown_days``."""
    if any(b.action == RiskAction.LIQUIDATE for b in breaches):
        return aum, rules.cooldown_days
    return state.risk_peak, max(0, state.cooldown_days_left - 1)


# --------------------------------------------------------------------------- 4. targets


@dataclass
class _Decision:
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


def _triggers(rules: SolutionRules, state: SolutionState, inputs: DayInputs, strategies: Mapping[str, StrategyState],
              book: _Book, breaches: list[Breach], events: set[str], cooldown: int) -> list[str]:
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


def _decide(
    rules: SolutionRules, state: SolutionState, inputs: DayInputs, strategies: dict[str, StrategyState], book: _Book,
    breaches: list[Breach], events: set[str], cooldown: int, optimizer: Optimizer | None,
) -> _Decision:
    triggers = _triggers(rules, state, inputs, strategies, book, breaches, events, cooldown)
    exposure = rules.target_exposure * (inputs.risk_scale if rules.use_market_regime else 1.0)
    if cooldown > 0:
        targets = {s: 0.0 for s in strategies}
        return _Decision(bool(triggers) or any(book.held.values()), triggers, targets, {s: 0.0 for s in strategies},
                         {"cash_pauses": 0.0, "cash_risk": exposure, "cash_other": 0.0}, exposure, AllocationStatus.COOLDOWN,
                         f"in cash after a drawdown stop: {cooldown} business days of cooldown left")
    if not triggers:
        return _hold(state, strategies)
    decision = _rebalance(rules, inputs, strategies, book, exposure, triggers, optimizer)
    return _apply_risk(decision, breaches, book, inputs)


def _hold(state: SolutionState, strategies: Mapping[str, StrategyState]) -> _Decision:
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
    return _Decision(False, [], targets, scale, cash, state.exposure, AllocationStatus.HELD, why)


def _selection(rules: SolutionRules, strategies: Mapping[str, StrategyState], inputs: DayInputs) -> list[str]:
    """Strategies with a slot: active ones and paused ones still selected, with moments."""
    return [
        s for s, st in strategies.items()
        if st.status in _HAS_SLOT
        and st.tier != Tier.NONE
        and s in inputs.expected_return
        and inputs.column(s) is not None
    ]


def _all_cash(triggers: list[str], strategies: Mapping[str, StrategyState], exposure: float, status: AllocationStatus,
              message: str, moments=None) -> _Decision:
    """A rebalance that could not allocate: every target 0, the exposure in ``cash_other``."""
    zero = {s: 0.0 for s in strategies}
    cash = {"cash_pauses": 0.0, "cash_risk": 0.0, "cash_other": exposure}
    return _Decision(True, triggers, zero, dict(zero), cash, exposure, status, message, moments=moments)


def _rebalance(
    rules: SolutionRules, inputs: DayInputs, strategies: Mapping[str, StrategyState], book: _Book,
    exposure: float, triggers: list[str], optimizer: Optimizer | None,
) -> _Decision:
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
    targets, scale, cash_pauses, incubation_cash = {}, {}, 0.0, 0.0
    for s in strategies:
        w = allocation.weights.get(s, 0.0)
        active = strategies[s].status == StrategyStatus.ACTIVE
        ramp = strategies[s].ramp_factor(rules.ramp_days) if active else 0.0
        size = rules.tier_scale(strategies[s].tier)
        targets[s], scale[s] = w * ramp * size, ramp * size
        cash_pauses += w - w * ramp
        incubation_cash += w * ramp * (1.0 - size)
    invested = sum(allocation.weights.values())
    cash = {"cash_pauses": cash_pauses, "cash_risk": 0.0, "cash_other": exposure - invested + incubation_cash}
    return _Decision(True, triggers, targets, scale, cash, exposure, status, message,
                     allocation=allocation.details, moments=(ids, _mu(inputs, ids), covariance))


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
    rules: SolutionRules, inputs: DayInputs, ids: list[str], covariance: np.ndarray, book: _Book,
    strategies: Mapping[str, StrategyState], investable: float, optimizer: Optimizer | None,
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
        allocation = allocate(AllocationInputs(turnover_limit=rules.turnover_limit, **base), rules.policy_kind, **params)
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


def _apply_risk(decision: _Decision, breaches: list[Breach], book: _Book, inputs: DayInputs) -> _Decision:
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


# --------------------------------------------------------------------------- 5. orders


def _orders(
    rules: SolutionRules, inputs: DayInputs, book: _Book, strategies: Mapping[str, StrategyState], decision: _Decision, costs: CostModel,
) -> tuple[list[dict], dict[str, float]]:
    """Trades from held to target (every strategy on a rebalance, forced exits otherwise),
    their estimated and simulated costs, and the weights at the close after them."""
    close, trades = dict(book.held), []
    for s, st in strategies.items():
        held, target = book.held.get(s, 0.0), decision.targets.get(s, 0.0)
        forced = st.status != StrategyStatus.ACTIVE and held != 0
        if abs(target - held) > MIN_TRADE and (decision.rebalanced or forced):
            reason = OrderReason.FORCED_EXIT if forced else _trade_reason(decision)
            trades.append((s, held, target, reason))
            close[s] = target
    values = np.array([(t - h) * book.aum for _, h, t, _ in trades])
    estimated = costs.estimate(values) if trades else np.array([])
    simulated = costs.execute(values, inputs.day, rules.solution_id) if trades else np.array([])
    rows = [
        {
            "date": inputs.day, "solution_id": rules.solution_id, "strategy_id": s, "weight_held": h,
            "weight_target": t, "trade_weight": t - h, "trade_value": float(v), "reason": r,
            "estimated_cost": float(e), "simulated_cost": float(c),
            "slippage": float(c - e),
        }
        for (s, h, t, r), v, e, c in zip(trades, values, estimated, simulated)
    ]
    return rows, {s: close.get(s, 0.0) for s in strategies}


# --------------------------------------------------------------------------- rows


def _weight_rows(
    rules: SolutionRules, inputs: DayInputs, state: SolutionState, book: _Book, strategies: Mapping[str, StrategyState],
) -> list[dict]:
    rows = []
    for s, st in strategies.items():
        valley = inputs.valley.get(s)
        start = max(inputs.day.replace(day=1), st.watch_from) if st.watch_from else inputs.day.replace(day=1)
        rows.append({
            "date": inputs.day, "solution_id": rules.solution_id, "strategy_id": s, "status": st.status,
            "in_pool": bool(inputs.in_pool.get(s, False)), "tier": st.tier,
            "weight_start": state.strategies.get(s, StrategyState()).weight,
            "weight_held": book.held.get(s, 0.0), "weight_target": st.target, "weight_close": st.weight,
            "target_scale": st.scale, "pause_days_left": st.pause_days_left,
            "ramp_day": st.ramp_day, "pause_count": st.pause_count, "watch_from": st.watch_from,
            "pnl_watched": inputs.pnl_since(s, start), "monthly_valley": valley, "reason": st.reason,
        })
    return rows


def _portfolio_moments(targets: Mapping[str, float], moments) -> tuple[float | None, float | None]:
    if moments is None:
        return None, None
    ids, mu, cov = moments
    w = np.array([targets.get(s, 0.0) for s in ids])
    return float(w @ mu), float(math.sqrt(max(w @ cov @ w, 0.0)))


def _trade_reason(decision: _Decision) -> OrderReason:
    """Why a (not forced) trade is made: a liquidation in a cooldown, else a rebalance."""
    return OrderReason.LIQUIDATION if decision.status == AllocationStatus.COOLDOWN else OrderReason.REBALANCE


_FAILED = (AllocationStatus.INSUFFICIENT_HISTORY, AllocationStatus.INFEASIBLE)


def _awaiting(decision: _Decision, state: SolutionState) -> bool:
    """Whether the book waits for an allocation that failed (retried every day until it works)."""
    if decision.status in _FAILED:
        return True
    return state.awaiting_allocation and not decision.rebalanced


def _optimization_row(
    rules: SolutionRules, inputs: DayInputs, state: SolutionState, decision: _Decision, weight_rows: int, open_violations: int,
) -> dict:
    """Expected return, volatility and Sharpe recomputed from the final targets."""
    er, vol = _portfolio_moments(decision.targets, decision.moments)
    details = decision.allocation
    violations = _limit_violations(rules, inputs, decision.targets)
    return {
        "date": inputs.day, "solution_id": rules.solution_id, "policy": rules.policy_kind,
        "objective": details.get("objective", rules.policy_params.get("objective")),
        "method": details.get("method", rules.policy_params.get("method")),
        "rebalanced": decision.rebalanced, "triggers": ",".join(decision.triggers), "status": decision.status,
        "expected_return": er, "expected_volatility": vol,
        "sharpe_ratio": er / vol if er is not None and vol else None,
        "solver": details.get("solver"), "convergence_status": details.get("convergence_status"),
        "constraints_satisfied": not violations, "violations": "; ".join(violations),
        "n_strategies": sum(1 for t in decision.targets.values() if t > 0),
        "target_exposure": decision.exposure, **decision.cash, "awaiting_allocation": _awaiting(decision, state),
        "weight_rows": weight_rows, "open_violations": open_violations, "message": decision.message,
    }


def _limit_violations(rules: SolutionRules, inputs: DayInputs, targets: Mapping[str, float]) -> list[str]:
    """The solution's constraints re-checked on the final targets (tolerance 1e-7)."""
    tol, out = 1e-7, []
    for s, t in sorted(targets.items()):
        if t < -tol or t > rules.max_weight + tol:
            out.append(f"{s}: weight {t:.6g} outside [0, {rules.max_weight:g}]")
    sectors: dict[str, float] = {}
    for s, t in targets.items():
        sectors[inputs.sector_of(s)] = sectors.get(inputs.sector_of(s), 0.0) + t
    for k, cap in sorted(rules.sector_limits.items()):
        if sectors.get(k, 0.0) > cap + tol:
            out.append(f"sector {k}: {sectors[k]:.6g} above its limit {cap:g}")
    gross = sum(abs(t) for t in targets.values())
    if gross > rules.leverage_limit + tol:
        out.append(f"gross exposure {gross:.6g} above the leverage limit {rules.leverage_limit:g}")
    return out


def _risk_view(inputs: DayInputs, weights: Mapping[str, float]) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """(held ids, their weights, annualised covariance over the last 63 complete rows)."""
    ids = [s for s, w in weights.items() if w != 0 and inputs.column(s) is not None]
    if not ids:
        return None
    X = inputs.complete_rows(ids, RISK_WINDOW)
    if X.shape[0] < 2:
        return None
    cov = np.atleast_2d(np.cov(X, rowvar=False, ddof=1)) * PERIODS_PER_YEAR
    return ids, np.array([weights[s] for s in ids]), cov


def _performance_row(
    rules: SolutionRules, inputs: DayInputs, new: SolutionState, book: _Book, strategies: Mapping[str, StrategyState], decision: _Decision,
) -> dict:
    close = {s: st.weight for s, st in strategies.items()}
    view = _risk_view(inputs, close)
    vol = dr = None
    if view is not None:
        _, w, cov = view
        var = float(w @ cov @ w)
        vol = math.sqrt(max(var, 0.0))
        dr = diversification_ratio(w, cov) if vol > 0 else None
    statuses = [st.status for st in strategies.values()]
    net = sum(close.values())
    return {
        "date": inputs.day, "solution_id": rules.solution_id, "cold_start": book.cold_start,
        "aum_start": book.aum_start, "daily_return": book.daily_return, "costs": book.costs, "fees": 0.0,
        "flows": 0.0, "pnl": book.aum - book.aum_start, "aum": book.aum, "aum_peak": new.aum_peak,
        "drawdown": book.aum / new.aum_peak - 1.0, "risk_peak": new.risk_peak,
        "leverage": sum(abs(w) for w in close.values()), "net_exposure": net, "cash_weight": 1.0 - net,
        "volatility_63d": vol, "diversification_ratio": dr, "pending_costs": new.pending_costs,
        "cooldown_days_left": new.cooldown_days_left, "rebalanced": decision.rebalanced,
        "last_rebalance": new.last_rebalance,
        "n_active": sum(1 for s, st in strategies.items() if st.status == StrategyStatus.ACTIVE and close[s] != 0),
        "n_paused": statuses.count(StrategyStatus.PAUSED), "n_stopped": statuses.count(StrategyStatus.STOPPED),
    }


def _attribution_rows(
    rules: SolutionRules, inputs: DayInputs, state: SolutionState, book: _Book, close: Mapping[str, float],
) -> list[dict]:
    """Return contribution ``w_i r_i`` (sums to the day's return) and, for the closing
    book, marginal risk ``(Sigma w)_i / sigma_p`` and contribution ``w_i (Sigma w)_i / sigma_p``
    (annualised, summing to sigma_p), with its share of sigma_p."""
    start = {s: st.weight for s, st in state.strategies.items()}
    view = _risk_view(inputs, close)
    risk: dict[str, tuple[float, float, float]] = {}
    if view is not None:
        ids, w, cov = view
        sigma = math.sqrt(max(float(w @ cov @ w), 0.0))
        if sigma > 0:
            marginal = cov @ w / sigma
            risk = {s: (float(m), float(x * m), float(x * m / sigma)) for s, x, m in zip(ids, w, marginal)}
    rows = []
    for s in sorted(set(start) | set(close)):
        if start.get(s, 0.0) == 0 and close.get(s, 0.0) == 0:
            continue
        r = book.returns.get(s)
        m, rc, pct = risk.get(s, (None, None, None))
        rows.append({
            "date": inputs.day, "solution_id": rules.solution_id, "strategy_id": s,
            "weight_start": start.get(s, 0.0), "ret": r, "return_contribution": start.get(s, 0.0) * (r or 0.0),
            "weight_close": close.get(s, 0.0), "marginal_risk": m, "risk_contribution": rc, "risk_contribution_pct": pct,
        })
    return rows
