"""The firm's configuration: `config/*.yaml`, loaded through pydantic models.

Each file has one model; unknown keys are rejected so a typo cannot pass silently. A
section that configures a domain object is that object's own type (``FitSettings``,
``SimulationSettings``, ``AlphaPoolPolicy``, ``CostModel``, ``RiskLimits``; a solution's
sections take ``SolutionRules``' defaults and ``SolutionConfig.rules()`` yields it), so
each default and bound is written once, in ``twin_model``; the firm may narrow a domain
type's bounds (``firm_bounds``: a production run fits at least 50 draws). A
missing, unreadable or malformed file raises ``ConfigError`` naming the file, the key
and the reason. Rules across keys are checked at load too (min_weight <= max_weight,
exposure within leverage, static weights within bounds, CVaR limits at or below VaR
limits, a solution's exposure within the firm's gross leverage limit), each naming the
key it refuses. Whether a solution's min_weight floor fits its selected strategies
depends on the day's universe, so that is the optimiser's (named) concern, not load's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zoneinfo
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from twin_model.calendar import HolidayCalendar, exchange_names
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution_state import SolutionRules
from twin_model.strategy import AlphaPoolPolicy, FitSettings, SimulationSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"


class ConfigError(ValueError):
    """A config file is missing or malformed; the message names the file, key and reason."""


class KeyConflict(ValueError):
    """Rules across a model's keys that do not hold, as (key below the model, reason)
    pairs: ``load_file`` names each key in full (``solutions.0.constraints.min_weight``)."""

    def __init__(self, conflicts: Sequence[tuple[str, str]]):
        super().__init__("; ".join(f"key '{key}': {reason}" for key, reason in conflicts))
        self.conflicts = tuple(conflicts)


def _refuse(conflicts: Sequence[tuple[str, str]]) -> None:
    """Raise ``KeyConflict`` when any rule across keys failed."""
    if conflicts:
        raise KeyConflict(conflicts)


def firm_bounds(**bounds: FieldInfo) -> AfterValidator:
    """Bounds the firm's config sets on a domain type's fields beyond the type's own (a
    run fits at least 50 draws; the model itself takes any positive number): each value
    outside them is refused naming its key, in pydantic's words."""
    checks = {key: TypeAdapter(Annotated[float, bound]) for key, bound in bounds.items()}

    def check(value):
        conflicts = []
        for key, adapter in checks.items():
            try:
                adapter.validate_python(getattr(value, key))
            except ValidationError as error:
                conflicts += [(key, item["msg"]) for item in error.errors()]
        _refuse(conflicts)
        return value

    return AfterValidator(check)


NonNegative = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- calendar.yaml -------------------------------------------------------------------


class CalendarConfig(_Strict):
    """Business days run Monday to Friday from ``first_business_day``; a live firm leaves
    ``last_business_day`` out (open-ended).

    A weekday may be without data only when the firm's holiday calendar says so:
    ``holidays`` names an exchange calendar (an ``exchange_calendars`` code such as XNYS)
    and ``no_data_days`` lists further weekdays (the firm's own holidays, or a day it
    accepts as empty). Any other weekday without rows fails the run naming the day.
    """

    first_business_day: dt.date
    last_business_day: dt.date | None = None
    timezone: str = "America/New_York"
    schedule_time: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: str | None = None
    no_data_days: list[dt.date] = []

    @field_validator("first_business_day", "last_business_day")
    @classmethod
    def _weekday(cls, value: dt.date | None) -> dt.date | None:
        if value is not None:
            _require_weekday(value)
        return value

    @field_validator("no_data_days")
    @classmethod
    def _weekdays(cls, days: list[dt.date]) -> list[dt.date]:
        for day in days:
            _require_weekday(day)
        return days

    @field_validator("holidays")
    @classmethod
    def _known_exchange(cls, value: str | None) -> str | None:
        if value is not None and value not in exchange_names():
            raise ValueError(f"unknown exchange calendar {value!r} (an exchange_calendars code such as 'XNYS')")
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

    def holiday_calendar(self) -> HolidayCalendar:
        return HolidayCalendar(self.holidays, frozenset(self.no_data_days))


