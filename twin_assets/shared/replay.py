"""``twin replay --from DAY``: re-run every layer above raw from a restated day.

A restated day of raw input leaves the layers above raw stale from that day (their
windows are read by date range, so Dagster's lineage does not see it, and the
self-dependent levels carry its effect into every later day). The replay is one run of
the modelling job over DAY .. the last day those layers hold, tagged with DAY: each
self-dependent level reads its state of the day before DAY and steps forward, as a clean
run would. The run's last step (the read snapshot, which runs only when every other step
and blocking check succeeded) marks the restatements on or after DAY resolved, so a
failed replay leaves them open.

The span is read from the read snapshot, never from the live file (nothing but Dagster
runs opens it).
"""

import datetime as dt

import dagster as dg

from twin_assets.shared.restatements import REPLAY_FROM_TAG
from twin_model.restatements import replay_span, stale_from
from twin_resources.restatement_log import RestatementLog
from twin_resources.snapshot import open_snapshot
from twin_resources.warehouse import Warehouse, warehouse_path


def replay_tags(from_day: dt.date) -> dict[str, str]:
    """The tag that makes a modelling run a replay from ``from_day``."""
    return {REPLAY_FROM_TAG: from_day.isoformat()}


def replay_span_of(warehouse: Warehouse, from_day: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days a replay from ``from_day`` re-runs: from it (or the first day held above
    raw, if later) to the last day held above raw; None when nothing is held after it."""
    return replay_span(from_day, RestatementLog(warehouse).modelled_spans())


def replay_span_of_snapshot(from_day: dt.date) -> tuple[dt.date, dt.date] | None:
    """``replay_span_of`` the read snapshot of ``TWIN_WAREHOUSE``."""
    return replay_span_of(open_snapshot(warehouse_path()).warehouse, from_day)


def resolve_replayed(context: dg.AssetExecutionContext, warehouse: Warehouse) -> int:
    """In a replay's run: mark the restatements on or after its day resolved by this run."""
    replaying = context.run.tags.get(REPLAY_FROM_TAG)
    if not replaying:
        return 0
    return RestatementLog(warehouse).resolve(dt.date.fromisoformat(replaying), context.run.run_id)


def staleness_line(warehouse: Warehouse) -> str:
    """What ``twin status`` says about restated input: stale from which day, and what to run."""
    day = stale_from(RestatementLog(warehouse).restatements())
    if day is None:
        return "Restated input: none open (the layers above raw match the stored raw days)."
    return f"Restated input: the layers above raw are stale from {day}: run `twin replay --from {day}`"
