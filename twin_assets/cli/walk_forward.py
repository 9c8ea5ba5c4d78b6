"""The walk-forward of `twin run`, and `twin backtest`.

`twin run` materialises the days above raw so that each month runs the policy its
previous month end chose (online mode). The strategy layers (models, statistics, alpha
pool) do not depend on the solution policy, so they run once over the span
(``strategy_job``). Then, month by month: the solution level and the firm's daily P&L
over the month's days (``solution_job``) and, when the month is complete, its month-end
search, projection and decision (``month_end_job``), whose choice the next month's
solution level reads through the warehouse. Last, the dashboard of the span's last day,
once (``dashboard_job`` over the span: drawing it each month cost 2.3 s a month for a file
the next month overwrote).

`twin backtest` materialises the same strategy layers over its span, then walks the span
in memory in batch mode inside ``backtest_job`` (twin_assets/twin/batch.py: the same
step, search and decision, with no Dagster run a month) and measures it against its
baselines (``twin.backtest_results``); it prints the table.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence

from twin_assets.shared.partitions import month_steps

Execute = Callable[..., bool]
"""``execute(session, job, first, last, days, ...)`` of twin_assets.cli.commands."""


def walk_forward(
    execute: Execute,
    session,
    days: Sequence[str],
    calendar: Sequence[str],
    strategy_days: Sequence[str] | None = None,
) -> bool:
    """The strategy layers over ``strategy_days`` (default: all of ``days``; empty: already
    stored), then each month's solution level and, for a complete month, its month end,
    then the dashboard of the last day."""
    from twin_assets.jobs import DASHBOARD_JOB, MONTH_END_JOB, SOLUTION_JOB, STRATEGY_JOB

    modelled = days if strategy_days is None else strategy_days
    if modelled and not execute(session, STRATEGY_JOB, modelled[0], modelled[-1], len(modelled)):
        return False
    for chunk, month in month_steps(days, calendar):
        if not execute(session, SOLUTION_JOB, chunk[0], chunk[-1], len(chunk)):
            return False
        if month is not None and not execute(session, MONTH_END_JOB, month, month, 1):
            return False
    return execute(session, DASHBOARD_JOB, days[0], days[-1], len(days))


def backtest(start: dt.date, end: dt.date, verbose: bool = False) -> int:
    """`twin backtest`: raw history up to ``end`` (when the snapshot lacks it), the
    strategy layers over the span's days not yet stored (all of them when a restatement
    leaves them stale), then ``twin.backtest_results`` (the walk in memory and its
    baselines); prints the table."""
    from twin_assets.cli import commands
    from twin_assets.cli.launch import Stopped
    from twin_assets.jobs import BACKTEST_JOB, RAW_HISTORY_JOB, STRATEGY_JOB
    from twin_assets.shared.partitions import daily_partitions

    commands.clean_up_dead_runs()
    calendar = daily_partitions().get_partition_keys()
    span = [key for key in calendar if start.isoformat() <= key <= end.isoformat()]
    if not span:
        print(f"No business day of the calendar lies in {start} .. {end}", file=sys.stderr)
        return 2
    raw_needed, strategy_days = _needs(calendar[0], span)
    session = commands.open_session("backtest", verbose)
    try:
        ok = not raw_needed or commands.execute(
            session, RAW_HISTORY_JOB, calendar[0], span[-1], calendar.index(span[-1]) + 1
        )
        ok = ok and (
            not strategy_days
            or commands.execute(session, STRATEGY_JOB, strategy_days[0], strategy_days[-1], len(strategy_days))
        )
        config = {"ops": {"twin__backtest_results": {"config": {"start": span[0], "end": span[-1]}}}}
        ok = ok and commands.execute(session, BACKTEST_JOB, span[0], span[-1], 1, run_config=config)
    except Stopped as stop:
        return 128 + stop.signum
    finally:
        session.log.close()
    if ok:
        print_results(dt.date.fromisoformat(span[-1]))
    print(f"\nDagster's events of these runs: {session.log_path}")
    return 0 if ok else 1


def _needs(calendar_start: str, span: list[str]) -> tuple[bool, list[str]]:
    """Whether the raw history up to the span's end must still be materialised, and the
    days the strategy layers must run over (from the first to the last span day without an
    alpha-pool row, the whole span when a restatement leaves the layers above raw stale,
    none when all are stored): from the read snapshot (everything when there is none)."""
    from twin_model.restatements import stale_from
    from twin_resources.restatement_log import RestatementLog
    from twin_resources.snapshot import SnapshotMissingError, open_snapshot
    from twin_resources.warehouse import warehouse_path

    try:
        snapshot = open_snapshot(warehouse_path())
    except SnapshotMissingError:
        return True, span
    first, last = dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[-1])
    summaries = snapshot.table_summaries()
    raw = summaries.get("raw.strategy_returns", (0, None, None))
    raw_needed = raw[1] is None or raw[1] > dt.date.fromisoformat(calendar_start) or raw[2] < last
    stored: set[str] = set()
    if "alpha.alpha_pool" in summaries:
        with snapshot.connect() as connection:
            rows = connection.execute(
                "SELECT DISTINCT date FROM alpha.alpha_pool WHERE date BETWEEN ? AND ?", [first, last]
            ).fetchall()
        stored = {day.isoformat() for (day,) in rows}
    stale = stale_from(RestatementLog(snapshot.warehouse).restatements())
    if stale is not None and stale <= last:
        return raw_needed, span
    missing = [day for day in span if day not in stored]
    return raw_needed, span[span.index(missing[0]) : span.index(missing[-1]) + 1] if missing else []


def print_results(end: dt.date) -> None:
    """The back-test's rows ending on ``end`` from the read snapshot, as a table."""
    from twin_assets.cli.summary import backtest_lines
    from twin_resources.snapshot import open_snapshot
    from twin_resources.warehouse import warehouse_path

    with open_snapshot(warehouse_path()).connect() as connection:
        for line in backtest_lines(connection, end):
            print(line)
