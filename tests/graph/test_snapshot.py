"""Read snapshots (issue 8, failure 4: a reader stops the writer): readers outside a run
open the snapshot a successful run publishes beside the warehouse, so a run writes while
they read; a reader keeps its view across a swap; a failed run publishes nothing; a lock
on the live file fails a write quickly with a message naming the path and the way out."""

import datetime as dt
import json
import shlex
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.helpers.graph import day, materialize_days, resources
from twin_assets.cli import commands as cli
from twin_assets.definitions import warehouse_snapshot
from twin_assets.raw import RAW_ASSETS
from twin_assets.reports import SNAPSHOT_KEY, warehouse_snapshot_asset
from twin_resources.resources import WarehouseResource
from twin_resources.snapshot import SnapshotMissingError, open_snapshot, publish, snapshot_path
from twin_resources.warehouse import Warehouse

RAW_AND_SNAPSHOT = [*RAW_ASSETS, warehouse_snapshot]
PROJECT = Path(__file__).resolve().parents[2]

SNAPSHOT_READER = """
import sys
from twin_resources.snapshot import open_snapshot

snapshot = open_snapshot(sys.argv[1])
with snapshot.connect() as connection:
    def days(table):
        return connection.execute(f"SELECT count(DISTINCT date) FROM raw.{table}").fetchone()[0]
    print(snapshot.info.as_of, days("strategy_returns"), flush=True)
    sys.stdin.readline()
    # A table it has not read yet: its blocks come from the file now, not from a cache.
    print(days("market_prices"), days("strategy_returns"), flush=True)
"""

LIVE_FILE_HOLDER = """
import sys
import duckdb

connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read_only")
print("holding", flush=True)
sys.stdin.readline()
"""


def _start(script: str, *args: str) -> tuple[subprocess.Popen, str]:
    """A Python process running ``script``, and the first line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = process.stdout.readline().strip()
    assert first, process.stderr.read()
    return process, first


def _finish(process: subprocess.Popen) -> str:
    """Let the process go on past its pause; what it printed after."""
    out, err = process.communicate("go\n")
    assert process.returncode == 0, err
    return out.strip()


def _snapshot_days(warehouse: WarehouseResource) -> int:
    with open_snapshot(warehouse.path).connect() as connection:
        return connection.execute("SELECT count(DISTINCT date) FROM raw.strategy_returns").fetchone()[0]


@pytest.fixture
def quoted_warehouse(tmp_path) -> WarehouseResource:
    """A warehouse in a folder whose name has a quote, a space and a semicolon."""
    return WarehouseResource(path=str(tmp_path / "o'neil; desk" / "twin.duckdb"), lock_timeout_s=5.0)


@pytest.mark.slow
def test_a_run_writes_while_a_reader_holds_the_snapshot_and_the_reader_keeps_its_view(warehouse):
    res = resources(warehouse)
    assert materialize_days(RAW_AND_SNAPSHOT, res, "2022-12-19", "2022-12-20").success
    reader, first = _start(SNAPSHOT_READER, warehouse.path)
    try:
        assert first == "2022-12-20 2"  # Monday and Tuesday
        result = materialize_days(RAW_AND_SNAPSHOT, res, "2022-12-21", "2022-12-23")
    finally:
        still = _finish(reader)
    assert result.success
    assert still == "2 2"  # opened before the swap: its old view, whole
    assert _snapshot_days(warehouse) == 5  # opened after: Monday to Friday
    assert open_snapshot(warehouse.path).info.as_of == day("2022-12-23")


def test_the_snapshot_says_which_run_published_it_when_and_as_of_which_day(warehouse):
    before = dt.datetime.now(dt.UTC)
    result = materialize_days(RAW_AND_SNAPSHOT, resources(warehouse), "2022-12-19", "2022-12-23")
    after = dt.datetime.now(dt.UTC)
    info = open_snapshot(warehouse.path).info
    assert info.path == Path(warehouse.path).parent / "twin.snapshot.duckdb"
    assert info.as_of == day("2022-12-23") and info.run_id == result.run_id
    assert before <= info.published_at <= after
    assert info.source == warehouse.path
    # Published once for the range, by the last step, with nothing left beside it.
    steps = [event.step_key for event in result.all_events if event.is_step_start]
    assert steps[-1] == warehouse_snapshot.op.name and steps.count(warehouse_snapshot.op.name) == 1
    assert sorted(p.name for p in info.path.parent.iterdir()) == ["twin.duckdb", "twin.snapshot.duckdb"]
    [materialization] = [m for m in result.get_asset_materialization_events() if m.asset_key == SNAPSHOT_KEY]
    metadata = materialization.materialization.metadata
    assert metadata["snapshot"].value == str(info.path) and metadata["as_of"].value == "2022-12-23"
    assert metadata["size_bytes"].value == info.path.stat().st_size


def test_a_failing_run_leaves_the_last_snapshot(warehouse, tmp_path):
    first = materialize_days(RAW_AND_SNAPSHOT, resources(warehouse), "2022-12-19", "2022-12-20")
    broken = resources(warehouse, returns_file=tmp_path / "missing.csv")
    result = materialize_days(RAW_AND_SNAPSHOT, broken, "2022-12-21", "2022-12-23", raise_on_error=False)
    assert not result.success
    assert SNAPSHOT_KEY not in {m.asset_key for m in result.get_asset_materialization_events()}
    info = open_snapshot(warehouse.path).info
    assert info.run_id == first.run_id and info.as_of == day("2022-12-20")
    assert _snapshot_days(warehouse) == 2


@dg.asset(
    key=["raw", "rejected"],
    check_specs=[dg.AssetCheckSpec("never", asset=["raw", "rejected"], blocking=True)],
)
def _rejected_by_a_blocking_check():
    yield dg.Output(None)
    yield dg.AssetCheckResult(check_name="never", passed=False)


def test_a_run_whose_blocking_check_fails_leaves_the_last_snapshot(warehouse):
    first = materialize_days(RAW_AND_SNAPSHOT, resources(warehouse), "2022-12-19")
    snapshot_after_it = warehouse_snapshot_asset([_rejected_by_a_blocking_check])
    result = dg.materialize(
        [_rejected_by_a_blocking_check, snapshot_after_it],
        resources={**resources(warehouse), "io_manager": dg.mem_io_manager},
        raise_on_error=False,
    )
    assert not result.success
    assert SNAPSHOT_KEY not in {m.asset_key for m in result.get_asset_materialization_events()}
    assert open_snapshot(warehouse.path).info.run_id == first.run_id


KILLED_WRITER = """
import os, sys
import duckdb