def _require_weekday(day: dt.date) -> None:
    if day.weekday() >= 5:
        raise ValueError(f"{day} is a {day.strftime('%A')}, not a business day")


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


class StrategyDefaults(_Strict):
    sector: str = "unclassified"
    asset_class: str = "unknown"
    cost_class: str = "standard"


class StrategiesConfig(_Strict):
    source: SourceConfig = SourceConfig()
    model: Annotated[
        FitSettings, firm_bounds(window_days=Field(ge=20), draws=Field(ge=50), tune=Field(ge=50), max_rhat=Field(gt=1))
    ] = FitSettings()
    forecast: Annotated[SimulationSettings, firm_bounds(n_paths=Field(ge=100), valley_quantile=Field(lt=0.5))] = (
        SimulationSettings()
    )
    pool_policy: AlphaPoolPolicy = AlphaPoolPolicy()
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
        _refuse(conflicts)
        return self


class SolutionFilters(_Strict):
    sectors: list[str] | None = None
    asset_classes: list[str] | None = None


class SolutionConstraints(_Strict):
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
                conflicts.append((
                    f"sector_limits.{sector}",
                    f"sector limit {limit} is above leverage_limit {self.leverage_limit}: it can never bind",
                ))
        _refuse(conflicts)
        return self


class RebalanceRule(_Strict):
    drift_threshold: float = Field(default=SolutionRules.drift_threshold, gt=0)
    monthly: bool = SolutionRules.monthly


class PauseRule(_Strict):
    period_days: int = Field(default=SolutionRules.pause_days, ge=1)
    ramp_days: int = Field(default=SolutionRules.ramp_days, ge=0)
    cooldown_days: int = Field(default=SolutionRules.cooldown_days, ge=1)


class StopRule(_Strict):
    valley_multiple: float = Field(default=SolutionRules.stop_valley_multiple, gt=1)
    max_pauses: int = Field(default=SolutionRules.max_pauses, ge=1)


class IncubationRule(_Strict):
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


class ManualOverride(_Strict):
    date: dt.date
    action: Literal["rebalance", "stop", "reinstate"]
    strategy_id: str | None = None

    @model_validator(mode="after")
    def _strategy_named(self) -> ManualOverride:
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
    target_exposure: float = Field(default=SolutionRules.target_exposure, gt=0)
    policy: SolutionPolicy
    filters: SolutionFilters = SolutionFilters()
    constraints: SolutionConstraints = SolutionConstraints()
    rebalance: RebalanceRule = RebalanceRule()
    pause: PauseRule = PauseRule()
    stop: StopRule = StopRule()
    use_market_regime: bool = SolutionRules.use_market_regime
    incubation: IncubationRule | None = None
    manual: list[ManualOverride] = []

    @model_validator(mode="after")
    def _exposure_and_weights_hold(self) -> SolutionConfig:
        _refuse(_solution_conflicts(self))
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
        conflicts.append((
            "target_exposure",
            f"target_exposure {exposure} is above constraints.leverage_limit {limits.leverage_limit}",
        ))
    if limits.min_weight > exposure:
        conflicts.append((
            "constraints.min_weight",
            f"min_weight {limits.min_weight} is above target_exposure {exposure}: not even one strategy fits",
        ))
    weights = solution.policy.static_weights
    for strategy_id, weight in (weights or {}).items():
        if weight > 1:
            conflicts.append((
                f"policy.static_weights.{strategy_id}",
                f"weight {weight} is above 1: static weights are proportions, renormalised over the day's selection",
            ))
    if weights is not None and not any(w > 0 for w in weights.values()):
        conflicts.append(("policy.static_weights", "no weight is positive: give at least one strategy a weight"))
    return conflicts


class SolutionsConfig(_Strict):
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


# --- risk_limits.yaml ----------------------------------------------------------------


