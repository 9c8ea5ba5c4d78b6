"""The firm layer's tables, and the rules its P&L must satisfy against the solutions'."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.conventions import FIRM_TOTAL, SolutionDecision

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


class FirmProjections(pa.DataFrameModel):
    """firm.firm_projections: the month-end Monte Carlo projection of t
    (``twin_model.firm.projections``), per solution and the firm (FIRM), per month ahead.

    A solution's rows carry no cost (``cost`` 0, ``profit = revenue``); the firm's sum AUM,
    revenue and profit over the solutions path by path before the percentiles, and carry
    ``p_loss_year`` and ``breakeven_aum`` (null on a solution's rows).
    """

    date: pl.Date = pa.Field(nullable=False, description="t, the month end projected from.")
    solution_id: pl.String = pa.Field(nullable=False, description="A solution, or FIRM for the firm's total.")
    months_ahead: pl.Int64 = pa.Field(ge=1, description="Month ahead (21 business days each), 1 = the next.")
    aum_p05: pl.Float64 = pa.Field(ge=0, description="5th percentile over paths of AUM at the month's end, money.")
    aum_p50: pl.Float64 = pa.Field(ge=0, description="Median over paths of AUM at the month's end, money.")
    aum_p95: pl.Float64 = pa.Field(ge=0, description="95th percentile over paths of AUM at the month's end, money.")
    revenue_p05: pl.Float64 = pa.Field(
        ge=0, description="5th percentile of the month's revenue (management fee + crystallised fee), money."
    )
    revenue_p50: pl.Float64 = pa.Field(ge=0, description="Median of the month's revenue, money.")
    revenue_p95: pl.Float64 = pa.Field(ge=0, description="95th percentile of the month's revenue, money.")
    cost: pl.Float64 = pa.Field(
        ge=0,
        description="The firm's costs of the month (fixed, per strategy in use at t, pass-through; pro rata per "
        "business day; deterministic), money; 0 on a solution's row.",
    )
    profit_p05: pl.Float64 = pa.Field(description="5th percentile of the month's revenue - cost, money.")
    profit_p50: pl.Float64 = pa.Field(description="Median of the month's revenue - cost, money.")
    profit_p95: pl.Float64 = pa.Field(description="95th percentile of the month's revenue - cost, money.")
    p_loss_year: pl.Float64 = pa.Field(
        nullable=True, ge=0, le=1, description="FIRM: share of paths whose summed firm profit over the months is < 0."
    )
    breakeven_aum: pl.Float64 = pa.Field(
        nullable=True,
        ge=0,
        description="FIRM: AUM_t x costs / E[revenue] over the months ahead, money (null when "
        "the expected revenue is not positive; revenue assumed linear in AUM).",
    )

    class Config:
        strict = True
        unique = ["date", "solution_id", "months_ahead"]

    @pa.dataframe_check(name="percentiles_ordered")
    @classmethod
    def percentiles_ordered(cls, data: PolarsData) -> pl.LazyFrame:
        ordered = [
            (pl.col(f"{n}_p05") <= pl.col(f"{n}_p50") + TOL) & (pl.col(f"{n}_p50") <= pl.col(f"{n}_p95") + TOL)
            for n in ("aum", "revenue", "profit")
        ]
        return data.lazyframe.select(pl.all_horizontal(ordered))

    @pa.dataframe_check(name="firm_only_columns")
    @classmethod
    def firm_only_columns(cls, data: PolarsData) -> pl.LazyFrame:
        firm = pl.col("solution_id") == FIRM_TOTAL
        filled = pl.col("p_loss_year").is_not_null()
        return data.lazyframe.select((firm & filled) | (~firm & filled.not_() & pl.col("breakeven_aum").is_null()))


class FirmDecisions(pa.DataFrameModel):
    """firm.firm_decisions: the initiate-solution decision of each decision day
    (``twin_model.firm.decisions``; config/firm.yaml ``new_solution``)."""

    date: pl.Date = pa.Field(nullable=False, description="The decision day (a month end).")
    decision: pl.String = pa.Field(
        isin=[d.value for d in SolutionDecision], description="launch (propose a solution) or hold."
    )
    template: pl.String = pa.Field(description="The solution of solutions.yaml the launch would copy.")
    n_unused_pool_strategies: pl.Int64 = pa.Field(
        ge=0, description="Strategies in the alpha pool at the day's close that no solution holds, count."
    )
    projected_profit_p50: pl.Float64 = pa.Field(
        nullable=True,
        description="Median over paths of the launch's revenue less its added strategies' costs over the "
        "projection horizon, money (null: the template holds no target to project).",
    )
    reason: pl.String = pa.Field(description="Why: the rule that held the launch back, or what allowed it.")

    class Config:
        strict = True
        unique = ["date"]


def projection_cost_problems(rows: pl.DataFrame, expected_cost: dict) -> list[str]:
    """Each month ahead of each day has its rows; the FIRM rows' cost is the config's costs
    pro rata (``expected_cost[date]``: the months' costs, ``[M]``) and a solution's is 0."""
    problems = []
    for day, costs in expected_cost.items():
        got = rows.filter(pl.col("date") == day)
        firm = got.filter(pl.col("solution_id") == FIRM_TOTAL).sort("months_ahead")
        if firm.get_column("months_ahead").to_list() != list(range(1, len(costs) + 1)):
            problems.append(f"date={day}: FIRM rows for months {firm.get_column('months_ahead').to_list()}")
            continue
        for month, (stored, want) in enumerate(zip(firm.get_column("cost"), costs), start=1):
            if abs(stored - want) > TOL:
                problems.append(f"date={day}, months_ahead={month}: FIRM cost {stored} but the config gives {want}")
        bad = got.filter((pl.col("solution_id") != FIRM_TOTAL) & (pl.col("cost") != 0))
        problems += [f"date={day}, solution_id={s}: a solution's cost is not 0" for s in bad.get_column("solution_id")]
    return problems


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
