"""What a solution is and what it carries: its rules from config, its state S_t from one
business day to the next, the day's exogenous information W_t, and the record a day writes.

Plain data types (frozen dataclasses); ``twin_model.solutions.step`` moves them one day on
and ``twin_model.solution_tables`` stores and restores them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl

from twin_model.conventions import (
    UNCLASSIFIED_SECTOR,
    UNKNOWN_ASSET_CLASS,
    ManualActionKind,
    PolicyKind,
    StrategyStatus,
    Tier,
)
from twin_model.portfolio import Breach, complete_rows

MANUAL_ACTIONS = tuple(k.value for k in ManualActionKind)
NO_CASH = {"cash_pauses": 0.0, "cash_risk": 0.0, "cash_other": 0.0}
"""The cash buckets of a book's targets, all empty."""


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class ManualAction:
    """An override from config: ``rebalance`` the solution, ``stop`` or ``reinstate`` a strategy."""

    date: dt.date
    action: ManualActionKind
    strategy_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in MANUAL_ACTIONS:
            raise ValueError(f"manual action {self.action!r}: expected one of {MANUAL_ACTIONS}")
        if self.action != ManualActionKind.REBALANCE and not self.strategy_id:
            raise ValueError(f"manual action {self.action!r} on {self.date} needs a strategy_id")


@dataclass(frozen=True)
class SolutionRules:
    """Everything ``config/solutions.yaml`` says about one solution (see ``from_config``)."""

    solution_id: str
    launch_date: dt.date
    initial_aum: float
    target_exposure: float = 1.0
    policy_kind: str = PolicyKind.EQUAL_RISK_CONTRIBUTION
    policy_params: Mapping[str, object] = field(default_factory=dict)
    sectors: tuple[str, ...] | None = None
    asset_classes: tuple[str, ...] | None = None
    min_weight: float = 0.0
    max_weight: float = 1.0
    sector_limits: Mapping[str, float] = field(default_factory=dict)
    turnover_limit: float | None = None
    leverage_limit: float = 1.0
    drift_threshold: float = 0.05
    monthly: bool = True
    pause_days: int = 10
    ramp_days: int = 5
    cooldown_days: int = 10
    stop_valley_multiple: float = 2.0
    max_pauses: int = 3
    use_market_regime: bool = False
    incubation_evidence: float | None = None
    incubation_exit_evidence: float | None = None
    incubation_scale: float = 0.5
    manual: tuple[ManualAction, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping) -> SolutionRules:
        """From one solution of ``config/solutions.yaml`` in its nested layout
        (``SolutionConfig.model_dump()``); a key left out (or null) takes the default here."""
        policy = dict(config["policy"])
        filters = config.get("filters") or {}
        given = {name: (config.get(section) or {}).get(key) if section else config.get(key)
                 for name, (section, key) in _CONFIG_LAYOUT.items()}
        return cls(
            solution_id=str(config["solution_id"]),
            launch_date=config["launch_date"],
            initial_aum=float(config["initial_aum"]),
            policy_kind=policy.pop("kind"),
            policy_params={k: v for k, v in policy.items() if v is not None},
            sectors=_tuple_or_none(filters.get("sectors")),
            asset_classes=_tuple_or_none(filters.get("asset_classes")),
            sector_limits=dict((config.get("constraints") or {}).get("sector_limits") or {}),
            manual=tuple(ManualAction(**m) for m in config.get("manual") or ()),
            **{name: value for name, value in given.items() if value is not None},
        )

    def selects(self, sector: str, asset_class: str) -> bool:
        """Whether the filters let a strategy of this sector and asset class in."""
        return (self.sectors is None or sector in self.sectors) and (
            self.asset_classes is None or asset_class in self.asset_classes
        )

    def tier(self, inputs: DayInputs, strategy_id: str, on_list: bool = False) -> Tier:
        """"core" (in the alpha pool), "incubation" (outside it, evidence at least
        ``incubation_evidence``, or ``incubation_exit_evidence`` for a strategy already on the
        solution's list: a hysteresis band; sized at ``incubation_scale``) or "none",
        through the filters."""
        if not self.selects(inputs.sector_of(strategy_id), inputs.asset_class_of(strategy_id)):
            return Tier.NONE
        if inputs.in_pool.get(strategy_id, False):
            return Tier.CORE
        evidence = inputs.evidence.get(strategy_id)
        if self.incubation_evidence is None or evidence is None:
            return Tier.NONE
        bar = self.incubation_evidence
        if on_list and self.incubation_exit_evidence is not None:
            bar = min(bar, self.incubation_exit_evidence)
        return Tier.INCUBATION if evidence >= bar else Tier.NONE

    def tier_scale(self, tier: str) -> float:
        """How much of its allocated weight a strategy of ``tier`` gets."""
        return {Tier.CORE: 1.0, Tier.INCUBATION: self.incubation_scale}.get(tier, 0.0)

    def manual_on(self, day: dt.date) -> list[ManualAction]:
        return [m for m in self.manual if m.date == day]


