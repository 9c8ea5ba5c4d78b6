"""The walk-forward back-test's measurements: what each portfolio earned over the same days.

A portfolio's days are a ``Book``: its net return r_t, one-way turnover
tau_t = 1/2 sum_i |w_i,target - w_i,held| and trading costs c_t and fees f_t as fractions
of the day's starting assets. The twin's solutions (the month-end search's choice in
force) and the same solutions on their configured policy come from the solution step's
own tables (``solution_books``); the baselines are built here from realised returns:
equal weight of every strategy rebalanced monthly (``equal_weight_book``) and the
benchmark bought and held (``benchmark_book``). ``summarise`` turns a book into one row
of ``twin.backtest_results`` with the statistics' pinned conventions
(``twin_model.statistics``): geometric annual return, ddof-1 volatility x sqrt(252),
Sharpe of the excess return over the cash rate, max drawdown from wealth 1; turnover,
costs and fees annualised as 252 x their daily mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model import statistics
from twin_model.conventions import PERIODS_PER_YEAR, BacktestKind


@dataclass(frozen=True)
class Book:
    """One portfolio over the back-test's ``days`` (arrays aligned with them)."""

    portfolio_id: str
    kind: BacktestKind
    days: tuple[dt.date, ...]
    net_return: np.ndarray
    turnover: np.ndarray
    costs: np.ndarray
    fees: np.ndarray


def solution_books(performance: pl.DataFrame, orders: pl.DataFrame, kind: BacktestKind) -> list[Book]:
    """A book per solution of ``portfolio.solution_performance`` rows (``net_return``,
    ``costs`` and ``fees`` over ``aum_start``) and ``portfolio.rebalance_orders`` rows
    (turnover 1/2 sum |trade_weight| of the day; 0 on a day without orders)."""
    traded = orders.group_by("date", "solution_id").agg((pl.col("trade_weight").abs().sum() / 2).alias("turnover"))
    rows = (
        performance.join(traded, on=["date", "solution_id"], how="left")
        .with_columns(
            pl.col("turnover").fill_null(0.0),
            _per_start_assets("costs"),
            _per_start_assets("fees"),
        )
        .sort("solution_id", "date")
    )
    return [
        Book(
            solution,
            kind,
            tuple(part.get_column("date").to_list()),
            part.get_column("net_return").to_numpy(),
            part.get_column("turnover").to_numpy(),
            part.get_column("costs").to_numpy(),
            part.get_column("fees").to_numpy(),
        )
        for (solution,), part in rows.partition_by("solution_id", as_dict=True, maintain_order=True).items()
    ]


def _per_start_assets(column: str) -> pl.Expr:
    """``column / aum_start`` (0 for a solution that started the day with nothing)."""
    return pl.when(pl.col("aum_start") > 0).then(pl.col(column) / pl.col("aum_start")).otherwise(0.0).alias(column)


