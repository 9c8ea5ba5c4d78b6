"""``twin``: the command line of Strategy Twin.

``twin run`` is the main job: the raw layer over the firm's whole calendar as one run,
then every layer above it over the last month (21 business days) as a second run, both
in the project's Dagster instance (so they show in the UI); then it prints where the
results are. ``twin status`` prints what the warehouse holds. When ``dagster dev`` serves
the instance, ``twin run`` submits its runs through it (twin_assets/cli/webserver.py); else it
runs them in this process (twin_assets/cli/launch.py). Both commands first mark runs whose
process died as failed and free their pool slots (twin_assets/cli/runs.py). ``twin serve``
serves the HTTP API over the read snapshot (twin_resources/api).
"""

import argparse
import datetime as dt
import os
import re
import sys
from pathlib import Path

from twin_resources.api import DEFAULT_HOST, DEFAULT_PORT
from twin_resources.config import PROJECT_ROOT

MODEL_DAYS = 63
# Dagster's tags for a partition-range run (not exported by its public API in 1.13.27)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(text: str) -> dt.date:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        if ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD (e.g. 2021-01-08)")


def _instance():
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def clean_up_dead_runs() -> None:
    """Mark runs whose process is gone as failed and free their pool slots, naming each."""
    from twin_assets.cli.runs import clean_up_dead_runs as clean_up

    for line in clean_up(_instance()):
        print(line, flush=True)