_CONFIG_LAYOUT = {
    "target_exposure": ("", "target_exposure"),
    "min_weight": ("constraints", "min_weight"),
    "max_weight": ("constraints", "max_weight"),
    "turnover_limit": ("constraints", "turnover_limit"),
    "leverage_limit": ("constraints", "leverage_limit"),
    "drift_threshold": ("rebalance", "drift_threshold"),
    "monthly": ("rebalance", "monthly"),
    "pause_days": ("pause", "period_days"),
    "ramp_days": ("pause", "ramp_days"),
    "cooldown_days": ("pause", "cooldown_days"),
    "stop_valley_multiple": ("stop", "valley_multiple"),
    "max_pauses": ("stop", "max_pauses"),
    "use_market_regime": ("", "use_market_regime"),
    "incubation_evidence": ("incubation", "min_evidence"),
    "incubation_exit_evidence": ("incubation", "exit_evidence"),
    "incubation_scale": ("incubation", "scale"),
}
"""Where each scalar rule sits in a solution of ``solutions.yaml``: (section, key), the
section "" for a top-level key. The file's sections take their defaults from the rules'."""


def _tuple_or_none(values) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


# --------------------------------------------------------------------------- state


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
    """S_t of one solution: what it carries from one business day to the next."""

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

    @classmethod
    def launch(cls, rules: SolutionRules) -> SolutionState:
        """The state of a solution opening its doors: all cash at its initial AUM."""
        return cls(day=None, aum=rules.initial_aum, aum_peak=rules.initial_aum, risk_peak=rules.initial_aum)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class DayInputs:
    """The exogenous information W_t of one business day, shared by every solution.

    ``history`` is ``[T, N]`` daily returns (NaN = not observed) over ``history_dates``,
    columns in ``strategy_ids`` order, ending with ``day`` when it has returns. Moments
    are annual (posterior mean of the daily mean x 252 and its sd); ``valley`` is the
    monthly valley in force (<= 0). ``scenarios(ids)`` returns posterior-predictive daily
    returns ``[paths, horizon, len(ids)]`` or None.
    """

    day: dt.date
    strategy_ids: tuple[str, ...]
    history_dates: tuple[dt.date, ...]
    history: np.ndarray
    in_pool: Mapping[str, bool]
    sectors: Mapping[str, str]
    asset_classes: Mapping[str, str]
    expected_return: Mapping[str, float]
    expected_return_sd: Mapping[str, float]
    sharpe: Mapping[str, float]
    valley: Mapping[str, float]
    evidence: Mapping[str, float] = field(default_factory=dict)
    risk_scale: float = 1.0
    positions: pl.DataFrame | None = None
    scenarios: Callable[[Sequence[str]], np.ndarray | None] | None = None

    def __post_init__(self) -> None:
        shape = (len(self.history_dates), len(self.strategy_ids))
        if np.shape(self.history) != shape:
            raise ValueError(f"DayInputs {self.day}: history has shape {np.shape(self.history)}, need {shape}")
        if self.history_dates and self.history_dates[-1] > self.day:
            raise ValueError(f"DayInputs {self.day}: history runs past the day ({self.history_dates[-1]})")

    def sector_of(self, strategy_id: str) -> str:
        """The strategy's sector, ``UNCLASSIFIED_SECTOR`` when unknown."""
        return self.sectors.get(strategy_id, UNCLASSIFIED_SECTOR)

    def asset_class_of(self, strategy_id: str) -> str:
        """The strategy's asset class, ``UNKNOWN_ASSET_CLASS`` when unknown."""
        return self.asset_classes.get(strategy_id, UNKNOWN_ASSET_CLASS)

    def column(self, strategy_id: str) -> int | None:
        return self._columns.get(strategy_id)

    @cached_property
    def _dates(self) -> np.ndarray:
        return np.array(self.history_dates, dtype="datetime64[D]")

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.strategy_ids)}

    def returns_today(self) -> dict[str, float]:
        """Today's observed returns (empty on a day without data)."""
        if not self.history_dates or self.history_dates[-1] != self.day:
            return {}
        row = self.history[-1]
        return {s: float(row[i]) for i, s in enumerate(self.strategy_ids) if not math.isnan(row[i])}

    def pnl_since(self, strategy_id: str, start: dt.date) -> float:
        """Compounded return of the strategy's observed returns dated ``start`` .. ``day``."""
        i = self.column(strategy_id)
        if i is None:
            return 0.0
        r = self.history[self._dates >= np.datetime64(start, "D"), i]
        r = r[~np.isnan(r)]
        return float(np.prod(1.0 + r) - 1.0)

    def complete_rows(self, ids: Sequence[str], window: int) -> np.ndarray:
        """The last ``window`` rows of ``ids``' returns where every one of them is observed."""
        return complete_rows(self.history[:, [self._columns[s] for s in ids]], window)


# --------------------------------------------------------------------------- the record


@dataclass
class DayRecord:
    """The rows one solution writes for one day, one list per ``portfolio.*`` table."""

    weights: list[dict]
    optimization: dict
    performance: dict
    attribution: list[dict]
    violations: list[dict]
    orders: list[dict]


def violation_key(breach: Breach) -> tuple[str, str, str]:
    """What identifies a violation from one day to the next: (level, rule, subject)."""
    return (breach.level, breach.rule, breach.subject)
