"""The vectorised evaluator: the solution step over every path at once, for the policies
where that is possible.

It steps ``[P, N]`` arrays (P paths, N strategies of the solution's universe) through the
same five stages as ``twin_model.solution``'s step, and must give the same net returns
(``tests/unit/twin/test_vectorised_evaluator.py`` checks it against the reference to
1e-9). It applies when ``vectorised_obstacles`` finds nothing in the way:

* the allocation policy uses nothing but the moments (``static``, ``performance``:
  ``AllocationPolicy.uses`` is empty): the moments are held over a simulated month, so
  a rebalance's weights depend only on which strategies hold a slot; they are computed
  once per distinct set by the step's own allocation stage and cached;
* the risk limits are ``inert_limits()``: no rule can fire, so stage 3 does nothing (the
  fast path does not model the risk overlay; a search under the firm's limits uses the
  reference evaluator);
* no manual action on the month's days, no cooldown or failed allocation pending, no
  open violation at the start; the base day lies in an earlier month than the first
  simulated day (a month-end search), the solution is launched by then, every strategy
  of its universe has a scenario column and at least ``MIN_COVARIANCE_ROWS`` complete
  history rows (so an allocation never fails for want of history).

Per day k and path p, in the step's order (w held weights, T targets, r the day's returns):

1. gross assets ``G' = G_{k-1} (1 + sum_i w_i r_i) + (1 - sum_i w_i) G_{k-1} c_k - costs_{k-1}``
   (``c_k`` the cash rate's ACT/365 accrual since the previous day), then the day's fees
   and flow by ``twin_model.firm.advance_fees`` on the paths' fee state (the same
   function the step calls, in its array form), ``h_i = w_i G_{k-1} (1 + r_i) / G_k``;
2. the pause countdown and re-entry ramp, selection changes, and the valley rule on the
   P&L since the later of the month's start and the re-entry, ``prod (1 + r) - 1``;
4. a rebalance on the month's first day (or the launch), on drift
   ``max |h_i - T_i| > drift_threshold`` over continuing strategies, on a pool change or
   ramp step: ``T_i = a_i(slots) x ramp_i x size_i``; otherwise active strategies keep
   ``T_i`` and the others go to 0;
5. trades ``T_i - h_i`` (all on a rebalance, forced exits otherwise) of the gross assets,
   costed by the same ``CostModel.execute`` call as the step, paid the next day.

A path's net return is ``(AUM_{t+H} - AUM_t - sum of flows) / AUM_t``, the reference's
sum of contributions over ``AUM_t``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

from twin_model.conventions import StrategyStatus, Tier
from twin_model.firm import NO_FEES, FeeDay, FeeState, FeeTerms, advance_fees
from twin_model.portfolio import (
    CostModel,
    PortfolioLimits,
    PositionLimits,
    RiskLimits,
    StrategyLimits,
    allocation_policy,
)
from twin_model.solution import DayInputs, SolutionRules, SolutionState, StrategyState
from twin_model.solution._book import Book
from twin_model.solution._orders import MIN_TRADE
from twin_model.solution._targets import MIN_COVARIANCE_ROWS, _rebalance
from twin_model.twin.search._month import SimulatedMonth

OUT, ACTIVE, PAUSED, STOPPED = 0, 1, 2, 3
_CODES = {
    StrategyStatus.OUT_OF_POOL: OUT,
    StrategyStatus.ACTIVE: ACTIVE,
    StrategyStatus.PAUSED: PAUSED,
    StrategyStatus.STOPPED: STOPPED,
}
_FAR = 1e9
_DEEP = -0.999999


def inert_limits() -> RiskLimits:
    """Risk limits no measure can cross (a drawdown or a daily loss cannot pass -99.9999%
    without leverage, a correlation cannot exceed 1, a long book's diversification ratio is
    at least 1): the risk stage of the step does nothing under them."""
    return RiskLimits(
        portfolio=PortfolioLimits(
            max_gross_leverage=_FAR,
            drawdown_stop=_DEEP,
            volatility_target=_FAR,
            max_pairwise_correlation=1.0,
            min_diversification_ratio=1.0,
            var_95=-_FAR,
            cvar_95=-_FAR,
            var_99=-_FAR,
            cvar_99=-_FAR,
        ),
        strategy=StrategyLimits(max_weight=1.0, drawdown_stop=_DEEP, max_volatility=_FAR),
        position=PositionLimits(max_net_exposure_per_ticker=_FAR),
    )


def universe(rules: SolutionRules, state: SolutionState, base: DayInputs) -> list[str]:
    """The strategies the step looks at on the month's first day (the pool's through the
    filters, plus any the solution holds); later days look at a subset of them."""
    known = set(base.in_pool) | set(state.strategies)
    passing = {s for s in known if rules.selects(base.sector_of(s), base.asset_class_of(s))}
    holding = {s for s, st in state.strategies.items() if st.weight != 0 or st.target != 0}
    return sorted(passing | holding)


def vectorised_obstacles(
    rules: SolutionRules, state: SolutionState, month: SimulatedMonth, limits: RiskLimits
) -> list[str]:
    """Why the vectorised evaluator cannot step this candidate (empty: it can)."""
    base, found = month.base, []
    if allocation_policy(rules.policy_kind).uses:
        found.append(f"policy {rules.policy_kind} uses {sorted(allocation_policy(rules.policy_kind).uses)}")
    if limits != inert_limits():
        found.append("risk limits are not inert_limits() (the fast path models no risk rule)")
    if any(rules.manual_on(day) for day in month.days):
        found.append("a manual action falls in the month")
    if state.cooldown_days_left or state.awaiting_allocation or state.violations:
        found.append("a cooldown, a failed allocation or an open violation is pending")
    if base.day.replace(day=1) == month.days[0].replace(day=1) or rules.launch_date > month.days[0]:
        found.append("the base day is not in an earlier month than the first day, or the solution is not launched")
    ids = universe(rules, state, base)
    missing = sorted(set(ids) - set(month.scenario_ids))
    if missing:
        found.append(f"strategies without a scenario column: {missing[:5]}")
    elif ids and base.complete_rows(ids, MIN_COVARIANCE_ROWS).shape[0] < MIN_COVARIANCE_ROWS:
        found.append(f"fewer than {MIN_COVARIANCE_ROWS} complete history rows")
    return found


_UNIT_BOOK = Book(
    cold_start=False,
    aum_start=1.0,
    gav_start=1.0,
    daily_return=0.0,
    cash_interest=0.0,
    costs=0.0,
    assets=1.0,
    aum=1.0,
    held={},
    returns={},
    fees=FeeState.launch(1.0),
    fee_day=FeeDay(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    unit_ratio=1.0,
)
"""A book holding nothing, for the allocation stage (which reads only the held weights)."""


class _Allocations:
    """The step's own allocation stage, once per distinct set of strategies with a slot:
    ``a_i x size_i`` (ramp factor 1), from the month's fixed moments."""

    def __init__(self, rules: SolutionRules, base: DayInputs, ids: list[str]):
        self.rules, self.base, self.ids = rules, base, ids
        self.exposure = rules.target_exposure * (base.risk_scale if rules.use_market_regime else 1.0)
        self.cache: dict[bytes, np.ndarray] = {}

    def __call__(self, slots: np.ndarray, tiers: np.ndarray) -> np.ndarray:
        key = slots.tobytes() + tiers.tobytes()
        if key not in self.cache:
            strategies = {
                s: StrategyState(status=StrategyStatus.ACTIVE, tier=_TIERS[t])
                for s, slot, t in zip(self.ids, slots, tiers)
                if slot
            }
            book = _UNIT_BOOK
            decision = _rebalance(self.rules, self.base, strategies, book, self.exposure, ["search"], None)
            self.cache[key] = np.array([decision.targets.get(s, 0.0) for s in self.ids])
        return self.cache[key]


