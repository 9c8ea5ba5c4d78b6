"""``twin serve`` serves the API over real HTTP on the host and port it is given."""

import os
import subprocess
import sys
import time

import httpx

from tests.api.conftest import DAYS, free_port


def test_twin_serve_answers_on_the_port_it_is_given(published):
    port = free_port()
    env = {**os.environ, "TWIN_WAREHOUSE": str(published)}
    command = [sys.executable, "-m", "twin_assets.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                break
            except httpx.ConnectError:
                assert process.poll() is None and time.monotonic() < deadline, "twin serve did not come up"
                time.sleep(0.2)
        assert health.json()["as_of"] == str(DAYS[-1])
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/api/v1" in out and str(published.with_name("twin.snapshot.duckdb")) in out
