"""The DuckDB warehouse: one schema per layer, one table per asset, rows keyed by date.

Writes replace whole partitions: the rows of a set of business days are deleted and the
new rows inserted, by column name, inside one transaction, so a failure anywhere in the
write leaves the old partition intact and a re-run never duplicates rows. A level whose
tables must agree (the solution level) replaces partitions of several tables in one
transaction (``replace_partitions_together``), optionally only the rows of some entities
(its solutions). Tables are created from their pandera schema (even when the first frame
is empty) and grow new nullable columns when a schema gains them, so an older warehouse
keeps working.

Every identifier in SQL (the catalog, named after the file, schemas, tables, columns) is
double-quoted with embedded quotes doubled, and every value is a parameter, so a file
name such as ``x"; DROP ...`` is a name and nothing else.

DuckDB allows one writing process per file. Opening the file while another process
holds it is retried with exponential back-off before it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from twin_model.contracts import TableSpec, validate

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


@dataclass(frozen=True)
class PartitionWrite:
    """One table's part of a write of several tables: ``frame`` replaces the rows of
    ``spec`` dated within ``days`` or, with ``entity_column``, only those of the entities
    ``entities`` (e.g. the solutions a run computed), leaving every other entity's rows."""

    spec: TableSpec
    frame: pl.DataFrame
    days: Sequence[dt.date]
    entity_column: str | None = None
    entities: tuple[str, ...] = ()


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier: double-quoted, any double quote in it doubled."""
    return '"' + name.replace('"', '""') + '"'


class WarehouseCorruptError(duckdb.Error):
    """The warehouse file cannot be read: its blocks fail DuckDB's checksums."""

    def __init__(self, path: Path, error: duckdb.Error):
        from twin_resources.snapshot import snapshot_path

        snapshot = snapshot_path(path)
        recovery = (
            f"its last published snapshot {snapshot} is a whole copy: stop every run, move the corrupt "
            f"file aside, `cp {snapshot} {path}`, then re-run the days after the snapshot's as-of "
            "(meta.snapshot)"
            if snapshot.exists()
            else "there is no snapshot to restore from: move the corrupt file aside and rebuild with `twin run`"
        )
        super().__init__(f"{path}: the warehouse file is corrupt ({error}); nothing was written. {recovery}.")


