"""The back-test's measurements (twin_model.twin.backtest) on cases worked by hand."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.contracts import TABLES, validate
from twin_model.conventions import BacktestKind
from twin_model.twin.backtest import Book, backtest_rows, benchmark_book, equal_weight_book, solution_books, summarise

FRI, MON, TUE, WED = dt.date(2023, 1, 27), dt.date(2023, 1, 30), dt.date(2023, 1, 31), dt.date(2023, 2, 1)


def _returns() -> pl.DataFrame:
    # C has no return before Tuesday's close: it joins at the month-end rebalance
    rows = {
        FRI: {"A": 0.0, "B": 0.0, "C": None},
        MON: {"A": 0.10, "B": 0.0, "C": 0.50},
        TUE: {"A": 0.0, "B": 0.0, "C": 0.0},
        WED: {"A": -0.10, "B": 0.10, "C": 0.30},
    }
    return pl.DataFrame(
        [(day, s, r) for day, by in rows.items() for s, r in by.items()],
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64},
        orient="row",
    )


def test_equal_weight_drifts_within_the_month_and_rebalances_at_its_last_close():
    book = equal_weight_book(_returns(), [MON, TUE, WED], cost_rate=0.001)
    # Monday: A and B at 1/2 (C unavailable on Friday's close): R = 0.5 x 10% = 5%;
    # weights drift to A 0.55/1.05 = 11/21, B 0.5/1.05 = 10/21.
    # Tuesday: R = 0; at its close (January's last) A, B, C go to 1/3 each: one-way
    # turnover 1/2 (|1/3 - 11/21| + |1/3 - 10/21| + 1/3) = 1/2 (4 + 3 + 7)/21 = 1/3,
    # cost 0.001 x 2 x 1/3 of the close's wealth.
    # Wednesday: R = (-10% + 10% + 30%) / 3 = 10%.
    np.testing.assert_allclose(book.net_return, [0.05, -0.002 / 3, 0.10], atol=1e-15)
    np.testing.assert_allclose(book.turnover, [0.0, 1 / 3, 0.0], atol=1e-15)
    np.testing.assert_allclose(book.costs, [0.0, 0.002 / 3, 0.0], atol=1e-15)
    assert book.kind is BacktestKind.EQUAL_WEIGHT


def test_summary_follows_the_pinned_conventions():
    days = (MON, TUE)
    book = Book("s", BacktestKind.TWIN, days, np.array([0.1, -0.1]), np.array([0.2, 0.0]), np.zeros(2), np.zeros(2))
    row = summarise(book, {})
    assert row["total_return"] == pytest.approx(1.1 * 0.9 - 1)
    assert row["annual_return"] == pytest.approx(0.99**126 - 1)
    assert row["annual_volatility"] == pytest.approx(np.sqrt(0.02) * np.sqrt(252))  # sd of +-0.1 is sqrt(0.02)
    assert row["sharpe"] == pytest.approx(0.0, abs=1e-12)
    assert row["max_drawdown"] == pytest.approx(0.99 / 1.1 - 1)
    assert row["turnover"] == pytest.approx(0.2 * 252 / 2)
    # excess over a cash return of 1% a day: mean -0.01, sd sqrt(0.02)
    with_cash = summarise(book, {MON: 0.01, TUE: 0.01})
    assert with_cash["sharpe"] == pytest.approx(-0.01 / np.sqrt(0.02) * np.sqrt(252))


def test_solution_books_take_costs_and_fees_over_start_assets_and_turnover_from_orders():
    performance = pl.DataFrame(
        {
            "date": [MON, TUE],
            "solution_id": ["core", "core"],
            "aum_start": [200.0, 0.0],
            "net_return": [0.01, 0.0],
            "costs": [0.5, 0.0],
            "fees": [1.0, 0.0],
        }
    )
    orders = pl.DataFrame({"date": [MON, MON], "solution_id": ["core", "core"], "trade_weight": [0.1, -0.3]})
    (book,) = solution_books(performance, orders, BacktestKind.STATIC)
    assert (book.portfolio_id, book.kind, book.days) == ("core", BacktestKind.STATIC, (MON, TUE))
    np.testing.assert_allclose(book.turnover, [0.2, 0.0])
    np.testing.assert_allclose(book.costs, [0.0025, 0.0])
    np.testing.assert_allclose(book.fees, [0.005, 0.0])


def test_benchmark_is_the_benchmark_factor_bought_and_held():
    factors = pl.DataFrame(
        {
            "date": [MON, MON, TUE],
            "factor_id": ["SP500", "MTUM", "MTUM"],
            "ret": [0.02, 0.05, 0.07],
            "is_benchmark": [True, False, False],
        }
    )
    book = benchmark_book(factors, [MON, TUE])
    assert book.portfolio_id == "SP500"
    np.testing.assert_allclose(book.net_return, [0.02, 0.0])
    assert benchmark_book(factors.filter(~pl.col("is_benchmark")), [MON, TUE]) is None


def test_rows_pass_the_table_schema_with_uncomputable_statistics_as_null():
    one_day = Book("SP500", BacktestKind.BENCHMARK, (MON,), np.array([0.01]), *(np.zeros(1) for _ in range(3)))
    ew = equal_weight_book(_returns(), [MON, TUE, WED], cost_rate=0.0)
    rows = backtest_rows([one_day, ew], {}, MON, WED, seed=7)
    validate(rows, TABLES["twin.backtest_results"])
    assert rows.get_column("kind").to_list() == ["equal_weight", "benchmark"]
    assert rows.filter(pl.col("kind") == "benchmark").get_column("sharpe").is_null().all()
