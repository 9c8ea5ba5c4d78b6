"""`twin run` materialises the job as one run in the instance named by DAGSTER_HOME, so
it shows in the UI, and prints where the results are."""

import os
import subprocess
import sys

import dagster as dg
import duckdb


def test_twin_run_records_one_run_in_the_instance_and_prints_the_warehouse(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse = tmp_path / "twin.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "TWIN_WAREHOUSE": str(warehouse)}
    out = subprocess.run(
        [sys.executable, "-m", "twin_assets.cli", "run", "--start", "2022-12-19", "--end", "2022-12-23", "--model-days", "0"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"Warehouse: {warehouse}" in out.stdout
    assert "raw.strategy_returns" in out.stdout and "dagster dev" in out.stdout
    assert "raw_history_job" in out.stdout and "modelling_job" not in out.stdout

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert runs[0].tags["dagster/asset_partition_range_start"] == "2022-12-19"
    assert runs[0].tags["dagster/asset_partition_range_end"] == "2022-12-23"

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        days = connection.execute("SELECT count(DISTINCT date) FROM raw.strategy_returns").fetchone()[0]
    assert days == 5


def test_a_failing_run_exits_non_zero_and_says_why(tmp_path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_RETURNS_FILE": str(tmp_path / "missing.csv"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "twin_assets.cli", "run", "--start", "2022-12-19", "--end", "2022-12-19", "--model-days", "0"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1
    assert "FAILED" in out.stderr and "missing.csv" in out.stderr
