"""The firm's initiate-solution decision: a firm-level policy (``Policy`` of
``twin_model.twin._core``; config/firm.yaml ``new_solution``).

State: the number of alpha-pool strategies no solution holds. Information: the projected
p50 profit of the launch over the projection horizon, from the projection machinery
(``twin_model.firm.projections``) run on the template's targets at the launch AUM:
``launch_profit_p50`` is the median over paths of the launch's revenue less the
per-strategy costs of the strategies it would add (``firm_profit`` of a projection whose
only solution is the launch and whose costs are the added strategies' alone).

Decision: ``launch`` when at least ``min_unused_pool_strategies`` pool strategies are
unused and (if ``require_positive_profit``) the projected p50 profit is positive;
``hold`` otherwise, the reason naming the first rule that failed. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twin_model.conventions import SolutionDecision
from twin_model.firm.projections import Projection


@dataclass(frozen=True)
class FirmView:
    """S_t of the decision: the alpha-pool strategies no solution holds at t."""

    n_unused_pool_strategies: int


@dataclass(frozen=True)
class LaunchOutlook:
    """The information of the decision: the launch's projected p50 profit (None: not projected)."""

    projected_profit_p50: float | None


@dataclass(frozen=True)
class FirmDecision:
    """x_t: launch or hold, and why."""

    decision: SolutionDecision
    reason: str


@dataclass(frozen=True)
class NewSolutionPolicy:
    """Launch a solution from ``template`` when enough pool strategies are unused and, if
    required, the launch's projected p50 profit is positive."""

    template: str
    min_unused_pool_strategies: int
    require_positive_profit: bool = True

    @property
    def name(self) -> str:
        return "new_solution"

    @property
    def parameters(self) -> Mapping[str, object]:
        return {
            "template": self.template,
            "min_unused_pool_strategies": self.min_unused_pool_strategies,
            "require_positive_profit": self.require_positive_profit,
        }

    def decide(self, state: FirmView, info: LaunchOutlook) -> FirmDecision:
        unused, profit = state.n_unused_pool_strategies, info.projected_profit_p50
        if unused < self.min_unused_pool_strategies:
            reason = f"{unused} unused pool strategies, fewer than the {self.min_unused_pool_strategies} required"
            return FirmDecision(SolutionDecision.HOLD, reason)
        if self.require_positive_profit and (profit is None or profit <= 0):
            shown = "not projected" if profit is None else f"{profit:,.0f}, not positive"
            return FirmDecision(SolutionDecision.HOLD, f"the launch's projected p50 profit is {shown}")
        reason = f"{unused} unused pool strategies (>= {self.min_unused_pool_strategies})"
        if profit is not None:
            reason += f" and a projected p50 profit of {profit:,.0f}"
        return FirmDecision(SolutionDecision.LAUNCH, reason)


def launch_profit_p50(projection: Projection) -> float:
    """The median over paths of the launch's profit over the horizon: ``projection`` has
    the launch as its only solution and the added strategies' costs as its costs."""
    return float(np.median(projection.firm_profit.sum(axis=1)))
