"""`twin run` materialises the job as one run in the instance named by DAGSTER_HOME, so
it shows in the UI, and prints where the results are."""

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from twin_assets.cli import commands as cli
from twin_assets.cli.webserver import CODE_LOCATION, Webserver
from twin_resources.config import PROJECT_ROOT

POLL_S = 0.5
MAX_POLLS = 1200  # a bound on every wait below, not a speed requirement


@pytest.mark.slow
def test_twin_run_records_one_run_in_the_instance_and_prints_the_warehouse(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse = tmp_path / "twin.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "TWIN_WAREHOUSE": str(warehouse)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_assets.cli",
            "run",
            "--start",
            "2022-12-19",
            "--end",
            "2022-12-23",
            "--model-days",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
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


@pytest.mark.slow
def test_a_failing_run_exits_non_zero_and_says_why(tmp_path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_RETURNS_FILE": str(tmp_path / "missing.csv"),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin_assets.cli",
            "run",
            "--start",
            "2022-12-19",
            "--end",
            "2022-12-19",
            "--model-days",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1
    assert "FAILED" in out.stderr and "missing.csv" in out.stderr


def test_a_date_that_is_not_iso_is_refused_with_a_message(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--end", "2021-1-8"])
    assert exit_.value.code == 2
    assert "argument --end: '2021-1-8' is not a date written YYYY-MM-DD" in capsys.readouterr().err
    for text in ("2021-02-30", "20210108", "8.1.2021", ""):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            cli.iso_date(text)
    assert cli.iso_date("2021-01-08") == dt.date(2021, 1, 8)


def test_the_span_is_chosen_by_comparing_dates(monkeypatch):
    executed = []
    monkeypatch.setattr(cli, "_choose_webserver", lambda: None)
    monkeypatch.setattr(cli, "_execute", lambda server, job, first, last: executed.append((job, first, last)) or True)
    monkeypatch.setattr(cli, "status", lambda: None)
    assert cli.main(["run", "--start", "2021-01-02", "--end", "2021-01-08", "--model-days", "2"]) == 0
    # 2021-01-02 is a Saturday: the span starts on Monday the 4th
    assert executed == [("raw_history_job", "2021-01-04", "2021-01-08"), ("modelling_job", "2021-01-07", "2021-01-08")]


def poll(condition):
    """``condition()`` once it is truthy, polling a bounded number of times (None if never)."""
    for _ in range(MAX_POLLS):
        try:
            found = condition()
        except OSError:  # the webserver is not up yet
            found = None
        if found:
            return found
        time.sleep(POLL_S)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def reexecute(server: Webserver, run_id: str) -> str:
    mutation = (
        f'mutation {{ launchRunReexecution(reexecutionParams: {{parentRunId: "{run_id}", strategy: ALL_STEPS}}) '
        "{ __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"
    )
    answer = server.query(mutation, timeout=60)["launchRunReexecution"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


@pytest.mark.slow
def test_twin_run_while_dagster_dev_is_up_shows_on_the_timeline_and_re_executes(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    server = Webserver(f"http://127.0.0.1:{port}")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_DAGSTER_URL": server.url,
    }
    dagster = Path(sys.executable).parent / "dagster"
    with (tmp_path / "dagster_dev.out").open("w") as log:
        dev = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        loaded = poll(
            lambda: (
                {"name": CODE_LOCATION, "loadStatus": "LOADED"}
                in server.query(LOCATIONS, timeout=5)["workspaceOrError"]["locationEntries"]
            )
        )
        assert loaded, (tmp_path / "dagster_dev.out").read_text()[-3000:]
        out = subprocess.run(cli_run("2022-12-19", "2022-12-21"), env=env, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "Submitting through dagster dev" in out.stdout

        with dg.DagsterInstance.from_config(str(home)) as instance:
            (run,) = instance.get_runs()
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.remote_job_origin.location_name == CODE_LOCATION  # what the UI's timeline groups by
            assert run.tags["dagster/asset_partition_range_end"] == "2022-12-21"
            again = reexecute(server, run.run_id)
            finished = poll(lambda: instance.get_run_by_id(again).is_finished)
            assert finished and instance.get_run_by_id(again).status == dg.DagsterRunStatus.SUCCESS
            assert instance.get_run_by_id(again).parent_run_id == run.run_id
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        if poll(lambda: dev.poll() is not None) is None:
            os.killpg(dev.pid, signal.SIGKILL)
        dev.wait()


def cli_run(start: str, end: str) -> list[str]:
    return [sys.executable, "-m", "twin_assets.cli", "run", "--start", start, "--end", end, "--model-days", "0"]
