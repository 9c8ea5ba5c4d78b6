"""The firm's configuration: `config/*.yaml`, loaded through pydantic models.

Each file has one model; unknown keys are rejected so a typo cannot pass silently. A
missing, unreadable or malformed file raises ``ConfigError`` naming the file, the key
and the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"


class ConfigError(ValueError):
    """A config file is missing or malformed; the message names the file, key and reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- calendar.yaml -------------------------------------------------------------------


class CalendarConfig(_Strict):
    """Business days run Monday to Friday from ``first_business_day``; a live firm leaves
    ``last_business_day`` out (open-ended)."""

    first_business_day: dt.date
    last_business_day: dt.date | None = None
    timezone: str = "America/New_York"
    schedule_time: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("first_business_day", "last_business_day")
    @classmethod
    def _weekday(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value.weekday() >= 5:
            raise ValueError(f"{value} is a {value.strftime('%A')}, not a business day")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CalendarConfig:
        if self.last_business_day is not None and self.last_business_day < self.first_business_day:
            raise ValueError("last_business_day is before first_business_day")
        return self

    @property
    def open_ended(self) -> bool:
        return self.last_business_day is None


# --- strategies.yaml -----------------------------------------------------------------


class Shock(_Strict):
    """A scripted stress: ``strategy_id`` returns ``daily_return`` on ``days`` business days from ``start``."""

    strategy_id: str
    start: dt.date
    days: int = Field(default=1, ge=1)
    daily_return: float = Field(gt=-1, le=0.5)


class SyntheticSourceConfig(_Strict):
    n_strategies: int = Field(default=20, ge=1)
    seed: int = 7
    shocks: list[Shock] = []


class SourceConfig(_Strict):
    kind: Literal["bundled", "file", "synthetic"] = "bundled"
    returns_file: str | None = None
    synthetic: SyntheticSourceConfig = SyntheticSourceConfig()
    cost_bps: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _file_named(self) -> SourceConfig:
        if self.kind == "file" and not self.returns_file:
            raise ValueError("kind 'file' needs returns_file")
        return self


class ExpertView(_Strict):
    """An expert's belief about a strategy, simulated beside the fitted model's."""

    annual_return: float
    annual_volatility: float = Field(gt=0)
    tail_df: float = Field(default=float("inf"), gt=2)


class StrategyMetadata(_Strict):
    sector: str | None = None
    asset_class: str | None = None
    cost_class: str | None = None
    expert: ExpertView | None = None


class ModelSettings(_Strict):
    """The Bayesian strategy model (models.strategy_posteriors)."""

    method: Literal["nuts", "conjugate"] = "nuts"
    window_days: int = Field(default=504, ge=20)
    draws: int = Field(default=300, ge=50)
    tune: int = Field(default=300, ge=50)
    chains: int = Field(default=2, ge=1)
    seed: int = 20260101
    hurdle_sharpe: float = 0.0
    max_rhat: float = Field(default=1.05, gt=1)
    min_ess_bulk: float = Field(default=100, gt=0)
    max_divergence_share: float = Field(default=0.01, ge=0)


class ForecastSettings(_Strict):
    """The one-month posterior-predictive simulation (models.strategy_forecasts)."""

    horizon: int = Field(default=21, ge=1)
    n_paths: int = Field(default=2000, ge=100)
    seed: int = 20260102
    valley_quantile: float = Field(default=0.05, gt=0, lt=0.5)


class PoolPolicySettings(_Strict):
    """The alpha-pool policy (alpha.alpha_pool); see twin_model.policies.AlphaPoolPolicy."""

    signal: Literal["p_alpha_positive", "p_sharpe_above_hurdle"] = "p_alpha_positive"
    enter_probability: float = Field(default=0.975, ge=0, le=1)
    exit_probability: float = Field(default=0.80, ge=0, le=1)
    min_deflated_sharpe: float = 0.10
    min_history: int = Field(default=126, ge=0)
    max_drawdown: float = Field(default=-0.35, lt=0)
    min_days_in_state: int = Field(default=5, ge=0)


class StrategyDefaults(_Strict):
    sector: str = "unclassified"
    asset_class: str = "unknown"
    cost_class: str = "standard"


class StrategiesConfig(_Strict):
    source: SourceConfig = SourceConfig()
    model: ModelSettings = ModelSettings()
    forecast: ForecastSettings = ForecastSettings()
    pool_policy: PoolPolicySettings = PoolPolicySettings()
    defaults: StrategyDefaults = StrategyDefaults()
    strategies: dict[str, StrategyMetadata] = {}

    def metadata(self, strategy_id: str) -> StrategyDefaults:
        """The strategy's metadata, each field falling back to the defaults."""
        given = self.strategies.get(strategy_id, StrategyMetadata()).model_dump(exclude_none=True, exclude={"expert"})
        return self.defaults.model_copy(update=given)

    def expert_views(self) -> dict[str, ExpertView]:
        return {sid: meta.expert for sid, meta in self.strategies.items() if meta.expert is not None}


# --- solutions.yaml ------------------------------------------------------------------


class SolutionPolicy(_Strict):
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
    method: Literal[
        "MEAN_VARIANCE", "BLACK_LITTERMAN", "RISK_PARITY", "HIERARCHICAL_RISK_PARITY", "ROBUST_OPTIMIZATION"
    ] | None = None
    static_weights: dict[str, float] | None = None


class SolutionFilters(_Strict):
    sectors: list[str] | None = None
    asset_classes: list[str] | None = None


class SolutionConstraints(_Strict):
    min_weight: float = Field(default=0.0, ge=0)
    max_weight: float = Field(default=1.0, gt=0)
    sector_limits: dict[str, float] = {}
    turnover_limit: float | None = Field(default=None, gt=0)
    leverage_limit: float = Field(default=1.0, gt=0)


class RebalanceRule(_Strict):
    drift_threshold: float = Field(default=0.05, gt=0)
    monthly: bool = True


class PauseRule(_Strict):
    period_days: int = Field(default=10, ge=1)
    ramp_days: int = Field(default=5, ge=0)
    cooldown_days: int = Field(default=10, ge=1)


class StopRule(_Strict):
    valley_multiple: float = Field(default=2.0, gt=1)
    max_pauses: int = Field(default=3, ge=1)


class IncubationRule(_Strict):
    """Strategies outside the alpha pool with pool evidence >= min_evidence (kept while
    >= exit_evidence), at scale x their weight."""

    min_evidence: float = Field(ge=0, le=1)
    exit_evidence: float | None = Field(default=None, ge=0, le=1)
    scale: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _band(self) -> "IncubationRule":
        if self.exit_evidence is not None and self.exit_evidence > self.min_evidence:
            raise ValueError(f"exit_evidence {self.exit_evidence} is above min_evidence {self.min_evidence}")
        return self


class ManualOverride(_Strict):
    date: dt.date
    action: Literal["rebalance", "stop", "reinstate"]
    strategy_id: str | None = None

    @model_validator(mode="after")
    def _strategy_named(self) -> "ManualOverride":
        if self.action != "rebalance" and not self.strategy_id:
            raise ValueError(f"manual {self.action} on {self.date} needs a strategy_id")
        return self


class SolutionConfig(_Strict):
    """One solution. ``retired``: from that date the twin no longer steps it (no rows from
    then on) and its earlier rows are kept; remove it from the file only if it should
    keep every row it has and never be stepped again."""

    solution_id: str
    description: str = ""
    launch_date: dt.date
    retired: dt.date | None = None
    initial_aum: float = Field(gt=0)
    target_exposure: float = Field(default=1.0, gt=0)
    policy: SolutionPolicy
    filters: SolutionFilters = SolutionFilters()
    constraints: SolutionConstraints = SolutionConstraints()
    rebalance: RebalanceRule = RebalanceRule()
    pause: PauseRule = PauseRule()
    stop: StopRule = StopRule()
    use_market_regime: bool = False
    incubation: IncubationRule | None = None
    manual: list[ManualOverride] = []

    @model_validator(mode="after")
    def _retired_after_launch(self) -> "SolutionConfig":
        if self.retired is not None and self.retired <= self.launch_date:
            raise ValueError(f"retired {self.retired} is not after launch_date {self.launch_date}")
        return self


class ExecutionConfig(_Strict):
    """The trading-cost model (twin_model.execution.CostModel)."""

    commission_bps: float = Field(default=1.0, ge=0)
    half_spread_bps: float = Field(default=2.0, ge=0)
    impact_coefficient: float = Field(default=0.001, ge=0)
    capacity: float = Field(default=1e9, gt=0)
    slippage_sd_bps: float = Field(default=1.0, ge=0)
    seed: int = 20260103


class SolutionsConfig(_Strict):
    execution: ExecutionConfig = ExecutionConfig()
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


# --- risk_limits.yaml ----------------------------------------------------------------


class PortfolioLimits(_Strict):
    max_gross_leverage: float = Field(gt=0)
    drawdown_stop: float = Field(lt=0)
    volatility_target: float = Field(gt=0)
    max_pairwise_correlation: float = Field(gt=-1, le=1)
    min_diversification_ratio: float = Field(ge=1)
    var_95: float = Field(lt=0)
    cvar_95: float = Field(lt=0)
    var_99: float = Field(lt=0)
    cvar_99: float = Field(lt=0)


class StrategyLimits(_Strict):
    max_weight: float = Field(gt=0, le=1)
    drawdown_stop: float = Field(lt=0)
    max_volatility: float = Field(gt=0)


class PositionLimits(_Strict):
    max_net_exposure_per_ticker: float = Field(gt=0)


class RiskLimitsConfig(_Strict):
    portfolio: PortfolioLimits
    strategy: StrategyLimits
    position: PositionLimits


# --- firm.yaml -----------------------------------------------------------------------


class ProjectionConfig(_Strict):
    months_ahead: int = Field(default=12, ge=1)
    scenarios: int = Field(default=2000, ge=100)
    seed: int = 11


class FirmConfig(_Strict):
    name: str
    management_fee: float = Field(ge=0, lt=1)
    performance_fee: float = Field(ge=0, lt=1)
    hurdle_rate: float = 0.0
    fixed_costs_per_year: float = Field(ge=0)
    cost_per_strategy_per_year: float = Field(ge=0)
    projection: ProjectionConfig = ProjectionConfig()


# --- loading -------------------------------------------------------------------------


class TwinConfig(_Strict):
    calendar: CalendarConfig
    strategies: StrategiesConfig
    solutions: SolutionsConfig
    risk_limits: RiskLimitsConfig
    firm: FirmConfig


_FILES: dict[str, type[BaseModel]] = {
    "calendar": CalendarConfig,
    "strategies": StrategiesConfig,
    "solutions": SolutionsConfig,
    "risk_limits": RiskLimitsConfig,
    "firm": FirmConfig,
}


def config_dir() -> Path:
    """``TWIN_CONFIG_DIR`` when set, else the project's ``config/``."""
    return Path(os.environ.get("TWIN_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def load_file(path: Path, model: type[BaseModel]) -> BaseModel:
    """Parse one YAML file into ``model``; every failure names the file and the key."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror or error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}: malformed YAML{where}: {reason}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        reasons = "; ".join(
            f"key '{'.'.join(str(p) for p in item['loc']) or '<top>'}': {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {reasons}") from None


def load_calendar(directory: Path | None = None) -> CalendarConfig:
    """Only the calendar: what the partitions definition needs at code-location load."""
    return load_file((directory or config_dir()) / "calendar.yaml", CalendarConfig)  # type: ignore[return-value]


def load_config(directory: Path | None = None) -> TwinConfig:
    """All five files of ``directory`` (default: ``config_dir()``)."""
    directory = directory or config_dir()
    parts = {name: load_file(directory / f"{name}.yaml", model) for name, model in _FILES.items()}
    return TwinConfig(**parts)
