"""What several tables' schemas share: column checks and the bounds of common fields."""

from __future__ import annotations

import polars as pl
from pandera.api.polars.types import PolarsData

PROBABILITY = {"ge": 0.0, "le": 1.0}
"""The bounds of a probability (or a share)."""

WEIGHT = {"ge": -10, "le": 10}
"""Weights are fractions of a solution's AUM; anything beyond +-10 is a data error."""

SHA256_PATTERN = r"^[0-9a-f]{64}$"
"""An artefact's content hash as the tables store it: 64 lowercase hex digits."""


def values_of(vocabulary) -> list[str]:
    """The stored values of an enum's members (what a schema's ``isin`` lists)."""
    return [member.value for member in vocabulary]


def finite(data: PolarsData) -> pl.LazyFrame:
    """Column check: no NaN or infinite value (nulls are the nullable flag's business)."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | column.is_finite())


def business_day(data: PolarsData) -> pl.LazyFrame:
    """Column check: a date is a weekday (Monday to Friday)."""
    return data.lazyframe.select(pl.col(data.key).dt.weekday() <= 5)


def identifier(data: PolarsData) -> pl.LazyFrame:
    """Column check: an id is not blank and has no leading or trailing whitespace (ids
    are compared as given, never stripped)."""
    column = pl.col(data.key)
    return data.lazyframe.select(
        column.is_null() | ((column == column.str.strip_chars()) & (column.str.len_chars() > 0))
    )
