"""The firm layer's tables, and the rules its P&L must satisfy against the solutions'."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.conventions import FIRM_TOTAL

TOL = 1e-6
"""Slack (money) on the firm P&L's identities: sums over a few solutions of daily fees."""


class FirmPnl(pa.DataFrameModel):
    """firm.firm_pnl: per day, each solution's revenue and the firm's (``solution_id``
    FIRM) revenue, costs and profit, in money (``twin_model.firm.pnl``).

    ``revenue = management_fee + performance_fee_crystallised``; ``costs = fixed_costs +
    strategy_costs + pass_through_expenses`` (on the FIRM row only: 0 on a solution's);
    ``profit = revenue - costs``; the ``_ytd`` columns sum the calendar year to date.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False, description="A solution, or FIRM for the firm's total.")
    aum: pl.Float64 = pa.Field(ge=0, description="AUM (NAV) at the close, money (FIRM: summed).")
    n_strategies: pl.Int64 = pa.Field(
        ge=0, description="Strategies held at the close (FIRM: distinct, across solutions)."
    )
    management_fee: pl.Float64 = pa.Field(ge=0, description="Management fee accrued on the day, money: revenue.")
    performance_fee_crystallised: pl.Float64 = pa.Field(
        ge=0, description="Performance fee crystallised on the day, money: revenue."
    )
    performance_fee_accrued: pl.Float64 = pa.Field(
        description="The day's performance-fee accrual (negative: written back), money: not revenue."
    )
    performance_fee_balance_change: pl.Float64 = pa.Field(
        description="Change in the accrued performance-fee balance (accrued less crystallised), money."
    )
    performance_fee_balance: pl.Float64 = pa.Field(ge=0, description="Accrued performance fee at the close, money.")
    revenue: pl.Float64 = pa.Field(description="management_fee + performance_fee_crystallised, money.")
    fixed_costs: pl.Float64 = pa.Field(ge=0, description="Fixed costs a year / business days in the year, money.")
    strategy_costs: pl.Float64 = pa.Field(
        ge=0, description="Cost per strategy a year x strategies in use / business days in the year, money."
    )
    pass_through_expenses: pl.Float64 = pa.Field(
        ge=0, description="Pass-through expenses a year / business days in the year, money."
    )
    costs: pl.Float64 = pa.Field(ge=0, description="fixed_costs + strategy_costs + pass_through_expenses, money.")
    profit: pl.Float64 = pa.Field(description="revenue - costs, money.")
    revenue_ytd: pl.Float64 = pa.Field(description="Revenue since the calendar year began, money.")
    costs_ytd: pl.Float64 = pa.Field(ge=0, description="Costs since the calendar year began, money.")
    profit_ytd: pl.Float64 = pa.Field(description="Profit since the calendar year began, money.")

    class Config:
        strict = True
        unique = ["date", "solution_id"]

    @pa.dataframe_check(name="one_firm_row_a_day")
    @classmethod
    def one_firm_row_a_day(cls, data: PolarsData) -> pl.LazyFrame:
        firm_rows = (pl.col("solution_id") == FIRM_TOTAL).sum().over("date")
        return data.lazyframe.select(firm_rows == 1)


def _problems(frame: pl.DataFrame, bad: pl.Expr, problem: pl.Expr) -> list[str]:
    rows = frame.filter(bad).with_columns(problem=problem)
    return [f"date={r['date']}, solution_id={r['solution_id']}: {r['problem']}" for r in rows.iter_rows(named=True)]


def revenue_problems(pnl: pl.DataFrame, performance: pl.DataFrame) -> list[str]:
    """Each solution's revenue is its management fee plus its crystallised performance fee
    of ``portfolio.solution_performance``, and the firm's is the sum over its solutions."""
    fees = performance.select("date", "solution_id", fees=pl.col("management_fee") + pl.col("crystallised_fee"))
    firm = fees.group_by("date").agg(pl.col("fees").sum()).with_columns(solution_id=pl.lit(FIRM_TOTAL))
    expected = pl.concat([fees, firm.select(fees.columns)])
    joined = pnl.join(expected, on=["date", "solution_id"], how="full", coalesce=True)
    bad = pl.col("fees").is_null() | pl.col("revenue").is_null() | ((pl.col("revenue") - pl.col("fees")).abs() > TOL)
    firm_without_solutions = (pl.col("solution_id") == FIRM_TOTAL) & pl.col("fees").is_null() & (pl.col("revenue") == 0)
    return _problems(
        joined,
        bad & ~firm_without_solutions,
        pl.format("revenue {} but the solutions' fees (management + crystallised) are {}", "revenue", "fees"),
    )


def profit_problems(pnl: pl.DataFrame) -> list[str]:
    """``profit = revenue - costs`` and ``costs = fixed + strategy + pass-through`` on every row."""
    costs = pl.col("fixed_costs") + pl.col("strategy_costs") + pl.col("pass_through_expenses")
    bad = ((pl.col("profit") - pl.col("revenue") + pl.col("costs")).abs() > TOL) | (
        (pl.col("costs") - costs).abs() > TOL
    )
    return _problems(
        pnl, bad, pl.format("profit {} != revenue {} - costs {} (cost lines {})", "profit", "revenue", "costs", costs)
    )
