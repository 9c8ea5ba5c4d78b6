"""The solution level: one business day of one solution, as a pure step S_t -> S_{t+1}.

A solution (a portfolio of strategies, ``config/solutions.yaml``) carries its state from
day to day: the weights it held at yesterday's close and the targets in force, each
strategy's status (active, paused, stopped, out_of_pool) with pause days left, re-entry
ramp and pause count, the AUM and its peaks, the costs of yesterday's trades still to be
paid, and its open risk violations. In the notation of ``twin_model.twin``: S_t is a
``SolutionState``; W_{t+1} the day's ``DayInputs`` (returns, the alpha pool, posterior
moments, monthly valleys, market regime, positions); ``SolutionPolicy.decide`` is
X^pi(S_t, W_{t+1}), stages 1-5 below; ``transition`` is S^M; ``contribution`` the day's
net P&L; ``day_record`` the rows of the six ``portfolio.*`` tables; ``step`` all of them
for one day. ``solutions_level`` carries every solution of the firm as one level of the
runner, which the Dagster multi-asset (and later the back-test and the policy search)
steps through days. No I/O.

One day, in order (a module per stage):

1. **Mark to market (``_book``).** With yesterday's closing weights ``w_i`` (fractions of
   the gross assets G, AUM plus the accrued performance fee) and today's returns ``r_i``
   (an unobserved return counts as 0), ``R = sum_i w_i r_i``; the uninvested cash earns
   the cash rate (ACT/365), ``costs`` is the simulated cost of yesterday's trades, and the
   fees of ``twin_model.firm`` (management fee, performance-fee accrual and
   crystallisation, flows in units at NAV) follow:
   ``AUM_t = AUM_{t-1} + G_{t-1} R + cash_interest - costs - fees + flows``. The held
   weights drift: ``h_i = w_i G_{t-1} (1 + r_i) / G_t``.
2. **Manage strategies (``_manage``).** Selection is the alpha pool through the solution's filters. A
   paused strategy counts its pause down and re-enters along a ramp (target scaled by
   ``k / ramp_days`` on the k-th day back). An active strategy whose P&L since the later
   of the month's start and its last re-entry falls below its monthly valley is paused for
   ``pause_days``; it is stopped (off the list until a manual ``reinstate``) when that P&L
   falls below ``stop_valley_multiple`` x the valley, or when the pause would be its
   ``max_pauses``-th since it entered.
3. **Risk (``_risk``).** ``twin_model.portfolio.evaluate_risk`` on the held book; breaches open, continue
   or resolve violations. A strategy breach whose action is ``pause_strategy`` pauses it;
   ``liquidate`` (drawdown stop) sends the book to cash for ``cooldown_days`` and resets
   the drawdown reference (``risk_peak``) to the AUM at the stop: the recovery rule.
4. **Targets (``_targets``).** Rebalance on launch, the first business day of a month (``monthly``),
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
5. **Orders (``_orders``).** Trades ``target - held`` (all of them on a rebalance, only forced exits
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
from collections.abc import Mapping
from dataclasses import dataclass, replace

from twin_model.firm import NO_FEES, FeeTerms
from twin_model.optimize import Optimizer
from twin_model.portfolio import CostModel, RiskLimits, evaluate_risk
from twin_model.solution._book import Book, mark_to_market
from twin_model.solution._inputs import DayInputs
from twin_model.solution._manage import manage
from twin_model.solution._orders import place_orders
from twin_model.solution._record import DayRecord, record_of_day
from twin_model.solution._risk import pause_on_breaches, recovery, track_violations
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import SolutionState, StrategyState, Violation
from twin_model.solution._tables import is_managed
from twin_model.solution._targets import TargetDecision, decide_targets, still_awaiting
from twin_model.twin import Level

# --------------------------------------------------------------------------- one solution


@dataclass(frozen=True)
class SolutionDecision:
    """x_{t+1} of one solution: the book it was made on (stage 1), each strategy's status
    and closing weight, target and scale (stages 2, 4, 5), the risk outcome (stage 3),
    the targets decision and the orders; and the rules it was made under."""

    rules: SolutionRules
    book: Book
    strategies: Mapping[str, StrategyState]
    targets: TargetDecision
    orders: list[dict]
    violation_rows: list[dict]
    open_violations: Mapping[tuple[str, str, str], Violation]
    risk_peak: float
    cooldown: int


@dataclass(frozen=True)
class SolutionPolicy:
    """X^pi of one solution: the five stages of its day under its rules, the firm's risk
    limits, the trading-cost model and its fee terms (no fees and no cash interest by
    default); ``optimizer`` re-uses compiled problems."""

    rules: SolutionRules
    limits: RiskLimits
    costs: CostModel
    optimizer: Optimizer | None = None
    fees: FeeTerms = NO_FEES

    @property
    def name(self) -> str:
        return f"{self.rules.solution_id}: {self.rules.policy_kind}"

    @property
    def parameters(self) -> dict[str, object]:
        """The allocation policy and its parameters (what a policy search tunes)."""
        return {"policy_kind": self.rules.policy_kind, **self.rules.policy_params}

    def decide(self, state: SolutionState, inputs: DayInputs) -> SolutionDecision:
        """Stages 1-5 of the day ``inputs.day`` from S_t = ``state``."""
        rules, day = self.rules, inputs.day
        if day < rules.launch_date:
            raise ValueError(f"solution {rules.solution_id}: {day} is before its launch date {rules.launch_date}")
        if state.day is not None and state.day >= day:
            raise ValueError(f"solution {rules.solution_id}: state of {state.day} cannot step to {day}")
        book = mark_to_market(rules, state, inputs, self.fees)
        strategies, events = manage(rules, state, inputs, book.held)
        peaks = replace(state, risk_peak=state.risk_peak * book.unit_ratio)
        breaches = evaluate_risk(
            rules.solution_id,
            {s: h for s, h in book.held.items() if h != 0},
            inputs.history,
            inputs.strategy_ids,
            book.aum / peaks.risk_peak - 1.0,
            self.limits,
            inputs.positions,
        )
        strategies, events = pause_on_breaches(rules, strategies, breaches, day, events)
        violation_rows, open_violations = track_violations(rules.solution_id, state.violations, breaches, day)
        risk_peak, cooldown = recovery(rules, peaks, breaches, book.aum)
        decision = decide_targets(rules, state, inputs, strategies, book, breaches, events, cooldown, self.optimizer)
        orders, close = place_orders(rules, inputs, book, strategies, decision, self.costs)
        strategies = {
            s: replace(
                st, weight=close.get(s, 0.0), target=decision.targets.get(s, 0.0), scale=decision.scale.get(s, 0.0)
            )
            for s, st in strategies.items()
        }
        return SolutionDecision(
            rules, book, strategies, decision, orders, violation_rows, open_violations, risk_peak, cooldown
        )


def transition(state: SolutionState, decision: SolutionDecision, inputs: DayInputs) -> SolutionState:
    """S^M: the state at the day's close; yesterday's costs are paid, today's are pending;
    the peaks follow the units (flows)."""
    book, targets = decision.book, decision.targets
    return SolutionState(
        day=inputs.day,
        aum=book.aum,
        aum_peak=max(state.aum_peak * book.unit_ratio, book.aum),
        risk_peak=max(decision.risk_peak, book.aum),
        pending_costs=float(sum(o["simulated_cost"] for o in decision.orders)),
        cooldown_days_left=decision.cooldown,
        last_rebalance=inputs.day if targets.rebalanced else state.last_rebalance,
        awaiting_allocation=still_awaiting(targets, state),
        exposure=targets.exposure,
        cash=targets.cash,
        strategies=decision.strategies,
        violations=decision.open_violations,
        fees=book.fees,
    )


def contribution(state: SolutionState, decision: SolutionDecision, inputs: DayInputs) -> float:
    """C: the day's net P&L, ``AUM_t - AUM_{t-1} - flows`` (after the costs and fees of today)."""
    book = decision.book
    return book.aum - book.aum_start - book.fee_day.flows


