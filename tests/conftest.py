"""Fixtures every test folder shares: an isolated environment, a warehouse under tmp_path
and a copy of the default config (helper functions live in tests/helpers/)."""

import shutil
from pathlib import Path

import pytest

from twin_resources.config import DEFAULT_CONFIG_DIR
from twin_resources.resources import WarehouseResource
from twin_resources.runtime import own_pytensor_compiledir


def pytest_configure(config):
    """One PyTensor compile directory per test process, before any test module imports it.

    Under ``pytest -n N`` (pytest-xdist) the controller runs no test: each worker makes
    its own, as two concurrent processes must not share one (DESIGN.md)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    own_pytensor_compiledir()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """No test sees the developer's TWIN_* variables or writes to the project's instance."""
    for name in ("TWIN_WAREHOUSE", "TWIN_CONFIG_DIR", "TWIN_RETURNS_FILE", "TWIN_FACTORS_FILE", "TWIN_ALERT_WEBHOOK"):
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