def _tails_ordered(limits: RiskLimits) -> RiskLimits:
    """For every return series CVaR (the mean beyond VaR) is at or below VaR, and the 99%
    tail at or below the 95% one; a deeper tail's limit above the shallower's breaches
    first whenever either would, so the pair cannot mean what it says."""
    portfolio = limits.portfolio
    _refuse([
        (f"portfolio.{deeper}", f"{deeper} {getattr(portfolio, deeper)} is above {shallower} {getattr(portfolio, shallower)}: "
                                f"{deeper} is never above {shallower}, so its limit must be at or below it")
        for deeper, shallower in _TAIL_ORDER
        if getattr(portfolio, deeper) > getattr(portfolio, shallower)
    ])
    return limits


_TAIL_ORDER = (("cvar_95", "var_95"), ("cvar_99", "var_99"), ("var_99", "var_95"), ("cvar_99", "cvar_95"))
"""(deeper, shallower) tail measures: the deeper one's limit must be at or below the other's."""


RiskLimitsConfig = Annotated[RiskLimits, AfterValidator(_tails_ordered)]
"""``risk_limits.yaml``: the domain's ``RiskLimits`` with the tail order checked."""


# --- firm.yaml -----------------------------------------------------------------------


class ProjectionConfig(_Strict):
    months_ahead: int = Field(default=12, ge=1)
    scenarios: int = Field(default=2000, ge=100)
    seed: int = 11


class FirmConfig(_Strict):
    name: str = Field(pattern=r"\S")
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


_FILES: dict[str, Any] = {
    "calendar": CalendarConfig,
    "strategies": StrategiesConfig,
    "solutions": SolutionsConfig,
    "risk_limits": RiskLimitsConfig,
    "firm": FirmConfig,
}


def config_dir() -> Path:
    """``TWIN_CONFIG_DIR`` when set, else the project's ``config/``."""
    return Path(os.environ.get("TWIN_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def load_file(path: Path, model: Any) -> Any:
    """Parse one YAML file into ``model`` (a file model of ``_FILES``); every failure names
    the file and the key."""
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
        return TypeAdapter(model).validate_python(data)
    except ValidationError as error:
        reasons = "; ".join(f"key '{key}': {reason}" for key, reason in _keyed_reasons(error))
        raise ConfigError(f"{path}: {reasons}") from None


def _keyed_reasons(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(full key path, reason) per failure; a ``KeyConflict`` names the keys below its model."""
    for item in error.errors():
        where = [str(part) for part in item["loc"]]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, KeyConflict):
            for key, reason in cause.conflicts:
                yield ".".join([*where, key]), reason
        else:
            yield ".".join(where) or "<top>", item["msg"]


def load_calendar(directory: Path | None = None) -> CalendarConfig:
    """Only the calendar: what the partitions definition needs at code-location load."""
    return load_file((directory or config_dir()) / "calendar.yaml", CalendarConfig)  # type: ignore[return-value]


def load_config(directory: Path | None = None) -> TwinConfig:
    """All five files of ``directory`` (default: ``config_dir()``), each validated, then
    checked against each other; one ``ConfigError`` lists every file's problems."""
    directory = directory or config_dir()
    parts, problems = {}, []
    for name, model in _FILES.items():
        try:
            parts[name] = load_file(directory / f"{name}.yaml", model)
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))
    config = TwinConfig(**parts)
    problems = _cross_file_problems(config, directory)
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _cross_file_problems(config: TwinConfig, directory: Path) -> list[str]:
    """A solution whose target exposure is above the firm's gross leverage limit breaches
    it on every day it is invested."""
    ceiling = config.risk_limits.portfolio.max_gross_leverage
    limit = f"{directory / 'risk_limits.yaml'} key 'portfolio.max_gross_leverage' {ceiling}"
    return [
        f"{directory / 'solutions.yaml'}: key 'solutions.{index}.target_exposure': "
        f"target_exposure {solution.target_exposure} is above {limit}"
        for index, solution in enumerate(config.solutions.solutions)
        if solution.target_exposure > ceiling
    ]


def config_hash(directory: Path | None = None) -> str:
    """sha256 of the five files' validated content as canonical JSON (sorted keys, defaults
    filled in): comments, layout, key order and spelling out a default leave it unchanged;
    any value changes it. Provenance records it with each partition."""
    content = load_config(directory).model_dump(mode="json")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
