"""The walk-forward: how `twin run` and `twin backtest` materialise days above raw so that
each month runs the policy its previous month end chose (online mode).

The strategy layers (models, statistics, alpha pool) do not depend on the solution policy,
so they run once over the span (``strategy_job``). Then, month by month: the solution
level and the firm's daily P&L over the month's days (``solution_job``) and, when the
month is complete, its month-end search, projection and decision (``month_end_job``),
whose choice the next month's solution level reads. ``twin backtest`` then measures the
span against its baselines (``backtest_job`` -> ``twin.backtest_results``) and prints it.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from itertools import groupby

from twin_model.calendar import business_days

Execute = Callable[..., bool]
"""``execute(session, job, first, last, days, ...)`` of twin_assets.cli.commands."""


def month_key(day: str) -> str:
    """The month partition key (the month's first day) of the ISO ``day``."""
    return day[:8] + "01"


def month_steps(days: Sequence[str], calendar: Sequence[str]) -> list[tuple[list[str], str | None]]:
    """``days`` (ISO, in order) cut into calendar months, each with its month partition key
    when the month is complete in them (its month end is then searched), else None.

    A month is complete when its last day in ``days`` is the calendar's last business day
    of that month and either the calendar goes on past it or it is the month's last weekday
    (a calendar that stops mid-month leaves that month open)."""
    steps = []
    for month, chunk in groupby(days, key=month_key):
        chunk = list(chunk)
        in_calendar = [d for d in calendar if month_key(d) == month]
        first = dt.date.fromisoformat(month)
        month_last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        weekday_end = business_days(first, month_last)[-1].isoformat()
        goes_on = calendar[-1] > chunk[-1]
        complete = bool(in_calendar) and chunk[-1] == in_calendar[-1] and (goes_on or chunk[-1] >= weekday_end)
        steps.append((chunk, month if complete else None))
    return steps


def walk_forward(
    execute: Execute, session, days: Sequence[str], calendar: Sequence[str], strategy: bool = True
) -> bool:
    """The strategy layers over ``days`` (unless ``strategy`` is False: already stored),
    then each month's solution level and, for a complete month, its month end."""
    from twin_assets.jobs import MONTH_END_JOB, SOLUTION_JOB, STRATEGY_JOB

    if strategy and not execute(session, STRATEGY_JOB, days[0], days[-1], len(days)):
        return False
    for chunk, month in month_steps(days, calendar):
        if not execute(session, SOLUTION_JOB, chunk[0], chunk[-1], len(chunk)):
            return False
        if month is not None and not execute(session, MONTH_END_JOB, month, month, 1):
            return False
    return True


def backtest(start: dt.date, end: dt.date, verbose: bool = False) -> int:
    """`twin backtest`: raw history up to ``end`` (when the snapshot lacks it), the
    strategy layers over the span (when not already stored and current), the walk-forward
    month by month, then ``twin.backtest_results``; prints the table."""
    from twin_assets.cli import commands
    from twin_assets.cli.launch import Stopped
    from twin_assets.jobs import BACKTEST_JOB, RAW_HISTORY_JOB
    from twin_assets.shared.partitions import daily_partitions

    commands.clean_up_dead_runs()
    calendar = daily_partitions().get_partition_keys()
    span = [key for key in calendar if start.isoformat() <= key <= end.isoformat()]
    if not span:
        print(f"No business day of the calendar lies in {start} .. {end}", file=sys.stderr)
        return 2
    raw_needed, strategy_needed = _needs(calendar[0], span)
    session = commands.open_session("backtest", verbose)
    try:
        ok = not raw_needed or commands.execute(
            session, RAW_HISTORY_JOB, calendar[0], span[-1], calendar.index(span[-1]) + 1
        )
        ok = ok and walk_forward(commands.execute, session, span, calendar, strategy=strategy_needed)
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


def _needs(calendar_start: str, span: list[str]) -> tuple[bool, bool]:
    """Whether the raw history up to the span's end and the strategy layers over the span
    must still be materialised: from the read snapshot (both when there is none, or when
    a restatement leaves the layers above raw stale)."""
    from twin_model.restatements import stale_from
    from twin_resources.restatement_log import RestatementLog
    from twin_resources.snapshot import SnapshotMissingError, open_snapshot
    from twin_resources.warehouse import warehouse_path

    try:
        snapshot = open_snapshot(warehouse_path())
    except SnapshotMissingError:
        return True, True
    first, last = dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[-1])
    with snapshot.connect() as connection:

        def days_with_rows(table: str, since: dt.date) -> int:
            query = f"SELECT count(DISTINCT date) FROM {table} WHERE date BETWEEN ? AND ?"
            return connection.execute(query, [since, last]).fetchone()[0]

        summaries = snapshot.table_summaries()
        raw = summaries.get("raw.strategy_returns", (0, None, None))
        raw_needed = raw[1] is None or raw[1] > dt.date.fromisoformat(calendar_start) or raw[2] < last
        pooled = "alpha.alpha_pool" in summaries and days_with_rows("alpha.alpha_pool", first) == len(span)
    stale = stale_from(RestatementLog(snapshot.warehouse).restatements())
    return raw_needed, not pooled or (stale is not None and stale <= last)


def print_results(end: dt.date) -> None:
    """The back-test's rows ending on ``end`` from the read snapshot, as a table."""
    from twin_resources.snapshot import open_snapshot
    from twin_resources.warehouse import warehouse_path

    with open_snapshot(warehouse_path()).connect() as connection:
        rows = connection.execute(
            "SELECT start, kind, portfolio_id, annual_return, annual_volatility, sharpe, max_drawdown, turnover, "
            "trading_costs, fees FROM twin.backtest_results WHERE date = ? ORDER BY kind, portfolio_id",
            [end],
        ).fetchall()
    if not rows:
        return
    print(f"\nBack-test {rows[0][0]} .. {end} (twin.backtest_results; the bundled strategies are 2022 survivors):")
    print(
        f"  {'kind':<13} {'portfolio':<14} {'ann.ret':>8} {'vol':>7} {'Sharpe':>7} {'maxDD':>7} {'turn':>6} {'costs':>7} {'fees':>7}"
    )
    for _, kind, portfolio, *figures in rows:
        cells = " ".join(_cell(v, w, pct) for v, w, pct in zip(figures, (8, 7, 7, 7, 6, 7, 7), PERCENT))
        print(f"  {kind:<13} {portfolio:<14} {cells}")


PERCENT = (True, True, False, True, False, True, True)
"""Which printed columns are percentages (annual return, volatility, drawdown, costs, fees)."""


def _cell(value: float | None, width: int, percent: bool) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    return f"{value:>{width}.2%}" if percent else f"{value:>{width}.2f}"