def day_record(state: SolutionState, decision: SolutionDecision, inputs: DayInputs) -> DayRecord:
    """The rows of the six ``portfolio.*`` tables for the day."""
    new = transition(state, decision, inputs)
    return record_of_day(
        decision.rules, inputs, state, new, decision.book, decision.targets, decision.violation_rows, decision.orders
    )


def step(
    rules: SolutionRules,
    state: SolutionState,
    inputs: DayInputs,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
    fees: FeeTerms = NO_FEES,
) -> tuple[SolutionState, DayRecord]:
    """One business day of one solution: (S_t, W_{t+1}) -> (S_{t+1}, the day's rows)."""
    decision = SolutionPolicy(rules, limits, costs, optimizer, fees).decide(state, inputs)
    return transition(state, decision, inputs), day_record(state, decision, inputs)


# --------------------------------------------------------------------------- every solution


@dataclass(frozen=True)
class SolutionsState:
    """S_t of the solution level: each solution's state at day t's close."""

    solutions: Mapping[str, SolutionState]


@dataclass(frozen=True)
class SolutionsPolicy:
    """X^pi of the solution level: each solution's policy, in config order, applied on
    the days it is managed (launched and not retired; ``retired`` maps a solution to its
    retirement date)."""

    policies: tuple[SolutionPolicy, ...]
    retired: Mapping[str, dt.date | None]

    @property
    def name(self) -> str:
        return "; ".join(p.name for p in self.policies)

    @property
    def parameters(self) -> dict[str, object]:
        return {p.rules.solution_id: p.parameters for p in self.policies}

    def decide(self, state: SolutionsState, inputs: DayInputs) -> dict[str, SolutionDecision]:
        """Each managed solution's decision on ``inputs.day``, in config order."""
        return {
            p.rules.solution_id: p.decide(state.solutions[p.rules.solution_id], inputs)
            for p in self.policies
            if is_managed(p.rules.launch_date, self.retired.get(p.rules.solution_id), inputs.day)
        }


def _transition_all(
    state: SolutionsState, decisions: Mapping[str, SolutionDecision], inputs: DayInputs
) -> SolutionsState:
    stepped = {s: transition(state.solutions[s], d, inputs) for s, d in decisions.items()}
    return SolutionsState({**state.solutions, **stepped})


def _contribution_all(state: SolutionsState, decisions: Mapping[str, SolutionDecision], inputs: DayInputs) -> float:
    """The firm's net P&L across its solutions on the day."""
    return float(sum(contribution(state.solutions[s], d, inputs) for s, d in decisions.items()))


def _records_all(
    state: SolutionsState, decisions: Mapping[str, SolutionDecision], inputs: DayInputs
) -> list[DayRecord]:
    return [day_record(state.solutions[s], d, inputs) for s, d in decisions.items()]


def solutions_level(
    policy: SolutionsPolicy,
) -> Level[SolutionsState, dict[str, SolutionDecision], DayInputs, list[DayRecord]]:
    """The solution level for ``twin_model.twin.run``: one level carrying every solution,
    since W_{t+1} (``DayInputs``) is shared by all of them and built once a day; a
    day's record is one ``DayRecord`` per managed solution, in config order."""
    return Level(policy=policy, transition=_transition_all, contribution=_contribution_all, record=_records_all)