def _is_corruption(error: duckdb.Error) -> bool:
    return "corrupt" in str(error).lower()


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
        """A connection that is always closed, opened with lock retries; a corrupt file is
        named with how to recover it (``WarehouseCorruptError``)."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = self._open(read_only)
            try:
                yield connection
            finally:
                connection.close()
        except duckdb.Error as error:
            if isinstance(error, WarehouseCorruptError) or not _is_corruption(error):
                raise
            raise WarehouseCorruptError(self.path, error) from error

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
        schema = f"{quote_identifier(_catalog(connection))}.{quote_identifier(spec.layer)}"
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        columns = ", ".join(f"{quote_identifier(name)} {duckdb_type(dtype)}" for name, dtype in spec.columns().items())
        table = qualified_table(connection, spec)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        existing = set(self._columns(connection, spec))
        for name, dtype in spec.columns().items():
            if name not in existing:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {quote_identifier(name)} {duckdb_type(dtype)}")

    @staticmethod
    def _columns(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[str]:
        """The table's columns in order, none when it does not exist (from an empty
        select: information_schema took ~30 ms a call, and every write asks)."""
        try:
            cursor = connection.execute(f"SELECT * FROM {qualified_table(connection, spec)} LIMIT 0")
        except duckdb.CatalogException:
            return []
        return [column[0] for column in cursor.description]

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
            with _transaction(connection):
                self._delete(connection, spec, days)
                self.insert_rows(connection, spec, frame)
        return frame.height

    def replace_partitions_together(self, writes: Sequence[PartitionWrite]) -> dict[str, int]:
        """Replace partitions of several tables in ONE transaction: after a failure or a
        kill anywhere in it, every table holds its old rows.

        Each frame is validated against its schema, and checked to lie within its days
        and entities, before anything is written. Returns rows written per table.
        """
        frames = [self._checked(write) for write in writes]
        with self.connect() as connection:
            for write in writes:
                self.ensure_table(connection, write.spec)
            with _transaction(connection):
                for write, frame in zip(writes, frames):
                    self._delete(connection, write.spec, write.days, write.entity_column, write.entities)
                    self.insert_rows(connection, write.spec, frame)
        return {write.spec.qualified_name: frame.height for write, frame in zip(writes, frames)}

    @staticmethod
    def _checked(write: PartitionWrite) -> pl.DataFrame:
        frame = validate(write.frame, write.spec)
        _require_rows_within(write.spec, frame, write.days)
        if write.entity_column is not None:
            _require_entities_within(write, frame)
        return frame

    @staticmethod
    def _delete(
        connection: duckdb.DuckDBPyConnection,
        spec: TableSpec,
        days: Sequence[dt.date] | None,
        entity_column: str | None = None,
        entities: Sequence[str] = (),
    ) -> None:
        """Delete the rows of ``days`` (all when None), of ``entities`` only with ``entity_column``."""
        table = qualified_table(connection, spec)
        if days is None:
            connection.execute(f"DELETE FROM {table}")
            return
        sql, params = f"DELETE FROM {table} WHERE date BETWEEN ? AND ?", [min(days), max(days)]
        if entity_column is not None:
            if not entities:
                return
            sql += f" AND {quote_identifier(entity_column)} IN ({', '.join('?' * len(entities))})"
            params += list(entities)
        connection.execute(sql, params)

    @staticmethod
    def insert_rows(connection: duckdb.DuckDBPyConnection, spec: TableSpec, frame: pl.DataFrame) -> None:
        """Insert ``frame`` by column name inside the caller's transaction on ``connection``."""
        if frame.height == 0:
            return
        connection.register("incoming_frame", frame.to_arrow())
        try:
            connection.execute(f"INSERT INTO {qualified_table(connection, spec)} BY NAME SELECT * FROM incoming_frame")
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
            select = ", ".join(quote_identifier(c) if c in stored else f"NULL AS {quote_identifier(c)}" for c in wanted)
            where, params = _date_filter(start, end)
            order = ", ".join(quote_identifier(k) for k in spec.keys if k in stored)
            sql = f"SELECT {select} FROM {qualified_table(connection, spec)}{where} ORDER BY {order}"
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
            sql = f"SELECT max(date) FROM {qualified_table(connection, spec)} WHERE date < ?"
            return connection.execute(sql, [day]).fetchall()[0][0]

    def last_dates_before(self, spec: TableSpec, day: dt.date, entity_column: str) -> dict[str, dt.date]:
        """Per entity (e.g. solution_id), the latest date with rows strictly before ``day``."""
        if not self.path.exists():
            return {}
        with self.connect(read_only=True) as connection:
            if not self._columns(connection, spec):
                return {}
            entity = quote_identifier(entity_column)
            sql = (
                f"SELECT {entity}, max(date) FROM {qualified_table(connection, spec)} WHERE date < ? GROUP BY {entity}"
            )
            return dict(connection.execute(sql, [day]).fetchall())

    def table_summaries(self) -> dict[str, tuple[int, dt.date | None, dt.date | None]]:
        """Rows, first and last date per ``layer.table`` for every table in the warehouse."""
        if not self.path.exists():
            return {}
        with self.connect(read_only=True) as connection:
            catalog = quote_identifier(_catalog(connection))
            tables = connection.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2"
            ).fetchall()
            return {
                f"{schema}.{name}": connection.execute(
                    f"SELECT count(*), min(date), max(date) FROM {catalog}.{quote_identifier(schema)}.{quote_identifier(name)}"
                ).fetchall()[0]
                for schema, name in tables
            }

    def row_counts(self) -> dict[str, int]:
        """Rows per ``layer.table`` for every table in the warehouse."""
        return {table: summary[0] for table, summary in self.table_summaries().items()}


def _catalog(connection: duckdb.DuckDBPyConnection) -> str:
    return connection.execute("SELECT current_database()").fetchall()[0][0]


def qualified_table(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    """The fully qualified table name: a file named after a layer (raw.duckdb) would make
    a bare ``raw.table`` ambiguous between the catalog and the schema."""
    return ".".join(quote_identifier(part) for part in (_catalog(connection), spec.layer, spec.name))


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any exception."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


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


def _require_entities_within(write: PartitionWrite, frame: pl.DataFrame) -> None:
    """Rows of an entity the write does not replace would stay beside the old ones."""
    others = frame.filter(~pl.col(write.entity_column).is_in(list(write.entities)))
    if others.height:
        names = ", ".join(sorted(set(others.get_column(write.entity_column).to_list()))[:5])
        raise ValueError(
            f"{write.spec.qualified_name}: rows of {write.entity_column} {names} are not among the "
            f"{write.entity_column}s being written ({', '.join(write.entities) or 'none'})"
        )
