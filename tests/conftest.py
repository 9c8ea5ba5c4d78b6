"""Fixtures every test folder shares: an isolated environment, a warehouse under tmp_path
and a copy of the default config (helper functions live in tests/helpers/)."""

import shutil
from collections import defaultdict
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


SLOW_SECONDS = 15.0
"""What a ``slow`` test is taken to cost when its mark names no ``seconds``."""
FAST_SECONDS = 0.3
"""What any other test is taken to cost."""


def expected_seconds(item) -> float:
    """A test's expected cost, from its ``slow`` mark (``seconds=`` where measured far above
    ``SLOW_SECONDS``, its module's fixtures included when it is the module's first user)."""
    mark = item.get_closest_marker("slow")
    return FAST_SECONDS if mark is None else float(mark.kwargs.get("seconds", SLOW_SECONDS))


def pytest_collection_modifyitems(config, items):
    """The heaviest test modules first, each kept whole and in its own order.

    pytest-xdist (``--dist=loadscope --no-loadscope-reorder``, pyproject.toml) hands each
    worker the next module in this order as it finishes one: longest first is what makes
    the workers finish together (a multi-minute module handed out last would leave one
    core idle for its whole run)."""
    weight, first = defaultdict(float), {}
    for index, item in enumerate(items):
        weight[_module(item)] += expected_seconds(item)
        first.setdefault(_module(item), index)
    items.sort(key=lambda item: (-weight[_module(item)], first[_module(item)]))


def _module(item) -> str:
    return item.nodeid.split("::")[0]


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
