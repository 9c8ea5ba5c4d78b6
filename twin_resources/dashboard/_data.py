"""What the dashboard reads from the warehouse for its day: every table it shows, up to
the as-of, and the back-test table (read generically: any columns) when it exists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from twin_model.contracts import TABLES
from twin_resources.warehouse import Warehouse, quote_identifier

BACKTEST_TABLE = ("twin", "backtest_results")
HISTORY_TABLES = {
    "returns": ("raw.strategy_returns", ["date", "strategy_id", "ret"]),
    "factors": ("raw.factor_returns", ["date", "factor_id", "ret", "is_benchmark"]),
    "performance": ("portfolio.solution_performance", None),
    "weights": ("portfolio.solution_weights", ["date", "solution_id", "strategy_id", "weight_close", "status"]),
    "attribution": ("portfolio.strategy_attribution", None),
    "violations": ("portfolio.risk_violations", None),
    "pool": ("alpha.alpha_pool", ["date", "strategy_id", "in_pool", "changed", "evidence", "reason"]),
    "calibration": ("models.forecast_calibration", None),
    "metalabel_scores": ("models.metalabel_scores", None),
    "firm_pnl": ("firm.firm_pnl", None),
    "projections": ("firm.firm_projections", None),
    "evaluations": ("twin.policy_evaluations", None),
}
"""Tables read over their whole history up to the as-of: name -> (table, columns or all)."""
DAY_TABLES = {
    "posteriors": "models.strategy_posteriors",
    "forecasts": "models.strategy_forecasts",
    "statistics": "stats.strategy_statistics",
}
"""Tables read on the as-of only."""


@dataclass(frozen=True)
class Limits:
    """The portfolio limits the risk page draws: gross leverage and the volatility target."""

    max_gross_leverage: float
    volatility_target: float


@dataclass(frozen=True)
class DashboardData:
    """Every frame the pages draw, as of ``as_of``; ``backtest`` is None without the table."""

    as_of: dt.date
    limits: Limits
    frames: dict[str, pl.DataFrame]
    backtest: pl.DataFrame | None

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.frames[name]

    @property
    def benchmark(self) -> pl.DataFrame:
        """date, ret of the benchmark factor."""
        return self.frames["factors"].filter(pl.col("is_benchmark")).select("date", "ret")


def load(warehouse: Warehouse, as_of: dt.date, limits: Limits) -> DashboardData:
    """Read the dashboard's tables as of ``as_of`` (a table not yet written reads empty)."""
    frames = {
        name: warehouse.read(TABLES[table], None, as_of, columns) for name, (table, columns) in HISTORY_TABLES.items()
    }
    frames.update({name: warehouse.read(TABLES[table], as_of, as_of) for name, table in DAY_TABLES.items()})
    return DashboardData(as_of, limits, frames, read_backtest(warehouse, as_of))


def read_backtest(warehouse: Warehouse, as_of: dt.date) -> pl.DataFrame | None:
    """The rows of ``twin.backtest_results`` (any columns; dated at or before ``as_of`` when
    it has a ``date`` column), or None when the table does not exist."""
    if not warehouse.path.exists():
        return None
    schema, name = BACKTEST_TABLE
    with warehouse.connect(read_only=True) as connection:
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchall()
        ]
        if not columns:
            return None
        catalog = connection.execute("SELECT current_database()").fetchall()[0][0]
        table = ".".join(quote_identifier(part) for part in (catalog, schema, name))
        where, params = ("WHERE date <= ?", [as_of]) if "date" in columns else ("", [])
        return connection.sql(f"SELECT * FROM {table} {where}", params=params).pl()
