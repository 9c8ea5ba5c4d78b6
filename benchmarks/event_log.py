"""The event log a range run leaves in the Dagster instance: bytes per day's event.

Materialises the raw layer of the bundled firm over one year as one run, in a fresh
instance with Dagster's default SQLite storage (as `twin run` uses), then reads the run's
event log back with sqlite3: the materialisation events' count, their bytes (the
serialised event each row stores), their metadata entries, and the file's size.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/event_log.py [--year 2021]

To compare two versions of the code, run it from a checkout of each.
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATERIALIZATION = "ASSET_MATERIALIZATION"


def run_year(year: int, work: Path) -> str:
    """One raw-layer run over ``year`` in an instance under ``work``: its run id."""
    os.environ["DAGSTER_HOME"] = str(work)
    import dagster as dg

    from twin_assets.raw import RAW_ASSETS
    from twin_model.calendar import business_days
    from twin_resources.io_manager import WarehouseIOManager
    from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource

    days = business_days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    warehouse = WarehouseResource(path=str(work / "twin.duckdb"))
    config_dir = str(ROOT / "config")
    result = dg.materialize(
        RAW_ASSETS,
        resources={
            "warehouse": warehouse,
            "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
            "return_source": ReturnSourceResource(config_dir=config_dir),
            "twin_config": TwinConfigResource(config_dir=config_dir),
        },
        instance=dg.DagsterInstance.get(),
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )
    assert result.success
    return result.run_id


def _entries(event: str) -> int:
    """How many metadata entries a serialised materialisation event holds."""
    materialization = json.loads(event)["dagster_event"]["event_specific_data"]["materialization"]
    return len(materialization.get("metadata_entries") or materialization.get("metadata") or [])


def measure(run_log: Path) -> dict:
    """The materialisation events of one run's event-log database."""
    with sqlite3.connect(run_log) as db:
        query = "SELECT event FROM event_logs WHERE dagster_event_type = ?"
        events = [row[0] for row in db.execute(query, (MATERIALIZATION,))]
        by_type = db.execute(
            "SELECT coalesce(dagster_event_type, 'log message'), count(*), sum(length(event)) "
            "FROM event_logs GROUP BY 1 ORDER BY 3 DESC LIMIT 5"
        ).fetchall()
    sizes = [len(event.encode()) for event in events]
    return {
        "largest_event_types": {kind: f"{count} events, {size / 1e6:.2f} MB" for kind, count, size in by_type},
        "materialization_events": len(events),
        "materialization_mb": round(sum(sizes) / 1e6, 2),
        "median_event_bytes": int(statistics.median(sizes)),
        "largest_event_bytes": max(sizes),
        "median_entries": statistics.median(_entries(event) for event in events),
        "run_log_mb": round(run_log.stat().st_size / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", type=int, default=2021)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="twin_event_log_"))
    try:
        started = time.perf_counter()
        run_id = run_year(args.year, work)
        figures = measure(work / "history" / "runs" / f"{run_id}.db")
        figures["run_s"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stamp = {"date": str(dt.datetime.now(dt.UTC))[:19], "machine": platform.node(), "year": args.year}
    print(json.dumps({**stamp, **figures}, indent=1))


if __name__ == "__main__":
    main()
