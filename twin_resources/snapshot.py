"""Read snapshots: the copy of the warehouse that every reader outside a Dagster run opens.

DuckDB allows one writing process per file, and a reader in another process (a notebook,
a query from the README, ``twin status``) holding the live file makes the writer fail.
So nothing but Dagster runs opens the live file. The last step of each successful run
publishes a snapshot beside it, ``<dir>/<stem>.snapshot.duckdb`` (``twin.duckdb`` ->
``twin.snapshot.duckdb``), and readers open that, read-only.

Publishing holds the live file's write lock throughout: it checkpoints the file (so the
copy needs no ``.wal``), copies it to ``<stem>.snapshot.duckdb.tmp`` beside it, records the
as-of in the copy's table ``meta.snapshot`` and swaps the copy in with ``os.replace``. A
reader sees the old snapshot or the new one, never a mix; one holding the old snapshot
open keeps reading its old view (the replaced file lives on until its last reader closes
it); a connection opened after the swap sees the new one.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from twin_resources.warehouse import Warehouse

SNAPSHOT_SUFFIX = ".snapshot.duckdb"
META_TABLE = "meta.snapshot"
"""One row: ``date`` (the as-of: the last date any table of the twin's state holds), ``published_at`` (UTC),
``run_id`` and ``source`` (the live file). Its date column keeps the warehouse's rule
that every table is keyed by date, so the snapshot summarises like the warehouse."""
EVENTS_LAYER = "events"
"""The layer of events recorded outside the runs (the API's ``portfolio_optimized``): dated by
the wall clock, not by the twin's business days, so its tables do not move the as-of."""


class SnapshotMissingError(FileNotFoundError):
    """No snapshot has been published beside the warehouse yet."""


@dataclass(frozen=True)
class SnapshotInfo:
    """Where a snapshot is and what it holds."""

    path: Path
    as_of: dt.date | None
    published_at: dt.datetime
    run_id: str
    source: str

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def describe(self) -> str:
        """One line for people: the as-of, when and by which run it was published."""
        return (
            f"as of {self.as_of or 'no data'} "
            f"(published {self.published_at:%Y-%m-%d %H:%M:%S} UTC by run {self.run_id})"
        )


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: its as-of, and read-only access to its tables."""

    info: SnapshotInfo

    @property
    def warehouse(self) -> Warehouse:
        """The snapshot's tables through the warehouse's reads (``read``, ``table_summaries``)."""
        return Warehouse(self.info.path)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the snapshot, always closed."""
        with self.warehouse.connect(read_only=True) as connection:
            yield connection

    def table_summaries(self) -> dict[str, tuple[int, dt.date | None, dt.date | None]]:
        """Rows, first and last date per warehouse table (the snapshot's own record left out)."""
        summaries = self.warehouse.table_summaries()
        summaries.pop(META_TABLE, None)
        return summaries


def snapshot_path(warehouse_path: str | Path) -> Path:
    """``<dir>/<stem>.snapshot.duckdb`` beside the warehouse file."""
    path = Path(warehouse_path)
    return path.with_name(path.stem + SNAPSHOT_SUFFIX)


def publish(warehouse: Warehouse, run_id: str) -> SnapshotInfo:
    """Copy the live warehouse to its snapshot, atomically, recording its as-of.

    Must run where no other writer is (inside the DuckDB pool); the live file's write
    lock is held from the checkpoint to the swap, so two publishers never interleave.
    """
    if not warehouse.path.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse.path} to publish a snapshot of")
    target = snapshot_path(warehouse.path)
    staging = target.with_name(target.name + ".tmp")
    with warehouse.connect() as live:
        live.execute("CHECKPOINT")
        _remove(staging)
        try:
            shutil.copyfile(warehouse.path, staging)
            published_at = dt.datetime.now(dt.UTC)
            info = SnapshotInfo(target, _as_of(Warehouse(staging)), published_at, run_id, str(warehouse.path))
            _record(staging, info)
            staging.replace(target)
        finally:
            _remove(staging)
    return info


def open_snapshot(warehouse_path: str | Path) -> Snapshot:
    """The latest snapshot of the warehouse at ``warehouse_path``, with its as-of."""
    path = snapshot_path(warehouse_path)
    if not path.exists():
        raise SnapshotMissingError(f"no snapshot yet at {path}: run `twin run` first")
    with Warehouse(path).connect(read_only=True) as connection:
        row = connection.execute('SELECT "date", published_at, run_id, source FROM "meta"."snapshot"').fetchone()
    as_of, published_at, run_id, source = row
    return Snapshot(SnapshotInfo(path, as_of, published_at.replace(tzinfo=dt.UTC), run_id, source))


def query_command(path: str | Path, sql: str) -> str:
    """A shell command that prints ``sql`` run on the snapshot at ``path``, opened read-only.

    The path is a Python string literal and the script one shell word, so quotes, spaces
    and semicolons in either stay literal.
    """
    script = f"import duckdb; print(duckdb.connect({json.dumps(str(path))}, read_only=True).sql({json.dumps(sql)}))"
    return f".venv/bin/python -c {shlex.quote(script)}"


def _as_of(copy: Warehouse) -> dt.date | None:
    """The last date any table of the twin's state in ``copy`` holds (events left out)."""
    lasts = (last for table, (_, _, last) in copy.table_summaries().items() if not table.startswith(f"{EVENTS_LAYER}."))
    return max((last for last in lasts if last is not None), default=None)


def _record(staging: Path, info: SnapshotInfo) -> None:
    """Write ``meta.snapshot`` into the staged copy and checkpoint it (no ``.wal`` left)."""
    with duckdb.connect(str(staging)) as connection:
        connection.execute('CREATE SCHEMA IF NOT EXISTS "meta"')
        connection.execute(
            'CREATE OR REPLACE TABLE "meta"."snapshot" '
            '("date" DATE, published_at TIMESTAMP, run_id VARCHAR, source VARCHAR)'
        )
        connection.execute(
            'INSERT INTO "meta"."snapshot" VALUES (?, ?, ?, ?)',
            [info.as_of, info.published_at.replace(tzinfo=None), info.run_id, info.source],
        )
        connection.execute("CHECKPOINT")


def _remove(staging: Path) -> None:
    """Remove a staged copy and its write-ahead log, if a publish left them."""
    for path in (staging, staging.with_name(staging.name + ".wal")):
        path.unlink(missing_ok=True)
