"""The HTTP API's bodies: the optimisation request and response of ``twin_model.optimize``,
the batch around them, and rows of warehouse tables as the snapshot holds them.

A table's row model is made from its pandera schema (``row_model``), so the API's
OpenAPI document follows the warehouse contract without a second definition.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any

import polars as pl
from pydantic import BaseModel, Field, create_model, field_validator

from twin_model.contracts import TableSpec
from twin_model.optimize import OptimizationMetadata, OptimizationRequest, OptimizationResponse

MAX_BATCH = 50
"""Most requests one ``POST /api/v1/optimize/batch`` may carry; more is answered 413."""
MAX_BODY_BYTES = 2_000_000
"""Largest request body accepted (a 500-strategy request with its covariance is ~5 MB of
full-precision JSON; 2 MB holds ~300); more is answered 413."""

_PYTHON_TYPES: dict[type[pl.DataType], type] = {
    pl.Date: dt.date,
    pl.Datetime: dt.datetime,
    pl.String: str,
    pl.Float64: float,
    pl.Int64: int,
    pl.Boolean: bool,
}


def _finite_or_null(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


class ServedMetadata(OptimizationMetadata):
    """The engine's metadata; an objective value that is not finite (MAX_SHARPE of a book
    with no volatility) is ``null``."""

    objective_value: float | None

    _finite = field_validator("objective_value", mode="before")(_finite_or_null)


class OptimizeResult(OptimizationResponse):
    """The engine's response; a figure that is not a number (the Sharpe ratio of a book
    with no volatility) is ``null``, since JSON has no NaN."""

    expected_return: float | None
    expected_volatility: float | None
    sharpe_ratio: float | None
    optimization_metadata: ServedMetadata

    _finite = field_validator("expected_return", "expected_volatility", "sharpe_ratio", mode="before")(_finite_or_null)

    @classmethod
    def of(cls, response: OptimizationResponse) -> OptimizeResult:
        return cls.model_validate(response.model_dump())


class BatchRequest(BaseModel):
    """Several optimisations in one call, solved in order."""

    requests: list[OptimizationRequest] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_BATCH},
        description=f"The requests, at most {MAX_BATCH} (more is answered 413).",
    )


class BatchResult(BaseModel):
    results: list[OptimizeResult]


class ProblemDetail(BaseModel):
    """An error: what went wrong, and the field it concerns when there is one."""

    detail: str
    field: str | None = None


class FieldError(BaseModel):
    """One reason a request was rejected, and where: ``field`` is the path in the body
    (``strategies[0].expected_return``) or the parameter's name; ``in`` is body, path or query."""

    field: str
    in_: str = Field(alias="in", serialization_alias="in")
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """422: every reason the request cannot be served."""

    detail: list[FieldError]


class Health(BaseModel):
    status: str = Field(description="'ok' with a snapshot to serve, 'no_snapshot' without one.")
    version: str = Field(description="The installed strategy-twin version.")
    as_of: dt.date | None = Field(description="The snapshot's as-of: the last business day it holds.")
    published_at: dt.datetime | None = Field(description="When the snapshot was published, UTC.")
    run_id: str | None = Field(description="The Dagster run that published it.")


@cache
def row_model(spec: TableSpec) -> type[BaseModel]:
    """A pydantic model of one row of ``spec``'s table: its columns, types and
    nullability from the pandera schema (a float may also be null: a stored NaN is served
    as null), the column descriptions as field descriptions."""
    columns = spec.model.to_schema().columns
    fields: dict[str, Any] = {}
    for name, dtype in spec.columns().items():
        column = columns[name]
        python = _PYTHON_TYPES[dtype if isinstance(dtype, type) else type(dtype)]
        annotation = python | None if column.nullable or python is float else python
        fields[name] = (annotation, Field(description=column.description))
    title = "".join(part.title() for part in spec.name.split("_")) + "Row"
    return create_model(title, __doc__=f"A row of {spec.qualified_name}.", **fields)
