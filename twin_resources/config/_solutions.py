"""``solutions.yaml``: the trading-cost model and each solution, in the file's nested
layout; a solution's sections take ``SolutionRules``' defaults."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin_model.portfolio import CostModel
from twin_model.solution import SolutionRules
from twin_resources.config._base import NonNegative, StrictModel, refuse
from twin_resources.config._firm import SolutionFees


class SolutionPolicy(StrictModel):
    kind: Literal[
        "static",
        "inverse_volatility",
        "equal_risk_contribution",
        "performance",
        "fractional_kelly",
        "hierarchical_risk_budget",
        "optimizer",
    ]
    objective: Literal["MAX_SHARPE", "MIN_VOLATILITY", "MAX_RETURN", "RISK_PARITY", "MULTI_OBJECTIVE"] | None = None
    method: (
        Literal["MEAN_VARIANCE", "BLACK_LITTERMAN", "RISK_PARITY", "HIERARCHICAL_RISK_PARITY", "ROBUST_OPTIMIZATION"]
        | None
    ) = None
    static_weights: dict[str, NonNegative] | None = None

    @model_validator(mode="after")
    def _keys_of_its_kind(self) -> SolutionPolicy:
        """``static`` needs its weights; a key another kind reads would pass silently
        here (or fail deep in the engine), so it is refused."""
        conflicts = []
        if self.kind == "static" and not self.static_weights:
            conflicts.append(("static_weights", "policy 'static' needs static_weights (a weight per strategy id)"))
        if self.kind != "static" and self.static_weights is not None:
            conflicts.append(("static_weights", f"only policy 'static' reads static_weights, not {self.kind!r}"))
        for key in ("objective", "method"):
            if self.kind != "optimizer" and getattr(self, key) is not None:
                conflicts.append((key, f"only policy 'optimizer' reads {key}, not {self.kind!r}"))
        refuse(conflicts)
        return self


class SolutionFilters(StrictModel):
    sectors: list[str] | None = None
    asset_classes: list[str] | None = None


class SolutionConstraints(StrictModel):
    min_weight: float = Field(default=SolutionRules.min_weight, ge=0)
    max_weight: float = Field(default=SolutionRules.max_weight, gt=0)
    sector_limits: dict[str, NonNegative] = {}
    turnover_limit: float | None = Field(default=SolutionRules.turnover_limit, gt=0)
    leverage_limit: float = Field(default=SolutionRules.leverage_limit, gt=0)

    @model_validator(mode="after")
    def _bounds_hold(self) -> SolutionConstraints:
        """min_weight <= max_weight; a sector limit above leverage_limit can never bind (the
        book never invests more), so it is a typo (60 for 0.6), refused."""
        conflicts = []
        if self.min_weight > self.max_weight:
            conflicts.append(("min_weight", f"min_weight {self.min_weight} is above max_weight {self.max_weight}"))
        for sector, limit in self.sector_limits.items():
            if limit > self.leverage_limit:
                conflicts.append(
                    (
                        f"sector_limits.{sector}",
                        f"sector limit {limit} is above leverage_limit {self.leverage_limit}: it can never bind",
                    )
                )
        refuse(conflicts)
        return self


class RebalanceRule(StrictModel):
    drift_threshold: float = Field(default=SolutionRules.drift_threshold, gt=0)
    monthly: bool = SolutionRules.monthly


class PauseRule(StrictModel):
    period_days: int = Field(default=SolutionRules.pause_days, ge=1)
    ramp_days: int = Field(default=SolutionRules.ramp_days, ge=0)
    cooldown_days: int = Field(default=SolutionRules.cooldown_days, ge=1)


class StopRule(StrictModel):
    valley_multiple: float = Field(default=SolutionRules.stop_valley_multiple, gt=1)
    max_pauses: int = Field(default=SolutionRules.max_pauses, ge=1)


class IncubationRule(StrictModel):
    """Strategies outside the alpha pool with pool evidence >= min_evidence (kept while
    >= exit_evidence), at scale x their weight."""

    min_evidence: float = Field(ge=0, le=1)
    exit_evidence: float | None = Field(default=SolutionRules.incubation_exit_evidence, ge=0, le=1)
    scale: float = Field(default=SolutionRules.incubation_scale, gt=0, le=1)

    @model_validator(mode="after")
    def _band(self) -> IncubationRule:
        if self.exit_evidence is not None and self.exit_evidence > self.min_evidence:
            raise ValueError(f"exit_evidence {self.exit_evidence} is above min_evidence {self.min_evidence}")
        return self


class ManualOverride(StrictModel):
    date: dt.date
    action: Literal["rebalance", "stop", "reinstate"]
    strategy_id: str | None = None

    @model_validator(mode="after")
    def _strategy_named(self) -> ManualOverride:
        if self.action != "rebalance" and not self.strategy_id:
            raise ValueError(f"manual {self.action} on {self.date} needs a strategy_id")
        return self


class Flow(StrictModel):
    """A subscription (positive ``amount``) or redemption (negative) on a business day, at that day's NAV."""

    date: dt.date
    amount: float

    @model_validator(mode="after")
    def _real_flow(self) -> Flow:
        conflicts = []
        if self.date.weekday() >= 5:
            conflicts.append(("date", f"{self.date} is a {self.date.strftime('%A')}, not a business day"))
        if self.amount == 0:
            conflicts.append(("amount", "a flow of 0: give a subscription (positive) or a redemption (negative)"))
        refuse(conflicts)
        return self


