"""Cross-row data-quality rules: vanished strategies and orphan positions."""

import datetime as dt

import polars as pl

from twin_model.quality import unknown_position_strategies, vanished_strategies

D1, D2, D3 = dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)


def _returns(rows):
    return pl.DataFrame(rows, schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean}, orient="row")


def test_a_strategy_missing_on_the_next_data_day_is_named():
    frame = _returns([(D1, "a", 0.0, True), (D1, "b", 0.0, True), (D2, "a", 0.0, True)])
    assert vanished_strategies(frame) == [
        "day 2021-03-02, strategy b: delivered on 2021-03-01 but missing on 2021-03-02 "
        "(rule: a strategy that did not trade must be delivered with available=false)"
    ]


def test_the_day_before_the_range_counts():
    frame = _returns([(D2, "a", 0.0, True)])
    problems = vanished_strategies(frame, (D1, {"a", "c"}))
    assert len(problems) == 1 and "strategy c: delivered on 2021-03-01 but missing on 2021-03-02" in problems[0]


def test_marked_unavailable_new_strategies_and_empty_days_are_fine():
    frame = _returns([(D1, "a", 0.0, True), (D1, "b", 0.0, True), (D3, "a", 0.0, True), (D3, "b", None, False), (D3, "new", 0.01, True)])
    assert vanished_strategies(frame) == []  # D2 is a holiday: no rows at all


def test_positions_of_unknown_strategies_are_named():
    returns = _returns([(D1, "a", 0.0, True)])
    positions = pl.DataFrame(
        {"date": [D1, D1, D2], "strategy_id": ["a", "ghost", "a"], "ticker": ["X", "X", "X"], "weight": [0.5, 0.5, 0.5]}
    )
    problems = unknown_position_strategies(positions, returns)
    assert [p.split(":")[0] for p in problems] == ["day 2021-03-01, strategy ghost", "day 2021-03-02, strategy a"]