_TIERS = (Tier.NONE, Tier.CORE, Tier.INCUBATION)


def _tier_codes(rules: SolutionRules, base: DayInputs, ids: list[str], on_list: bool) -> np.ndarray:
    return np.array([_TIERS.index(rules.tier(base, s, on_list=on_list)) for s in ids], dtype=np.int8)


def _initial(state: SolutionState, ids: list[str], field: str, code: Mapping | None = None) -> np.ndarray:
    values = [getattr(state.strategies.get(s, StrategyState()), field) for s in ids]
    return np.array([code[v] for v in values] if code else values)


class _Book:
    """Every path's solution state over the universe ``ids`` (arrays ``[P, N]`` or ``[P]``)."""

    def __init__(
        self, rules: SolutionRules, state: SolutionState, month: SimulatedMonth, n_paths: int, terms: FeeTerms
    ):
        base, ids = month.base, universe(rules, state, month.base)
        self.rules, self.ids, self.month, self.terms = rules, ids, month, terms
        shape = (n_paths, len(ids))
        self.cold = state.day is None
        self.fees = state.fees.on_paths(n_paths)
        self.flows = 0.0
        self.pending = np.full(n_paths, state.pending_costs)
        self.weight = np.broadcast_to(_initial(state, ids, "weight").astype(float), shape).copy()
        self.target = np.broadcast_to(_initial(state, ids, "target").astype(float), shape).copy()
        self.status = np.broadcast_to(_initial(state, ids, "status", _CODES).astype(np.int8), shape).copy()
        self.tier = np.broadcast_to(
            np.array([_TIERS.index(state.strategies.get(s, StrategyState()).tier) for s in ids], dtype=np.int8), shape
        ).copy()
        self.pause_left = np.broadcast_to(_initial(state, ids, "pause_days_left"), shape).copy()
        self.ramp = np.broadcast_to(_initial(state, ids, "ramp_day"), shape).copy()
        self.pauses = np.broadcast_to(_initial(state, ids, "pause_count"), shape).copy()
        self.growth = np.ones(shape)
        self.known = np.broadcast_to(np.array([s in state.strategies for s in ids]), shape).copy()
        self.tier_on, self.tier_off = _tier_codes(rules, base, ids, True), _tier_codes(rules, base, ids, False)
        self.valley = np.array([_valley(month.valley.get(s)) for s in ids])
        self.has_moments = np.array([s in base.expected_return and base.column(s) is not None for s in ids])
        self.size = (
            np.array([[rules.tier_scale(t) for t in _TIERS]])
            * np.array([rules.bet_scale(base.p_profitable.get(s)) for s in ids])[:, None]
        )  # [N, tier]
        self.allocations = _Allocations(rules, base, ids)
        self.columns = np.array([month.scenario_ids.index(s) for s in ids], dtype=int)


