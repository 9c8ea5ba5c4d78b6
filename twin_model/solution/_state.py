"""S_t of one solution: what it carries from one business day to the next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from twin_model.conventions import StrategyStatus, Tier
from twin_model.firm import FeeState
from twin_model.portfolio import Breach
from twin_model.solution._rules import SolutionRules

NO_CASH = {"cash_pauses": 0.0, "cash_risk": 0.0, "cash_other": 0.0}
"""The cash buckets of a book's targets, all empty."""
HAS_SLOT = (StrategyStatus.ACTIVE, StrategyStatus.PAUSED)
"""Statuses that keep a strategy on the solution's list (a paused one keeps its slot in cash)."""


@dataclass(frozen=True)
class StrategyState:
    """One strategy inside one solution at a day's close."""

    status: StrategyStatus = StrategyStatus.OUT_OF_POOL
    tier: Tier = Tier.NONE
    weight: float = 0.0
    target: float = 0.0
    pause_days_left: int = 0
    ramp_day: int = 0
    pause_count: int = 0
    watch_from: dt.date | None = None
    scale: float = 0.0
    reason: str = ""

    def ramp_factor(self, ramp_days: int) -> float:
        """``k / ramp_days`` on the k-th day of a re-entry ramp, 1 otherwise."""
        return self.ramp_day / ramp_days if self.ramp_day and ramp_days else 1.0


@dataclass(frozen=True)
class Violation:
    """An open risk violation: a breach and the day it opened."""

    breach: Breach
    opened: dt.date


@dataclass(frozen=True)
class SolutionState:
    """S_t of one solution: what it carries from one business day to the next. ``aum`` is
    the NAV (``fees.aum``: units x NAV per unit, net of fees); the strategies' weights are
    fractions of the gross assets ``fees.assets`` (NAV plus the accrued performance fee,
    which stays invested until it is paid). The peaks are of AUM, rescaled by the units
    when flows change them (so a redemption is not a drawdown)."""

    day: dt.date | None
    aum: float
    aum_peak: float
    risk_peak: float
    pending_costs: float = 0.0
    cooldown_days_left: int = 0
    last_rebalance: dt.date | None = None
    awaiting_allocation: bool = False
    exposure: float = 0.0
    cash: Mapping[str, float] = field(default_factory=lambda: dict(NO_CASH))
    strategies: Mapping[str, StrategyState] = field(default_factory=dict)
    violations: Mapping[tuple[str, str, str], Violation] = field(default_factory=dict)
    fees: FeeState | None = None

    def __post_init__(self) -> None:
        """A state built without ``fees`` holds its AUM in units at NAV 100, fees accruing from ``day``."""
        if self.fees is None:
            object.__setattr__(self, "fees", replace(FeeState.launch(self.aum), day=self.day, period_start=self.day))

    @classmethod
    def launch(cls, rules: SolutionRules) -> SolutionState:
        """The state of a solution opening its doors: all cash at its initial AUM, in units
        at NAV 100 (``FeeState.launch``)."""
        return cls(day=None, aum=rules.initial_aum, aum_peak=rules.initial_aum, risk_peak=rules.initial_aum)


def violation_key(breach: Breach) -> tuple[str, str, str]:
    """What identifies a violation from one day to the next: (level, rule, subject)."""
    return (breach.level, breach.rule, breach.subject)