connection = duckdb.connect(sys.argv[1])
connection.execute("CREATE TABLE late (date DATE)")
connection.execute("INSERT INTO late VALUES ('2022-12-30')")
os._exit(0)  # killed before it checkpoints: the rows are only in the .wal
"""


def test_rows_a_killed_writer_left_in_the_wal_are_in_the_snapshot(tmp_path):
    path = tmp_path / "twin.duckdb"
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=True)
    assert path.with_name("twin.duckdb.wal").exists()
    info = publish(Warehouse(path), "run-after-the-kill")
    assert info.as_of == day("2022-12-30")
    with open_snapshot(path).connect() as connection:
        assert connection.execute("SELECT count(*) FROM late").fetchone()[0] == 1


def test_no_snapshot_yet_says_run_twin_run(tmp_path):
    with pytest.raises(
        SnapshotMissingError, match=r"no snapshot yet at .*twin\.snapshot\.duckdb: run `twin run` first"
    ):
        open_snapshot(tmp_path / "twin.duckdb")


def test_a_reader_on_the_live_file_fails_a_write_quickly_naming_the_path_and_the_snapshot(tmp_path):
    path = tmp_path / "twin.duckdb"
    duckdb.connect(str(path)).close()
    holder, _ = _start(LIVE_FILE_HOLDER, str(path), "read_only")
    try:
        with pytest.raises(duckdb.IOException) as raised:
            with Warehouse(path, lock_timeout_s=0.2).connect():
                pass
    finally:
        _finish(holder)
    message = str(raised.value)
    assert f"could not open the warehouse {path} within 0.2 s: another process holds it" in message
    assert f"(PID {holder.pid})" in message  # DuckDB's own words, kept
    assert f"Close that process, or read the snapshot {snapshot_path(path)} instead" in message


def test_twin_status_reads_the_snapshot_while_a_run_holds_the_live_file(quoted_warehouse, monkeypatch, capsys):
    assert materialize_days(RAW_AND_SNAPSHOT, resources(quoted_warehouse), "2022-12-19", "2022-12-20").success
    monkeypatch.setenv("TWIN_WAREHOUSE", quoted_warehouse.path)
    writer, _ = _start(LIVE_FILE_HOLDER, quoted_warehouse.path, "write")
    try:
        cli.status()
    finally:
        _finish(writer)
    out = capsys.readouterr().out
    snapshot = snapshot_path(quoted_warehouse.path)
    assert f"Snapshot:  {snapshot}" in out and "as of 2022-12-20" in out
    assert "raw.strategy_returns" in out and "2022-12-19 .. 2022-12-20" in out and "meta.snapshot" not in out
    command = next(line for line in out.splitlines() if "alpha.alpha_pool" in line)
    _python, flag, script = shlex.split(command)
    assert flag == "-c" and f"duckdb.connect({json.dumps(str(snapshot))}, read_only=True)" in script
    # The printed query opens the snapshot despite the quote, space and semicolon in its
    # path (a wrong path would fail to open); a raw-only warehouse has no alpha pool yet.
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert 'Catalog Error: Table with name "alpha.alpha_pool" does not exist' in ran.stderr


def test_twin_status_without_a_snapshot_says_run_twin_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TWIN_WAREHOUSE", str(tmp_path / "twin.duckdb"))
    cli.status()
    captured = capsys.readouterr()
    assert "run `twin run` first" in captured.err and "Look at" not in captured.out
