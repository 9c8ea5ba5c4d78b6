"""Running one job of the CLI in this process: tagged with the process that runs it, saying
who holds a pool it waits for, and stopping cleanly on SIGTERM and Ctrl-C.

Dagster's in-process executor captures SIGINT and SIGTERM and never looks at them while a
step waits for a pool slot, so the job runs in a worker thread (where Dagster leaves the
signal handlers alone) and the main thread waits for it: it draws the run's progress from
its event log, reports who holds the pool the run waits for, and on a signal marks the run
canceled, frees its slots and exits. Dagster's console logger is turned down to errors: the
event stream goes to the instance and the command's log file (twin_assets/cli/progress.py).
"""

import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from twin_assets.cli.progress import RunProgress
from twin_assets.cli.runs import ProcessIdentity, release, waiting_for

POLL_S = 1.0
WAIT_REPORT_S = 10.0
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
"""Run config: the console logger prints errors only (every event is still in the instance)."""


class Stopped(Exception):
    """SIGTERM or SIGINT arrived."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame) -> None:
    raise Stopped(signum)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within: SIGTERM and SIGINT raise ``Stopped`` in the main thread."""
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class PoolWaitReporter:
    """Says, at most every ``WAIT_REPORT_S`` seconds, which run holds the pool ``run_id`` waits for."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str):
        self.instance, self.run_id = instance, run_id
        self.last_report = float("-inf")

    def tick(self) -> None:
        if time.monotonic() - self.last_report < WAIT_REPORT_S:
            return
        waiting = waiting_for(self.instance, self.run_id)
        if waiting:
            print(f"Run {self.run_id} is waiting for {waiting}", flush=True)
            self.last_report = time.monotonic()


def _stop(instance: dg.DagsterInstance, run_id: str, signum: int) -> None:
    """Mark this process's run canceled, free its slots, say so, and exit 128 + signum."""
    name = signal.Signals(signum).name
    waiting = waiting_for(instance, run_id)
    run = instance.get_run_by_id(run_id)
    if run is None:
        print(f"Stopped by {name} before run {run_id} started.", file=sys.stderr, flush=True)
    else:
        if not run.is_finished:
            instance.report_run_canceled(run, message=f"twin run stopped by {name}")
        print(
            f"Stopped by {name}{' while waiting for ' + waiting if waiting else ''}: run {run_id} marked CANCELED, "
            f"{release(instance, run_id)}.",
            file=sys.stderr,
            flush=True,
        )
    sys.stdout.flush()
    os._exit(128 + signum)  # the worker thread may be inside a step: leave as a kill would


def run_in_process(
    make_instance: Callable[[], dg.DagsterInstance],
    job: dg.JobDefinition,
    tags: dict[str, str],
    progress: RunProgress,
    run_config: dict | None = None,
) -> str:
    """Execute ``job`` in this process (with ``run_config`` beside the quiet console),
    drawing ``progress``; return its run id once it has finished."""
    run_id = str(uuid.uuid4())
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            job.execute_in_process(
                instance=make_instance(),
                run_id=run_id,
                run_config={**QUIET_CONSOLE, **(run_config or {})},
                raise_on_error=False,
                tags={**tags, **ProcessIdentity.current().tags()},
            )
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    worker = threading.Thread(target=execute, name=f"run {run_id}", daemon=True)
    instance = make_instance()
    reporter = PoolWaitReporter(instance, run_id)
    with stop_signals():
        try:
            worker.start()
            while worker.is_alive():
                worker.join(POLL_S)
                progress.poll(run_id)
                reporter.tick()
        except Stopped as stop:
            _stop(make_instance(), run_id, stop.signum)
    if errors:
        raise errors[0]
    return run_id
