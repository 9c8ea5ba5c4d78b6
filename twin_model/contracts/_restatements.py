"""The restatement tables of the raw layer: each stored day's content digest, and the
days whose content changed (twin_model.restatements)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from twin_model.contracts._fields import values_of
from twin_model.restatements import Resolution


class InputDigests(pa.DataFrameModel):
    """raw.input_digests: the content digest of each day a raw table stored (twin_model.restatements)."""

    date: pl.Date = pa.Field(nullable=False)
    table: pl.String = pa.Field(nullable=False)
    digest: pl.String = pa.Field(nullable=False, str_length={"min_value": 64, "max_value": 64})
    rows: pl.Int64 = pa.Field(nullable=False, ge=0)
    stored_at: pl.Datetime = pa.Field(nullable=False)
    run_id: pl.String = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "table"]


class Restatements(pa.DataFrameModel):
    """raw.restatements: a stored day of raw input whose content changed, and how it was resolved.

    Open (``resolved_by_run`` null) until the layers above raw are replayed from the day,
    or at once when none of them had reached the day (``resolution``).
    """

    date: pl.Date = pa.Field(nullable=False)
    table: pl.String = pa.Field(nullable=False)
    old_digest: pl.String = pa.Field(nullable=False)
    new_digest: pl.String = pa.Field(nullable=False)
    detected_at: pl.Datetime = pa.Field(nullable=False)
    run_id: pl.String = pa.Field(nullable=False)
    resolved_by_run: pl.String = pa.Field(nullable=True)
    resolved_at: pl.Datetime = pa.Field(nullable=True)
    resolution: pl.String = pa.Field(nullable=True, isin=values_of(Resolution))

    class Config:
        strict = True
        unique = ["date", "table", "detected_at"]
