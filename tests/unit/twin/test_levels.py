"""The alpha pool and the solution level as levels of twin_model.twin: the pool's typed
state round-trips through its stored rows, and stepping either level through the runner
gives what stepping its policy by hand, day by day, gives."""

import datetime as dt

import polars as pl
import pytest

from tests.helpers.solutions import LAUNCH, LOOSE, ZERO_COSTS, Market, days, rules
from twin_model.solution import (
    SolutionPolicy,
    SolutionsPolicy,
    SolutionsState,
    SolutionState,
    solutions_level,
    step,
)
from twin_model.strategy import (
    EVIDENCE_COLUMNS,
    POOL_STATE_COLUMNS,
    AlphaPoolPolicy,
    PoolMembership,
    PoolState,
    alpha_pool_level,
    pool_table,
)
from twin_model.twin import exogenous_path, run

POLICY = AlphaPoolPolicy(enter_probability=0.9, exit_probability=0.7, min_days_in_state=2, min_history=100)
DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)]


def evidence(*rows) -> pl.DataFrame:
    """(strategy_id, p) rows, every other gate passing."""
    return pl.DataFrame([(s, p, 0.05, 0.9, 300, 50.0, -0.1) for s, p in rows], schema=EVIDENCE_COLUMNS, orient="row")


def test_the_pool_state_round_trips_through_its_rows():
    state = PoolState({"b": PoolMembership(False, 3), "a": PoolMembership(True, 12)})
    rows = state.to_rows()
    assert rows.schema == pl.Schema(POOL_STATE_COLUMNS)
    assert rows.rows() == [("a", True, 12), ("b", False, 3)]
    assert PoolState.from_rows(rows) == state
    stored = rows.with_columns(date=pl.lit(DAYS[0]), reason=pl.lit("kept"))  # a day of alpha.alpha_pool
    assert PoolState.from_rows(stored) == state
    assert PoolState.from_rows(PoolState().to_rows()) == PoolState()


def test_the_pool_state_refuses_two_rows_of_one_strategy():
    rows = pl.DataFrame([("a", True, 1), ("a", False, 2)], schema=POOL_STATE_COLUMNS, orient="row")
    with pytest.raises(ValueError, match=r"more than one row: \['a'\]"):
        PoolState.from_rows(rows)


def test_the_pool_through_the_runner_equals_the_policy_stepped_by_hand():
    # a enters on day 1 (new), b is kept out until its evidence clears 0.9 on day 3, c
    # has no news on day 2 (state carried)
    path = {
        DAYS[0]: evidence(("a", 0.95), ("b", 0.5)),
        DAYS[1]: evidence(("a", 0.6), ("b", 0.5)),
        DAYS[2]: evidence(("a", 0.6), ("b", 0.95), ("c", 0.2)),
    }
    start = PoolState({"c": PoolMembership(True, 9)})
    trajectory = run(alpha_pool_level(POLICY), start, exogenous_path(DAYS, path))

    state, frames = start.to_rows(), []
    for day in DAYS:
        decision = POLICY.decide(state, path[day])
        frames.append(decision.with_columns(date=pl.lit(day), policy=pl.lit(POLICY.name)))
        state = decision.select(list(POOL_STATE_COLUMNS))
    assert pool_table(trajectory, POLICY).equals(pl.concat(frames))
    assert trajectory.final == PoolState.from_rows(state)
    # by hand: a in (new) on day 1, held on day 2 (0.6 < exit, but 1 of 2 days), out on day 3;
    # b out (new) on days 1 and 2, in on day 3 (0.95, after 2 days out); c carried with no
    # news on days 1 and 2, then out on day 3 (0.2 < exit 0.7, 9 days in)
    assert trajectory.final == PoolState(
        {"a": PoolMembership(False, 1), "b": PoolMembership(True, 1), "c": PoolMembership(False, 1)}
    )
    assert trajectory.contributions == (0.0, 0.0, 0.0)


def test_the_policy_names_its_parameters():
    assert POLICY.parameters == {
        "signal": "p_alpha_positive",
        "enter_probability": 0.9,
        "exit_probability": 0.7,
        "min_deflated_sharpe": 0.10,
        "min_history": 100,
        "max_drawdown": -0.35,
        "min_days_in_state": 2,
        "metalabel_min_probability": None,
    }
    assert AlphaPoolPolicy(**POLICY.parameters) == POLICY


def test_the_solution_level_through_the_runner_equals_each_solution_stepped_by_hand():
    # two solutions share the day's information; "late" retires on Mar 6: no rows from then,
    # and its state stays as it was on Mar 5
    first, late = rules({"A": 0.5, "B": 0.5}), rules({"A": 0.2, "B": 0.8}, solution_id="late")
    market = Market("AB").set(dt.date(2024, 3, 4), "A", 0.02).set(dt.date(2024, 3, 5), "B", -0.01)
    day_list = days(LAUNCH, dt.date(2024, 3, 7))
    policy = SolutionsPolicy(
        tuple(SolutionPolicy(r, LOOSE, ZERO_COSTS) for r in (first, late)), {"late": dt.date(2024, 3, 6)}
    )
    start = SolutionsState({r.solution_id: SolutionState.launch(r) for r in (first, late)})
    trajectory = run(solutions_level(policy), start, exogenous_path(day_list, market.inputs))

    expected_records, expected = [], dict(start.solutions)
    for day in day_list:
        for r in (first, late):
            if r.solution_id == "late" and day >= dt.date(2024, 3, 6):
                continue
            expected[r.solution_id], record = step(r, expected[r.solution_id], market.inputs(day), LOOSE, ZERO_COSTS)
            expected_records.append(record)
    assert [record for day in trajectory.records for record in day] == expected_records
    assert trajectory.final == SolutionsState(expected)
    assert trajectory.final.solutions["late"].day == dt.date(2024, 3, 5)
    pnl = [sum(r.performance["pnl"] for r in day) for day in trajectory.records]
    assert list(trajectory.contributions) == pnl
