"""Run bookkeeping for the CLI: which process runs a run, which runs died, who holds a pool.

Dagster's run monitoring cannot see a CLI run die (it needs the daemon, and an in-process
run has no worker whose health a launcher could check), and a run killed with ``kill -9``
keeps its pool slot forever. So every CLI run is tagged with the host, pid and start time
of the process that executes it; before every ``twin run`` and in ``twin status``, a run of
this host whose process is gone (pid missing, or reused by a later process) is marked
failed and its slots are freed, and a slot still held by a finished run is freed too.
"""

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

HOST_TAG = "twin/host"
PID_TAG = "twin/pid"
PROCESS_START_TAG = "twin/process_start"

UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat``
    field 22), or None when there is no such live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    return None if fields[0] in ("Z", "X") else fields[19]


@dataclass(frozen=True)
class ProcessIdentity:
    """The process that executes a run: it is alive while its pid has the same start time."""

    host: str
    pid: int
    start: str

    @classmethod
    def current(cls) -> "ProcessIdentity":
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()) or "")

    @classmethod
    def of(cls, run: dg.DagsterRun) -> "ProcessIdentity | None":
        """The identity a run is tagged with, None for a run that is not a CLI run."""
        tags = run.tags
        if not {HOST_TAG, PID_TAG, PROCESS_START_TAG} <= tags.keys():
            return None
        return cls(tags[HOST_TAG], int(tags[PID_TAG]), tags[PROCESS_START_TAG])

    def tags(self) -> dict[str, str]:
        return {HOST_TAG: self.host, PID_TAG: str(self.pid), PROCESS_START_TAG: self.start}

    def is_gone(self) -> bool:
        """True when this host's process is known to be gone; a process on another host
        cannot be checked from here and counts as alive."""
        return self.host == socket.gethostname() and process_start(self.pid) != self.start

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def claimed_slots(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The pool slots ``run_id`` holds, as "pool duckdb (step raw_returns)"."""
    storage = instance.event_log_storage
    return [
        f"pool {pool} (step {slot.step_key})"
        for pool in sorted(storage.get_concurrency_keys())
        for slot in storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    ]


def release(instance: dg.DagsterInstance, run_id: str) -> str:
    """Free every slot and pending claim of ``run_id``; say what was freed."""
    slots = claimed_slots(instance, run_id)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return "freed " + ", ".join(slots) if slots else "held no pool slot"


def clean_up_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark each unfinished CLI run whose process is gone as failed and free its slots,
    then free slots that finished or deleted runs still hold. One line per run cleaned."""
    lines = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: socket.gethostname()})):
        identity = ProcessIdentity.of(run)
        if identity is None or not identity.is_gone():
            continue
        instance.report_run_failed(run, message=f"The process that ran it ({identity.describe()}) is gone.")
        lines.append(
            f"Run {run.run_id} ({run.job_name}): its process, {identity.describe()}, is gone: "
            f"marked FAILURE, {release(instance, run.run_id)}."
        )
    for run_id in sorted(instance.event_log_storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            state = "deleted" if run is None else run.status.value
            lines.append(f"Run {run_id} is {state} but still held pool slots: {release(instance, run_id)}.")
    return lines


def holders(instance: dg.DagsterInstance, pool: str, waiting_run_id: str) -> list[str]:
    """Who holds ``pool``, as "run X (started ..., pid ...)", other than ``waiting_run_id``."""
    described = []
    for run_id in sorted({slot.run_id for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots}):
        if run_id == waiting_run_id:
            continue
        record = next(iter(instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]))), None)
        if record is None:
            described.append(f"run {run_id} (deleted)")
            continue
        started = (
            dt.datetime.fromtimestamp(record.start_time).isoformat(" ", "seconds") if record.start_time else "not yet"
        )
        identity = ProcessIdentity.of(record.dagster_run)
        where = identity.describe() if identity else "not a CLI run"
        described.append(
            f"run {run_id} ({record.dagster_run.job_name}, {record.dagster_run.status.value}, started {started}, {where})"
        )
    return described


def blocked_pools(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The pools in which ``run_id`` has a step waiting for a slot."""
    storage = instance.event_log_storage
    return [
        pool
        for pool in sorted(storage.get_concurrency_keys())
        if any(
            step.run_id == run_id and step.assigned_timestamp is None
            for step in storage.get_concurrency_info(pool).pending_steps
        )
    ]


def waiting_for(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """ "pool duckdb: held by run X (...)" while ``run_id`` waits for a slot, else None."""
    parts = [
        f"pool {pool}: held by {', '.join(holders(instance, pool, run_id)) or 'no run (being assigned)'}"
        for pool in blocked_pools(instance, run_id)
    ]
    return "; ".join(parts) or None
