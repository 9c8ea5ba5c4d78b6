"""``events/portfolio_optimized``: the optimisations the HTTP API served, from its events file.

The API appends one JSON line per optimisation to ``<stem>.events/portfolio_optimized.jsonl``
beside the warehouse (it never opens the live DuckDB file); this asset, in the DuckDB
pool like every writer, inserts the lines whose ``event_id`` is not stored yet. It is not
partitioned: events are dated by the wall clock, not by the calendar's business days,
and one run ingests whatever the file holds. Re-ingesting inserts nothing; a line that
is not an event fails the run naming the file and the line, before anything is written.
"""

import dagster as dg
import polars as pl

from twin_assets.shared.common import DUCKDB_POOL, OWNER, ROWS_VALID, check_stored, layer_code_version
from twin_model.contracts import TABLES
from twin_resources.events import events_path, ingest, read_events
from twin_resources.io_manager import column_schema
from twin_resources.resources import WarehouseResource

PORTFOLIO_OPTIMIZED = TABLES["events.portfolio_optimized"]
KEY = dg.AssetKey(PORTFOLIO_OPTIMIZED.path)
ONE_ROW_PER_EVENT = "one_row_per_event"


@dg.asset(
    key=KEY,
    description=(
        "Every optimisation the HTTP API (`twin serve`) served: its id, UTC timestamp, portfolio, "
        "objective and method, and the response's weights and figures. Ingested idempotently from "
        "the API's append-only file <stem>.events/portfolio_optimized.jsonl beside the warehouse."
    ),
    group_name=PORTFOLIO_OPTIMIZED.layer,
    pool=DUCKDB_POOL,
    owners=[OWNER],
    kinds={"duckdb", "polars"},
    code_version=layer_code_version("events"),
    check_specs=[
        dg.AssetCheckSpec(
            ROWS_VALID, asset=KEY, blocking=True, description="Every stored row passes the table's schema."
        ),
        dg.AssetCheckSpec(ONE_ROW_PER_EVENT, asset=KEY, blocking=True, description="No event_id is stored twice."),
    ],
    metadata={
        "dagster/table_name": PORTFOLIO_OPTIMIZED.qualified_name,
        "dagster/column_schema": column_schema(PORTFOLIO_OPTIMIZED),
    },
)
def portfolio_optimized(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    source = events_path(warehouse.path)
    events = read_events(source)
    new = ingest(warehouse.warehouse(), events)
    stored = warehouse.warehouse().read(PORTFOLIO_OPTIMIZED)
    context.log.info(f"{new} new of {events.height} events in {source}; {stored.height} stored")
    yield dg.MaterializeResult(
        metadata={
            "events_file": dg.MetadataValue.path(str(source)),
            "events_in_file": events.height,
            "new_rows": new,
            "dagster/row_count": stored.height,
            "last_event": str(stored.get_column("timestamp").max()) if stored.height else "none",
        }
    )
    yield from check_stored(PORTFOLIO_OPTIMIZED, stored, {ONE_ROW_PER_EVENT: _duplicate_events})


def _duplicate_events(stored: pl.DataFrame) -> list[str]:
    duplicated = stored.filter(pl.col("event_id").is_duplicated()).get_column("event_id").unique().sort()
    return [f"event_id {event_id} is stored more than once" for event_id in duplicated]