def _report(run_id: str) -> bool:
    """Say whether run ``run_id`` succeeded and, if not, which step failed and why."""
    import dagster as dg

    instance = _instance()
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status == dg.DagsterRunStatus.SUCCESS:
        print(f"Run {run_id} succeeded.", flush=True)
        return True
    failures = [entry.dagster_event for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
    failure = failures[0] if failures else None
    status = run.status.value if run else "missing"
    print(f"Run {run_id} FAILED ({status}): {failure.message if failure else 'see the UI'}", file=sys.stderr)
    if failure and failure.step_failure_data and failure.step_failure_data.error:
        print(_reason(failure.step_failure_data.error), file=sys.stderr)
    return False


def _reason(error) -> str:
    """Why a step failed, as a user reads it: the innermost error's message (Dagster wraps
    what the asset raised: a DataQualityError naming file, row and rule; a ConfigError naming
    file and key), last, so it is the line a terminal shows at the bottom."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    return "\n".join(messages)


def _execute(server, job_name: str, first: str, last: str, tags: dict[str, str] | None = None) -> bool:
    """One run of ``job_name`` over the partition range ``first``..``last`` (with extra
    ``tags``): submitted to ``server`` (a running ``dagster dev``) if there is one, else in
    this process."""
    from twin_assets.cli.launch import run_in_process
    from twin_assets.cli.webserver import submit_and_wait

    print(f"Materialising {job_name} for {first} .. {last} as one run ...", flush=True)
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last, **(tags or {})}
    if server is not None:
        run_id = submit_and_wait(server, _instance(), job_name, tags)
    else:
        from twin_assets.definitions import defs

        run_id = run_in_process(_instance, defs.resolve_job_def(job_name), tags)
    return _report(run_id)


def _choose_webserver():
    """The ``dagster dev`` to submit through, or None (saying so) to run in process."""
    from twin_assets.cli.webserver import find_webserver

    server, why = find_webserver(_instance())
    if server is None:
        print(
            f"Running in process ({why}): the runs show in the UI but cannot be re-executed from it; "
            "start `dagster dev` first for that.",
            flush=True,
        )
    else:
        print(
            f"Submitting through {why}: the runs show on the UI's timeline and can be re-executed from it.", flush=True
        )
    return server


def run(start: dt.date | None, end: dt.date | None, model_days: int) -> int:
    """Raw layer over ``start``..``end`` (default: the whole calendar), then the layers
    above it over the last ``model_days`` business days of that span."""
    from twin_assets.cli.launch import Stopped
    from twin_assets.jobs import MODELLING_JOB, RAW_HISTORY_JOB
    from twin_assets.shared.partitions import daily_partitions

    clean_up_dead_runs()
    keys = daily_partitions().get_partition_keys()
    first = start or dt.date.fromisoformat(keys[0])
    last = end or dt.date.fromisoformat(keys[-1])
    span = [key for key in keys if first <= dt.date.fromisoformat(key) <= last]
    if not span:
        print(f"No business day of the calendar lies in {first} .. {last}", file=sys.stderr)
        return 2
    server = _choose_webserver()
    try:
        if not _execute(server, RAW_HISTORY_JOB, span[0], span[-1]):
            return 1
        if model_days > 0 and not _execute(server, MODELLING_JOB, span[-min(model_days, len(span))], span[-1]):
            return 1
    except Stopped as stop:
        return 128 + stop.signum
    status()
    return 0


def replay(from_day: dt.date) -> int:
    """Re-run every layer above raw from the restated ``from_day`` (twin_assets/shared/replay.py)."""
    from twin_assets.cli.launch import Stopped
    from twin_assets.jobs import MODELLING_JOB
    from twin_assets.shared.replay import replay_span_of_snapshot, replay_tags
    from twin_resources.snapshot import SnapshotMissingError

    clean_up_dead_runs()
    try:
        span = replay_span_of_snapshot(from_day)
    except SnapshotMissingError as missing:
        print(missing, file=sys.stderr)
        return 2
    if span is None:
        print(f"Nothing above raw is stored on or after {from_day}: nothing to replay.")
        return 0
    first, last = (day.isoformat() for day in span)
    print(f"Replaying from the restated {from_day}: the layers above raw over {first} .. {last}.", flush=True)
    try:
        if not _execute(_choose_webserver(), MODELLING_JOB, first, last, replay_tags(from_day)):
            print("The replay failed: the restatements stay open and the warehouse keeps its rows.", file=sys.stderr)
            return 1
    except Stopped as stop:
        return 128 + stop.signum
    status()
    return 0


def status() -> None:
    """Print the warehouse's read snapshot (its as-of, tables with row counts and date
    spans) and how to look; the live file is left to Dagster runs."""
    clean_up_dead_runs()
    from twin_assets.shared.replay import staleness_line
    from twin_resources.artifacts import artifacts_root
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
    print(staleness_line(snapshot.warehouse))
    for table, (rows, first, last) in snapshot.table_summaries().items():
        print(f"  {table:<32} {rows:>9,} rows  {first} .. {last}")
    print(f"Artefacts (posterior draws, scenarios): {artifacts_root(live)}")
    alpha_pool = (
        "SELECT date, strategy_id, in_pool, days_in_state, round(evidence, 3) AS p_alpha, reason FROM alpha.alpha_pool "
        "WHERE date = (SELECT max(date) FROM alpha.alpha_pool) ORDER BY evidence DESC"
    )
    solutions = (
        "SELECT p.solution_id, round(p.aum) AS aum, round(p.nav_per_unit, 4) AS nav, round(p.hwm, 4) AS hwm, "
        "round(p.drawdown, 4) AS drawdown, round(p.leverage, 3) AS leverage, "
        "o.status, o.triggers, o.message FROM portfolio.solution_performance p JOIN portfolio.solution_optimizations o "
        "USING (date, solution_id) WHERE date = (SELECT max(date) FROM portfolio.solution_performance)"
    )
    firm = (
        "SELECT date, solution_id, round(revenue) AS revenue, round(costs) AS costs, round(profit) AS profit, "
        "round(revenue_ytd) AS revenue_ytd, round(profit_ytd) AS profit_ytd, round(performance_fee_balance) AS "
        "accrued_performance_fee FROM firm.firm_pnl WHERE date = (SELECT max(date) FROM firm.firm_pnl)"
    )
    print(
        "\nQueries read the snapshot (read-only); nothing but Dagster runs opens the live file."
        f"\nLook at the alpha pool:\n  {query_command(snapshot.info.path, alpha_pool)}"
        f"\nLook at the solutions on the last day:\n  {query_command(snapshot.info.path, solutions)}"
        f"\nLook at the firm's P&L on the last day:\n  {query_command(snapshot.info.path, firm)}"
        "\nOpen the UI: DAGSTER_HOME=$PWD/.dagster .venv/bin/dagster dev   (then http://127.0.0.1:3000)"
    )


def serve(host: str, port: int) -> int:
    """Serve the HTTP API over the warehouse's read snapshot until interrupted."""
    from twin_resources.api.server import serve as serve_api
    from twin_resources.events import events_path
    from twin_resources.snapshot import snapshot_path
    from twin_resources.warehouse import warehouse_path

    live = warehouse_path()
    print(
        f"Serving http://{host}:{port}/api/v1 (OpenAPI: http://{host}:{port}/openapi.json) over the snapshot "
        f"{snapshot_path(live)}; optimisations served are recorded in {events_path(live)}",
        flush=True,
    )
    serve_api(live, host, port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="the main job: raw history, then the last month of modelling")
    run_parser.add_argument(
        "--start", type=iso_date, help="first business day, YYYY-MM-DD (default: the calendar's first)"
    )
    run_parser.add_argument("--end", type=iso_date, help="last business day, YYYY-MM-DD (default: the calendar's last)")
    run_parser.add_argument(
        "--model-days",
        type=int,
        default=MODEL_DAYS,
        help=f"business days at the end of the span to run the layers above raw on (default {MODEL_DAYS}; 0 for raw only)",
    )
    commands.add_parser("status", help="what the warehouse holds")
    replay_parser = commands.add_parser("replay", help="re-run the layers above raw from a restated day")
    replay_parser.add_argument(
        "--from", dest="from_day", required=True, type=iso_date, help="the restated day, YYYY-MM-DD"
    )
    serve_parser = commands.add_parser("serve", help="the HTTP API over the read snapshot")
    serve_parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to bind (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.host, args.port)
    refused = _config_refused()
    if refused:
        print(refused, file=sys.stderr)
        return 2
    if args.command == "run":
        return run(args.start, args.end, args.model_days)
    if args.command == "replay":
        return replay(args.from_day)
    status()
    return 0


def _config_refused() -> str | None:
    """Every config file is validated before anything runs: the message, or None."""
    from twin_resources.config import ConfigError, load_config

    try:
        load_config()
    except ConfigError as error:
        return f"Config refused, nothing run:\n{error}"
    return None
