"""The HTTP API (FastAPI): optimisations on demand and the twin's state from the read snapshot.

Endpoints (all under ``/api/v1``; the OpenAPI document at ``/openapi.json``, docs at ``/docs``):

* ``POST /optimize``: one ``OptimizationRequest`` -> ``OptimizeResult``.
* ``POST /optimize/batch``: ``{"requests": [...]}`` (at most ``MAX_BATCH``) -> ``{"results": [...]}``.
* ``GET /optimization/{portfolio_id}/latest``: the latest ``portfolio.solution_optimizations``
  row of that solution in the snapshot, with the snapshot's as-of.
* ``GET /state/{date}``: the rows of the day of each of ``reads.STATE_TABLES``, with the as-of.
* ``GET /health``: the snapshot's as-of and the version.

Errors: 422 for a request the models reject (each error names its ``field`` path, e.g.
``strategies[0].expected_return``; a body that is not JSON is ``body``) or the engine
finds impossible (the constraints that cannot hold together); 404 naming an unknown
portfolio or day; 413 for a body over ``MAX_BODY_BYTES`` or a batch over ``MAX_BATCH``;
503 while no snapshot is published.

Optimisations use the public ``optimize()`` (its process-wide cache of compiled problems
stays warm across requests; BLAS pinned to one thread) and each one served is appended
to the events file (twin_resources.events), never to the live DuckDB file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, create_model

from twin_model.errors import InfeasibleRequestError
from twin_model.optimize import OptimizationRequest, optimize
from twin_resources.api.bodies import json_body, parsed, with_body_schemas
from twin_resources.api.limits import BodyLimit, field_path
from twin_resources.api.models import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    BatchRequest,
    BatchResult,
    Health,
    InvalidRequest,
    OptimizeResult,
    ProblemDetail,
    row_model,
)
from twin_resources.api.reads import OPTIMIZATIONS, STATE_TABLES, SnapshotReader, UnknownDayError, UnknownPortfolioError
from twin_resources.events import EventLog, events_path, portfolio_optimized
from twin_resources.snapshot import SnapshotMissingError

PREFIX = "/api/v1"
WARM_UP = {
    "portfolio_id": "warm_up",
    "strategies": [{"strategy_id": "a", "expected_return": 0.05}, {"strategy_id": "b", "expected_return": 0.07}],
    "covariance": [[0.04, 0.0], [0.0, 0.09]],
}
"""Solved once at start-up (not recorded) so the first request does not pay the imports; it
also pins BLAS to one thread from the server's main thread (twin_model.optimize._engine)."""
ParsedRequest = Annotated[OptimizationRequest, Depends(parsed(OptimizationRequest))]
ParsedBatch = Annotated[BatchRequest, Depends(parsed(BatchRequest))]

LatestOptimization = create_model(
    "LatestOptimization",
    portfolio_id=(str, ...),
    as_of=(dt.date | None, ...),
    optimization=(row_model(OPTIMIZATIONS), ...),
    __doc__="The latest solution_optimizations row of a portfolio (solution) in the snapshot.",
)
DayState = create_model(
    "DayState",
    date=(dt.date, ...),
    as_of=(dt.date | None, ...),
    **{name: (list[row_model(spec)], ...) for name, spec in STATE_TABLES.items()},
    __doc__="The state of one business day in the snapshot: the rows of the day of each state table.",
)


def package_version() -> str:
    try:
        return version("strategy-twin")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _error(status: int, detail: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=ProblemDetail(detail=detail, field=field).model_dump())


def _invalid(errors: list[dict]) -> JSONResponse:
    return JSONResponse(status_code=422, content=InvalidRequest(detail=errors).model_dump(by_alias=True))


def _infeasible(exc: InfeasibleRequestError, field: str = "") -> JSONResponse:
    """An impossible request: 422 with the engine's message naming the constraints."""
    return _invalid([{"field": field, "in": "body", "msg": str(exc), "type": "infeasible_request"}])


