"""A small warehouse for the API: two days of the alpha pool, one solution's weights and
optimisations, written through the warehouse (validated against the contract) and
published as the read snapshot; the API app over it, and a real server on 127.0.0.1."""

import datetime as dt
import socket
import threading
import time
from pathlib import Path

import polars as pl
import pytest
import uvicorn
from fastapi.testclient import TestClient

from twin_model.contracts import TABLES
from twin_resources.api.app import create_app
from twin_resources.events import events_path
from twin_resources.snapshot import publish
from twin_resources.warehouse import Warehouse

DAYS = [dt.date(2022, 12, 28), dt.date(2022, 12, 29)]
SOLUTION = "balanced"
STRATEGIES = ["momentum_120", "value_60"]


def _alpha_pool() -> pl.DataFrame:
    rows = [
        (
            day,
            sid,
            sid == "momentum_120",
            3 + i,
            False,
            0.05 if sid == "momentum_120" else None,
            0.9 - 0.5 * j,
            "evidence",
            "bayes",
        )
        for i, day in enumerate(DAYS)
        for j, sid in enumerate(STRATEGIES)
    ]
    return pl.DataFrame(rows, schema=TABLES["alpha.alpha_pool"].columns(), orient="row")


def _weights() -> pl.DataFrame:
    rows = []
    for day in DAYS:
        for sid, w in zip(STRATEGIES, (0.6, 0.4)):
            rows.append(
                (
                    day,
                    SOLUTION,
                    sid,
                    "active",
                    sid == "momentum_120",
                    "core",
                    w,
                    w,
                    w,
                    w,
                    1.0,
                    0,
                    0,
                    0,
                    None,
                    0.0,
                    None,
                    "",
                )
            )
    return pl.DataFrame(rows, schema=TABLES["portfolio.solution_weights"].columns(), orient="row")


def _optimizations() -> pl.DataFrame:
    rows = [
        (
            day,
            SOLUTION,
            "max_sharpe",
            "MAX_SHARPE",
            "MEAN_VARIANCE",
            i == 1,
            "",
            "optimal",
            0.08 + i / 100,
            0.1,
            0.8 + i / 10,
            "CLARABEL",
            "optimal",
            True,
            "",
            2,
            1.0,
            0.0,
            0.0,
            0.0,
            False,
            2,
            0,
            "ok",
        )
        for i, day in enumerate(DAYS)
    ]
    return pl.DataFrame(rows, schema=TABLES["portfolio.solution_optimizations"].columns(), orient="row")


def build_warehouse(path: Path) -> Warehouse:
    """The three tables of DAYS, written and published as the snapshot."""
    warehouse = Warehouse(path, lock_timeout_s=5.0)
    for table, frame in (
        ("alpha.alpha_pool", _alpha_pool()),
        ("portfolio.solution_weights", _weights()),
        ("portfolio.solution_optimizations", _optimizations()),
    ):
        warehouse.replace_partitions(TABLES[table], frame, DAYS)
    publish(warehouse, "test-run")
    return warehouse


@pytest.fixture
def published(tmp_path) -> Path:
    """The live warehouse path, its snapshot published."""
    path = tmp_path / "twin.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture
def client(published):
    with TestClient(create_app(published)) as test_client:
        yield test_client


def events_of(warehouse_path: Path) -> list[str]:
    path = events_path(warehouse_path)
    return path.read_text().splitlines() if path.exists() else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(published):
    """A real uvicorn server in a thread on a free port of 127.0.0.1: its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(published), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)
