"""Runs that die are recognised and cleaned up, a run waiting for a pool names the run that
holds it, and SIGTERM stops a waiting run (issue 8, failure 1)."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import dagster as dg
import pytest

from twin_assets.cli.runs import ProcessIdentity, process_start
from twin_resources.config import PROJECT_ROOT

POOL = "duckdb"
POLL_S = 0.25
MAX_POLLS = 2400  # a bound on every wait below, not a speed requirement


def fresh_home(tmp_path) -> dict:
    """The environment of a CLI run on a new DAGSTER_HOME (the project's dagster.yaml) and warehouse."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    dg.DagsterInstance.from_config(str(home)).dispose()  # its storage exists before the test polls it
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TWIN_WAREHOUSE": str(tmp_path / "twin.duckdb"),
        "TWIN_DAGSTER_URL": "off",
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "twin_assets.cli", *args]


def wait_for(condition, process: subprocess.Popen):
    """Poll ``condition`` until it gives something truthy, while ``process`` runs."""
    for _ in range(MAX_POLLS):
        found = condition()
        if found or process.poll() is not None:
            return found
        time.sleep(POLL_S)
    return None


def claimed_run_ids(home: str) -> set[str]:
    with dg.DagsterInstance.from_config(home) as instance:
        return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def test_process_start_tells_a_live_process_from_a_gone_one():
    assert process_start(os.getpid()) == process_start(os.getpid()) is not None
    child = subprocess.Popen(["sleep", "30"])
    assert process_start(child.pid) is not None
    child.kill()  # not yet reaped: a zombie, which is gone
    assert any(process_start(child.pid) is None or time.sleep(POLL_S) for _ in range(MAX_POLLS))
    child.wait()
    assert ProcessIdentity("elsewhere", child.pid, "1").is_gone() is False  # another host: cannot tell
    assert ProcessIdentity.current().is_gone() is False


@pytest.mark.slow(seconds=90)
def test_a_killed_run_is_marked_failed_and_its_slot_freed_by_the_next_run(tmp_path):
    env = fresh_home(tmp_path)
    log = (tmp_path / "killed.out").open("w")
    long_run = subprocess.Popen(
        cli("run", "--start", "2020-01-02", "--end", "2020-12-31", "--model-days", "0"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        holders = wait_for(lambda: claimed_run_ids(env["DAGSTER_HOME"]), long_run)
    finally:
        long_run.kill()
        long_run.wait()
    assert holders, (tmp_path / "killed.out").read_text()[-3000:]
    (dead_run_id,) = holders

    out = subprocess.run(
        cli("run", "--start", "2020-01-02", "--end", "2020-01-03", "--model-days", "0"),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    cleaned = next(line for line in out.stdout.splitlines() if dead_run_id in line)
    assert f"pid {long_run.pid}" in cleaned and "marked FAILURE" in cleaned and f"freed pool {POOL}" in cleaned
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        assert instance.get_run_by_id(dead_run_id).status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_run_ids()


def hold_the_pool(home: str) -> str:
    """A live run (tagged with this test's own process) that holds the pool's one slot."""
    holder = str(uuid.uuid4())
    with dg.DagsterInstance.from_config(home) as instance:
        instance.add_run(
            dg.DagsterRun(
                job_name="holder_job",
                run_id=holder,
                status=dg.DagsterRunStatus.STARTED,
                tags=ProcessIdentity.current().tags(),
            )
        )
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, holder, "holder_step").is_claimed
    return holder


@pytest.mark.slow
def test_sigterm_stops_a_run_waiting_for_a_slot_and_frees_only_its_own(tmp_path):
    env = fresh_home(tmp_path)
    holder = hold_the_pool(env["DAGSTER_HOME"])
    out_file = tmp_path / "waiting.out"
    with out_file.open("w") as out:
        waiting = subprocess.Popen(
            cli("run", "--start", "2020-01-02", "--end", "2020-01-03", "--model-days", "0"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        said = wait_for(lambda: "is waiting for pool duckdb: held by run" in out_file.read_text(), waiting)
        waiting.send_signal(signal.SIGTERM)
        code = waiting.wait(timeout=120)
    finally:
        waiting.kill()
        waiting.wait()
    text = out_file.read_text()
    assert said, text
    assert code == 128 + signal.SIGTERM, text
    assert f"held by run {holder} (holder_job, STARTED" in text and f"pid {os.getpid()}" in text
    stopped = next(line for line in text.splitlines() if line.startswith("Stopped by SIGTERM"))
    assert holder in stopped and "marked CANCELED" in stopped
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (own,) = [run for run in instance.get_runs() if run.run_id != holder]
        assert own.status == dg.DagsterRunStatus.CANCELED
        assert instance.event_log_storage.get_concurrency_run_ids() == {holder}
    assert claimed_run_ids(env["DAGSTER_HOME"]) == {holder}