def create_app(warehouse_path: str | Path, events_file: str | Path | None = None) -> FastAPI:
    """The API over the snapshot of the warehouse at ``warehouse_path``; events go to
    ``events_file`` (default: beside the warehouse, ``events_path``)."""
    reader = SnapshotReader(str(warehouse_path))
    log = EventLog(events_file or events_path(warehouse_path))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        optimize(WARM_UP)
        yield

    app = FastAPI(
        title="Strategy Twin API",
        version=package_version(),
        description="Portfolio optimisation on demand, and the twin's state read from its latest snapshot.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    _handlers(app)
    with_body_schemas(app, [OptimizationRequest, BatchRequest])
    errors = {code: {"model": ProblemDetail} for code in (404, 413, 503)} | {422: {"model": InvalidRequest}}

    def served(request: OptimizationRequest) -> OptimizeResult:
        return OptimizeResult.of(optimize(request))

    @app.post(
        f"{PREFIX}/optimize",
        response_model=OptimizeResult,
        responses=errors,
        tags=["optimize"],
        openapi_extra=json_body(OptimizationRequest),
    )
    def optimize_one(request: ParsedRequest) -> OptimizeResult:
        """Solve one optimisation request; it is recorded as a portfolio_optimized event."""
        result = served(request)
        log.append([portfolio_optimized(request, result)])
        return result

    @app.post(
        f"{PREFIX}/optimize/batch",
        response_model=BatchResult,
        responses=errors,
        tags=["optimize"],
        openapi_extra=json_body(BatchRequest),
    )
    def optimize_batch(batch: ParsedBatch) -> BatchResult | JSONResponse:
        """Solve up to MAX_BATCH requests in order; each is recorded as an event."""
        if len(batch.requests) > MAX_BATCH:
            return _error(413, f"requests: {len(batch.requests)} requests, at most {MAX_BATCH} a batch", "requests")
        results = []
        for index, request in enumerate(batch.requests):
            try:
                results.append(served(request))
            except InfeasibleRequestError as exc:
                return _infeasible(exc, f"requests[{index}]")
        log.append([portfolio_optimized(request, result) for request, result in zip(batch.requests, results)])
        return BatchResult(results=results)

    @app.get(
        f"{PREFIX}/optimization/{{portfolio_id}}/latest",
        response_model=LatestOptimization,
        responses=errors,
        tags=["state"],
    )
    def latest_optimization(portfolio_id: str) -> BaseModel:
        """The latest solution_optimizations row of a portfolio (a solution_id) in the snapshot."""
        read = reader.latest_optimization(portfolio_id)
        return LatestOptimization(
            portfolio_id=portfolio_id, as_of=read.info.as_of, optimization=read.rows["optimization"][0]
        )

    @app.get(f"{PREFIX}/state/{{date}}", response_model=DayState, responses=errors, tags=["state"])
    def state(date: dt.date) -> BaseModel:
        """The state of one day in the snapshot (the alpha pool and every solution's weights)."""
        read = reader.state(date)
        return DayState(date=date, as_of=read.info.as_of, **read.rows)

    @app.get(f"{PREFIX}/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """The snapshot served (as-of, when and by which run it was published) and the version."""
        try:
            info = reader.info()
        except SnapshotMissingError:
            return Health(status="no_snapshot", version=package_version(), as_of=None, published_at=None, run_id=None)
        return Health(
            status="ok", version=package_version(), as_of=info.as_of, published_at=info.published_at, run_id=info.run_id
        )

    return app


def _handlers(app: FastAPI) -> None:
    """422 naming each field path, 422 for impossible requests, 404 and 503 for the snapshot."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(
            [
                {"field": field_path(error["loc"]), "in": error["loc"][0], "msg": error["msg"], "type": error["type"]}
                for error in exc.errors()
            ]
        )

    @app.exception_handler(InfeasibleRequestError)
    async def infeasible(_: Request, exc: InfeasibleRequestError) -> JSONResponse:
        return _infeasible(exc)

    @app.exception_handler(UnknownPortfolioError)
    async def unknown_portfolio(_: Request, exc: UnknownPortfolioError) -> JSONResponse:
        return _error(404, str(exc), "portfolio_id")

    @app.exception_handler(UnknownDayError)
    async def unknown_day(_: Request, exc: UnknownDayError) -> JSONResponse:
        return _error(404, str(exc), "date")

    @app.exception_handler(SnapshotMissingError)
    async def no_snapshot(_: Request, exc: SnapshotMissingError) -> JSONResponse:
        return _error(503, str(exc))
