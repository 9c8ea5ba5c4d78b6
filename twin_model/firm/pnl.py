"""The firm's daily profit and loss: what it earns on its solutions, less what it costs.

Per solution and day (rows of ``portfolio.solution_performance``): revenue is the
management fee as accrued plus the performance fee when crystallised (at a period end
or on redeemed units); the day's performance-fee accrual and the change in the accrued
balance are reported beside it, not as revenue. The firm's row (``solution_id`` FIRM)
adds the solutions up and carries the firm's costs, each a year's figure spread evenly
over the business days (weekdays) of that calendar year: fixed costs, a cost per strategy
in use (held by at least one solution at the day's close, counted once) and optional
pass-through expenses. A solution's row carries no cost (the firm's costs are not
allocated), so its profit is its revenue. ``profit = revenue - costs``; the year-to-date
sums run from the first business day of the calendar year. Pure polars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from twin_model.calendar import business_days
from twin_model.conventions import FIRM_TOTAL


@dataclass(frozen=True)
class FirmCosts:
    """The firm's costs a year (firm.yaml): fixed, per strategy in use, pass-through."""

    fixed_per_year: float = 0.0
    per_strategy_per_year: float = 0.0
    pass_through_per_year: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fixed_per_year", "per_strategy_per_year", "pass_through_per_year"):
            if getattr(self, name) < 0:
                raise ValueError(f"firm costs: {name} {getattr(self, name)} is negative")


def business_days_in_year(year: int) -> int:
    """Weekdays of the calendar year: the days a year's cost is spread over."""
    return len(business_days(dt.date(year, 1, 1), dt.date(year, 12, 31)))


def firm_pnl_rows(
    days: Sequence[dt.date], performance: pl.DataFrame, weights: pl.DataFrame, costs: FirmCosts
) -> pl.DataFrame:
    """The firm P&L of every one of ``days`` (ascending, from the first business day of
    their first year, so the year-to-date sums are whole): a row per solution with a
    performance row that day and the firm's row every day. ``performance`` and
    ``weights`` are the days' rows of ``portfolio.solution_performance`` and
    ``portfolio.solution_weights``."""
    held = weights.filter(pl.col("weight_close") != 0).select("date", "solution_id", "strategy_id")
    solutions = (
        performance.select(
            "date",
            "solution_id",
            "aum",
            "management_fee",
            performance_fee_crystallised="crystallised_fee",
            performance_fee_accrued="performance_fee_charge",
            performance_fee_balance_change=pl.col("performance_fee_charge") - pl.col("crystallised_fee"),
            performance_fee_balance="performance_fee_balance",
        )
        .join(held.group_by("date", "solution_id").agg(n_strategies=pl.len()), on=["date", "solution_id"], how="left")
        .with_columns(
            pl.col("n_strategies").fill_null(0).cast(pl.Int64),
            revenue=pl.col("management_fee") + pl.col("performance_fee_crystallised"),
            fixed_costs=pl.lit(0.0),
            strategy_costs=pl.lit(0.0),
            pass_through_expenses=pl.lit(0.0),
            costs=pl.lit(0.0),
        )
    )
    firm = _firm_rows(days, solutions, held, costs)
    rows = pl.concat([solutions.with_columns(profit=pl.col("revenue")).select(firm.columns), firm])
    year = pl.col("date").dt.year()
    ytd = [pl.col(c).cum_sum().over("solution_id", year).alias(f"{c}_ytd") for c in ("revenue", "costs", "profit")]
    return rows.sort("date", "solution_id").with_columns(ytd)


def _firm_rows(days: Sequence[dt.date], solutions: pl.DataFrame, held: pl.DataFrame, costs: FirmCosts) -> pl.DataFrame:
    """The firm's row of each day: the solutions summed, and the firm's costs."""
    per_day = {day: 1.0 / business_days_in_year(day.year) for day in days}
    calendar = pl.DataFrame(
        {"date": list(days), "share": [per_day[d] for d in days]}, schema={"date": pl.Date, "share": pl.Float64}
    )
    sums = solutions.group_by("date").agg(
        pl.col("aum", "management_fee", "performance_fee_crystallised", "performance_fee_accrued").sum(),
        pl.col("performance_fee_balance_change", "performance_fee_balance", "revenue").sum(),
    )
    used = held.group_by("date").agg(n_strategies=pl.col("strategy_id").n_unique().cast(pl.Int64))
    firm = (
        calendar.join(sums, on="date", how="left")
        .join(used, on="date", how="left")
        .with_columns(pl.exclude("date", "share").fill_null(0))
        .with_columns(
            solution_id=pl.lit(FIRM_TOTAL),
            fixed_costs=costs.fixed_per_year * pl.col("share"),
            strategy_costs=costs.per_strategy_per_year * pl.col("n_strategies") * pl.col("share"),
            pass_through_expenses=costs.pass_through_per_year * pl.col("share"),
        )
        .with_columns(costs=pl.col("fixed_costs") + pl.col("strategy_costs") + pl.col("pass_through_expenses"))
        .with_columns(profit=pl.col("revenue") - pl.col("costs"))
    )
    return firm.select(
        "date",
        "solution_id",
        "aum",
        "n_strategies",
        "management_fee",
        "performance_fee_crystallised",
        "performance_fee_accrued",
        "performance_fee_balance_change",
        "performance_fee_balance",
        "revenue",
        "fixed_costs",
        "strategy_costs",
        "pass_through_expenses",
        "costs",
        "profit",
    )
