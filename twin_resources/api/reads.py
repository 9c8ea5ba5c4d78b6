"""What the HTTP API reads: the latest read snapshot of the warehouse, never the live file.

Each read opens the snapshot afresh (``open_snapshot``), so a snapshot published while
the API runs is served from the next request on, and a reader holding the old one keeps
its consistent view (twin_resources.snapshot). Every answer carries the as-of it was
read at.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import polars as pl

from twin_model.contracts import TABLES, TableSpec
from twin_resources.snapshot import Snapshot, SnapshotInfo, open_snapshot
from twin_resources.warehouse import qualified_table, quote_identifier

OPTIMIZATIONS = TABLES["portfolio.solution_optimizations"]
STATE_TABLES: dict[str, TableSpec] = {
    "alpha_pool": TABLES["alpha.alpha_pool"],
    "solution_weights": TABLES["portfolio.solution_weights"],
    "firm_pnl": TABLES["firm.firm_pnl"],
}
"""The state of a day served by ``GET /api/v1/state/{date}``: response field -> table.
A table added here is one more field of the response (its rows of the day)."""


class UnknownPortfolioError(LookupError):
    """The snapshot holds no optimisation of the portfolio asked for."""


class UnknownDayError(LookupError):
    """The snapshot holds no state of the day asked for."""


@dataclass(frozen=True)
class Read:
    """Rows read from one snapshot, with that snapshot's as-of."""

    info: SnapshotInfo
    rows: dict[str, list[dict]]


class SnapshotReader:
    """Reads of the snapshot beside the warehouse at ``warehouse_path``."""

    def __init__(self, warehouse_path: str) -> None:
        self.warehouse_path = warehouse_path

    def info(self) -> SnapshotInfo:
        """The latest snapshot's as-of and origin (``SnapshotMissingError`` without one)."""
        return open_snapshot(self.warehouse_path).info

    def latest_optimization(self, portfolio_id: str) -> Read:
        """The latest ``portfolio.solution_optimizations`` row of ``portfolio_id`` (a solution_id)."""
        snapshot = open_snapshot(self.warehouse_path)
        with snapshot.connect() as connection:
            rows = _rows(connection, OPTIMIZATIONS, "solution_id = ? ORDER BY date DESC LIMIT 1", [portfolio_id])
            if not rows:
                known = _distinct(connection, OPTIMIZATIONS, "solution_id")
                raise UnknownPortfolioError(
                    f"unknown portfolio_id {portfolio_id!r}: the snapshot ({snapshot.info.describe()}) holds "
                    f"solution optimizations of {known or 'no portfolio'}"
                )
        return Read(snapshot.info, {"optimization": rows})

    def state(self, day: dt.date) -> Read:
        """Each of ``STATE_TABLES``' rows of ``day``; ``UnknownDayError`` when none holds any."""
        snapshot: Snapshot = open_snapshot(self.warehouse_path)
        with snapshot.connect() as connection:
            rows = {field: _rows(connection, spec, "date = ?", [day]) for field, spec in STATE_TABLES.items()}
        if not any(rows.values()):
            raise UnknownDayError(
                f"no state of {day} in the snapshot ({snapshot.info.describe()}): "
                f"{', '.join(spec.qualified_name for spec in STATE_TABLES.values())} hold no row of that day"
            )
        return Read(snapshot.info, rows)


def _exists(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [spec.layer, spec.name],
    ).fetchone()
    return bool(found[0])


def _rows(connection: duckdb.DuckDBPyConnection, spec: TableSpec, where: str, params: list) -> list[dict]:
    """Rows of ``spec`` matching ``where``, in key order unless ``where`` orders them; a
    float that is not a number becomes None (JSON has no NaN). A table the snapshot does
    not hold has no rows."""
    if not _exists(connection, spec):
        return []
    columns = ", ".join(quote_identifier(name) for name in spec.columns())
    order = "" if "ORDER BY" in where else " ORDER BY " + ", ".join(quote_identifier(k) for k in spec.keys)
    sql = f"SELECT {columns} FROM {qualified_table(connection, spec)} WHERE {where}{order}"
    frame: pl.DataFrame = connection.sql(sql, params=params).pl()
    return [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in frame.iter_rows(named=True)
    ]


def _distinct(connection: duckdb.DuckDBPyConnection, spec: TableSpec, column: str) -> list[str]:
    if not _exists(connection, spec):
        return []
    sql = f"SELECT DISTINCT {quote_identifier(column)} FROM {qualified_table(connection, spec)} ORDER BY 1"
    return [row[0] for row in connection.execute(sql).fetchall()]
