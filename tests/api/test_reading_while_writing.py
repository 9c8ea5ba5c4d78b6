"""The API answers from its snapshot while another process holds the live DuckDB file
open for writing, and that writer is never blocked by the API (no lock error either side)."""

import datetime as dt
import subprocess
import sys
import textwrap

import duckdb
import httpx
import pytest

from tests.api.conftest import DAYS, SOLUTION
from twin_resources.snapshot import publish
from twin_resources.warehouse import Warehouse

WRITER = textwrap.dedent(
    """
    import datetime as dt, sys, time
    import duckdb
    connection = duckdb.connect(sys.argv[1])  # read-write: holds the file's lock
    print("holding", flush=True)
    writes = 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        connection.execute(
            "INSERT INTO alpha.alpha_pool SELECT date + INTERVAL 7 DAY, strategy_id || ?, in_pool, days_in_state, "
            "changed, alpha_level, evidence, reason, policy FROM alpha.alpha_pool WHERE date = ?",
            [str(writes), dt.date(2022, 12, 28)],
        )
        writes += 1
        time.sleep(0.01)
    connection.close()
    print(f"wrote {writes}", flush=True)
    """
)


def test_the_api_reads_its_snapshot_while_a_writer_holds_the_live_file(published, server):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(published), "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException, match="(?i)lock"):  # the live file is really held
            duckdb.connect(str(published), read_only=True)
        with httpx.Client(base_url=server, timeout=30) as client:
            for _ in range(10):
                assert client.get("/api/v1/health").json()["as_of"] == str(DAYS[-1])
                assert client.get(f"/api/v1/optimization/{SOLUTION}/latest").status_code == 200
                state = client.get(f"/api/v1/state/{DAYS[0]}").json()
                assert len(state["alpha_pool"]) == 2  # the snapshot's rows, not the writer's new ones
        out, err = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == 0, err
    assert int(out.split()[-1]) > 10
    with duckdb.connect(str(published), read_only=True) as live:
        assert live.execute("SELECT count(*) FROM alpha.alpha_pool").fetchone()[0] > 4


def test_a_new_snapshot_is_served_from_the_next_request_on(published, server):
    """The writer's run ends by publishing: the running API serves the new as-of, no restart."""
    writer = subprocess.run([sys.executable, "-c", WRITER, str(published), "0.2"], capture_output=True, text=True)
    assert writer.returncode == 0, writer.stderr
    with httpx.Client(base_url=server, timeout=30) as client:
        assert client.get("/api/v1/health").json()["as_of"] == str(DAYS[-1])
        publish(Warehouse(published), "run-2")
        health = client.get("/api/v1/health").json()
        assert health["run_id"] == "run-2" and health["as_of"] == str(DAYS[0] + dt.timedelta(days=7))
