"""``strategies.yaml``: the return source, the factors alpha is measured over, the strategy
model, its forecast, the alpha-pool policy, the metalabel model and each strategy's metadata."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin_model.conventions import UNCLASSIFIED_SECTOR, UNKNOWN_ASSET_CLASS
from twin_model.data import SyntheticConfig
from twin_model.data.factors import FactorSettings
from twin_model.metalabel import MetalabelSettings
from twin_model.strategy import AlphaPoolPolicy, FitSettings, SimulationSettings
from twin_resources.config._base import StrictModel, firm_bounds


class Shock(StrictModel):
    """A scripted stress: ``strategy_id`` returns ``daily_return`` on ``days`` business days from ``start``."""

    strategy_id: str
    start: dt.date
    days: int = Field(default=1, ge=1)
    daily_return: float = Field(gt=-1, le=0.5)


class SyntheticSourceConfig(StrictModel):
    """The size and seed of a synthetic universe (``twin_model.data.SyntheticConfig``,
    anchored on the calendar's first business day)."""

    n_strategies: int = Field(default=SyntheticConfig.n_strategies, ge=1)
    seed: int = SyntheticConfig.seed
    shocks: list[Shock] = []


class SourceConfig(StrictModel):
    """Where returns (and factors) come from; a file path is relative to the config
    directory. ``TWIN_RETURNS_FILE`` and ``TWIN_FACTORS_FILE`` win over the files named here."""

    kind: Literal["bundled", "file", "synthetic"] = "bundled"
    returns_file: str | None = None
    factors_file: str | None = None
    synthetic: SyntheticSourceConfig = SyntheticSourceConfig()
    cost_bps: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _file_named(self) -> SourceConfig:
        if self.kind == "file" and not self.returns_file:
            raise ValueError("kind 'file' needs returns_file")
        return self


class ExpertView(StrictModel):
    """An expert's belief about a strategy, simulated beside the fitted model's."""

    annual_return: float
    annual_volatility: float = Field(gt=0)
    tail_df: float = Field(default=float("inf"), gt=2)


class StrategyMetadata(StrictModel):
    sector: str | None = None
    asset_class: str | None = None
    cost_class: str | None = None
    expert: ExpertView | None = None


class StrategyDefaults(StrictModel):
    """What a strategy the file does not classify is: the solution level's own fallbacks."""

    sector: str = UNCLASSIFIED_SECTOR
    asset_class: str = UNKNOWN_ASSET_CLASS
    cost_class: str = "standard"


class StrategiesConfig(StrictModel):
    source: SourceConfig = SourceConfig()
    factors: FactorSettings = FactorSettings()
    model: Annotated[
        FitSettings, firm_bounds(window_days=Field(ge=20), draws=Field(ge=50), tune=Field(ge=50), max_rhat=Field(gt=1))
    ] = FitSettings()
    forecast: Annotated[SimulationSettings, firm_bounds(n_paths=Field(ge=100), valley_quantile=Field(lt=0.5))] = (
        SimulationSettings()
    )
    pool_policy: AlphaPoolPolicy = AlphaPoolPolicy()
    metalabel: MetalabelSettings = MetalabelSettings()
    defaults: StrategyDefaults = StrategyDefaults()
    strategies: dict[str, StrategyMetadata] = {}

    def metadata(self, strategy_id: str) -> StrategyDefaults:
        """The strategy's metadata, each field falling back to the defaults."""
        given = self.strategies.get(strategy_id, StrategyMetadata()).model_dump(exclude_none=True, exclude={"expert"})
        return self.defaults.model_copy(update=given)

    def expert_views(self) -> dict[str, ExpertView]:
        return {sid: meta.expert for sid, meta in self.strategies.items() if meta.expert is not None}
