"""The reference evaluator: the solution step itself, through the runner, one path at a time.

For one candidate (a solution's rules) and one path ``p`` of a ``SimulatedMonth``,
``twin_model.twin.run`` steps the solution's level (``SolutionPolicy``, ``transition``,
``contribution`` of ``twin_model.solution``: the very step the daily assets use) from the
month-end state ``S_t`` through W_1 .. W_H, and the path's net return is

    R_p = sum_k C_k / AUM_t = AUM_{t+H} / AUM_t - 1

with C_k the step's contribution (the day's net P&L). Slow (a full step per path-day,
an optimisation on a rebalance) but it is the definition the vectorised evaluator is
tested against.
"""

from __future__ import annotations

import numpy as np

from twin_model.firm import NO_FEES, FeeTerms
from twin_model.optimize import Optimizer
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution import (
    DayInputs,
    SolutionDecision,
    SolutionPolicy,
    SolutionRules,
    SolutionState,
    contribution,
    transition,
)
from twin_model.twin import Level, run
from twin_model.twin.search._month import SimulatedMonth


def _aum_at_close(state: SolutionState, decision: SolutionDecision, inputs: DayInputs) -> float:
    """The record a search keeps of a day: the AUM at its close."""
    return decision.book.aum


def solution_level(
    rules: SolutionRules,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
    fees: FeeTerms = NO_FEES,
) -> Level[SolutionState, SolutionDecision, DayInputs, float]:
    """One solution as a level of the runner, charged ``fees``, recording its closing AUM."""
    policy = SolutionPolicy(rules, limits, costs, optimizer, fees)
    return Level(policy=policy, transition=transition, contribution=contribution, record=_aum_at_close)


def reference_returns(
    rules: SolutionRules,
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
    fees: FeeTerms = NO_FEES,
) -> np.ndarray:
    """``[P]``: each path's net return ``R_p`` under ``rules`` from ``state``, charged ``fees``."""
    level = solution_level(rules, limits, costs, optimizer or Optimizer(), fees)
    return np.array([run(level, state, month.exogenous(path)).total_contribution / state.aum for path in paths])
