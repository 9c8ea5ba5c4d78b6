"""Stage 5 of the solution step, orders: the trades from held to target weights (of the
gross assets), costed by ``twin_model.portfolio.CostModel``; the simulated cost is paid
from the next business day's gross assets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from twin_model.conventions import AllocationStatus, OrderReason, StrategyStatus
from twin_model.portfolio import CostModel
from twin_model.solution._book import Book
from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import StrategyState
from twin_model.solution._targets import TargetDecision

MIN_TRADE = 1e-9
"""Weight changes smaller than this are not traded."""


def place_orders(
    rules: SolutionRules,
    inputs: DayInputs,
    book: Book,
    strategies: Mapping[str, StrategyState],
    decision: TargetDecision,
    costs: CostModel,
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
    values = np.array([(t - h) * book.assets for _, h, t, _ in trades])
    estimated = costs.estimate(values) if trades else np.array([])
    simulated = costs.execute(values, inputs.day, rules.solution_id) if trades else np.array([])
    rows = [
        {
            "date": inputs.day,
            "solution_id": rules.solution_id,
            "strategy_id": s,
            "weight_held": h,
            "weight_target": t,
            "trade_weight": t - h,
            "trade_value": float(v),
            "reason": r,
            "estimated_cost": float(e),
            "simulated_cost": float(c),
            "slippage": float(c - e),
        }
        for (s, h, t, r), v, e, c in zip(trades, values, estimated, simulated)
    ]
    return rows, {s: close.get(s, 0.0) for s in strategies}


def _trade_reason(decision: TargetDecision) -> OrderReason:
    """Why a (not forced) trade is made: a liquidation in a cooldown, else a rebalance."""
    return OrderReason.LIQUIDATION if decision.status == AllocationStatus.COOLDOWN else OrderReason.REBALANCE
