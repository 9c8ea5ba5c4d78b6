"""The closing summary's numbers, read from the read snapshot: the firm's P&L on the last
day (the FIRM row of ``firm.firm_pnl``), the policy each solution chose at the latest
month end (``twin.policy_evaluations``), the firm's 12-month projection when the
snapshot holds ``firm.firm_projections``, and the latest back-test
(``twin.backtest_results``). Each function takes a read-only connection to the snapshot
and returns the lines to print (none when its table is absent or empty);
``dashboard_lines`` names the dashboard file written beside the warehouse.
"""

import datetime as dt
from pathlib import Path

import duckdb

from twin_model.conventions import FIRM_TOTAL, CandidateFamily
from twin_resources.dashboard import dashboard_path, written_as_of
from twin_resources.warehouse import quote_identifier

PROJECTION_TABLE = "firm.firm_projections"


def _qualified(connection: duckdb.DuckDBPyConnection, qualified: str) -> str:
    """``"catalog"."layer"."table"``: the snapshot's file name makes a bare ``twin.table``
    ambiguous between its catalog and the schema."""
    catalog = connection.execute("SELECT current_database()").fetchone()[0]
    return ".".join(quote_identifier(part) for part in (catalog, *qualified.split(".")))


def _has_table(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0]
    return found > 0


def _columns(connection: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    schema, table = qualified.split(".")
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def firm_pnl_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The FIRM row of the last day: revenue, costs, profit and their year-to-date sums."""
    if not _has_table(connection, "firm.firm_pnl"):
        return []
    row = connection.execute(
        "SELECT date, revenue, costs, profit, revenue_ytd, costs_ytd, profit_ytd, aum "
        f"FROM {_qualified(connection, 'firm.firm_pnl')} WHERE solution_id = ? ORDER BY date DESC LIMIT 1",
        [FIRM_TOTAL],
    ).fetchone()
    if row is None:
        return []
    day, revenue, costs, profit, revenue_ytd, costs_ytd, profit_ytd, aum = row
    return [
        f"\nThe firm's P&L on {day} (AUM {money(aum)}):",
        f"  revenue {money(revenue)}  costs {money(costs)}  profit {money(profit)}",
        f"  year to date: revenue {money(revenue_ytd)}  costs {money(costs_ytd)}  profit {money(profit_ytd)}",
    ]


def chosen_policy_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Per solution, the candidate chosen at the latest month end: its family and its
    hold-out difference vs the incumbent +- standard error (none when the incumbent is kept)."""
    if not _has_table(connection, "twin.policy_evaluations"):
        return []
    table = _qualified(connection, "twin.policy_evaluations")
    rows = connection.execute(
        "SELECT date, solution_id, candidate_id, family, holdout_diff_vs_incumbent, holdout_diff_se "
        f"FROM {table} WHERE chosen AND date = (SELECT max(date) FROM {table}) ORDER BY solution_id"
    ).fetchall()
    if not rows:
        return []
    lines = [f"\nThe policy chosen at the month end {rows[0][0]} (in force from the next business day):"]
    for _, solution, candidate, family, diff, se in rows:
        kept = family == CandidateFamily.INCUMBENT or diff is None
        measured = "the incumbent kept" if kept else f"hold-out diff vs incumbent {diff:+.5f} +- {se:.5f}"
        lines.append(f"  {solution:<14} {candidate:<40} {family:<10} {measured}")
    return lines


def _pick(columns: list[str], *parts: str) -> str | None:
    """The first column whose name holds every one of ``parts``."""
    return next((c for c in columns if all(p in c for p in parts)), None)


def projection_lines(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The FIRM projection of the latest date at its furthest month ahead (12): p50
    profit, P(loss-making year), break-even AUM. The table lands in parallel work, so its
    columns are found by name (``*profit*p50*``, ``*months*``, ``*loss*``, ``*break*``)."""
    if not _has_table(connection, PROJECTION_TABLE):
        return []
    columns = _columns(connection, PROJECTION_TABLE)
    wanted = {
        "12-month p50 profit": _pick(columns, "profit", "p50"),
        "P(loss-making year)": _pick(columns, "loss"),
        "break-even AUM": _pick(columns, "break"),
    }
    horizon = _pick(columns, "month")
    found = {label: column for label, column in wanted.items() if column}
    if not found or "solution_id" not in columns:
        return [f"\n{PROJECTION_TABLE}: columns {', '.join(columns)} (no p50 profit, loss or break-even column)"]
    table = _qualified(connection, PROJECTION_TABLE)
    where = f"AND {horizon} = (SELECT max({horizon}) FROM {table})" if horizon else ""
    select = ", ".join(quote_identifier(column) for column in found.values())
    row = connection.execute(
        f"SELECT date, {select} FROM {table} WHERE solution_id = ? "
        f"AND date = (SELECT max(date) FROM {table}) {where} LIMIT 1",
        [FIRM_TOTAL],
    ).fetchone()
    if row is None:
        return []
    shown = [
        f"{label} {value:.1%}" if "P(" in label and value is not None else f"{label} {money(value)}"
        for label, value in zip(found, row[1:], strict=True)
    ]
    return [f"\nThe firm's projection from {row[0]}:", "  " + "  ".join(shown)]


BACKTEST_TABLE = "twin.backtest_results"
BACKTEST_COLUMNS = ("annual_return", "annual_volatility", "sharpe", "max_drawdown", "turnover", "trading_costs", "fees")
PERCENT_COLUMNS = {"annual_return", "annual_volatility", "max_drawdown", "trading_costs", "fees"}


def backtest_lines(connection: duckdb.DuckDBPyConnection, end: dt.date | None = None) -> list[str]:
    """The back-test ending on ``end`` (default: the latest) as a table, one line a row."""
    if not _has_table(connection, BACKTEST_TABLE):
        return []
    table = _qualified(connection, BACKTEST_TABLE)
    day = end or connection.execute(f"SELECT max(date) FROM {table}").fetchone()[0]
    rows = connection.execute(
        f"SELECT start, kind, portfolio_id, {', '.join(BACKTEST_COLUMNS)} FROM {table} WHERE date = ? "
        "ORDER BY kind, portfolio_id",
        [day],
    ).fetchall()
    if not rows:
        return []
    header = f"  {'kind':<13} {'portfolio':<14} " + " ".join(f"{c[:12]:>12}" for c in BACKTEST_COLUMNS)
    lines = [
        f"\nBack-test {rows[0][0]} .. {day} ({BACKTEST_TABLE}; the bundled strategies are 2022 survivors):",
        header,
    ]
    for _, kind, portfolio, *figures in rows:
        cells = (_figure(value, column in PERCENT_COLUMNS) for value, column in zip(figures, BACKTEST_COLUMNS))
        lines.append(f"  {kind:<13} {portfolio:<14} " + " ".join(cells))
    return lines


def _figure(value: float | None, percent: bool) -> str:
    if value is None:
        return f"{'n/a':>12}"
    return f"{value:>12.2%}" if percent else f"{value:>12.2f}"


def dashboard_lines(warehouse_path: str | Path) -> list[str]:
    """Where the dashboard is and the day it draws (none before a run has drawn it)."""
    path = dashboard_path(warehouse_path)
    as_of = written_as_of(path)
    if as_of is None:
        return []
    return [
        f"\nDashboard (as of {as_of}, offline, one file): {path}",
        f"  open it in a browser: file://{path.resolve()}",
    ]
