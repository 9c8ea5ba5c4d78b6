"""``risk_limits.yaml``: ``twin_model.portfolio.RiskLimits`` itself, with the order of its
tail limits checked across keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from twin_model.portfolio import RiskLimits
from twin_resources.config._base import refuse


def _tails_ordered(limits: RiskLimits) -> RiskLimits:
    """For every return series CVaR (the mean beyond VaR) is at or below VaR, and the 99%
    tail at or below the 95% one; a deeper tail's limit above the shallower's breaches
    first whenever either would, so the pair cannot mean what it says."""
    portfolio = limits.portfolio
    refuse(
        [
            (
                f"portfolio.{deeper}",
                f"{deeper} {getattr(portfolio, deeper)} is above {shallower} {getattr(portfolio, shallower)}: "
                f"{deeper} is never above {shallower}, so its limit must be at or below it",
            )
            for deeper, shallower in _TAIL_ORDER
            if getattr(portfolio, deeper) > getattr(portfolio, shallower)
        ]
    )
    return limits


_TAIL_ORDER = (("cvar_95", "var_95"), ("cvar_99", "var_99"), ("var_99", "var_95"), ("cvar_99", "cvar_95"))
"""(deeper, shallower) tail measures: the deeper one's limit must be at or below the other's."""


RiskLimitsConfig = Annotated[RiskLimits, AfterValidator(_tails_ordered)]
"""``risk_limits.yaml``: the domain's ``RiskLimits`` with the tail order checked."""
