"""The portfolio layer of a solution: how it allocates, what risk it may carry and what
its trades cost. Pure functions and small objects (no I/O, no dagster).

* Allocation policies (:data:`POLICIES`, one :class:`AllocationPolicy` per
  :class:`~twin_model.conventions.PolicyKind`): static weights, inverse volatility, equal
  risk contribution, performance with floors, fractional Kelly, hierarchical risk
  budgets and the optimiser. Each declares the inputs it uses (:class:`PolicyInput`:
  covariance, scenarios, optimiser), so the solution step asks the policy what to prepare.
* Risk rules (:data:`RULES`, one :class:`RiskRule` per rule of ``config/risk_limits.yaml``
  at the portfolio, strategy and position levels): ``evaluate_risk`` loops over them,
  ``classify`` grades a breach, ``reduce_to_limits`` applies the actions and
  ``blocks_new_risk`` says whether new risk may be added.
* The cost model of trades (:class:`CostModel`).
"""

from twin_model.portfolio._actions import blocks_new_risk, reduce_to_limits
from twin_model.portfolio._book import RiskBook
from twin_model.portfolio._bounds import apply_bounds
from twin_model.portfolio._costs import CostModel
from twin_model.portfolio._evaluate import evaluate_risk
from twin_model.portfolio._heuristics import inverse_volatility, performance_based, static
from twin_model.portfolio._inputs import Allocation, AllocationInputs
from twin_model.portfolio._kelly import fractional_kelly
from twin_model.portfolio._limits import PortfolioLimits, PositionLimits, RiskLimits, StrategyLimits
from twin_model.portfolio._measures import (
    TAIL_WINDOW,
    VOLATILITY_WINDOW,
    complete_rows,
    current_drawdown,
    diversification_ratio,
)
from twin_model.portfolio._optimised import equal_risk_contribution, hierarchical_risk_budget, optimizer_policy
from twin_model.portfolio._policies import (
    POLICIES,
    POLICY_KINDS,
    AllocationPolicy,
    PolicyInput,
    allocate,
    allocation_policy,
)
from twin_model.portfolio._rules import MEDIUM_EXCESS, RULES, Breach, RiskRule, classify

__all__ = [
    "MEDIUM_EXCESS",
    "POLICIES",
    "POLICY_KINDS",
    "RULES",
    "TAIL_WINDOW",
    "VOLATILITY_WINDOW",
    "Allocation",
    "AllocationInputs",
    "AllocationPolicy",
    "Breach",
    "CostModel",
    "PolicyInput",
    "PortfolioLimits",
    "PositionLimits",
    "RiskBook",
    "RiskLimits",
    "RiskRule",
    "StrategyLimits",
    "allocate",
    "allocation_policy",
    "apply_bounds",
    "blocks_new_risk",
    "classify",
    "complete_rows",
    "current_drawdown",
    "diversification_ratio",
    "equal_risk_contribution",
    "evaluate_risk",
    "fractional_kelly",
    "hierarchical_risk_budget",
    "inverse_volatility",
    "optimizer_policy",
    "performance_based",
    "reduce_to_limits",
    "static",
]
