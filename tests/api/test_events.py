"""The optimisations the API served reach events.portfolio_optimized through the events
asset: every event once, re-ingesting adds nothing, a bad line fails naming file and line,
and a line still being written waits for the next ingest."""

import json

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from tests.api.test_endpoints import W_A, request
from tests.helpers.graph import failure_message
from twin_assets.events import portfolio_optimized
from twin_model.contracts import TABLES
from twin_resources.api.app import create_app
from twin_resources.events import events_path, read_events
from twin_resources.resources import WarehouseResource
from twin_resources.snapshot import open_snapshot, publish
from twin_resources.warehouse import Warehouse

EVENTS = TABLES["events.portfolio_optimized"]


def ingest(path):
    return dg.materialize([portfolio_optimized], resources={"warehouse": WarehouseResource(path=str(path))})


def stored(path):
    return Warehouse(path).read(EVENTS)


@pytest.fixture
def served(published):
    """Three optimisations served: one alone, two in a batch."""
    with TestClient(create_app(published)) as client:
        assert client.post("/api/v1/optimize", json=request("p1")).status_code == 200
        batch = {"requests": [request("p2"), request("p3", objective="MAX_SHARPE")]}
        assert client.post("/api/v1/optimize/batch", json=batch).status_code == 200
    return published


def test_each_served_optimisation_is_ingested_once(served):
    result = ingest(served)
    assert result.success and all(check.passed for check in result.get_asset_check_evaluations())
    rows = stored(served)
    assert rows.get_column("portfolio_id").sort().to_list() == ["p1", "p2", "p3"]
    first = rows.filter(rows["portfolio_id"] == "p1").row(0, named=True)
    assert json.loads(first["optimal_weights"])["a"] == pytest.approx(W_A, abs=1e-6)
    assert first["objective"] == "MIN_VOLATILITY" and first["n_strategies"] == 2
    assert ingest(served).success
    assert stored(served).height == 3  # re-ingesting adds nothing


def test_a_book_with_no_volatility_is_ingested_with_a_null_sharpe_ratio(published):
    """Zero covariance: volatility 0, so the Sharpe ratio is not a number, served as null."""
    flat = request("flat", covariance=[[0.0, 0.0], [0.0, 0.0]], objective="MAX_SHARPE")
    with TestClient(create_app(published)) as client:
        served = client.post("/api/v1/optimize", json=flat).json()
    assert served["sharpe_ratio"] is None and served["optimization_metadata"]["objective_value"] is None
    assert ingest(published).success
    row = stored(published).row(0, named=True)
    assert row["sharpe_ratio"] is None and row["objective_value"] is None and row["expected_volatility"] == 0.0


def test_events_do_not_move_the_snapshot_as_of(served):
    before = open_snapshot(served).info.as_of
    ingest(served)
    assert publish(Warehouse(served), "after-events").as_of == before


def test_a_bad_line_fails_naming_file_and_line_and_writes_nothing(served):
    path = events_path(served)
    with path.open("a") as events:
        events.write('{"event_id": "x", "timestamp": "yesterday"}\n')
    result = dg.materialize(
        [portfolio_optimized], resources={"warehouse": WarehouseResource(path=str(served))}, raise_on_error=False
    )
    assert not result.success
    assert f"{path}, line 4" in failure_message(result)
    assert stored(served).height == 0


def test_a_line_still_being_written_waits_for_the_next_ingest(served):
    path = events_path(served)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][:40])  # the third line half written
    assert read_events(path).height == 2
    path.write_text("".join(lines))
    assert read_events(path).height == 3
