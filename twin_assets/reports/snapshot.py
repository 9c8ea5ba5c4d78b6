"""The read snapshot: the last step of every run publishes the warehouse for readers.

``reports/warehouse_snapshot`` depends on every warehouse asset. A job that selects
only some of them (the raw history job) leaves the others out of the run, so the step
waits for exactly the assets the run materialises and runs last; it is skipped when any
of them fails (a failed step or a blocking check), so only a successful run publishes.
It runs in the DuckDB pool, where no other step writes (twin_resources.snapshot). In a
replay's run it first marks the restatements the replay resolved (twin_assets/shared/replay.py):
the run has succeeded by then, and the snapshot shows them resolved.

It is not partitioned: there is one snapshot file, and a run over a range of days (one
partition or 2,084) publishes it once, as one materialisation. A daily-partitioned
snapshot would record one materialisation per day of the range for the same file
(measured: 22 s of event writes for the whole raw history, against 0.08 s to publish).
"""

import time
from collections.abc import Sequence

import dagster as dg

from twin_assets.shared.common import DUCKDB_POOL, OWNER
from twin_assets.shared.replay import resolve_replayed
from twin_resources.provenance import code_version
from twin_resources.resources import WarehouseResource
from twin_resources.snapshot import publish

SNAPSHOT_KEY = dg.AssetKey(["reports", "warehouse_snapshot"])


def warehouse_snapshot_asset(warehouse_assets: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every key of ``warehouse_assets``."""
    upstream = sorted({key for assets_def in warehouse_assets for key in assets_def.keys})

    @dg.asset(
        key=SNAPSHOT_KEY,
        description=(
            "A read-only copy of the warehouse, published atomically beside it "
            "(<stem>.snapshot.duckdb) as the last step of each successful run, with its as-of "
            "in meta.snapshot. `twin status`, notebooks and queries read it, never the live file."
        ),
        group_name="reports",
        pool=DUCKDB_POOL,
        owners=[OWNER],
        kinds={"duckdb"},
        code_version=code_version(__name__),
        deps=upstream,
    )
    def warehouse_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        resolved = resolve_replayed(context, warehouse.warehouse())
        info = publish(warehouse.warehouse(), context.run.run_id)
        return dg.MaterializeResult(
            metadata={
                "snapshot": dg.MetadataValue.path(str(info.path)),
                "as_of": str(info.as_of),
                "published_at": info.published_at.isoformat(),
                "size_bytes": info.size_bytes,
                "seconds": round(time.perf_counter() - started, 3),
                "restatements_resolved": resolved,
            }
        )

    return warehouse_snapshot
