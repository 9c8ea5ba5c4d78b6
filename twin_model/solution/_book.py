"""Stage 1 of the solution step, mark to market: yesterday's closing book under today's
returns (an unobserved return counts as 0), the cash interest, yesterday's trading
costs, then the day's fees and flows (``twin_model.firm.advance_fees``)."""

from __future__ import annotations

from dataclasses import dataclass

from twin_model.firm import FeeDay, FeeState, FeeTerms, advance_fees
from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import SolutionState


@dataclass(frozen=True)
class Book:
    """The book after stage 1: AUM (NAV, net of fees) at the start and now, the gross
    assets at the start (``gav_start``) and now (``assets``, what the weights are of), the
    strategies' return ``daily_return``, the cash interest and the costs paid, the held
    weights, the day's returns, the closing fee state and the day's fee figures, and
    ``unit_ratio`` (units now over units before: what flows did to the peaks)."""

    cold_start: bool
    aum_start: float
    gav_start: float
    daily_return: float
    cash_interest: float
    costs: float
    assets: float
    aum: float
    held: dict[str, float]
    returns: dict[str, float]
    fees: FeeState
    fee_day: FeeDay
    unit_ratio: float


def mark_to_market(rules: SolutionRules, state: SolutionState, inputs: DayInputs, terms: FeeTerms) -> Book:
    """With G the gross assets, w the closing weights and c the cash rate:
    ``G' = G_{t-1} (1 + sum w_i r_i) + (1 - sum w_i) G_{t-1} sum_s c_s / 365 - costs``
    (cash earns the rate ACT/365, a short cash position pays it), the gross return per
    unit ``r = G' / G_{t-1} - 1``; then the fees and the day's flow in units; the held
    weights drift: ``h_i = w_i G_{t-1} (1 + r_i) / G_t``. Hence
    ``AUM_t = AUM_{t-1} + G_{t-1} (R + interest / G_{t-1}) - costs - fees + flows``."""
    returns = inputs.returns_today()
    flow = rules.flows.get(inputs.day, 0.0)
    start = state.fees.assets
    if state.day is None:
        fees, fee_day = advance_fees(terms, state.fees, inputs.day, 0.0, flow)
        ratio = fees.units / state.fees.units
        return Book(True, state.aum, start, 0.0, 0.0, 0.0, fees.assets, fees.aum, {}, returns, fees, fee_day, ratio)
    weights = {s: st.weight for s, st in state.strategies.items()}
    daily = float(sum(w * returns.get(s, 0.0) for s, w in weights.items()))
    interest = (1.0 - sum(weights.values())) * start * terms.cash_rate.accrual(state.day, inputs.day)
    gross = start * (1.0 + daily) + interest - state.pending_costs
    if not gross > 0:
        raise ValueError(
            f"solution {rules.solution_id} on {inputs.day}: AUM would fall to {gross:.2f} "
            f"(return {daily:.4%} on {start:.2f}, costs {state.pending_costs:.2f}); the book is wiped out"
        )
    fees, fee_day = advance_fees(terms, state.fees, inputs.day, gross / start - 1.0, flow)
    held = {s: w * start * (1.0 + returns.get(s, 0.0)) / fees.assets for s, w in weights.items()}
    ratio = fees.units / state.fees.units
    return Book(
        False,
        state.aum,
        start,
        daily,
        interest,
        state.pending_costs,
        fees.assets,
        fees.aum,
        held,
        returns,
        fees,
        fee_day,
        ratio,
    )