def equal_weight_book(returns: pl.DataFrame, days: Sequence[dt.date], cost_rate: float) -> Book:
    """Every strategy equally weighted, rebalanced at the close before each month's first
    business day of ``days`` (and held from the close before the first day).

    ``returns`` are ``raw.strategy_returns`` rows (``ret`` null when unavailable), from the
    business day before ``days[0]`` on. The universe at a rebalance is the strategies with
    a return on that close; between rebalances the weights drift,
    ``w_i <- w_i (1 + r_i) / (1 + R_t)`` with ``R_t = sum_i w_i r_i`` (an unavailable
    return counts as 0). A rebalance trades ``sum_i |w_new - w_drifted|`` at
    ``cost_rate`` per unit traded, charged on the close it trades: the day's net return
    is ``(1 + R_t)(1 - c_t) - 1``. The first day's holdings are taken as given (no trade).
    """
    wide = returns.pivot(on="strategy_id", index="date", values="ret").sort("date")
    ids = [c for c in wide.columns if c != "date"]
    by_day = {row[0]: np.array(row[1:], dtype=float) for row in wide.iter_rows()}
    before = [d for d in by_day if d < days[0]]
    weights = _equal(by_day[before[-1]] if before else by_day.get(days[0], np.full(len(ids), np.nan)))
    net, turnover, costs = (np.zeros(len(days)) for _ in range(3))
    for k, day in enumerate(days):
        r = by_day.get(day, np.full(len(ids), np.nan))
        day_return = float(np.nansum(weights * r))
        weights = weights * (1.0 + np.nan_to_num(r)) / (1.0 + day_return)
        if k + 1 < len(days) and days[k + 1].month != day.month:
            target = _equal(r)
            turnover[k] = np.abs(target - weights).sum() / 2
            costs[k] = cost_rate * 2 * turnover[k]
            weights = target
        net[k] = (1.0 + day_return) * (1.0 - costs[k]) - 1.0
    return Book("equal_weight", BacktestKind.EQUAL_WEIGHT, tuple(days), net, turnover, costs, np.zeros(len(days)))


def _equal(observed: np.ndarray) -> np.ndarray:
    """1/N on the strategies with an observed (non-NaN) return, 0 elsewhere."""
    present = ~np.isnan(observed)
    return np.where(present, 1.0 / max(int(present.sum()), 1), 0.0)


def benchmark_book(factor_returns: pl.DataFrame, days: Sequence[dt.date]) -> Book | None:
    """The benchmark of ``raw.factor_returns`` (its ``is_benchmark`` rows) bought and held
    over ``days``; a day without a benchmark row earns 0. None without any benchmark."""
    rows = factor_returns.filter(pl.col("is_benchmark"))
    if rows.is_empty():
        return None
    ids = rows.get_column("factor_id").unique().sort().to_list()
    by_day = dict(rows.select("date", "ret").iter_rows())
    net = np.array([by_day.get(day, 0.0) for day in days], dtype=float)
    zeros = np.zeros(len(days))
    return Book("/".join(ids), BacktestKind.BENCHMARK, tuple(days), net, zeros, zeros, zeros)


def summarise(book: Book, risk_free: Mapping[dt.date, float]) -> dict[str, object]:
    """One ``twin.backtest_results`` row of ``book``; ``risk_free`` is each day's cash
    return (the ACT/365 accrual of the cash rate from the previous business day)."""
    r = book.net_return
    excess = r - np.array([risk_free.get(day, 0.0) for day in book.days])
    n = len(r)
    annual = PERIODS_PER_YEAR / n if n else np.nan
    return {
        "portfolio_id": book.portfolio_id,
        "kind": book.kind.value,
        "days": n,
        "total_return": float(np.prod(1.0 + r) - 1.0) if n else np.nan,
        "annual_return": statistics.annual_return(r),
        "annual_volatility": statistics.annual_volatility(r),
        "sharpe": statistics.sharpe_ratio(excess),
        "max_drawdown": statistics.max_drawdown(r),
        "turnover": float(book.turnover.sum() * annual),
        "trading_costs": float(book.costs.sum() * annual),
        "fees": float(book.fees.sum() * annual),
    }


def backtest_rows(
    books: Sequence[Book], risk_free: Mapping[dt.date, float], start: dt.date, end: dt.date, seed: int
) -> pl.DataFrame:
    """The ``twin.backtest_results`` rows of one back-test over ``start``..``end``: one per
    book, dated ``end`` (the back-test's as-of), ordered by kind then portfolio; a
    statistic that is not computable (NaN) is stored as null."""
    order = {kind: k for k, kind in enumerate(BacktestKind)}
    rows = [
        {"date": end, "start": start, **summarise(book, risk_free), "seed": seed}
        for book in sorted(books, key=lambda b: (order[b.kind], b.portfolio_id))
    ]
    return pl.DataFrame(rows).fill_nan(None)
