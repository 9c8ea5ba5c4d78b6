"""The API's events: an append-only JSON-lines file beside the warehouse, ingested by an asset.

The HTTP API never opens the live DuckDB file (DESIGN.md "Reading while the twin writes"):
each optimisation it serves is appended as one line to
``<dir>/<stem>.events/portfolio_optimized.jsonl`` (``twin.duckdb`` ->
``twin.events/portfolio_optimized.jsonl``), and ``events/portfolio_optimized`` copies the
lines not yet stored into ``events.portfolio_optimized`` inside a run.

Appending: one ``write`` of a whole line to a file opened with ``O_APPEND``, under a lock,
so lines of concurrent requests never interleave. Reading: a last line without its newline
is being written and is left for the next ingest; any other line that is not a valid event
fails the ingest naming the file and the line number.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from pathlib import Path

import polars as pl

from twin_model.contracts import TABLES, validate
from twin_model.errors import DataQualityError
from twin_model.optimize import OptimizationRequest, OptimizationResponse
from twin_resources.warehouse import Warehouse, _transaction, qualified_table

PORTFOLIO_OPTIMIZED = TABLES["events.portfolio_optimized"]
EVENTS_FILE = "portfolio_optimized.jsonl"
JSON_COLUMNS = ("optimal_weights", "violations")
"""Columns stored as the response's JSON text (an object and a list)."""


def events_path(warehouse_path: str | Path) -> Path:
    """``<dir>/<stem>.events/portfolio_optimized.jsonl`` beside the warehouse file."""
    path = Path(warehouse_path)
    return path.with_name(path.stem + ".events") / EVENTS_FILE


def portfolio_optimized(
    request: OptimizationRequest, response: OptimizationResponse, now: dt.datetime | None = None
) -> dict:
    """The event of one served optimisation: id, UTC timestamp, the request's portfolio,
    objective, method and size, and the response's fields (metadata flattened)."""
    now = now or dt.datetime.now(dt.UTC)
    meta = response.optimization_metadata
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": now.astimezone(dt.UTC).isoformat(),
        "portfolio_id": response.portfolio_id,
        "objective": request.objective.value,
        "method": request.method.value,
        "n_strategies": len(request.strategies),
        "optimal_weights": response.optimal_weights,
        "expected_return": response.expected_return,
        "expected_volatility": response.expected_volatility,
        "sharpe_ratio": response.sharpe_ratio,
        "convergence_status": meta.convergence_status,
        "iterations": meta.iterations,
        "optimization_time_ms": meta.optimization_time_ms,
        "objective_value": meta.objective_value,
        "constraints_satisfied": meta.constraints_satisfied,
        "solver": meta.solver,
        "violations": meta.violations,
    }


class EventLog:
    """Appends events to one JSON-lines file; threads may share it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, events: list[dict]) -> None:
        """Append ``events``, one line each, in one write."""
        if not events:
            return
        text = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, text.encode())
            finally:
                os.close(descriptor)


def read_events(path: str | Path) -> pl.DataFrame:
    """The complete lines of the events file as rows of ``events.portfolio_optimized``,
    validated; an empty frame when there is no file. A bad line raises
    :class:`DataQualityError` naming the file and the line."""
    path = Path(path)
    if not path.exists():
        return PORTFOLIO_OPTIMIZED.empty_frame()
    text = path.read_text()
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    rows = [_row(line, path, number) for number, line in enumerate(complete.splitlines(), start=1) if line.strip()]
    if not rows:
        return PORTFOLIO_OPTIMIZED.empty_frame()
    frame = pl.DataFrame(rows, schema=PORTFOLIO_OPTIMIZED.columns(), orient="row")
    return validate(frame, PORTFOLIO_OPTIMIZED, str(path))


def _row(line: str, path: Path, number: int) -> tuple:
    """One line as a row in schema order; a line that is not an event is named."""
    columns = PORTFOLIO_OPTIMIZED.columns()
    try:
        event = json.loads(line)
        stamp = dt.datetime.fromisoformat(event["timestamp"]).astimezone(dt.UTC).replace(tzinfo=None)
        values = {**event, "timestamp": stamp, "date": stamp.date()}
        values.update({name: json.dumps(event[name]) for name in JSON_COLUMNS})
        missing = [name for name in columns if name not in values]
        if missing:
            raise KeyError(", ".join(missing))
        return tuple(values[name] for name in columns)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        problem = f"{path}, line {number}: not a portfolio_optimized event ({type(error).__name__}: {error})"
        raise DataQualityError(PORTFOLIO_OPTIMIZED.qualified_name, [problem], str(path)) from None


def ingest(warehouse: Warehouse, events: pl.DataFrame) -> int:
    """Insert the events whose ``event_id`` is not stored yet, in one transaction; returns
    how many were new. Ingesting the same file again inserts nothing."""
    with warehouse.connect() as connection:
        warehouse.ensure_table(connection, PORTFOLIO_OPTIMIZED)
        table = qualified_table(connection, PORTFOLIO_OPTIMIZED)
        stored = connection.sql(f"SELECT event_id FROM {table}").pl().get_column("event_id")
        new = events.filter(~pl.col("event_id").is_in(stored.implode()))
        with _transaction(connection):
            Warehouse.insert_rows(connection, PORTFOLIO_OPTIMIZED, new)
    return new.height
