"""Every warehouse table: where it lives, its schema and the keys that name a row."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from twin_model.contracts._alpha import AlphaPool
from twin_model.contracts._events import PortfolioOptimized
from twin_model.contracts._firm import FirmDecisions, FirmPnl, FirmProjections
from twin_model.contracts._models import (
    ForecastCalibration,
    MetalabelOutcomes,
    Metalabels,
    StrategyForecasts,
    StrategyPosteriors,
)
from twin_model.contracts._portfolio import (
    RebalanceOrders,
    RiskViolations,
    SolutionOptimizations,
    SolutionPerformance,
    SolutionWeights,
    StrategyAttribution,
)
from twin_model.contracts._raw import FactorReturns, MarketPrices, MarketRegime, StrategyPositions, StrategyReturns
from twin_model.contracts._restatements import InputDigests, Restatements
from twin_model.contracts._stats import StrategyStatistics
from twin_model.contracts._twin import BacktestResults, PolicyEvaluations


@dataclass(frozen=True)
class TableSpec:
    """Where a table lives in the warehouse, its schema and the keys that name a row."""

    layer: str
    name: str
    model: type[pa.DataFrameModel]
    keys: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def path(self) -> list[str]:
        """The asset key path of the table's asset: [layer, name]."""
        return [self.layer, self.name]

    def columns(self) -> dict[str, pl.DataType]:
        """Column name to polars dtype, in schema order."""
        return {name: column.dtype.type for name, column in self.model.to_schema().columns.items()}

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.columns())


TABLES: dict[str, TableSpec] = {
    spec.qualified_name: spec
    for spec in (
        TableSpec("raw", "market_prices", MarketPrices, ("date", "ticker")),
        TableSpec("raw", "strategy_returns", StrategyReturns, ("date", "strategy_id")),
        TableSpec("raw", "strategy_positions", StrategyPositions, ("date", "strategy_id", "ticker")),
        TableSpec("raw", "factor_returns", FactorReturns, ("date", "factor_id")),
        TableSpec("raw", "market_regime", MarketRegime, ("date",)),
        TableSpec("raw", "input_digests", InputDigests, ("date", "table")),
        TableSpec("raw", "restatements", Restatements, ("date", "table", "detected_at")),
        TableSpec("models", "strategy_posteriors", StrategyPosteriors, ("date", "strategy_id")),
        TableSpec("models", "strategy_forecasts", StrategyForecasts, ("date", "strategy_id", "parameter_set")),
        TableSpec("models", "forecast_calibration", ForecastCalibration, ("date", "strategy_id")),
        TableSpec("models", "metalabels", Metalabels, ("date", "strategy_id")),
        TableSpec("models", "metalabel_scores", MetalabelOutcomes, ("date", "strategy_id", "prediction_date")),
        TableSpec("stats", "strategy_statistics", StrategyStatistics, ("date", "strategy_id", "window")),
        TableSpec("alpha", "alpha_pool", AlphaPool, ("date", "strategy_id")),
        TableSpec("portfolio", "solution_weights", SolutionWeights, ("date", "solution_id", "strategy_id")),
        TableSpec("portfolio", "solution_optimizations", SolutionOptimizations, ("date", "solution_id")),
        TableSpec("portfolio", "solution_performance", SolutionPerformance, ("date", "solution_id")),
        TableSpec("portfolio", "strategy_attribution", StrategyAttribution, ("date", "solution_id", "strategy_id")),
        TableSpec("portfolio", "risk_violations", RiskViolations, ("date", "solution_id", "level", "rule", "subject")),
        TableSpec("portfolio", "rebalance_orders", RebalanceOrders, ("date", "solution_id", "strategy_id")),
        TableSpec("twin", "policy_evaluations", PolicyEvaluations, ("date", "solution_id", "candidate_id")),
        TableSpec("twin", "backtest_results", BacktestResults, ("date", "kind", "portfolio_id")),
        TableSpec("firm", "firm_pnl", FirmPnl, ("date", "solution_id")),
        TableSpec("firm", "firm_projections", FirmProjections, ("date", "solution_id", "months_ahead")),
        TableSpec("firm", "firm_decisions", FirmDecisions, ("date",)),
        TableSpec("events", "portfolio_optimized", PortfolioOptimized, ("date", "timestamp", "event_id")),
    )
}


def table_spec(qualified_name: str) -> TableSpec:
    """The spec of ``layer.table``; a clear error for a table the contract does not know."""
    try:
        return TABLES[qualified_name]
    except KeyError:
        raise KeyError(f"no schema for table {qualified_name!r}; known: {sorted(TABLES)}") from None
