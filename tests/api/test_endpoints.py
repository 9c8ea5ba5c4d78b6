"""Every endpoint, through the test client and through real HTTP on 127.0.0.1.

Expected numbers: minimum variance of two uncorrelated strategies with variances a and b
puts w_a = (1/a) / (1/a + 1/b) in the first, and its variance is 1 / (1/a + 1/b); the
snapshot's rows are the ones tests/api/conftest.py wrote."""

import json
import math

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import DAYS, SOLUTION, events_of
from twin_resources.api.app import create_app
from twin_resources.api.models import MAX_BATCH, MAX_BODY_BYTES

A, B = 0.04, 0.09
W_A = (1 / A) / (1 / A + 1 / B)  # 9/13
VOL = math.sqrt(1 / (1 / A + 1 / B))


def request(portfolio_id: str = "p1", **overrides) -> dict:
    body = {
        "portfolio_id": portfolio_id,
        "objective": "MIN_VOLATILITY",
        "strategies": [{"strategy_id": "a", "expected_return": 0.05}, {"strategy_id": "b", "expected_return": 0.07}],
        "covariance": [[A, 0.0], [0.0, B]],
    }
    return body | overrides


@pytest.fixture(params=["test_client", "http"])
def api(request, published):
    """The API through FastAPI's test client, and through a real server on 127.0.0.1."""
    if request.param == "test_client":
        with TestClient(create_app(published)) as client:
            yield client
    else:
        base = request.getfixturevalue("server")
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client


def fields(response) -> list[str]:
    return [error["field"] for error in response.json()["detail"]]


def test_optimize_answers_the_minimum_variance_weights_and_records_the_event(api, published):
    response = api.post("/api/v1/optimize", json=request())
    assert response.status_code == 200
    body = response.json()
    assert body["optimal_weights"]["a"] == pytest.approx(W_A, abs=1e-6)
    assert body["optimal_weights"]["b"] == pytest.approx(1 - W_A, abs=1e-6)
    assert body["expected_volatility"] == pytest.approx(VOL, rel=1e-6)
    [line] = events_of(published)
    event = json.loads(line)
    assert event["portfolio_id"] == "p1" and event["objective"] == "MIN_VOLATILITY"
    assert event["optimal_weights"] == body["optimal_weights"]
    assert event["solver"] == body["optimization_metadata"]["solver"]
    assert len(event["event_id"]) == 32 and event["timestamp"].endswith("+00:00")


def test_batch_answers_each_request_in_order_and_records_each(api, published):
    second = request("p2", covariance=[[B, 0.0], [0.0, A]])
    response = api.post("/api/v1/optimize/batch", json={"requests": [request(), second]})
    assert response.status_code == 200
    first, swapped = response.json()["results"]
    assert first["optimal_weights"]["a"] == pytest.approx(W_A, abs=1e-6)
    assert swapped["optimal_weights"]["b"] == pytest.approx(W_A, abs=1e-6)
    assert [json.loads(line)["portfolio_id"] for line in events_of(published)] == ["p1", "p2"]


def test_an_oversize_batch_is_413_naming_the_field_and_records_nothing(api, published):
    response = api.post("/api/v1/optimize/batch", json={"requests": [request()] * (MAX_BATCH + 1)})
    assert response.status_code == 413
    assert response.json()["field"] == "requests" and str(MAX_BATCH) in response.json()["detail"]
    assert events_of(published) == []


