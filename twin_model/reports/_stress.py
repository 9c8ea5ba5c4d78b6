"""Stress tests of today's book: historical windows replayed with today's weights over
the strategies' realised returns, and parametric market shocks through each strategy's
posterior beta to the benchmark."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from twin_model.reports._measures import drawdown


@dataclass(frozen=True)
class StressWindow:
    name: str
    start: dt.date
    end: dt.date


HISTORICAL_WINDOWS = (
    StressWindow("2018 Q4 sell-off", dt.date(2018, 10, 1), dt.date(2018, 12, 24)),
    StressWindow("COVID crash", dt.date(2020, 2, 19), dt.date(2020, 3, 23)),
    StressWindow("2022 rate shock", dt.date(2022, 1, 3), dt.date(2022, 10, 12)),
)
"""Dated market stresses; only those inside the data are applied."""
MARKET_SHOCKS = (-0.10, -0.20)
"""Parametric moves of the benchmark (S&P 500)."""


def windows_inside(returns: pl.DataFrame, windows=HISTORICAL_WINDOWS) -> list[StressWindow]:
    """The windows whose first and last day lie within the returns' dates."""
    if returns.height == 0:
        return []
    first, last = returns.get_column("date").min(), returns.get_column("date").max()
    return [w for w in windows if first <= w.start and w.end <= last]


def historical_stress(weights: pl.DataFrame, returns: pl.DataFrame, windows=HISTORICAL_WINDOWS) -> pl.DataFrame:
    """solution_id, window, start, end, book_return, max_drawdown, weight_covered:
    ``weights`` (solution_id, strategy_id, weight) held fixed through each window inside
    the data, the book's daily return sum_i w_i r_it (an unobserved return counts 0)
    compounded, its worst drawdown within the window, and the share of the book's weight
    whose strategy has returns in the window."""
    schema = {
        "solution_id": pl.String,
        "window": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "book_return": pl.Float64,
        "max_drawdown": pl.Float64,
        "weight_covered": pl.Float64,
    }
    rows = []
    for window in windows_inside(returns, windows):
        inside = returns.filter(pl.col("date").is_between(window.start, window.end))
        observed = inside.drop_nulls("ret").select("strategy_id").unique()
        daily = (
            weights.join(inside.select("date", "strategy_id", "ret"), on="strategy_id", how="inner")
            .group_by("solution_id", "date")
            .agg(ret=(pl.col("weight") * pl.col("ret").fill_null(0.0)).sum())
        )
        paths = drawdown(daily, "solution_id")
        for (solution,), book in weights.group_by("solution_id", maintain_order=True):
            path = paths.filter(pl.col("solution_id") == solution)
            total = float(book.get_column("weight").sum())
            covered = float(book.join(observed, on="strategy_id").get_column("weight").sum())
            rows.append(
                {
                    "solution_id": solution,
                    "window": window.name,
                    "start": window.start,
                    "end": window.end,
                    "book_return": float(path.get_column("wealth")[-1]) - 1.0 if path.height else 0.0,
                    "max_drawdown": min(0.0, float(path.get_column("drawdown").min())) if path.height else 0.0,
                    "weight_covered": covered / total if total else 0.0,
                }
            )
    return pl.DataFrame(rows, schema=schema).sort("window", "solution_id")


def parametric_shocks(weights: pl.DataFrame, betas: pl.DataFrame, shocks=MARKET_SHOCKS) -> pl.DataFrame:
    """solution_id, shock, book_beta, book_return: a benchmark move ``shock`` through
    each strategy's beta (strategy_id, beta; a strategy without one counts 0):
    book_return = shock x sum_i w_i beta_i."""
    book = (
        weights.join(betas, on="strategy_id", how="left")
        .group_by("solution_id")
        .agg(book_beta=(pl.col("weight") * pl.col("beta").fill_null(0.0)).sum())
    )
    shocked = book.join(pl.DataFrame({"shock": list(shocks)}), how="cross")
    return shocked.with_columns(book_return=pl.col("shock") * pl.col("book_beta")).sort("solution_id", "shock")


def todays_weights(solution_weights: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """solution_id, strategy_id, weight: the closing weights on ``as_of`` (non-zero)."""
    return solution_weights.filter((pl.col("date") == as_of) & (pl.col("weight_close") != 0)).select(
        "solution_id", "strategy_id", weight="weight_close"
    )
