"""The solution level in the warehouse: a day's records as the six ``portfolio.*`` frames,
and a solution's state rebuilt from one day's stored rows (proved whole first).

Which state a run starts each solution from (``carried_states``), per solution, so that a
solution that left config and came back is judged by its own rows, not the others':

* rows on the business day before the run: the state they describe;
* no rows at all before the run: its launch state from config (a cold start);
* rows, but not on the previous business day (it was out of config, or retired and then
  un-retired, for some days): refused, naming the first day it lacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl

from twin_model.calendar import next_business_day, previous_business_day
from twin_model.contracts import TABLES
from twin_model.errors import StateGapError, StateMismatchError
from twin_model.firm import FeeState
from twin_model.portfolio import Breach
from twin_model.solution._record import DayRecord
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import NO_CASH, SolutionState, StrategyState, Violation, violation_key


def is_managed(launch_date: dt.date, retired: dt.date | None, day: dt.date) -> bool:
    """Whether the twin steps a solution on ``day``: launched, and not yet retired."""
    return launch_date <= day and (retired is None or day < retired)


PORTFOLIO_TABLES = {
    "weights": "portfolio.solution_weights",
    "optimization": "portfolio.solution_optimizations",
    "performance": "portfolio.solution_performance",
    "attribution": "portfolio.strategy_attribution",
    "violations": "portfolio.risk_violations",
    "orders": "portfolio.rebalance_orders",
}
"""DayRecord field -> the warehouse table its rows go to."""


def records_to_frames(records: Sequence[DayRecord]) -> dict[str, pl.DataFrame]:
    """The rows of many solution-days as one frame per ``portfolio.*`` table (schema order)."""
    out = {}
    for attribute, table in PORTFOLIO_TABLES.items():
        spec = TABLES[table]
        rows: list[dict] = []
        for record in records:
            value = getattr(record, attribute)
            rows.extend(value if isinstance(value, list) else [value])
        out[table] = pl.DataFrame(rows, schema=spec.columns(), orient="row") if rows else spec.empty_frame()
    return out


def carried_states(
    rules: Sequence[SolutionRules],
    latest: Mapping[str, dt.date],
    first_day: dt.date,
    weights: pl.DataFrame,
    optimization: pl.DataFrame,
    performance: pl.DataFrame,
    violations: pl.DataFrame,
) -> dict[str, SolutionState]:
    """Each solution's state at the close of the business day before ``first_day`` (see
    the module docstring): carried from the tables, or from config for one never stored.

    ``latest`` maps a solution to its latest performance date before ``first_day``; the
    frames are the previous business day's rows of the four state tables.
    """
    previous_day = previous_business_day(first_day)
    states = {}
    for rule in rules:
        last = latest.get(rule.solution_id)
        if last is None:
            states[rule.solution_id] = SolutionState.launch(rule)
        elif last == previous_day:
            states[rule.solution_id] = state_from_tables(rule, weights, optimization, performance, violations)
        else:
            raise StateGapError(
                f"portfolio.solution_performance: solution {rule.solution_id}: materialise {next_business_day(last)} "
                f"first: the state carried into {first_day} comes from {previous_day}, and its latest state stored "
                f"is {last} (was it out of config/solutions.yaml, or retired, on the days between?)"
            )
    return states


def state_from_tables(
    rules: SolutionRules,
    weights: pl.DataFrame,
    optimization: pl.DataFrame,
    performance: pl.DataFrame,
    violations: pl.DataFrame,
) -> SolutionState:
    """A solution's state at the close of the day these rows describe (one day's rows of
    the solution). No performance row means the solution has not launched: its launch state.

    The optimisation row counts the day's weight rows and open violations; tables that
    disagree with it (a write interrupted between tables) raise ``StateMismatchError``
    rather than carry a partial state forward. Rows from a warehouse older than those
    counts (null) are taken as they are.
    """
    perf = performance.filter(pl.col("solution_id") == rules.solution_id)
    if perf.height == 0:
        return SolutionState.launch(rules)
    if perf.height > 1:
        raise ValueError(f"solution {rules.solution_id}: {perf.height} performance rows for one day")
    p = perf.row(0, named=True)
    opt = optimization.filter(pl.col("solution_id") == rules.solution_id)
    mine = weights.filter(pl.col("solution_id") == rules.solution_id)
    open_rows = violations.filter((pl.col("solution_id") == rules.solution_id) & (pl.col("status") == "open"))
    counts = (opt["weight_rows"][0], opt["open_violations"][0]) if opt.height == 1 else None
    if opt.height != 1 or (None not in counts and counts != (mine.height, open_rows.height)):
        raise StateMismatchError(
            f"solution {rules.solution_id}: the portfolio tables disagree on {p['date']} "
            f"({opt.height} optimisation rows, {mine.height} weight rows, {open_rows.height} open violations; "
            f"an interrupted write?): materialise {p['date']} again"
        )
    o = opt.row(0, named=True)
    strategies = {
        r["strategy_id"]: StrategyState(
            status=r["status"],
            tier=r["tier"],
            weight=r["weight_close"],
            target=r["weight_target"],
            scale=r["target_scale"],
            pause_days_left=r["pause_days_left"],
            ramp_day=r["ramp_day"],
            pause_count=r["pause_count"],
            watch_from=r["watch_from"],
            reason=r["reason"],
        )
        for r in mine.iter_rows(named=True)
    }
    open_violations = {}
    for r in open_rows.iter_rows(named=True):
        breach = Breach(
            r["level"], r["rule"], r["subject"], r["value"], r["limit_value"], r["severity"], r["action"], r["message"]
        )
        open_violations[violation_key(breach)] = Violation(breach, r["opened_date"])
    return SolutionState(
        day=p["date"],
        aum=p["aum"],
        aum_peak=p["aum_peak"],
        risk_peak=p["risk_peak"],
        pending_costs=p["pending_costs"],
        cooldown_days_left=p["cooldown_days_left"],
        last_rebalance=p["last_rebalance"],
        awaiting_allocation=o["awaiting_allocation"],
        exposure=o["target_exposure"],
        cash={k: o[k] for k in NO_CASH},
        strategies=strategies,
        violations=open_violations,
        fees=_fee_state(p),
    )


def _fee_state(row: Mapping) -> FeeState:
    """The fee state a performance row describes; a row from a warehouse older than the
    fee columns (null units) is taken as its AUM in units at NAV 100, no fee accrued."""
    if row["units"] is None:
        return replace(FeeState.launch(row["aum"]), day=row["date"], period_start=row["date"])
    return FeeState(
        day=row["date"],
        units=row["units"],
        gav=row["gav_per_unit"],
        accrued=row["performance_fee_per_unit"],
        hwm=row["hwm"],
        hurdle_return=row["hurdle_return"],
        period_start=row["fee_period_start"],
    )
