"""The dashboard's page data: the book, risk, models, firm and stress pages, with numbers
worked by hand."""

import datetime as dt

import polars as pl
import pytest

from twin_model.reports import (
    StressWindow,
    backtest_view,
    correlation,
    fee_waterfall,
    firm_returns,
    headline,
    historical_stress,
    latest_search,
    parametric_shocks,
    pool_history,
    reliability,
    violation_log,
)

D = dt.date


def _performance() -> pl.DataFrame:
    """Two solutions over two days: AUM at the start 100 and 300, then the day's P&L."""
    return pl.DataFrame(
        {
            "date": [D(2024, 1, 2), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 3)],
            "solution_id": ["a", "b", "a", "b"],
            "aum_start": [100.0, 300.0, 102.0, 299.0],
            "pnl": [2.0, -1.0, -10.2, 0.0],
            "aum": [102.0, 299.0, 91.8, 299.0],
            "leverage": [1.0, 0.5, 1.0, 0.5],
            "costs": [0.5, 0.1, 0.0, 0.3],
            "management_fee": [0.1, 0.2, 0.1, 0.2],
            "performance_fee_charge": [0.3, 0.0, -0.3, 0.0],
        }
    )


def test_the_firm_return_is_time_weighted_over_the_solutions():
    # day 1: (2 - 1) / (100 + 300); day 2: -10.2 / 401
    assert firm_returns(_performance()).get_column("ret").to_list() == pytest.approx([1 / 400, -10.2 / 401])


def test_headline_figures_by_hand():
    weights = pl.DataFrame(
        {
            "date": [D(2024, 1, 3)] * 3,
            "solution_id": ["a", "b", "b"],
            "strategy_id": ["x", "x", "y"],
            "weight_close": [0.6, 0.3, 0.0],
        }
    )
    figures = headline(_performance(), weights)
    assert figures.as_of == D(2024, 1, 3)
    assert figures.firm_value == pytest.approx(390.8)
    assert figures.pnl_today == pytest.approx(-10.2)
    growth = (1 + 1 / 400) * (1 - 10.2 / 401)
    assert figures.return_since_inception == pytest.approx(growth - 1)
    assert figures.drawdown == pytest.approx(growth / (1 + 1 / 400) - 1)
    assert figures.leverage == pytest.approx((91.8 * 1.0 + 299.0 * 0.5) / 390.8)
    assert figures.active_strategies == 1  # y is held at zero
    assert headline(_performance().clear(), weights) is None


def test_the_fee_waterfall_steps_add_up_to_the_net_pnl():
    # net -9.2; fees: management 0.6, performance 0.0; costs 0.9: gross -7.7
    steps = fee_waterfall(_performance())
    amounts = dict(zip(steps["step"], steps["amount"]))
    assert amounts["net P&L"] == pytest.approx(-9.2)
    assert amounts["gross P&L"] == pytest.approx(-9.2 + 0.6 + 0.0 + 0.9)
    assert amounts["trading costs"] == pytest.approx(-0.9)
    assert amounts["management fees"] == pytest.approx(-0.6)
    assert amounts["performance fees"] == pytest.approx(0.0)
    relative = steps.filter(pl.col("kind") == "relative").get_column("amount").sum()
    assert relative == pytest.approx(amounts["net P&L"])


def test_historical_stress_replays_todays_weights_over_the_window():
    weights = pl.DataFrame({"solution_id": ["s", "s"], "strategy_id": ["A", "B"], "weight": [0.5, 0.3]})
    returns = pl.DataFrame(
        {
            "date": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 3)],
            "strategy_id": ["A", "B"] * 3,
            "ret": [0.9, 0.9, 0.10, 0.0, -0.10, 0.20],
        }
    )
    inside = StressWindow("hand", D(2024, 1, 2), D(2024, 1, 3))
    outside = StressWindow("later", D(2024, 1, 3), D(2024, 2, 1))
    stress = historical_stress(weights, returns, [inside, outside])
    assert stress.get_column("window").to_list() == ["hand"]  # the other window runs past the data
    # book: 0.5 x 0.10 + 0.3 x 0 = 0.05; 0.5 x -0.10 + 0.3 x 0.20 = 0.01
    assert stress.get_column("book_return").item() == pytest.approx(1.05 * 1.01 - 1)
    assert stress.get_column("max_drawdown").item() == 0.0
    assert stress.get_column("weight_covered").item() == 1.0


def test_parametric_shocks_go_through_each_strategys_beta():
    weights = pl.DataFrame({"solution_id": ["s", "s", "s"], "strategy_id": ["A", "B", "C"], "weight": [0.5, 0.3, 0.2]})
    betas = pl.DataFrame({"strategy_id": ["A", "B"], "beta": [1.2, 0.5]})  # C has no posterior: beta 0
    shocked = parametric_shocks(weights, betas, (-0.10, -0.20))
    assert shocked.get_column("book_beta").to_list() == pytest.approx([0.75, 0.75])
    assert shocked.get_column("book_return").to_list() == pytest.approx([-0.15, -0.075])


