"""The one way a frame is validated against its table before it is written.

A failure raises ``DataQualityError`` whose message names the table, the row (by its
keys), the column and the rule, so a bad input never reaches the warehouse.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from twin_model.contracts._spec import TableSpec
from twin_model.errors import DataQualityError

SOURCE_ROW = "source_row"
"""A column a source may add to a frame read from a file: each row's data row in that
file (1-based, the header not counted). ``validate`` names it in messages and drops it."""


def validate(frame: pl.DataFrame, spec: TableSpec, origin: str | None = None) -> pl.DataFrame:
    """Validate ``frame`` against ``spec``'s schema, collecting every failure.

    Returns the frame with columns in schema order. ``origin`` (a file, a source) is
    named in the error. Raises ``DataQualityError`` naming, for each failure, the row by
    its keys (and its data row in the file, when the frame carries ``SOURCE_ROW``), the
    column, the rule and the offending value (text quoted, so a stray space shows).
    """
    source_rows = frame.get_column(SOURCE_ROW) if SOURCE_ROW in frame.columns else None
    frame = frame.drop(SOURCE_ROW, strict=False)
    structure = _structure_problems(frame, spec)
    if structure:
        raise DataQualityError(spec.qualified_name, structure, origin)
    try:
        validated = spec.model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        problems = _describe(errors.failure_cases, frame, spec, source_rows)
        raise DataQualityError(spec.qualified_name, problems, origin) from None
    return validated.select(list(spec.columns()))


def _structure_problems(frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    """Missing, unexpected and mistyped columns: checked first, since row rules need them."""
    expected = spec.columns()
    problems = [
        f"missing column {name!r} (expected {dtype})" for name, dtype in expected.items() if name not in frame.columns
    ]
    problems += [f"unexpected column {name!r}" for name in frame.columns if name not in expected]
    problems += [
        f"column {name!r} has type {frame.schema[name]}, expected {dtype}"
        for name, dtype in expected.items()
        if name in frame.columns and frame.schema[name] != dtype
    ]
    return problems


_RULE_NAMES = {"multiple_fields_uniqueness": "duplicate key"}


def _describe(failures: pl.DataFrame, frame: pl.DataFrame, spec: TableSpec, source_rows: pl.Series | None) -> list[str]:
    """Turn pandera's failure cases into one readable line each."""
    lines: list[str] = []
    for case in failures.iter_rows(named=True):
        index = case["index"] if case["index"] is not None and case["index"] < frame.height else None
        where = _row_label(frame, spec, index, source_rows)
        column = case["column"] if case["schema_context"] == "Column" else None
        what = f"column {column!r}" if column else "row"
        rule = _RULE_NAMES.get(case["check"], case["check"])
        value = _failed_value(frame, column, index, case["failure_case"])
        lines.append(f"{where}{what}: rule {rule} failed (value: {value})")
    return list(dict.fromkeys(lines))


def _failed_value(frame: pl.DataFrame, column: str | None, index: int | None, failure_case: str | None) -> str:
    """The offending value as pandera gives it, or quoted (repr) for a text column."""
    if column in frame.columns and index is not None and frame.schema[column] == pl.String:
        return repr(frame.get_column(column)[index])
    return str(failure_case)


def _row_label(frame: pl.DataFrame, spec: TableSpec, index: int | None, source_rows: pl.Series | None) -> str:
    """ "data row N (keys): " for a frame read from a file (N is the file's own), else
    "row I (keys): " with I the position in ``frame``; "" when the row is not known."""
    if index is None or not all(k in frame.columns for k in spec.keys):
        return ""
    row = frame.row(index, named=True)
    keys = ", ".join(f"{key}={row[key]}" for key in spec.keys)
    position = f"data row {source_rows[index]}" if source_rows is not None else f"row {index}"
    return f"{position} ({keys}): "
