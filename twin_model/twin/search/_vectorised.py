"""The vectorised evaluator: the solution step over every path at once.

It steps ``[P, N]`` arrays (P paths, N strategies of the solution's universe) through the
same five stages as ``twin_model.solution``'s step, and must give the same net returns
(``tests/unit/twin/test_vectorised_evaluator.py`` checks it against the reference to
1e-9). What it does not model it hands to the reference, path by path:

* the allocation: a policy that does not read the returns history (``static``,
  ``performance``, fractional Kelly on the month end's scenarios:
  ``AllocationPolicy.reads_history``) has weights that depend only on which strategies
  hold a slot (the moments and scenarios are held over a simulated month), computed once
  per distinct set by the step's own allocation stage and cached; any other (inverse
  volatility, ERC, HRB, the optimiser) is allocated by the same stage on the path's own
  day, from the path's history, statuses and held weights
  (``twin_model.twin.search._allocations``); a path whose allocation fails (the step would
  retry it) is flagged;
* the risk overlay (stage 3): under limits other than ``inert_limits()`` the risk screen
  (``twin_model.twin.search._screen``) measures every rule on every path each day and
  flags a path where one could act (a breach graded medium or worse, or the drawdown
  stop); up to that day the reference followed the same trajectory, and on a path never
  flagged no rule acted, so the fast returns are the step's. Flagged paths are stepped
  again by the reference (``screened_returns``).

It applies when ``vectorised_obstacles`` finds nothing in the way: no manual action on
the month's days, no cooldown or failed allocation pending at the start; the base day in
an earlier month than the first simulated day (a month-end search), the solution launched
by then, every strategy of its universe with a scenario column and at least
``MIN_COVARIANCE_ROWS`` complete history rows, and under risk limits each of the
universe's last ``HISTORY_ROWS`` rows observed for all of it or none (a holiday), so the
complete rows the risk rules read are the same whichever strategies are held.

Per day k and path p, in the step's order (w held weights, T targets, r the day's returns):

1. gross assets ``G' = G_{k-1} (1 + sum_i w_i r_i) + (1 - sum_i w_i) G_{k-1} c_k - costs_{k-1}``
   (``c_k`` the cash rate's ACT/365 accrual since the previous day), then the day's fees
   and flow by ``twin_model.firm.advance_fees`` on the paths' fee state (the same
   function the step calls, in its array form), ``h_i = w_i G_{k-1} (1 + r_i) / G_k``;
2. the pause countdown and re-entry ramp, selection changes, and the valley rule on the
   P&L since the later of the month's start and the re-entry, ``prod (1 + r) - 1``;
3. under risk limits, the screen on the held weights ``h`` and the drawdown from the
   risk peak ``AUM_k / max(peak, AUM before) - 1`` (the peak scaled by the units' ratio
   on a flow);
4. a rebalance on the month's first day (or the launch), on drift
   ``max |h_i - T_i| > drift_threshold`` over continuing strategies, on a pool change or
   ramp step: ``T_i = a_i x ramp_i x size_i``; otherwise active strategies keep
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

from twin_model.firm import NO_FEES, FeeTerms, advance_fees
from twin_model.optimize import Optimizer
from twin_model.portfolio import (
    CostModel,
    PortfolioLimits,
    PositionLimits,
    RiskLimits,
    StrategyLimits,
)
from twin_model.solution import (
    HISTORY_ROWS,
    MIN_COVARIANCE_ROWS,
    MIN_TRADE,
    DayInputs,
    SolutionRules,
    SolutionState,
    StrategyState,
)
from twin_model.twin.search._allocations import ACTIVE, CODES, OUT, PAUSED, STOPPED, TIERS, Allocations
from twin_model.twin.search._month import SimulatedMonth
from twin_model.twin.search._reference import reference_returns
from twin_model.twin.search._screen import ScreenWindow, risk_screen

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
    if any(rules.manual_on(day) for day in month.days):
        found.append("a manual action falls in the month")
    if state.cooldown_days_left or state.awaiting_allocation:
        found.append("a cooldown or a failed allocation is pending")
    if base.day.replace(day=1) == month.days[0].replace(day=1) or rules.launch_date > month.days[0]:
        found.append("the base day is not in an earlier month than the first day, or the solution is not launched")
    ids = universe(rules, state, base)
    missing = sorted(set(ids) - set(month.scenario_ids))
    if missing:
        found.append(f"strategies without a scenario column: {missing[:5]}")
    elif ids and base.complete_rows(ids, MIN_COVARIANCE_ROWS).shape[0] < MIN_COVARIANCE_ROWS:
        found.append(f"fewer than {MIN_COVARIANCE_ROWS} complete history rows")
    elif ids and limits != inert_limits() and _partial_rows(_base_rows(month, ids)):
        found.append(
            f"a day in the last {HISTORY_ROWS} history rows where some strategies report and others do not"
            " (the risk screen needs each day observed for all or none)"
        )
    return found


def _base_rows(month: SimulatedMonth, ids: list[str]) -> np.ndarray:
    """The universe's last ``HISTORY_ROWS`` rows of the base history ``[T, N]``."""
    columns = [month.base.strategy_ids.index(s) for s in ids]
    return month.base.history[-HISTORY_ROWS:, columns]


