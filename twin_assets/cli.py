"""``twin``: the command line of Strategy Twin.

``twin run`` is the main job: the raw layer over the firm's whole calendar as one run,
then every layer above it over the last month (21 business days) as a second run, both
in the project's Dagster instance (so they show in the UI); then it prints where the
results are. ``twin status`` prints what the warehouse holds.
"""

import argparse
import os
import sys
from pathlib import Path

from twin_resources.config import PROJECT_ROOT

MODEL_DAYS = 21


def _instance():
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def _execute(job_name: str, first: str, last: str) -> bool:
    """One run of ``job_name`` over the partition range ``first``..``last``."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from twin_assets.definitions import defs

    print(f"Materialising {job_name} for {first} .. {last} as one run ...", flush=True)
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=_instance(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        raise_on_error=False,
    )
    if result.success:
        print(f"Run {result.run_id} succeeded.", flush=True)
        return True
    failure = next((e for e in result.all_events if e.is_step_failure), None)
    print(f"Run {result.run_id} FAILED: {failure.message if failure else 'see the UI'}", file=sys.stderr)
    if failure and failure.step_failure_data and failure.step_failure_data.error:
        print(failure.step_failure_data.error.message, file=sys.stderr)
    return False


def run(start: str | None, end: str | None, model_days: int) -> int:
    """Raw layer over ``start``..``end`` (default: the whole calendar), then the layers
    above it over the last ``model_days`` business days of that span."""
    from twin_assets.operations import MODELLING_JOB, RAW_HISTORY_JOB
    from twin_assets.partitions import BUSINESS_DAYS

    keys = BUSINESS_DAYS.get_partition_keys()
    first, last = start or keys[0], end or keys[-1]
    span = [key for key in keys if first <= key <= last]
    if not span:
        print(f"No business day of the calendar lies in {first} .. {last}", file=sys.stderr)
        return 2
    if not _execute(RAW_HISTORY_JOB, span[0], span[-1]):
        return 1
    if model_days > 0 and not _execute(MODELLING_JOB, span[-min(model_days, len(span))], span[-1]):
        return 1
    status()
    return 0


def status() -> None:
    """Print the warehouse's read snapshot (its as-of, tables with row counts and date
    spans) and how to look; the live file is left to Dagster runs."""
    from twin_resources.snapshot import SnapshotMissingError, open_snapshot, query_command
    from twin_resources.warehouse import warehouse_path

    live = warehouse_path()
    print(f"\nWarehouse: {live}")
    try:
        snapshot = open_snapshot(live)
    except SnapshotMissingError as missing:
        print(missing, file=sys.stderr)
        return
    print(f"Snapshot:  {snapshot.info.path}\n  {snapshot.info.describe()}")
    for table, (rows, first, last) in snapshot.table_summaries().items():
        print(f"  {table:<32} {rows:>9,} rows  {first} .. {last}")
    print(f"Artefacts (posterior draws, scenarios): {live.parent / 'artifacts'}")
    alpha_pool = (
        "SELECT date, strategy_id, in_pool, days_in_state, round(evidence, 3) AS p_alpha, reason FROM alpha.alpha_pool "
        "WHERE date = (SELECT max(date) FROM alpha.alpha_pool) ORDER BY evidence DESC"
    )
    solutions = (
        "SELECT p.solution_id, round(p.aum) AS aum, round(p.drawdown, 4) AS drawdown, round(p.leverage, 3) AS leverage, "
        "o.status, o.triggers, o.message FROM portfolio.solution_performance p JOIN portfolio.solution_optimizations o "
        "USING (date, solution_id) WHERE date = (SELECT max(date) FROM portfolio.solution_performance)"
    )
    print(
        "\nQueries read the snapshot (read-only); nothing but Dagster runs opens the live file."
        f"\nLook at the alpha pool:\n  {query_command(snapshot.info.path, alpha_pool)}"
        f"\nLook at the solutions on the last day:\n  {query_command(snapshot.info.path, solutions)}"
        "\nOpen the UI: DAGSTER_HOME=$PWD/.dagster .venv/bin/dagster dev   (then http://127.0.0.1:3000)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="the main job: raw history, then the last month of modelling")
    run_parser.add_argument("--start", help="first business day (default: the calendar's first)")
    run_parser.add_argument("--end", help="last business day (default: the calendar's last)")
    run_parser.add_argument(
        "--model-days", type=int, default=MODEL_DAYS,
        help=f"business days at the end of the span to run the layers above raw on (default {MODEL_DAYS}; 0 for raw only)",
    )
    commands.add_parser("status", help="what the warehouse holds")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.start, args.end, args.model_days)
    status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