def _valley(v: float | None) -> float:
    """A usable valley (< 0) or NaN (no valley rule)."""
    return float(v) if v is not None and v < 0 else np.nan


def _mark_to_market(b: _Book, r: np.ndarray, day: dt.date, previous: dt.date | None) -> np.ndarray:
    """Stage 1: the gross assets after the day's returns, the cash interest and
    yesterday's costs, then the day's fees and flow; the held weights."""
    flow = b.rules.flows.get(day, 0.0)
    b.flows += flow
    if previous is None:
        b.fees, _ = advance_fees(b.terms, b.fees, day, 0.0, flow)
        return np.zeros_like(b.weight)
    start = b.fees.assets
    interest = (1.0 - b.weight.sum(axis=1)) * start * b.terms.cash_rate.accrual(previous, day)
    gross = start * (1.0 + (b.weight * r).sum(axis=1)) + interest - b.pending
    b.fees, _ = advance_fees(b.terms, b.fees, day, gross / start - 1.0, flow)
    return b.weight * start[:, None] * (1.0 + r) / b.fees.assets[:, None]


def _advance(b: _Book, status: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2a: pauses count down and end (re-entry or exit), ramps step; the RAMP events."""
    rules, ramp = b.rules, b.ramp.copy()
    paused = status == PAUSED
    left = b.pause_left - 1
    over = paused & (left <= 0)
    b.pause_left = np.where(paused & (left > 0), left, np.where(over, 0, b.pause_left))
    reenter, gone = over & selected, over & ~selected
    status = np.where(gone, OUT, np.where(reenter, ACTIVE, status)).astype(np.int8)
    moving = ~paused & (status != STOPPED) & (ramp > 0) & (ramp < rules.ramp_days)
    b.ramp = np.where(gone | (~paused & (ramp >= rules.ramp_days)), 0, ramp + moving)
    b.ramp[reenter] = 1 if rules.ramp_days > 0 else 0
    b.growth[reenter] = 1.0
    return status, reenter | moving


def _valley_rule(b: _Book, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2c: pause below the valley, stop below ``stop_valley_multiple`` x it or on the
    ``max_pauses``-th pause; the stops are pool events."""
    rules, pnl = b.rules, b.growth - 1.0
    with np.errstate(invalid="ignore"):
        breach = (status == ACTIVE) & (pnl < b.valley)
        deep = breach & (pnl < rules.stop_valley_multiple * b.valley)
    rest = breach & ~deep
    b.pauses = np.where(rest, b.pauses + 1, b.pauses)
    stop = deep | (rest & (b.pauses >= rules.max_pauses))
    pause = rest & ~stop
    status = np.where(stop, STOPPED, np.where(pause, PAUSED, status)).astype(np.int8)
    b.pause_left = np.where(stop, 0, np.where(pause, rules.pause_days, b.pause_left))
    b.ramp = np.where(breach, 0, b.ramp)
    return status, stop


def _manage(b: _Book, r: np.ndarray, restart: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: each strategy's status after the day; whether an event calls for a rebalance."""
    if restart:
        b.growth[:] = 1.0
    b.growth *= 1.0 + r
    status = b.status
    on_list = (status == ACTIVE) | (status == PAUSED)
    tier = np.where(on_list, b.tier_on, b.tier_off).astype(np.int8)
    selected = tier != 0
    pool = (status == PAUSED) & (b.tier != 0) & ~selected
    b.tier = tier
    status, ramp_events = _advance(b, status, selected)
    leave = (status == ACTIVE) & ~selected
    enter = (status == OUT) & selected
    status = np.where(leave, OUT, np.where(enter, ACTIVE, status)).astype(np.int8)
    b.ramp[leave] = 0
    b.pauses[enter] = 0
    b.growth[enter] = 1.0
    status, stops = _valley_rule(b, status)
    return status, (pool | ramp_events | leave | enter | stops).any(axis=1)


def _targets(b: _Book, status: np.ndarray, rebalance: np.ndarray) -> np.ndarray:
    """Stage 4: the step's allocation (cached per set of slots) scaled by the ramps on a
    rebalance; otherwise active strategies keep their targets and the rest go to 0."""
    active = status == ACTIVE
    out = np.where(active, b.target, 0.0)
    slots = (active | (status == PAUSED)) & (b.tier != 0) & b.has_moments
    ramp_days = b.rules.ramp_days
    factor = np.where(active, np.where((b.ramp > 0) & (ramp_days > 0), b.ramp / max(ramp_days, 1), 1.0), 0.0)
    for p in np.flatnonzero(rebalance):
        out[p] = b.allocations(slots[p], b.tier[p]) * factor[p]
    return out


def _orders(
    b: _Book,
    status: np.ndarray,
    held: np.ndarray,
    target: np.ndarray,
    rebalance: np.ndarray,
    day: dt.date,
    costs: CostModel,
) -> np.ndarray:
    """Stage 5: trades to target (every one on a rebalance, forced exits otherwise), their
    simulated cost by ``CostModel.execute`` (paid tomorrow); the closing weights."""
    forced = (status != ACTIVE) & (held != 0)
    trade = (np.abs(target - held) > MIN_TRADE) & (rebalance[:, None] | forced)
    values = (target - held) * b.fees.assets[:, None]
    b.pending = np.zeros(values.shape[0])
    for p in np.flatnonzero(trade.any(axis=1)):
        b.pending[p] = float(sum(costs.execute(values[p, trade[p]], day, b.rules.solution_id).tolist()))
    return np.where(trade, target, held)


def vectorised_returns(
    rules: SolutionRules,
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    limits: RiskLimits,
    costs: CostModel,
    fees: FeeTerms = NO_FEES,
) -> np.ndarray:
    """``[P]``: each path's net return ``(AUM_{t+H} - AUM_t - flows) / AUM_t``, as
    ``reference_returns`` gives it, for every path at once, charged ``fees``. Raises ValueError naming the obstacles when the
    candidate is outside the fast path's scope (``vectorised_obstacles``)."""
    obstacles = vectorised_obstacles(rules, state, month, limits)
    if obstacles:
        raise ValueError(f"vectorised evaluator: {rules.solution_id}: " + "; ".join(obstacles))
    paths = np.asarray(paths, dtype=float)
    b = _Book(rules, state, month, paths.shape[0], fees)
    previous = state.day
    for k, day in enumerate(month.days):
        r = paths[:, k, b.columns]
        restart = previous is None or day.month != previous.month
        held = _mark_to_market(b, r, day, previous)
        status, events = _manage(b, r, restart or k == 0)
        continuing = (status == ACTIVE) & b.known
        drift = np.where(continuing, np.abs(held - b.target), 0.0).max(axis=1, initial=0.0) > rules.drift_threshold
        launch = k == 0 and b.cold
        first = launch or (rules.monthly and restart)
        rebalance = first | drift | events
        target = _targets(b, status, rebalance)
        b.weight = _orders(b, status, held, target, rebalance, day, costs)
        b.target, b.status, previous = target, status, day
        b.known[:] = True
    return (b.fees.aum - state.aum - b.flows) / state.aum
