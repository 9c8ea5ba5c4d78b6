"""A digest of everything a warehouse holds, to prove two runs stored the same results.

Every table is read row for row in key order and hashed; columns that say *when* or *how
long* (``fit_seconds``, ``published_at``, run ids) are left out, and a column that points
at an artefact (``draws_path``, ``scenarios_path``) is replaced by the digest of the
artefact's contents (its rows, in order), so two warehouses in different folders, or
written at different times, digest alike exactly when they hold the same numbers.

    .venv/bin/python benchmarks/warehouse_digest.py [WAREHOUSE.duckdb]   (default: TWIN_WAREHOUSE or warehouse/twin.duckdb)

Prints one line a table (rows and digest) and the warehouse's digest last. Floats are
hashed by their exact bits: "the same" means bit for bit.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = re.compile(r"(_seconds|_ms|_at|_sha256)$|^(run_id|resolved_by_run|code_version|config_hash)$")
"""Columns about timing and provenance, not results."""
ARTEFACT = re.compile(r"_path$")


def frame_digest(frame: pl.DataFrame) -> str:
    """sha256 over the frame's rows in order, each value by its exact representation."""
    digest = hashlib.sha256()
    digest.update(repr(frame.columns).encode())
    for row in frame.iter_rows():
        digest.update(repr(row).encode())
    return digest.hexdigest()


def artefact_root(warehouse: Path) -> Path:
    """Where the warehouse's artefacts live: ``<stem>.artifacts/`` beside it (an older
    warehouse: ``artifacts/``)."""
    own = warehouse.with_name(f"{warehouse.stem}.artifacts")
    return own if own.exists() else warehouse.parent / "artifacts"


def artefact_digest(root: Path, relative: str | None) -> str | None:
    if relative is None:
        return None
    path = root / relative
    return frame_digest(pl.read_parquet(path)) if path.exists() else f"missing:{relative}"


def table_digests(warehouse: Path) -> dict[str, tuple[int, str]]:
    root = artefact_root(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        digests = {}
        for schema, name in tables:
            frame = connection.sql(f'SELECT * FROM "{schema}"."{name}"').pl()
            kept = [c for c in frame.columns if not LEFT_OUT.search(c)]
            frame = frame.select(kept).sort(kept, nulls_last=True)
            for column in (c for c in kept if ARTEFACT.search(c)):
                contents = [artefact_digest(root, value) for value in frame.get_column(column).to_list()]
                frame = frame.with_columns(pl.Series(column, contents, dtype=pl.String))
            digests[f"{schema}.{name}"] = (frame.height, frame_digest(frame))
    return digests


def main() -> int:
    default = os.environ.get("TWIN_WAREHOUSE") or ROOT / "warehouse" / "twin.duckdb"
    warehouse = Path(sys.argv[1] if len(sys.argv) > 1 else default)
    if not warehouse.exists():
        print(f"no warehouse at {warehouse}", file=sys.stderr)
        return 2
    digests = table_digests(warehouse)
    total = hashlib.sha256()
    for table, (rows, digest) in digests.items():
        print(f"{table:<36} {rows:>9,} rows  {digest[:16]}")
        total.update(f"{table}:{digest}".encode())
    print(f"warehouse digest: {total.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
