"""``twin``: the command line of Strategy Twin.

``twin run`` is the main job: the raw layer over the firm's whole calendar as one run,
the strategy layers as one run over the last ``STRATEGY_DAYS`` business days (a year, so the
forecasts' calibration has matured months), then over the last ``MODEL_DAYS`` walk-forward
month by month the solution level and, for a complete month, its month-end policy
search, projection and decision, so each month runs the policy the month end before it
chose), all in the project's Dagster instance (so they show in the UI); then it prints
where the results are, the firm's P&L, the chosen policies and the projection. ``twin
backtest --start --end`` materialises the strategy layers of a span, then walks it in memory
(batch mode, inside ``backtest_job``) and measures it against baselines. ``twin status``
prints what the warehouse holds. When ``dagster dev`` serves the instance, ``twin run``
submits its runs through it (twin_assets/cli/webserver.py); else it runs them in this
process (twin_assets/cli/launch.py). Either way each run shows one progress line (days
done, elapsed, time left) and its Dagster events go to the instance and to the command's
log file, printed too with ``--verbose`` (twin_assets/cli/progress.py); a ranged run started here
logs one planned event an asset, not one a partition (``PLANNED_EVENTS_VARIABLE``). Both commands
first mark runs whose process died as failed and free their pool slots
(twin_assets/cli/runs.py). ``twin serve`` serves the HTTP API over the read snapshot
(twin_resources/api).
"""

import argparse
import datetime as dt
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from twin_resources.api import DEFAULT_HOST, DEFAULT_PORT
from twin_resources.config import PROJECT_ROOT

MODEL_DAYS = 63
STRATEGY_DAYS = 252
# Dagster's tags for a partition-range run (not exported by its public API in 1.13.27)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PLANNED_EVENTS_VARIABLE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
"""Dagster's switch (read by its event log storage, 1.13) for one planned event an asset
holding the run's partition range, instead of one an asset and partition. SQLite writes an
event in about 9 ms, so the seven-year strategy run's 14,584 planned events took 2.5
minutes before its first step and now take seconds. The price, in Dagster's words: the
partitions of a run that fails are not marked failed (the UI shows them missing; the run
itself shows failed, and ``twin`` names the failed step)."""
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(text: str) -> dt.date:
    """An argparse type: a calendar date written YYYY-MM-DD."""
    try:
        if ISO_DATE.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD (e.g. 2021-01-08)")


PROJECT_INSTANCE_YAML = PROJECT_ROOT / ".dagster" / "dagster.yaml"


def _instance():
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))
    home_settings(Path(os.environ["DAGSTER_HOME"]))
    return dg.DagsterInstance.get()


def home_settings(home: Path) -> None:
    """Give a ``DAGSTER_HOME`` without a ``dagster.yaml`` the project's (the DuckDB pool's
    one-step limit, telemetry off), saying so once; an existing one is never touched.
    Without it Dagster runs on defaults (no pool limit) and warns on every instance."""
    settings = home / "dagster.yaml"
    if settings.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    settings.write_text(PROJECT_INSTANCE_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"DAGSTER_HOME {home} had no dagster.yaml: wrote the project's ({PROJECT_INSTANCE_YAML}).", flush=True)


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


@dataclass
class Session:
    """What every run of one command shares: the webserver to submit through (None: in
    process), the log file the event stream goes to, and whether it is printed too."""

    server: object | None
    log_path: Path
    log: TextIO
    verbose: bool = False


def execute(
    session: Session,
    job_name: str,
    first: str,
    last: str,
    days: int,
    tags: dict[str, str] | None = None,
    run_config: dict | None = None,
) -> bool:
    """One run of ``job_name`` over the partition range ``first``..``last`` (``days``
    partitions, with extra ``tags``; an unpartitioned job gets ``run_config`` instead of the
    range): submitted to the session's ``dagster dev`` if there is one, else in this
    process; its progress drawn from its event log."""
    from twin_assets.cli.launch import run_in_process
    from twin_assets.cli.progress import RunProgress, total_asset_partitions
    from twin_assets.cli.webserver import submit_and_wait
    from twin_assets.definitions import defs
    from twin_assets.jobs import MONTH_END_JOB

    print(f"Materialising {job_name} for {first} .. {last} as one run ...", flush=True)
    ranged = {RANGE_START_TAG: first, RANGE_END_TAG: last} if run_config is None else {}
    tags = {**ranged, **(tags or {})}
    job = defs.resolve_job_def(job_name)
    unit = "months" if job_name == MONTH_END_JOB else "days"
    progress = RunProgress(
        _instance(), job_name, days, total_asset_partitions(job, days), session.log, session.verbose, unit=unit
    )
    if session.server is not None:
        run_id = submit_and_wait(session.server, _instance(), job_name, tags, progress, run_config)
    else:
        run_id = run_in_process(_instance, job, tags, progress, run_config)
    progress.finish(run_id, _outcome(run_id))
    return _report(run_id)


def _outcome(run_id: str) -> str:
    run = _instance().get_run_by_id(run_id)
    return run.status.value if run else "missing"


def open_session(command: str, verbose: bool) -> Session:
    """Choose the webserver and open the command's log file (its directory made)."""
    from twin_assets.cli.progress import log_path

    _instance()
    path = log_path(command)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"Dagster's event stream goes to {path}{' and here (--verbose)' if verbose else ''}.", flush=True)
    return Session(_choose_webserver(), path, path.open("a"), verbose)


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