def _partial_rows(rows: np.ndarray) -> bool:
    """Whether a row is observed for some columns and not for others (a holiday, when no
    strategy reports, is not)."""
    missing = np.isnan(rows)
    return bool((missing.any(axis=1) & ~missing.all(axis=1)).any())


def _screen_window(base_rows: np.ndarray, simulated: np.ndarray, k: int) -> np.ndarray:
    """``[P, T, N]``: what the step's risk stage reads on the month's day ``k``, the complete
    rows of its history (the last ``HISTORY_ROWS`` rows of the base's and the path's first
    ``k + 1``). With every base row observed for all or none of the universe, the complete
    rows are the same for any set of held strategies."""
    kept = base_rows[max(0, base_rows.shape[0] + k + 1 - HISTORY_ROWS) :]
    kept = kept[~np.isnan(kept).any(axis=1)]
    paths = simulated.shape[0]
    return np.concatenate([np.broadcast_to(kept, (paths, *kept.shape)), simulated[:, : k + 1, :]], axis=1)


def _tier_codes(rules: SolutionRules, base: DayInputs, ids: list[str], on_list: bool) -> np.ndarray:
    return np.array([TIERS.index(rules.tier(base, s, on_list=on_list)) for s in ids], dtype=np.int8)


def _initial(state: SolutionState, ids: list[str], field: str, code: Mapping | None = None) -> np.ndarray:
    values = [getattr(state.strategies.get(s, StrategyState()), field) for s in ids]
    return np.array([code[v] for v in values] if code else values)


class _Book:
    """Every path's solution state over the universe ``ids`` (arrays ``[P, N]`` or ``[P]``)."""

    def __init__(
        self,
        rules: SolutionRules,
        state: SolutionState,
        month: SimulatedMonth,
        n_paths: int,
        terms: FeeTerms,
        optimizer: Optimizer,
        shared: dict | None = None,
    ):
        base, ids = month.base, universe(rules, state, month.base)
        self.rules, self.ids, self.terms = rules, ids, terms
        shape = (n_paths, len(ids))
        self.cold = state.day is None
        self.fees = state.fees.on_paths(n_paths)
        self.flows = 0.0
        self.pending = np.full(n_paths, state.pending_costs)
        self.weight = np.broadcast_to(_initial(state, ids, "weight").astype(float), shape).copy()
        self.target = np.broadcast_to(_initial(state, ids, "target").astype(float), shape).copy()
        self.status = np.broadcast_to(_initial(state, ids, "status", CODES).astype(np.int8), shape).copy()
        self.tier = np.broadcast_to(
            np.array([TIERS.index(state.strategies.get(s, StrategyState()).tier) for s in ids], dtype=np.int8), shape
        ).copy()
        self.pause_left = np.broadcast_to(_initial(state, ids, "pause_days_left"), shape).copy()
        self.ramp = np.broadcast_to(_initial(state, ids, "ramp_day"), shape).copy()
        self.pauses = np.broadcast_to(_initial(state, ids, "pause_count"), shape).copy()
        self.growth = np.ones(shape)
        self.known = np.broadcast_to(np.array([s in state.strategies for s in ids], dtype=bool), shape).copy()
        self.tier_on, self.tier_off = _tier_codes(rules, base, ids, True), _tier_codes(rules, base, ids, False)
        self.valley = np.array([_valley(month.valley.get(s)) for s in ids])
        self.has_moments = np.array([s in base.expected_return and base.column(s) is not None for s in ids], dtype=bool)
        self.allocations = Allocations(rules, month, ids, optimizer, shared)
        self.columns = np.array([month.scenario_ids.index(s) for s in ids], dtype=int)
        self.risk_peak = np.full(n_paths, state.risk_peak)
        self.flagged = np.zeros(n_paths, dtype=bool)


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


