"""Restated history in the graph: the raw assets record each written day's digest; the
self-dependent levels (the alpha pool, the solution level) report when a restated day
has made them stale, in their metadata and in a non-blocking check (twin_model.restatements)."""

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import polars as pl

from twin_model.contracts import TableSpec
from twin_model.restatements import day_digests, open_restatements
from twin_resources.resources import WarehouseResource
from twin_resources.restatement_log import RestatementLog

REPLAY_FROM_TAG = "twin/replay_from"
"""Set on a replay's run: the restatements on or after that day are the ones it resolves."""

INPUTS_NOT_RESTATED = "inputs_not_restated"
INPUTS_NOT_RESTATED_DESCRIPTION = (
    "No day of raw input this level has read was restated (changed after it was stored) since the "
    "level was computed; when one was, the level is stale from that day until `twin replay --from DAY`."
)


@dataclass(frozen=True)
class Staleness:
    """The open restatements a level has not been replayed over (empty when fresh)."""

    open: pl.DataFrame

    @property
    def stale_from(self) -> dt.date | None:
        return self.open.get_column("date").min() if self.open.height else None

    def message(self) -> str:
        day = self.stale_from
        if day is None:
            return "no restated input"
        tables = ", ".join(sorted(set(self.open.filter(pl.col("date") == day).get_column("table").to_list())))
        return f"stale from {day} ({tables} restated on that day): run `twin replay --from {day}`"


def record_input_digests(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    spec: TableSpec,
    frame: pl.DataFrame,
    days: list[dt.date],
) -> None:
    """Store the digest of every written day of ``spec``; warn naming each restated day."""
    log = RestatementLog(warehouse.warehouse())
    restated = log.record(spec.qualified_name, day_digests(frame, spec, days), context.run.run_id)
    for row in restated.iter_rows(named=True):
        consequence = (
            "no layer above raw had reached it"
            if row["resolved_by_run"]
            else f"the layers above raw are stale from it: run `twin replay --from {row['date']}`"
        )
        context.log.warning(
            f"{spec.qualified_name}: {row['date']} restated (its content changed since it was stored); {consequence}"
        )


def staleness(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Staleness:
    """The open restatements, less those a replay in progress (this run) resolves."""
    replaying = context.run.tags.get(REPLAY_FROM_TAG)
    replaying_from = dt.date.fromisoformat(replaying) if replaying else None
    return Staleness(open_restatements(RestatementLog(warehouse.warehouse()).restatements(), replaying_from))


def stale_metadata(stale: Staleness) -> dict:
    """``stale_from`` (and why) when the level is stale; nothing when it is not."""
    if stale.stale_from is None:
        return {}
    return {"stale_from": str(stale.stale_from), "stale_reason": stale.message()}


def restatement_check_spec(key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        INPUTS_NOT_RESTATED, asset=key, blocking=False, description=INPUTS_NOT_RESTATED_DESCRIPTION
    )


def restatement_check(stale: Staleness, asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """A warning (not blocking: the rows are right for the inputs they read) naming the day."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=INPUTS_NOT_RESTATED,
        passed=stale.stale_from is None,
        severity=dg.AssetCheckSeverity.WARN,
        description=stale.message(),
        metadata={
            "stale_from": str(stale.stale_from) if stale.stale_from else "none",
            "open_restatements": stale.open.height,
            "restated": dg.MetadataValue.json(
                [f"{row['date']} {row['table']}" for row in stale.open.head(10).iter_rows(named=True)]
            ),
        },
    )
