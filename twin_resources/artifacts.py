"""The artefact store: large arrays (posterior draws, scenario matrices) as Parquet files
under ``<root>/<asset>/<date>.parquet``, never rows in DuckDB. Each warehouse file has its
own root, ``<stem>.artifacts/`` beside ``<stem>.duckdb``, so two warehouses in one folder
never share an artefact.

A table row references its artefact by the path relative to the root and the sha256 of
the file's bytes (``REFERENCE_COLUMNS``); a read checks the hash, so an artefact that was
overwritten or changed after its row was written fails loudly, naming the file, the row
and what to re-materialise, instead of feeding other numbers downstream.

Writes are atomic: the frame goes to a temporary file in the same directory, which is
then renamed over the target, so a reader sees the old file or the new one, never half.
"""

import datetime as dt
import hashlib
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import polars as pl

REFERENCE_COLUMNS = {
    "models.strategy_posteriors": ("draws_path", "draws_sha256"),
    "models.strategy_forecasts": ("scenarios_path", "scenarios_sha256"),
    "models.metalabels": ("model_path", "model_sha256"),
}
"""Table -> (column of the artefact's relative path, column of its sha256)."""


class ArtifactError(RuntimeError):
    """An artefact a table row references is missing, or is not the file the row wrote."""


class StoredArtifact(NamedTuple):
    """What a table row stores about its artefact."""

    path: str
    sha256: str


def artifacts_root(warehouse_file: str | Path) -> Path:
    """``<dir>/<stem>.artifacts`` for the warehouse file ``<dir>/<stem>.duckdb``."""
    path = Path(warehouse_file)
    return path.with_name(f"{path.stem}.artifacts")


class ArtifactStore:
    """Parquet files keyed by asset name and business day."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def relative_path(self, asset: str, day: dt.date) -> str:
        return f"{asset}/{day.isoformat()}.parquet"

    def write(self, asset: str, day: dt.date, frame: pl.DataFrame) -> StoredArtifact:
        """Write atomically; returns the path relative to the root and the file's sha256
        (what the referencing rows store)."""
        relative = self.relative_path(asset, day)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
        os.close(handle)
        try:
            frame.write_parquet(temporary, compression="zstd")
            digest = hashlib.sha256(Path(temporary).read_bytes()).hexdigest()
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return StoredArtifact(relative, digest)

    def read(self, table: str, row: Mapping) -> pl.DataFrame:
        """The artefact that ``row`` of ``table`` references, verified against its hash."""
        return pl.read_parquet(io.BytesIO(self._verified(table, row)))

    def problem(self, table: str, row: Mapping) -> str | None:
        """Why the artefact ``row`` references cannot be used (None when it can)."""
        try:
            self._verified(table, row)
        except ArtifactError as error:
            return str(error)
        return None

    def _verified(self, table: str, row: Mapping) -> bytes:
        path_column, hash_column = REFERENCE_COLUMNS[table]
        path, expected = self.root / row[path_column], row.get(hash_column)
        where = f"{table} row {_row_name(row)}"
        remedy = f"re-materialise {table} for {row['date']} (and the layers after it)"
        if not path.exists():
            raise ArtifactError(f"{where}: artefact {path} is missing: {remedy}")
        if expected is None:
            raise ArtifactError(
                f"{where}: no {hash_column} to verify artefact {path} by (written before artefacts were hashed): {remedy}"
            )
        content = path.read_bytes()
        found = hashlib.sha256(content).hexdigest()
        if found != expected:
            raise ArtifactError(
                f"{where}: artefact {path} has sha256 {found}, the row says {expected}: the file was "
                f"overwritten or changed after the row was written: {remedy}"
            )
        return content


def _row_name(row: Mapping) -> str:
    keys = [k for k in ("date", "strategy_id", "parameter_set") if k in row]
    return ", ".join(f"{k}={row[k]}" for k in keys)