def _targets(
    b: _Book, status: np.ndarray, rebalance: np.ndarray, held: np.ndarray, paths: np.ndarray, k: int
) -> np.ndarray:
    """Stage 4: on a rebalance the step's allocation, scaled by the ramps (a failed one
    flags the path); otherwise active strategies keep their targets and the rest go to 0."""
    active = status == ACTIVE
    out = np.where(active, b.target, 0.0)
    if b.allocations.per_path:
        for p in np.flatnonzero(rebalance & ~b.flagged):
            targets = b.allocations.on_path(p, paths[p], k, status[p], b.tier[p], b.ramp[p], held[p])
            b.flagged[p] |= targets is None
            out[p] = out[p] if targets is None else targets
        return out
    slots = (active | (status == PAUSED)) & (b.tier != 0) & b.has_moments
    ramp_days = b.rules.ramp_days
    factor = np.where(active, np.where((b.ramp > 0) & (ramp_days > 0), b.ramp / max(ramp_days, 1), 1.0), 0.0)
    for p in np.flatnonzero(rebalance & ~b.flagged):
        targets = b.allocations.cached(slots[p], b.tier[p])
        b.flagged[p] |= targets is None
        out[p] = out[p] if targets is None else targets * factor[p]
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
    optimizer: Optimizer | None = None,
) -> np.ndarray:
    """``[P]``: each path's net return ``(AUM_{t+H} - AUM_t - flows) / AUM_t``, as
    ``reference_returns`` gives it, charged ``fees`` (``screened_returns`` without the mask)."""
    return screened_returns(rules, state, month, paths, limits, costs, fees, optimizer)[0]


def screened_returns(
    rules: SolutionRules,
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    limits: RiskLimits,
    costs: CostModel,
    fees: FeeTerms = NO_FEES,
    optimizer: Optimizer | None = None,
    shared: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``([P] net returns, [P] stepped by the reference)``: every path at once, then the
    paths the risk screen or a failed allocation flagged once more through the reference.
    Raises ValueError naming the obstacles when the candidate is outside the fast path's
    scope (``vectorised_obstacles``). ``shared`` keeps allocations across the candidates
    evaluated on the same ``paths`` (``Allocations.on_path``)."""
    obstacles = vectorised_obstacles(rules, state, month, limits)
    if obstacles:
        raise ValueError(f"vectorised evaluator: {rules.solution_id}: " + "; ".join(obstacles))
    paths = np.asarray(paths, dtype=float)
    optimizer = optimizer or Optimizer()
    returns, flagged = _fast_returns(rules, state, month, paths, limits, costs, fees, optimizer, shared)
    if flagged.any():
        returns[flagged] = reference_returns(rules, state, month, paths[flagged], limits, costs, optimizer, fees)
    return returns, flagged


def _fast_returns(
    rules: SolutionRules,
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    limits: RiskLimits,
    costs: CostModel,
    fees: FeeTerms,
    optimizer: Optimizer,
    shared: dict | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every path stepped at once with no risk rule acting; the paths where one could have
    (``risk_screen``) or an allocation failed are flagged and their returns are not the step's.
    ``shared`` also keeps each day's ``ScreenWindow`` of the universe: the window is the
    paths' and the base's, whatever the candidate holds."""
    shared = {} if shared is None else shared
    b = _Book(rules, state, month, paths.shape[0], fees, optimizer, shared)
    screen = limits != inert_limits()
    base_rows, simulated = _base_rows(month, b.ids), paths[:, :, b.columns]
    previous = state.day
    for k, day in enumerate(month.days):
        r = paths[:, k, b.columns]
        restart = previous is None or day.month != previous.month
        units = b.fees.units
        held = _mark_to_market(b, r, day, previous)
        status, events = _manage(b, r, restart or k == 0)
        if screen:
            b.risk_peak = b.risk_peak * (b.fees.units / units)
            key = ("screen window", tuple(b.ids), k)
            if key not in shared:
                shared[key] = ScreenWindow.of(_screen_window(base_rows, simulated, k))
            b.flagged |= risk_screen(limits, shared[key], held, b.fees.aum / b.risk_peak - 1.0)
        continuing = (status == ACTIVE) & b.known
        drift = np.where(continuing, np.abs(held - b.target), 0.0).max(axis=1, initial=0.0) > rules.drift_threshold
        launch = k == 0 and b.cold
        first = launch or (rules.monthly and restart)
        rebalance = first | drift | events
        target = _targets(b, status, rebalance, held, paths, k)
        b.weight = _orders(b, status, held, target, rebalance, day, costs)
        b.target, b.status, previous = target, status, day
        b.risk_peak = np.maximum(b.risk_peak, b.fees.aum)
        b.known[:] = True
    return (b.fees.aum - state.aum - b.flows) / state.aum, b.flagged
