"""The artefact store: large arrays (posterior draws, scenario matrices) as Parquet files
under ``<root>/<asset>/<date>.parquet``, referenced from the warehouse tables by their
path relative to the root. Never rows in DuckDB.

Writes are atomic: the frame goes to a temporary file in the same directory, which is
then renamed over the target, so a reader sees the old file or the new one, never half.
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

import polars as pl


class ArtifactStore:
    """Parquet files keyed by asset name and business day."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def relative_path(self, asset: str, day: dt.date) -> str:
        return f"{asset}/{day.isoformat()}.parquet"

    def write(self, asset: str, day: dt.date, frame: pl.DataFrame) -> str:
        """Write atomically; returns the path relative to the root (what tables store)."""
        relative = self.relative_path(asset, day)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
        os.close(handle)
        try:
            frame.write_parquet(temporary, compression="zstd")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return relative

    def read(self, relative: str) -> pl.DataFrame:
        path = self.root / relative
        if not path.exists():
            raise FileNotFoundError(f"artefact {path} is missing: re-materialise the asset that wrote it")
        return pl.read_parquet(path)
