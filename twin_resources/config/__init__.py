"""The firm's configuration: `config/*.yaml`, loaded through pydantic models, one module
per file (``_calendar``, ``_strategies``, ``_solutions``, ``_risk_limits``, ``_firm``, ``_twin``) and
``_loading`` for reading them.

Each file has one model; unknown keys are rejected so a typo cannot pass silently. A
section that configures a domain object is that object's own type (``FactorSettings``,
``FitSettings``, ``SimulationSettings``, ``AlphaPoolPolicy``, ``CostModel``, ``RiskLimits``; a solution's
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

from twin_resources.config._base import ConfigError, KeyConflict, firm_bounds
from twin_resources.config._calendar import CalendarConfig
from twin_resources.config._firm import CashRateChange, FirmConfig, NewSolutionConfig, ProjectionConfig, SolutionFees
from twin_resources.config._loading import (
    DEFAULT_CONFIG_DIR,
    PROJECT_ROOT,
    TwinConfig,
    config_dir,
    config_hash,
    load_calendar,
    load_config,
    load_file,
)
from twin_resources.config._risk_limits import RiskLimitsConfig
from twin_resources.config._solutions import (
    Flow,
    IncubationRule,
    ManualOverride,
    PauseRule,
    RebalanceRule,
    SolutionConfig,
    SolutionConstraints,
    SolutionFilters,
    SolutionPolicy,
    SolutionsConfig,
    StopRule,
)
from twin_resources.config._strategies import (
    ExpertView,
    Shock,
    SourceConfig,
    StrategiesConfig,
    StrategyDefaults,
    StrategyMetadata,
    SyntheticSourceConfig,
)

__all__ = [
    "DEFAULT_CONFIG_DIR",
    "PROJECT_ROOT",
    "CalendarConfig",
    "ConfigError",
    "CashRateChange",
    "ExpertView",
    "FirmConfig",
    "Flow",
    "IncubationRule",
    "KeyConflict",
    "ManualOverride",
    "PauseRule",
    "NewSolutionConfig",
    "ProjectionConfig",
    "RebalanceRule",
    "RiskLimitsConfig",
    "Shock",
    "SolutionConfig",
    "SolutionConstraints",
    "SolutionFees",
    "SolutionFilters",
    "SolutionPolicy",
    "SolutionsConfig",
    "SourceConfig",
    "StopRule",
    "StrategiesConfig",
    "StrategyDefaults",
    "StrategyMetadata",
    "SyntheticSourceConfig",
    "TwinConfig",
    "config_dir",
    "config_hash",
    "firm_bounds",
    "load_calendar",
    "load_config",
    "load_file",
]
