"""Stage 1 of the solution step, mark to market: yesterday's closing book under today's
returns (an unobserved return counts as 0)."""

from __future__ import annotations

from dataclasses import dataclass

from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import SolutionState


@dataclass(frozen=True)
class Book:
    cold_start: bool
    aum_start: float
    daily_return: float
    costs: float
    aum: float
    held: dict[str, float]
    returns: dict[str, float]


def mark_to_market(rules: SolutionRules, state: SolutionState, inputs: DayInputs) -> Book:
    """``AUM_t = AUM_{t-1}(1 + sum w_i r_i) - costs``; held weights drift with their returns."""
    returns = inputs.returns_today()
    if state.day is None:
        return Book(True, state.aum, 0.0, 0.0, state.aum, {}, returns)
    weights = {s: st.weight for s, st in state.strategies.items()}
    daily = float(sum(w * returns.get(s, 0.0) for s, w in weights.items()))
    aum = state.aum * (1.0 + daily) - state.pending_costs
    if not aum > 0:
        raise ValueError(
            f"solution {rules.solution_id} on {inputs.day}: AUM would fall to {aum:.2f} "
            f"(return {daily:.4%} on {state.aum:.2f}, costs {state.pending_costs:.2f}); the book is wiped out"
        )
    held = {s: w * state.aum * (1.0 + returns.get(s, 0.0)) / aum for s, w in weights.items()}
    return Book(False, state.aum, daily, state.pending_costs, aum, held, returns)