class SolutionConfig(StrictModel):
    """One solution. ``retired``: from that date the twin no longer steps it (no rows from
    then on) and its earlier rows are kept; remove it from the file only if it should
    keep every row it has and never be stepped again."""

    solution_id: str
    description: str = ""
    launch_date: dt.date
    retired: dt.date | None = None
    initial_aum: float = Field(gt=0)
    target_exposure: float = Field(default=SolutionRules.target_exposure, gt=0)
    policy: SolutionPolicy
    filters: SolutionFilters = SolutionFilters()
    constraints: SolutionConstraints = SolutionConstraints()
    rebalance: RebalanceRule = RebalanceRule()
    pause: PauseRule = PauseRule()
    stop: StopRule = StopRule()
    use_market_regime: bool = SolutionRules.use_market_regime
    incubation: IncubationRule | None = None
    metalabel_sizing: bool = SolutionRules.metalabel_sizing
    manual: list[ManualOverride] = []
    fees: SolutionFees | None = None
    flows: list[Flow] = []

    @model_validator(mode="after")
    def _exposure_and_weights_hold(self) -> SolutionConfig:
        refuse(_solution_conflicts(self))
        return self

    @model_validator(mode="after")
    def _retired_after_launch(self) -> SolutionConfig:
        if self.retired is not None and self.retired <= self.launch_date:
            raise ValueError(f"retired {self.retired} is not after launch_date {self.launch_date}")
        return self

    def rules(self) -> SolutionRules:
        """The solution's rules as the engine reads them (the layout's correspondence is
        ``SolutionRules.from_config``'s)."""
        return SolutionRules.from_config(self.model_dump())


def _solution_conflicts(solution: SolutionConfig) -> list[tuple[str, str]]:
    """The exposure within the leverage limit and above the min_weight floor; static
    weights are proportions (the engine renormalises them over the day's selection to the
    target exposure, then applies the bounds), so each listed id's weight, selected today
    or not, lies in [0, 1] and at least one is positive."""
    limits, exposure = solution.constraints, solution.target_exposure
    conflicts = []
    if exposure > limits.leverage_limit:
        conflicts.append(
            (
                "target_exposure",
                f"target_exposure {exposure} is above constraints.leverage_limit {limits.leverage_limit}",
            )
        )
    if limits.min_weight > exposure:
        conflicts.append(
            (
                "constraints.min_weight",
                f"min_weight {limits.min_weight} is above target_exposure {exposure}: not even one strategy fits",
            )
        )
    weights = solution.policy.static_weights
    for strategy_id, weight in (weights or {}).items():
        if weight > 1:
            conflicts.append(
                (
                    f"policy.static_weights.{strategy_id}",
                    f"weight {weight} is above 1: static weights are proportions, renormalised over the day's selection",
                )
            )
    if weights is not None and not any(w > 0 for w in weights.values()):
        conflicts.append(("policy.static_weights", "no weight is positive: give at least one strategy a weight"))
    for index, flow in enumerate(solution.flows):
        if flow.date < solution.launch_date or (solution.retired is not None and flow.date >= solution.retired):
            conflicts.append(
                (f"flows.{index}.date", f"{flow.date} is not a day the solution is managed (launch_date to retired)")
            )
    return conflicts


class SolutionsConfig(StrictModel):
    execution: CostModel = CostModel()
    solutions: list[SolutionConfig]

    @field_validator("solutions")
    @classmethod
    def _unique_ids(cls, solutions: list[SolutionConfig]) -> list[SolutionConfig]:
        if not solutions:
            raise ValueError(
                "no solutions: the twin needs at least one; to stop managing a solution give it "
                "'retired: <date>' instead of removing it"
            )
        ids = [s.solution_id for s in solutions]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"duplicate solution_id: {', '.join(duplicated)}")
        return solutions
