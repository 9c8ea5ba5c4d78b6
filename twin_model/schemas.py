"""One pandera schema per warehouse table, and the one way frames are validated.

Every table carries ``date`` (the business-day partition) and its entity keys. A frame is
validated against its table's schema before it is written (see ``validate``); a failure
raises ``DataQualityError`` whose message names the table, the row (by its keys), the
column and the rule, so a bad input never reaches the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

MAX_DAILY_RETURN = 0.5
"""A daily return above +50% is treated as a data error, not a trading result."""


class DataQualityError(ValueError):
    """A frame broke its table's contract; ``problems`` lists one line per failure."""

    def __init__(self, table: str, problems: list[str], origin: str | None = None):
        self.table = table
        self.problems = problems
        source = f" (from {origin})" if origin else ""
        shown = "\n  - ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{table}{source}: {len(problems)} data-quality problem(s):\n  - {shown}{more}")


def _finite(data: PolarsData) -> pl.LazyFrame:
    """Column check: no NaN or infinite value (nulls are the nullable flag's business)."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | column.is_finite())


def _ret_present_when_available(data: PolarsData) -> pl.LazyFrame:
    """Frame check: a strategy marked available must report a return (masking is explicit)."""
    return data.lazyframe.select(pl.col("ret").is_not_null() | ~pl.col("available"))


class MarketPrices(pa.DataFrameModel):
    """raw.market_prices: one close per instrument and business day."""

    date: pl.Date = pa.Field(nullable=False)
    ticker: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    close: pl.Float64 = pa.Field(nullable=False, gt=0)
    asset_class: pl.String = pa.Field(nullable=False)
    is_benchmark: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "ticker"]

    @pa.check("close", name="finite")
    @classmethod
    def close_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)


class StrategyReturns(pa.DataFrameModel):
    """raw.strategy_returns: W_{t+1} at strategy level.

    ``ret`` is the simple return of the day (net of the strategy's own trading costs);
    ``available`` False marks a day the strategy did not trade, and then ``ret`` may be
    null. A return must be finite, above -100% and at most +50%.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    ret: pl.Float64 = pa.Field(nullable=True, gt=-1.0, le=MAX_DAILY_RETURN)
    available: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]

    @pa.check("ret", name="finite")
    @classmethod
    def ret_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.dataframe_check(name="ret_present_when_available")
    @classmethod
    def ret_present_when_available(cls, data: PolarsData) -> pl.LazyFrame:
        return _ret_present_when_available(data)


class StrategyPositions(pa.DataFrameModel):
    """raw.strategy_positions: the weight of each ticker a bundled strategy holds that day.

    The weight is a fraction of the strategy's capital (negative for a short), held over
    the day's return: it was decided at the previous close.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    ticker: pl.String = pa.Field(nullable=False)
    weight: pl.Float64 = pa.Field(nullable=False, ge=-1.0, le=1.0)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "ticker"]

    @pa.check("weight", name="finite")
    @classmethod
    def weight_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)


@dataclass(frozen=True)
class TableSpec:
    """Where a table lives in the warehouse, its schema and the keys that name a row."""

    layer: str
    name: str
    model: type[pa.DataFrameModel]
    keys: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    def columns(self) -> dict[str, pl.DataType]:
        """Column name to polars dtype, in schema order."""
        return {name: column.dtype.type for name, column in self.model.to_schema().columns.items()}

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.columns())


TABLES: dict[str, TableSpec] = {
    spec.qualified_name: spec
    for spec in (
        TableSpec("raw", "market_prices", MarketPrices, ("date", "ticker")),
        TableSpec("raw", "strategy_returns", StrategyReturns, ("date", "strategy_id")),
        TableSpec("raw", "strategy_positions", StrategyPositions, ("date", "strategy_id", "ticker")),
    )
}


def table_spec(qualified_name: str) -> TableSpec:
    """The spec of ``layer.table``; a clear error for a table the contract does not know."""
    try:
        return TABLES[qualified_name]
    except KeyError:
        raise KeyError(f"no schema for table {qualified_name!r}; known: {sorted(TABLES)}") from None


def validate(frame: pl.DataFrame, spec: TableSpec, origin: str | None = None) -> pl.DataFrame:
    """Validate ``frame`` against ``spec``'s schema, collecting every failure.

    Returns the frame with columns in schema order. ``origin`` (a file, a source) is
    named in the error. Raises ``DataQualityError`` naming,
    for each failure, the row by its keys, the column, the rule and the offending value.
    """
    structure = _structure_problems(frame, spec)
    if structure:
        raise DataQualityError(spec.qualified_name, structure, origin)
    try:
        validated = spec.model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise DataQualityError(spec.qualified_name, _describe(errors.failure_cases, frame, spec), origin) from None
    return validated.select(list(spec.columns()))


def _structure_problems(frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    """Missing, unexpected and mistyped columns: checked first, since row rules need them."""
    expected = spec.columns()
    problems = [f"missing column {name!r} (expected {dtype})" for name, dtype in expected.items() if name not in frame.columns]
    problems += [f"unexpected column {name!r}" for name in frame.columns if name not in expected]
    problems += [
        f"column {name!r} has type {frame.schema[name]}, expected {dtype}"
        for name, dtype in expected.items()
        if name in frame.columns and frame.schema[name] != dtype
    ]
    return problems


_RULE_NAMES = {"multiple_fields_uniqueness": "duplicate key"}


def _describe(failures: pl.DataFrame, frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    """Turn pandera's failure cases into one readable line each."""
    lines: list[str] = []
    for case in failures.iter_rows(named=True):
        where = _row_label(frame, spec, case["index"])
        column = case["column"] if case["schema_context"] == "Column" else None
        what = f"column {column!r}" if column else "row"
        rule = _RULE_NAMES.get(case["check"], case["check"])
        lines.append(f"{where}{what}: rule {rule} failed (value: {case['failure_case']})")
    return list(dict.fromkeys(lines))


def _row_label(frame: pl.DataFrame, spec: TableSpec, index: int | None) -> str:
    if index is None or index >= frame.height or not all(k in frame.columns for k in spec.keys):
        return ""
    row = frame.row(index, named=True)
    keys = ", ".join(f"{key}={row[key]}" for key in spec.keys)
    return f"row {index} ({keys}): "
