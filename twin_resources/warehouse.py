"""The DuckDB warehouse: one schema per layer, one table per asset, rows keyed by date.

Writes replace whole partitions: the rows of a set of business days are deleted and the
new rows inserted, by column name, inside one transaction, so a failure anywhere in the
write leaves the old partition intact and a re-run never duplicates rows. Tables are
created from their pandera schema (even when the first frame is empty) and grow new
nullable columns when a schema gains them, so an older warehouse keeps working.

DuckDB allows one writing process per file. Opening the file while another process
holds it is retried with exponential back-off before it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from twin_model.schemas import TableSpec

DEFAULT_WAREHOUSE = Path(__file__).resolve().parents[1] / "warehouse" / "twin.duckdb"

_DUCKDB_TYPES: dict[type[pl.DataType], str] = {
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMP",
    pl.String: "VARCHAR",
    pl.Float64: "DOUBLE",
    pl.Float32: "FLOAT",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Boolean: "BOOLEAN",
}


def warehouse_path() -> Path:
    """``TWIN_WAREHOUSE`` when set, else ``warehouse/twin.duckdb`` in the project."""
    return Path(os.environ.get("TWIN_WAREHOUSE") or DEFAULT_WAREHOUSE)


def duckdb_type(dtype: pl.DataType | type[pl.DataType]) -> str:
    base = dtype if isinstance(dtype, type) else type(dtype)
    try:
        return _DUCKDB_TYPES[base]
    except KeyError:
        raise TypeError(f"no DuckDB column type for polars dtype {dtype}") from None


def _is_lock_error(error: duckdb.Error) -> bool:
    text = str(error).lower()
    return "lock" in text or "conflicting" in text


class Warehouse:
    """Reads and writes the tables of one DuckDB file.

    ``lock_timeout_s`` bounds how long opening the file waits for another process's
    lock, retrying with back-off that doubles from ``0.05`` s up to ``2`` s a try.
    """

    def __init__(self, path: str | Path, lock_timeout_s: float = 120.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    # --- connections -----------------------------------------------------------------

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that is always closed, opened with lock retries."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._open(read_only)
        try:
            yield connection
        finally:
            connection.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except (duckdb.IOException, duckdb.ConnectionException) as error:
                if not _is_lock_error(error):
                    raise
                if time.monotonic() + delay > deadline:
                    from twin_resources.snapshot import snapshot_path

                    raise type(error)(
                        f"could not open the warehouse {self.path} within {self.lock_timeout_s:g} s: another "
                        f"process holds it ({error}). Close that process, or read the snapshot "
                        f"{snapshot_path(self.path)} instead: nothing but Dagster runs may open the live file."
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # --- DDL ---------------------------------------------------------------------------

    def ensure_table(self, connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
        """Create the layer schema and table from ``spec``; add columns the table lacks."""
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{_catalog(connection)}"."{spec.layer}"')
        columns = ", ".join(f'"{name}" {duckdb_type(dtype)}' for name, dtype in spec.columns().items())
        connection.execute(f"CREATE TABLE IF NOT EXISTS {_quoted(connection, spec)} ({columns})")
        existing = set(self._columns(connection, spec))
        for name, dtype in spec.columns().items():
            if name not in existing:
                connection.execute(f'ALTER TABLE {_quoted(connection, spec)} ADD COLUMN "{name}" {duckdb_type(dtype)}')

    @staticmethod
    def _columns(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[str]:
        rows = connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [spec.layer, spec.name],
        ).fetchall()
        return [row[0] for row in rows]

    # --- writes ------------------------------------------------------------------------

    def replace_partitions(self, spec: TableSpec, frame: pl.DataFrame, days: Sequence[dt.date] | None) -> int:
        """Replace the rows of ``days`` (all rows when None) with ``frame``, atomically.

        ``days`` are the contiguous business days of a partition or a range; every row of
        ``frame`` must fall inside them. Returns the number of rows written.
        """
        if days is not None:
            _require_rows_within(spec, frame, days)
        with self.connect() as connection:
            self.ensure_table(connection, spec)
            connection.execute("BEGIN TRANSACTION")
            try:
                self._delete(connection, spec, days)
                self._insert(connection, spec, frame)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return frame.height

    @staticmethod
    def _delete(connection: duckdb.DuckDBPyConnection, spec: TableSpec, days: Sequence[dt.date] | None) -> None:
        if days is None:
            connection.execute(f"DELETE FROM {_quoted(connection, spec)}")
        else:
            connection.execute(
                f"DELETE FROM {_quoted(connection, spec)} WHERE date BETWEEN ? AND ?", [min(days), max(days)]
            )

    @staticmethod
    def _insert(connection: duckdb.DuckDBPyConnection, spec: TableSpec, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        connection.register("incoming_frame", frame.to_arrow())
        try:
            connection.execute(f"INSERT INTO {_quoted(connection, spec)} BY NAME SELECT * FROM incoming_frame")
        finally:
            connection.unregister("incoming_frame")

    # --- reads -------------------------------------------------------------------------

    def read(
        self,
        spec: TableSpec,
        start: dt.date | None = None,
        end: dt.date | None = None,
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Rows with ``start <= date <= end`` (either bound optional), ordered by key.

        Columns the stored table lacks (an older warehouse) come back as typed nulls; a
        table that does not exist yet reads as an empty frame of the schema.
        """
        wanted = list(columns or spec.columns())
        if not self.path.exists():
            return spec.empty_frame().select(wanted)
        with self.connect(read_only=True) as connection:
            stored = set(self._columns(connection, spec))
            if not stored:
                return spec.empty_frame().select(wanted)
            select = ", ".join(f'"{c}"' if c in stored else f'NULL AS "{c}"' for c in wanted)
            where, params = _date_filter(start, end)
            order = ", ".join(f'"{k}"' for k in spec.keys if k in stored)
            sql = f"SELECT {select} FROM {_quoted(connection, spec)}{where} ORDER BY {order}"
            frame = connection.sql(sql, params=params).pl()
        dtypes = spec.columns()
        return frame.cast({c: dtypes[c] for c in wanted}) if frame.height else spec.empty_frame().select(wanted)

    def last_date_before(self, spec: TableSpec, day: dt.date) -> dt.date | None:
        """The latest date with rows strictly before ``day``, or None."""
        if not self.path.exists():
            return None
        with self.connect(read_only=True) as connection:
            if not self._columns(connection, spec):
                return None
            sql = f"SELECT max(date) FROM {_quoted(connection, spec)} WHERE date < ?"
            return connection.execute(sql, [day]).fetchall()[0][0]

    def table_summaries(self) -> dict[str, tuple[int, dt.date | None, dt.date | None]]:
        """Rows, first and last date per ``layer.table`` for every table in the warehouse."""
        if not self.path.exists():
            return {}
        with self.connect(read_only=True) as connection:
            catalog = _catalog(connection)
            tables = connection.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2"
            ).fetchall()
            return {
                f"{schema}.{name}": connection.execute(
                    f'SELECT count(*), min(date), max(date) FROM "{catalog}"."{schema}"."{name}"'
                ).fetchall()[0]
                for schema, name in tables
            }

    def row_counts(self) -> dict[str, int]:
        """Rows per ``layer.table`` for every table in the warehouse."""
        return {table: summary[0] for table, summary in self.table_summaries().items()}


def _catalog(connection: duckdb.DuckDBPyConnection) -> str:
    return connection.execute("SELECT current_database()").fetchall()[0][0]


def _quoted(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    """The fully qualified table name: a file named after a layer (raw.duckdb) would make
    a bare ``raw.table`` ambiguous between the catalog and the schema."""
    return f'"{_catalog(connection)}"."{spec.layer}"."{spec.name}"'


def _date_filter(start: dt.date | None, end: dt.date | None) -> tuple[str, list[dt.date]]:
    clauses, params = [], []
    if start is not None:
        clauses.append("date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("date <= ?")
        params.append(end)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _require_rows_within(spec: TableSpec, frame: pl.DataFrame, days: Sequence[dt.date]) -> None:
    if frame.height == 0:
        return
    outside = frame.filter(~pl.col("date").is_between(min(days), max(days))).get_column("date").unique().sort()
    if outside.len():
        raise ValueError(
            f"{spec.qualified_name}: rows dated {', '.join(map(str, outside.to_list()[:5]))} fall outside the "
            f"partition(s) being written ({min(days)} to {max(days)})"
        )