def run(
    start: dt.date | None,
    end: dt.date | None,
    model_days: int,
    verbose: bool = False,
    strategy_days: int = STRATEGY_DAYS,
) -> int:
    """Raw layer over ``start``..``end`` (default: the whole calendar), then the strategy
    layers over the last ``strategy_days`` (at least ``model_days``) business days of that
    span, then the solutions over the last ``model_days`` walk-forward (month by month the
    solutions and each complete month's month end, twin_assets/cli/walk_forward.py)."""
    from twin_assets.cli.launch import Stopped
    from twin_assets.cli.walk_forward import walk_forward
    from twin_assets.jobs import RAW_HISTORY_JOB
    from twin_assets.shared.partitions import daily_partitions

    clean_up_dead_runs()
    keys = daily_partitions().get_partition_keys()
    first = start or dt.date.fromisoformat(keys[0])
    last = end or dt.date.fromisoformat(keys[-1])
    span = [key for key in keys if first <= dt.date.fromisoformat(key) <= last]
    if not span:
        print(f"No business day of the calendar lies in {first} .. {last}", file=sys.stderr)
        return 2
    session = open_session("run", verbose)
    try:
        ok = execute(session, RAW_HISTORY_JOB, span[0], span[-1], len(span))
        modelled = span[-min(model_days, len(span)) :] if model_days > 0 else []
        strategy = span[-min(max(strategy_days, len(modelled)), len(span)) :] if modelled else []
        ok = ok and (not modelled or walk_forward(execute, session, modelled, keys, strategy))
    except Stopped as stop:
        return 128 + stop.signum
    finally:
        session.log.close()
    return _close(session, ok)


def _close(session: Session, ok: bool) -> int:
    """The summary after runs that succeeded, then where their events are; the exit code."""
    if ok:
        status()
    print(f"\nDagster's events of these runs: {session.log_path}")
    return 0 if ok else 1


def replay(from_day: dt.date, verbose: bool = False) -> int:
    """Re-run every layer above raw from the restated ``from_day`` (twin_assets/shared/replay.py)."""
    from twin_assets.cli.launch import Stopped
    from twin_assets.jobs import MODELLING_JOB
    from twin_assets.shared.partitions import daily_partitions
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
    days = sum(first <= key <= last for key in daily_partitions().get_partition_keys())
    print(f"Replaying from the restated {from_day}: the layers above raw over {first} .. {last}.", flush=True)
    session = open_session("replay", verbose)
    try:
        ok = execute(session, MODELLING_JOB, first, last, days, replay_tags(from_day))
        if not ok:
            print("The replay failed: the restatements stay open and the warehouse keeps its rows.", file=sys.stderr)
    except Stopped as stop:
        return 128 + stop.signum
    finally:
        session.log.close()
    return _close(session, ok)


def status() -> None:
    """Print the warehouse's read snapshot (its as-of, tables with row counts and date
    spans) and how to look; the live file is left to Dagster runs."""
    clean_up_dead_runs()
    from twin_assets.cli.summary import (
        backtest_lines,
        chosen_policy_lines,
        dashboard_lines,
        firm_pnl_lines,
        projection_lines,
    )
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
    with snapshot.connect() as connection:
        summary = firm_pnl_lines(connection) + chosen_policy_lines(connection) + projection_lines(connection)
        for line in summary + backtest_lines(connection):
            print(line)
    for line in dashboard_lines(live):
        print(line)


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


def one_planned_event_an_asset() -> None:
    """Turn ``PLANNED_EVENTS_VARIABLE`` on for the runs this process starts, unless the user set it."""
    os.environ.setdefault(PLANNED_EVENTS_VARIABLE, "true")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run", help="the main job: raw history, then the last MODEL_DAYS of modelling, then their month ends"
    )
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
    run_parser.add_argument(
        "--strategy-days",
        type=int,
        default=STRATEGY_DAYS,
        help=f"business days at the end of the span to run the strategy layers on, at least --model-days "
        f"(default {STRATEGY_DAYS}: a year, so the forecasts' calibration has matured months)",
    )
    run_parser.add_argument("--verbose", action="store_true", help="print Dagster's event stream too")
    commands.add_parser("status", help="what the warehouse holds")
    replay_parser = commands.add_parser("replay", help="re-run the layers above raw from a restated day")
    replay_parser.add_argument(
        "--from", dest="from_day", required=True, type=iso_date, help="the restated day, YYYY-MM-DD"
    )
    replay_parser.add_argument("--verbose", action="store_true", help="print Dagster's event stream too")
    backtest_parser = commands.add_parser(
        "backtest",
        help="walk-forward back-test of the twin's decisions over a span (walked in memory), against baselines",
    )
    backtest_parser.add_argument("--start", required=True, type=iso_date, help="first business day, YYYY-MM-DD")
    backtest_parser.add_argument("--end", required=True, type=iso_date, help="last business day, YYYY-MM-DD")
    backtest_parser.add_argument("--verbose", action="store_true", help="print Dagster's event stream too")
    serve_parser = commands.add_parser("serve", help="the HTTP API over the read snapshot")
    serve_parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to bind (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    one_planned_event_an_asset()
    if args.command == "serve":
        return serve(args.host, args.port)
    refused = _config_refused()
    if refused:
        print(refused, file=sys.stderr)
        return 2
    if args.command == "run":
        return run(args.start, args.end, args.model_days, args.verbose, args.strategy_days)
    if args.command == "replay":
        return replay(args.from_day, args.verbose)
    if args.command == "backtest":
        from twin_assets.cli.walk_forward import backtest

        return backtest(args.start, args.end, args.verbose)
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