def test_violation_log_follows_each_violation_from_opening_to_resolution():
    violations = pl.DataFrame(
        {
            "date": [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 4)],
            "solution_id": ["s"] * 4,
            "level": ["portfolio"] * 4,
            "rule": ["drawdown_stop", "drawdown_stop", "drawdown_stop", "var_95"],
            "subject": ["s"] * 4,
            "severity": ["critical"] * 3 + ["medium"],
            "action": ["liquidate"] * 3 + ["alert"],
            "value": [-0.16, -0.18, -0.12, -0.03],
            "limit_value": [-0.15, -0.15, -0.15, -0.02],
            "status": ["open", "open", "resolved", "open"],
            "opened_date": [D(2024, 1, 2)] * 3 + [D(2024, 1, 4)],
            "resolved_date": [None, None, D(2024, 1, 4), None],
        }
    )
    log = violation_log(violations)
    assert log.get_column("rule").to_list() == ["var_95", "drawdown_stop"]  # newest first
    stop = log.row(1, named=True)
    assert (stop["first_seen"], stop["last_seen"], stop["days_seen"]) == (D(2024, 1, 2), D(2024, 1, 4), 3)
    assert (stop["worst_value"], stop["status"], stop["resolved_date"]) == (-0.18, "resolved", D(2024, 1, 4))
    assert log.row(0, named=True)["resolved_date"] is None
    assert violation_log(violations.clear()).height == 0


def test_correlation_is_pairwise_over_the_days_both_observed():
    days = [D(2024, 1, d) for d in (2, 3, 4, 5)]
    returns = pl.DataFrame(
        {
            "date": days * 3,
            "strategy_id": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "ret": [0.01, 0.02, -0.01, 0.03, 0.02, 0.04, -0.02, 0.06, -0.01, None, 0.01, -0.03],
        }
    )
    matrix = correlation(returns, D(2024, 1, 5))
    assert matrix.get_column("strategy_id").to_list() == ["a", "b", "c"]
    assert matrix.get_column("b").to_list() == pytest.approx([1.0, 1.0, -1.0])  # b = 2a; c = -a where observed


def test_pool_history_and_metalabel_reliability():
    pool = pl.DataFrame(
        {
            "date": [D(2024, 1, 2), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 3)],
            "strategy_id": ["a", "b", "a", "b"],
            "in_pool": [True, False, True, True],
            "changed": [False, False, False, True],
            "evidence": [0.99, 0.5, 0.99, 0.98],
            "reason": ["kept", "below bar", "kept", "entered"],
        }
    )
    size, changes = pool_history(pool)
    assert size.get_column("in_pool").to_list() == [1, 2]
    assert changes.select("strategy_id", "reason").rows() == [("b", "entered")]
    scores = pl.DataFrame({"p_profitable": [0.1, 0.15, 0.9, 1.0], "realised": [False, True, True, True]})
    bins = reliability(scores, bins=5)
    assert bins.get_column("bin").to_list() == [0, 4]
    assert bins.get_column("predicted").to_list() == pytest.approx([0.125, 0.95])
    assert bins.get_column("realised").to_list() == pytest.approx([0.5, 1.0])


def test_the_latest_search_has_95_percent_error_bars():
    evaluations = pl.DataFrame(
        {
            "date": [D(2024, 1, 31), D(2024, 2, 29), D(2024, 2, 29)],
            "solution_id": ["s"] * 3,
            "candidate_id": ["old", "incumbent", "cfa"],
            "family": ["incumbent", "incumbent", "cfa"],
            "score": [0.0, 0.01, 0.02],
            "score_se": [0.001, 0.001, 0.002],
            "diff_vs_incumbent": [0.0, 0.0, 0.01],
            "diff_se": [0.0, 0.0, 0.001],
            "chosen": [True, False, True],
        }
    )
    search = latest_search(evaluations)
    assert search.get_column("candidate_id").to_list() == ["cfa", "incumbent"]
    assert search.get_column("score_low")[0] == pytest.approx(0.02 - 1.959963984540054 * 0.002)


def test_backtest_view_is_generic_and_absent_without_rows():
    assert backtest_view(None) is None and backtest_view(pl.DataFrame({"sharpe": []})) is None
    plain = backtest_view(pl.DataFrame({"policy": ["twin"], "cagr": [0.1]}))
    assert plain.sharpe is None and plain.rows.columns == ["policy", "cagr"]
    rows = pl.DataFrame({"policy": ["twin", "equal"], "sharpe": [1.1, 0.7], "n": [3, 3]})
    view = backtest_view(rows)
    assert view.sharpe.rows() == [("twin", 1.1), ("equal", 0.7)]
