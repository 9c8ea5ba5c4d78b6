"""Submitting the CLI's runs through a running ``dagster dev``, so they are full citizens of
the UI (the timeline, re-execution): found at ``TWIN_DAGSTER_URL`` (default
http://127.0.0.1:3000; ``off`` never submits), used only when it serves this DAGSTER_HOME.

A submitted run goes through the run queue of ``.dagster/dagster.yaml``: the daemon that
``dagster dev`` starts launches it.
"""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from twin_assets.cli.launch import PoolWaitReporter, Stopped, stop_signals
from twin_assets.cli.progress import RunProgress

DAGSTER_URL_ENV = "TWIN_DAGSTER_URL"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
CODE_LOCATION = "strategy_twin"  # the location_name in workspace.yaml
PROBE_TIMEOUT_S = 1.0
POLL_S = 2.0
QUEUED_HINT_S = 30.0
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class Webserver:
    url: str

    @property
    def graphql_url(self) -> str:
        return self.url.rstrip("/") + "/graphql"

    def query(self, query: str, timeout: float) -> dict:
        request = urllib.request.Request(
            self.graphql_url, data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)["data"]

    def client(self):
        from dagster_graphql import DagsterGraphQLClient

        parts = urllib.parse.urlsplit(self.url)
        return DagsterGraphQLClient(
            parts.hostname,
            port_number=parts.port,
            use_https=parts.scheme == "https",
            path_prefix=parts.path.rstrip("/"),
            timeout=60,
        )


def find_webserver(instance: dg.DagsterInstance) -> tuple[Webserver | None, str]:
    """The ``dagster dev`` webserver serving ``instance``, or None and why not."""
    url = os.environ.get(DAGSTER_URL_ENV, DEFAULT_DAGSTER_URL)
    if url == "off":
        return None, f"{DAGSTER_URL_ENV}=off"
    server = Webserver(url)
    try:
        info = server.query("{ instance { info } }", PROBE_TIMEOUT_S)["instance"]["info"] or ""
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"no dagster webserver answers at {url}"
    home = Path(instance.root_directory).resolve()
    if f"base_dir: {home}\n" not in info:
        return None, f"the dagster webserver at {url} serves another instance, not DAGSTER_HOME={home}"
    return server, f"dagster dev at {url}"


def submit_and_wait(
    server: Webserver,
    instance: dg.DagsterInstance,
    job_name: str,
    tags: dict[str, str],
    progress: RunProgress,
    run_config: dict | None = None,
) -> str:
    """Submit ``job_name`` (with ``run_config``) through ``server`` and wait for it to
    finish, drawing ``progress`` from its event log; its run id.

    Ctrl-C or SIGTERM stops the waiting only: the run goes on in dagster dev."""
    client = server.client()
    run_id = client.submit_job_execution(
        job_name, repository_location_name=CODE_LOCATION, tags=tags, run_config=run_config or {}
    )
    print(f"Submitted run {run_id} to dagster dev: {server.url}/runs/{run_id}", flush=True)
    reporter = PoolWaitReporter(instance, run_id)
    status, since = None, time.monotonic()
    try:
        with stop_signals():
            while status not in FINISHED:
                time.sleep(POLL_S)
                status, since = _progress(client.get_run_status(run_id), status, since)
                progress.poll(run_id)
                reporter.tick()
    except Stopped as stop:
        print(f"Stopped waiting ({stop}): run {run_id} goes on in dagster dev; watch or terminate it in the UI.")
        raise
    return run_id


def _progress(status: dg.DagsterRunStatus, previous, since: float) -> tuple[dg.DagsterRunStatus, float]:
    """Print a status change, or a hint for a run that stays queued; the status and since when."""
    now = time.monotonic()
    if status != previous:
        print(f"  {status.value}", flush=True)
        return status, now
    if status == dg.DagsterRunStatus.QUEUED and now - since >= QUEUED_HINT_S:
        print("  still QUEUED: the run queue needs the daemon that `dagster dev` starts; is it running?", flush=True)
        return status, now
    return status, since
