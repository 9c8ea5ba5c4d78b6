"""What a solution is: its rules from ``config/solutions.yaml`` and its manual overrides."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twin_model.conventions import ManualActionKind, PolicyKind, Tier

if TYPE_CHECKING:
    from twin_model.solution._inputs import DayInputs

MANUAL_ACTIONS = tuple(k.value for k in ManualActionKind)


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
    metalabel_sizing: bool = False
    manual: tuple[ManualAction, ...] = ()
    flows: Mapping[dt.date, float] = field(default_factory=dict)
    """Dated subscriptions (positive) and redemptions (negative) in money, at the day's NAV."""

    @classmethod
    def from_config(cls, config: Mapping) -> SolutionRules:
        """From one solution of ``config/solutions.yaml`` in its nested layout
        (``SolutionConfig.model_dump()``); a key left out (or null) takes the default here."""
        policy = dict(config["policy"])
        filters = config.get("filters") or {}
        given = {
            name: (config.get(section) or {}).get(key) if section else config.get(key)
            for name, (section, key) in _CONFIG_LAYOUT.items()
        }
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
            flows=_dated_flows(config.get("flows") or ()),
            **{name: value for name, value in given.items() if value is not None},
        )

    def selects(self, sector: str, asset_class: str) -> bool:
        """Whether the filters let a strategy of this sector and asset class in."""
        return (self.sectors is None or sector in self.sectors) and (
            self.asset_classes is None or asset_class in self.asset_classes
        )

    def tier(self, inputs: DayInputs, strategy_id: str, on_list: bool = False) -> Tier:
        """ "core" (in the alpha pool), "incubation" (outside it, evidence at least
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

    def bet_scale(self, p_profitable: float | None) -> float:
        """The share of its allocated weight a strategy gets from its metalabel: 1 with
        ``metalabel_sizing`` off, else ``metalabel_bet_size(p)`` (0 without a metalabel)."""
        if not self.metalabel_sizing:
            return 1.0
        return 0.0 if p_profitable is None else metalabel_bet_size(p_profitable)

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
    "metalabel_sizing": ("", "metalabel_sizing"),
}
"""Where each scalar rule sits in a solution of ``solutions.yaml``: (section, key), the
section "" for a top-level key. The file's sections take their defaults from the rules'."""


def metalabel_bet_size(p: float) -> float:
    """Bet size from the metalabel's P(profitable) (Lopez de Prado): with
    z = (p - 0.5) / sqrt(p (1 - p)), size = 2 Phi(z) - 1, floored at 0 (a long-only sleeve:
    no bet when p <= 0.5); 0.5 -> 0, 0.6 -> 0.16, 0.7 -> 0.34, 0.9 -> 0.82, 1 -> 1.
    ``2 Phi(z) - 1 = erf(z / sqrt 2)``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"metalabel p_profitable {p} is not a probability")
    if p in (0.0, 1.0):
        return p
    z = (p - 0.5) / math.sqrt(p * (1.0 - p))
    return max(0.0, math.erf(z / math.sqrt(2.0)))


def _dated_flows(flows) -> dict[dt.date, float]:
    """``[{date, amount}, ...]`` as date -> the day's net flow (several on a day add up)."""
    out: dict[dt.date, float] = {}
    for flow in flows:
        out[flow["date"]] = out.get(flow["date"], 0.0) + float(flow["amount"])
    return out


def _tuple_or_none(values) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