def test_a_body_over_the_limit_is_413(api):
    strategies = [{"strategy_id": f"s{i:06d}", "expected_return": 0.01} for i in range(MAX_BODY_BYTES // 40)]
    response = api.post("/api/v1/optimize", json={"strategies": strategies})
    assert response.status_code == 413
    assert response.json()["field"] == "body"


def test_wrong_types_and_missing_fields_are_422_naming_the_field_path(api, published):
    wrong = request()
    wrong["strategies"][1]["expected_return"] = "high"
    assert fields(api.post("/api/v1/optimize", json=wrong)) == ["strategies[1].expected_return"]
    missing = {k: v for k, v in request().items() if k != "strategies"}
    assert fields(api.post("/api/v1/optimize", json=missing)) == ["strategies"]
    unknown_objective = request(objective="MAX_FUN")
    assert fields(api.post("/api/v1/optimize", json=unknown_objective)) == ["objective"]
    nested = {"requests": [request(), {"strategies": [{"expected_return": 0.1}]}]}
    response = api.post("/api/v1/optimize/batch", json=nested)
    assert response.status_code == 422
    assert fields(response) == ["requests[1].strategies[0].strategy_id"]
    not_json = api.post("/api/v1/optimize", content=b'{"strategies": [', headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and fields(not_json) == ["body"]
    assert events_of(published) == []


def test_an_impossible_request_is_422_naming_the_constraints(api):
    response = api.post("/api/v1/optimize", json=request(constraints={"min_weight": 0.6}))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["type"] == "infeasible_request" and "min_weight" in error["msg"]


def test_latest_optimization_is_the_last_day_of_the_snapshot(api):
    response = api.get(f"/api/v1/optimization/{SOLUTION}/latest")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == str(DAYS[-1]) and body["portfolio_id"] == SOLUTION
    assert body["optimization"]["date"] == str(DAYS[-1])
    assert body["optimization"]["expected_return"] == pytest.approx(0.09)
    assert body["optimization"]["rebalanced"] is True


def test_an_unknown_portfolio_is_404_naming_it(api):
    response = api.get("/api/v1/optimization/no_such_solution/latest")
    assert response.status_code == 404
    assert "'no_such_solution'" in response.json()["detail"] and SOLUTION in response.json()["detail"]
    assert response.json()["field"] == "portfolio_id"


def test_state_of_a_day_holds_its_alpha_pool_and_weights(api):
    response = api.get(f"/api/v1/state/{DAYS[0]}")
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == str(DAYS[0]) and body["as_of"] == str(DAYS[-1])
    pool = {row["strategy_id"]: row for row in body["alpha_pool"]}
    assert pool["momentum_120"]["in_pool"] is True and pool["value_60"]["alpha_level"] is None
    weights = {row["strategy_id"]: row["weight_close"] for row in body["solution_weights"]}
    assert weights == {"momentum_120": 0.6, "value_60": 0.4}


def test_state_of_an_unknown_day_is_404_and_a_bad_date_422(api):
    response = api.get("/api/v1/state/2021-01-04")
    assert response.status_code == 404 and "2021-01-04" in response.json()["detail"]
    assert fields(api.get("/api/v1/state/2022-13-01")) == ["date"]


def test_health_names_the_snapshot_as_of_and_version(api):
    body = api.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["as_of"] == str(DAYS[-1]) and body["run_id"] == "test-run"
    assert body["version"] == "0.1.0"


def test_the_openapi_document_lists_every_endpoint(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/v1/optimize",
        "/api/v1/optimize/batch",
        "/api/v1/optimization/{portfolio_id}/latest",
        "/api/v1/state/{date}",
        "/api/v1/health",
    }


def test_without_a_snapshot_reads_are_503_and_health_says_so(tmp_path):
    with TestClient(create_app(tmp_path / "twin.duckdb")) as client:
        assert client.get("/api/v1/health").json()["status"] == "no_snapshot"
        response = client.get(f"/api/v1/state/{DAYS[0]}")
        assert response.status_code == 503 and "twin run" in response.json()["detail"]
        assert client.post("/api/v1/optimize", json=request()).status_code == 200


def test_a_chunked_body_over_the_limit_is_413(server):
    """No Content-Length: the body is counted as it arrives."""

    def chunks():
        yield b'{"strategies": ['
        for _ in range(MAX_BODY_BYTES // 500):  # ~2x the limit
            yield b'{"strategy_id": "x", "expected_return": 0.1},' * 22
        yield b"]}"

    response = httpx.post(f"{server}/api/v1/optimize", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["field"] == "body"
