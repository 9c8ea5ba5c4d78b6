"""A day's exogenous information for the solution level, from the tables: valleys in
force, the fixed 252-day window, latest moments and evidence, forecast scenarios."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.calendar import business_days
from twin_model.contracts import decode_scenarios as scenario_matrix
from twin_model.contracts import encode_scenarios as _scenario_frame
from twin_model.solution import HISTORY_ROWS, SolutionHistory, valleys_in_force


def _forecasts(rows):
    return pl.DataFrame(rows, schema=["date", "strategy_id", "parameter_set", "monthly_valley"], orient="row")


def test_the_valley_in_force_is_the_forecast_made_before_the_month_began():
    forecasts = _forecasts(
        [
            (dt.date(2021, 2, 25), "a", "posterior", -0.05),
            (dt.date(2021, 2, 26), "a", "posterior", -0.04),  # last business day of February
            (dt.date(2021, 2, 26), "a", "expert", -0.90),  # another parameter set: ignored
            (dt.date(2021, 3, 1), "a", "posterior", -0.01),  # made inside March: not the month's
            (dt.date(2021, 3, 2), "a", "posterior", -0.02),
        ]
    )
    assert valleys_in_force(forecasts, dt.date(2021, 3, 1)) == {"a": -0.04}
    assert valleys_in_force(forecasts, dt.date(2021, 3, 15)) == {"a": -0.04}
    # nothing was forecast before February: the earliest February forecast before the day
    assert valleys_in_force(forecasts, dt.date(2021, 2, 26)) == {"a": -0.05}
    assert valleys_in_force(forecasts, dt.date(2021, 2, 25)) == {}


def test_without_a_forecast_before_the_month_the_earliest_one_in_it_before_the_day_holds():
    forecasts = _forecasts(
        [
            (dt.date(2021, 3, 2), "a", "posterior", -0.02),
            (dt.date(2021, 3, 3), "a", "posterior", -0.03),
        ]
    )
    assert valleys_in_force(forecasts, dt.date(2021, 3, 2)) == {}
    assert valleys_in_force(forecasts, dt.date(2021, 3, 3)) == {"a": -0.02}
    assert valleys_in_force(forecasts, dt.date(2021, 3, 10)) == {"a": -0.02}


def _history(days, ids=("a", "b")):
    rows = [(d, s, 0.001 * (i + 1) * (1 if k % 2 else -1), True) for i, d in enumerate(days) for k, s in enumerate(ids)]
    returns = pl.DataFrame(rows, schema=["date", "strategy_id", "ret", "available"], orient="row")
    pool = pl.DataFrame(
        [(days[0], "a", True, 0.99), (days[1], "a", True, None), (days[0], "b", False, 0.70)],
        schema=["date", "strategy_id", "in_pool", "evidence"],
        orient="row",
    )
    posteriors = pl.DataFrame(
        [
            (days[0], "a", True, 0.001, 0.0002, 1.1),
            (days[1], "a", True, 0.002, 0.0003, 1.2),
            (days[1], "b", False, 0.009, 0.0009, 9.9),
        ],
        schema=["date", "strategy_id", "converged", "daily_mean_mean", "daily_mean_sd", "sharpe_mean"],
        orient="row",
    )
    empty = pl.DataFrame(
        schema={"date": pl.Date, "strategy_id": pl.String, "parameter_set": pl.String, "monthly_valley": pl.Float64}
    )
    regime = pl.DataFrame({"date": [days[1]], "risk_scale": [0.5]})
    return SolutionHistory(returns, pool, posteriors, empty, regime, None, {"a": "x"}, {})


def test_each_day_sees_exactly_its_last_252_days_with_returns():
    days = business_days(dt.date(2020, 1, 1), dt.date(2021, 6, 30))
    history = _history(days)
    late = history.day(days[300])
    assert late.history.shape == (HISTORY_ROWS, 2) == (252, 2)
    assert late.history_dates[0] == days[300 - 251] and late.history_dates[-1] == days[300]
    assert late.history[-1, 0] == pytest.approx(-0.001 * 301)  # a: the day's own return, last row
    early = history.day(days[10])
    assert early.history.shape == (11, 2)


def test_moments_evidence_and_regime_come_from_the_latest_usable_rows():
    days = business_days(dt.date(2021, 1, 4), dt.date(2021, 1, 8))
    history = _history(days)
    first, second = history.day(days[0]), history.day(days[1])
    assert first.expected_return == {"a": pytest.approx(0.001 * 252)}
    assert second.expected_return == {"a": pytest.approx(0.002 * 252)}  # b's fit did not converge: unused
    assert second.expected_return_sd == {"a": pytest.approx(0.0003 * 252)}
    assert second.sharpe == {"a": 1.2}
    assert second.evidence == {"a": 0.99, "b": 0.70}  # a holiday-like null carries the last evidence
    assert second.in_pool == {"a": True}
    assert (first.risk_scale, second.risk_scale) == (1.0, 0.5)


def test_scenarios_read_back_from_a_forecast_artefact_in_their_shape():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(4, 3, 2)).astype(np.float32)
    frame = _scenario_frame({"posterior": matrix}, {"posterior": ["a", "b"]})
    np.testing.assert_array_equal(scenario_matrix(frame, ["b", "a"]), matrix[:, :, ::-1].astype(float))
    assert scenario_matrix(frame, ["a", "c"]) is None
