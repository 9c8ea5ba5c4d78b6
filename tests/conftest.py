"""Shared fixtures: a warehouse under tmp_path, resources for each source, and a helper
that materialises the raw layer for one day or a range of days as one run."""

import datetime as dt
import shutil
from pathlib import Path

from twin_resources.runtime import own_pytensor_compiledir

own_pytensor_compiledir()  # one PyTensor compile directory per test session, before any import of it

import dagster as dg
import polars as pl
import pytest

from twin_model.portfolio import RiskLimits
from twin_resources.config import DEFAULT_CONFIG_DIR
from twin_resources.io_manager import WarehouseIOManager
from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """No test sees the developer's TWIN_* variables or writes to the project's instance."""
    for name in ("TWIN_WAREHOUSE", "TWIN_CONFIG_DIR", "TWIN_RETURNS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    return WarehouseResource(path=str(tmp_path / "twin.duckdb"), lock_timeout_s=5.0)


@pytest.fixture
def config_dir(tmp_path) -> Path:
    """A copy of the default firm's config that a test may edit."""
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target


def resources(warehouse: WarehouseResource, config_dir: Path | str = DEFAULT_CONFIG_DIR, returns_file=None) -> dict:
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "twin_config": TwinConfigResource(config_dir=str(config_dir)),
        "return_source": ReturnSourceResource(
            config_dir=str(config_dir), returns_file=str(returns_file) if returns_file else None
        ),
    }


def materialize_days(assets, res: dict, start: str, end: str | None = None, raise_on_error: bool = True):
    """One run over ``start`` (or the range ``start``..``end``)."""
    if end is None:
        return dg.materialize(assets, resources=res, partition_key=start, raise_on_error=raise_on_error)
    return dg.materialize(
        assets, resources=res, tags={RANGE_START: start, RANGE_END: end}, raise_on_error=raise_on_error
    )


LOOSE_RISK_LIMITS = {
    "portfolio": {
        "max_gross_leverage": 100.0,
        "drawdown_stop": -0.99,
        "volatility_target": 1e6,
        "max_pairwise_correlation": 1.0,
        "min_diversification_ratio": 1.0,
        "var_95": -0.99,
        "cvar_95": -0.99,
        "var_99": -0.99,
        "cvar_99": -0.99,
    },
    "strategy": {"max_weight": 1.0, "drawdown_stop": -0.99, "max_volatility": 1e6},
    "position": {"max_net_exposure_per_ticker": 100.0},
}
"""Risk limits nothing breaches; tests tighten the keys they are about."""


def loose_risk_limits(portfolio: dict | None = None, strategy: dict | None = None) -> RiskLimits:
    """``LOOSE_RISK_LIMITS`` with the given keys tightened."""
    return RiskLimits.from_mapping(
        {
            "portfolio": {**LOOSE_RISK_LIMITS["portfolio"], **(portfolio or {})},
            "strategy": {**LOOSE_RISK_LIMITS["strategy"], **(strategy or {})},
            "position": dict(LOOSE_RISK_LIMITS["position"]),
        }
    )


def copy_warehouse(source: Path, name: str) -> WarehouseResource:
    """A copy of the warehouse file ``source`` in a new folder ``name`` beside it."""
    target = source.parent / name / "twin.duckdb"
    target.parent.mkdir()
    shutil.copy(source, target)
    return WarehouseResource(path=str(target))


def write_returns_file(path: Path, rows: list[tuple]) -> Path:
    """A returns CSV from (date, strategy_id, ret[, available]) tuples."""
    columns = ["date", "strategy_id", "ret", "available"][: len(rows[0])]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    frame.write_csv(path)
    return path


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
