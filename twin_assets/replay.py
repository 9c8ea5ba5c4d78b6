"""``twin replay --from DAY``: re-run every layer above raw from a restated day.

A restated day of raw input leaves the layers above raw stale from that day (their
windows are read by date range, so Dagster's lineage does not see it, and the
self-dependent levels carry its effect into every later day). The replay runs the
modelling job once over DAY .. the last day those layers hold: each self-dependent
level reads its state of the day before DAY and steps forward, as a clean run would.
Only when the run succeeds are the restatements on or after DAY marked resolved.
"""

import datetime as dt

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from twin_model.restatements import replay_span, stale_from
from twin_resources.restatement_log import RestatementLog
from twin_resources.warehouse import Warehouse, warehouse_path
from twin_assets.operations import MODELLING_JOB
from twin_assets.restatements import REPLAY_FROM_TAG


def replay(
    from_day: dt.date,
    definitions: dg.Definitions | None = None,
    warehouse: Warehouse | None = None,
    instance: dg.DagsterInstance | None = None,
) -> int:
    """Replay the layers above raw from ``from_day``; returns the exit code (0 on success).

    ``definitions`` (default: the project's), ``warehouse`` (default: ``TWIN_WAREHOUSE``)
    and ``instance`` (default: ``DAGSTER_HOME``'s) must name the same warehouse.
    """
    if definitions is None:
        from twin_assets.definitions import defs as definitions
    log = RestatementLog(warehouse or Warehouse(warehouse_path()))
    span = replay_span(from_day, log.modelled_spans())
    if span is None:
        print(f"Nothing above raw is stored on or after {from_day}: nothing to replay.")
        return 0
    first, last = (day.isoformat() for day in span)
    print(f"Replaying {MODELLING_JOB} over {first} .. {last} as one run (from the restated {from_day}) ...", flush=True)
    result = definitions.resolve_job_def(MODELLING_JOB).execute_in_process(
        instance=instance or dg.DagsterInstance.get(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last, REPLAY_FROM_TAG: from_day.isoformat()},
        raise_on_error=False,
    )
    if not result.success:
        print(f"Replay run {result.run_id} FAILED: the restatements stay open; see the run in the UI.")
        return 1
    resolved = log.resolve(from_day, result.run_id)
    print(f"Replay run {result.run_id} succeeded: {resolved} restatement(s) on or after {from_day} resolved.")
    print(staleness_line(log.warehouse))
    return 0


def staleness_line(warehouse: Warehouse) -> str:
    """What ``twin status`` says about restated input: stale from which day, and what to run."""
    day = stale_from(RestatementLog(warehouse).restatements())
    if day is None:
        return "Restated input: none open (the layers above raw match the stored raw days)."
    return f"Restated input: the layers above raw are stale from {day}: run `twin replay --from {day}`"
