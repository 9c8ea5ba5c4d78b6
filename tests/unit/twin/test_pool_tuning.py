"""Tuning the alpha pool's entry bar on realised returns: the rule, by hand."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.strategy import AlphaPoolPolicy
from twin_model.twin.pool_tuning import (
    PoolTuningSettings,
    bar_candidates,
    bars_by_month,
    choose_bar,
    firm_returns,
    realised_score,
)

JAN30, JAN31, FEB1, FEB2 = dt.date(2023, 1, 30), dt.date(2023, 1, 31), dt.date(2023, 2, 1), dt.date(2023, 2, 2)


def test_candidates_keep_the_configured_bar_and_drop_bars_at_or_below_the_exit_bar():
    policy = AlphaPoolPolicy(enter_probability=0.975, exit_probability=0.9)
    candidates = bar_candidates(policy, PoolTuningSettings(enter_probabilities=(0.85, 0.9, 0.95, 0.99)))
    assert list(candidates) == [0.95, 0.975, 0.99]
    assert candidates[0.95].exit_probability == 0.9 and candidates[0.95].min_history == policy.min_history


def test_the_firm_return_weights_each_solution_by_its_starting_assets():
    performance = pl.DataFrame(
        {
            "date": [JAN30, JAN30, JAN31, JAN31],
            "aum_start": [300.0, 100.0, 0.0, 0.0],
            "net_return": [0.01, -0.01, 0.5, 0.5],
        }
    )
    # (300 x 1% - 100 x 1%) / 400 = 0.5%; no assets on the 31st: 0
    assert firm_returns(performance).get_column("ret").to_list() == pytest.approx([0.005, 0.0])


def test_score_is_annual_mean_less_lambda_annual_variance():
    r = np.array([0.01, -0.01, 0.02])
    # by hand: mean m = 0.02 / 3, var(ddof=1) = sum((r - m)^2) / 2
    m = 0.02 / 3
    var = ((0.01 - m) ** 2 + (-0.01 - m) ** 2 + (0.02 - m) ** 2) / 2
    assert realised_score(r, 2.0) == pytest.approx(252 * m - 2.0 * 252 * var)
    assert realised_score(np.array([0.01]), 2.0) == -np.inf


def test_ties_keep_the_incumbent_and_a_strictly_better_bar_wins():
    assert choose_bar({0.95: 0.1, 0.975: 0.1, 0.99: 0.1}, 0.975) == 0.975
    assert choose_bar({0.95: 0.2, 0.975: 0.1, 0.99: 0.1}, 0.975) == 0.95


def test_each_month_runs_the_bar_chosen_on_returns_up_to_the_month_end_before_it():
    # 0.95 did better in January, 0.99 only after it (on February 2nd)
    returns = {
        0.95: pl.DataFrame({"date": [JAN30, JAN31, FEB1, FEB2], "ret": [0.02, 0.02, 0.0, -0.5]}),
        0.975: pl.DataFrame({"date": [JAN30, JAN31, FEB1, FEB2], "ret": [0.0, 0.0, 0.0, 0.0]}),
        0.99: pl.DataFrame({"date": [JAN30, JAN31, FEB1, FEB2], "ret": [0.0, 0.0, 0.0, 0.5]}),
    }
    bars = bars_by_month(returns, [JAN31, FEB2, dt.date(2023, 3, 31)], configured=0.975, risk_aversion=0.0)
    # January: configured; February: January's best (0.95); March: best up to Feb 2 (0.99)
    assert bars == [0.975, 0.95, 0.99]
