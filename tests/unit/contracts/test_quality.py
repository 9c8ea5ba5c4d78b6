"""Cross-row data-quality rules: vanished strategies, orphan positions and the business
days a source does not account for."""

import datetime as dt

import polars as pl

from twin_model.contracts import (
    missing_factor_days,
    unaccounted_days,
    unknown_position_strategies,
    vanished_strategies,
)

D1, D2, D3 = dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)


def _returns(rows):
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


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
    frame = _returns(
        [
            (D1, "a", 0.0, True),
            (D1, "b", 0.0, True),
            (D3, "a", 0.0, True),
            (D3, "b", None, False),
            (D3, "new", 0.01, True),
        ]
    )
    assert vanished_strategies(frame) == []  # D2 is a holiday: no rows at all


def test_positions_of_unknown_strategies_are_named():
    returns = _returns([(D1, "a", 0.0, True)])
    positions = pl.DataFrame(
        {"date": [D1, D1, D2], "strategy_id": ["a", "ghost", "a"], "ticker": ["X", "X", "X"], "weight": [0.5, 0.5, 0.5]}
    )
    problems = unknown_position_strategies(positions, returns)
    assert [p.split(":")[0] for p in problems] == ["day 2021-03-01, strategy ghost", "day 2021-03-02, strategy a"]


def test_days_outside_the_span_are_missing_even_on_a_holiday():
    # 2021-02-15 is Presidents' Day, but a source whose data ends on 2021-02-12 cannot say so.
    days = [dt.date(2021, 2, 12), dt.date(2021, 2, 15), dt.date(2021, 2, 16)]
    span = (dt.date(2021, 1, 4), dt.date(2021, 2, 12))
    problems = unaccounted_days(days, {days[0]}, span, {days[1]: "XNYS holiday"}, "XNYS holidays")
    assert problems == [
        "days 2021-02-15 to 2021-02-16 (2 business days): missing: after the source's data, which runs from "
        "2021-01-04 to 2021-02-12 (rule: a day beyond the data is missing, not a holiday)"
    ]
    early = unaccounted_days([dt.date(2021, 1, 1), *days], set(days), span, {}, "no holiday calendar")
    assert early[0].startswith("day 2021-01-01: missing: before the source's data")


def test_an_empty_weekday_needs_the_holiday_calendar():
    problems = unaccounted_days([D1, D2, D3], {D1, D3}, (D1, D3), {}, "no holiday calendar")
    assert problems == [
        "day 2021-03-02: missing: no rows on this Tuesday, which the holiday calendar "
        "(no holiday calendar) does not list as a day without data"
    ]
    assert unaccounted_days([D1, D2, D3], {D1, D3}, (D1, D3), {D2: "listed"}, "1 listed no-data day(s)") == []


def test_a_generating_source_has_no_span():
    assert unaccounted_days([D1, D2], {D1, D2}, None, {}, "no holiday calendar") == []


def test_padded_tickers_and_weekend_positions_are_refused_by_the_raw_schemas():
    import pytest

    from twin_model.contracts import SOURCE_ROW, TABLES, validate
    from twin_model.errors import DataQualityError

    positions = pl.DataFrame(
        {"date": [D1, dt.date(2021, 3, 6)], "strategy_id": ["a", "a"], "ticker": ["X ", "Y"], "weight": [0.1, 0.2]}
    )
    with pytest.raises(DataQualityError) as error:
        validate(positions.with_columns(pl.Series(SOURCE_ROW, [12, 40])), TABLES["raw.strategy_positions"])
    message = str(error.value)
    assert (
        "data row 12 (date=2021-03-01, strategy_id=a, ticker=X ): column 'ticker': rule not_blank_or_padded failed (value: 'X ')"
        in message
    )
    assert "data row 40 (date=2021-03-06, strategy_id=a, ticker=Y): column 'date': rule business_day failed" in message
    assert (
        SOURCE_ROW
        not in validate(positions.head(1).with_columns(ticker=pl.lit("X")), TABLES["raw.strategy_positions"]).columns
    )


def _factors(rows):
    return pl.DataFrame(rows, schema={"date": pl.Date, "factor_id": pl.String}, orient="row")


def test_a_factor_missing_on_a_day_with_strategy_returns_is_named():
    factors = _factors([(D1, "MKT"), (D1, "HML"), (D2, "MKT"), (D3, "MKT"), (D3, "HML")])
    starts = {"MKT": D1, "HML": D1}
    assert missing_factor_days(factors, [D1, D2, D3], starts) == [
        "day 2021-03-02, factor HML: missing: strategy returns but no factor return "
        "(rule: a factor has a return on every day with strategy returns from its first day, 2021-03-01)"
    ]


def test_a_factor_is_not_expected_before_its_first_day_or_on_days_without_returns():
    factors = _factors([(D1, "MKT"), (D2, "MKT"), (D3, "MKT"), (D3, "HML")])
    assert missing_factor_days(factors, [D1, D3], {"MKT": D1, "HML": D2}) == []


def test_a_factors_file_that_ends_early_names_the_days_after_it():
    factors = _factors([(D1, "MKT")])
    assert missing_factor_days(factors, [D1, D2, D3], {"MKT": D1}) == [
        "days 2021-03-02, 2021-03-03, factor MKT: missing: strategy returns but no factor return "
        "(rule: a factor has a return on every day with strategy returns from its first day, 2021-03-01)"
    ]
