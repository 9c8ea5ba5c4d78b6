"""``twin``: the command line of Strategy Twin.

``twin run`` materialises the main job on the configured firm as one run in the project's
Dagster instance (so it shows in the UI), then prints where the results are.
``twin status`` prints what the warehouse holds.
"""

import argparse
import os
import sys
from pathlib import Path

from twin_resources.config import PROJECT_ROOT


def _instance():
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def run(start: str | None, end: str | None) -> int:
    """Materialise every daily asset over ``start``..``end`` (default: the whole calendar)."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from twin_assets.definitions import defs
    from twin_assets.operations import BUSINESS_DAY_JOB
    from twin_assets.partitions import BUSINESS_DAYS

    keys = BUSINESS_DAYS.get_partition_keys()
    first, last = start or keys[0], end or keys[-1]
    print(f"Materialising {BUSINESS_DAY_JOB} for {first} .. {last} as one run ...", flush=True)
    job = defs.get_job_def(BUSINESS_DAY_JOB)
    result = job.execute_in_process(
        instance=_instance(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        raise_on_error=False,
    )
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        print(f"Run {result.run_id} FAILED: {failure.message if failure else 'see the UI'}", file=sys.stderr)
        if failure and failure.step_failure_data and failure.step_failure_data.error:
            print(failure.step_failure_data.error.message, file=sys.stderr)
        return 1
    print(f"Run {result.run_id} succeeded.")
    status()
    return 0


def status() -> None:
    """Print the warehouse path, its tables with row counts and date spans, and how to look."""
    from twin_resources.warehouse import Warehouse, warehouse_path

    warehouse = Warehouse(warehouse_path())
    print(f"\nWarehouse: {warehouse.path}")
    with warehouse.connect(read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        for schema, name in tables:
            rows, first, last = connection.execute(
                f'SELECT count(*), min(date), max(date) FROM "{schema}"."{name}"'
            ).fetchone()
            print(f"  {schema}.{name:<22} {rows:>9,} rows  {first} .. {last}")
    print(
        "\nQuery it:   .venv/bin/python -c \"import duckdb; print(duckdb.connect('"
        f"{warehouse.path}', read_only=True).sql('SELECT * FROM raw.strategy_returns ORDER BY date DESC LIMIT 13'))\""
        "\nOpen the UI: DAGSTER_HOME=$PWD/.dagster .venv/bin/dagster dev   (then http://127.0.0.1:3000)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="materialise the main job as one run")
    run_parser.add_argument("--start", help="first business day (default: the calendar's first)")
    run_parser.add_argument("--end", help="last business day (default: the calendar's last)")
    commands.add_parser("status", help="what the warehouse holds")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.start, args.end)
    status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
