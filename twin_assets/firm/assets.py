"""The firm layer: what the firm earns on its solutions and what it costs, every day.

The fees are charged inside the solution step (``portfolio.solution_performance``), so the
graph stays acyclic; ``firm.firm_pnl`` adds them up per day and subtracts the firm's costs
(``twin_model.firm.pnl``). Its year-to-date sums are recomputed from the solutions' rows of
the year, so a day's row depends on the solution level's rows alone, not on its own
earlier rows.
"""

import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.shared.common import check_written, daily_asset_args, daily_output, days_of
from twin_assets.shared.metadata import add_daily_metadata, run_metadata
from twin_model.calendar import business_days
from twin_model.contracts import TABLES, profit_problems, revenue_problems
from twin_model.conventions import FIRM_TOTAL
from twin_model.firm import firm_pnl_rows
from twin_resources.resources import TwinConfigResource, WarehouseResource

FIRM_PNL = TABLES["firm.firm_pnl"]
PERFORMANCE = TABLES["portfolio.solution_performance"]
WEIGHTS = TABLES["portfolio.solution_weights"]


@dg.asset(
    **daily_asset_args(
        FIRM_PNL,
        "The firm's profit and loss per day, per solution and in total (solution_id FIRM): revenue (management "
        "fees as accrued, performance fees when crystallised, the performance-fee accrual and the change in its "
        "balance beside them), costs (fixed costs and per-strategy costs for the strategies in use, pro rata per "
        "business day, and pass-through expenses; on the FIRM row), profit, and year-to-date sums.",
        {
            "revenue_matches_fees": "Each solution's revenue is its management fee plus its crystallised "
            "performance fee in portfolio.solution_performance; the firm's is their sum.",
            "profit_is_revenue_less_costs": "profit = revenue - costs, costs = fixed + per-strategy + pass-through.",
        },
    ),
    deps=[dg.AssetDep(PERFORMANCE.path), dg.AssetDep(WEIGHTS.path)],
)
def firm_pnl(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    days = days_of(context)
    config = twin_config.validated()
    start = max(dt.date(days[0].year, 1, 1), config.calendar.first_business_day)
    performance = warehouse.read_history(PERFORMANCE.qualified_name, start, days[-1])
    weights = warehouse.read_history(
        WEIGHTS.qualified_name, start, days[-1], ["date", "solution_id", "strategy_id", "weight_close"]
    )
    rows = firm_pnl_rows(business_days(start, days[-1]), performance, weights, config.firm.costs())
    frame = rows.filter(pl.col("date").is_between(days[0], days[-1]))
    add_daily_metadata(context, frame, days, "solution_id", _day_figures)
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, run_metadata(days))
    written = performance.filter(pl.col("date").is_between(days[0], days[-1]))
    yield from check_written(
        warehouse,
        FIRM_PNL,
        days,
        {
            "revenue_matches_fees": lambda stored: revenue_problems(stored, written),
            "profit_is_revenue_less_costs": profit_problems,
        },
    )


def _day_figures(day: dt.date, rows: pl.DataFrame) -> dict:
    """The firm's revenue, costs and profit of the day and of the year to date."""
    firm = rows.filter(pl.col("solution_id") == FIRM_TOTAL)
    if firm.height == 0:
        return {}
    row = firm.row(0, named=True)
    names = ("revenue", "costs", "profit", "revenue_ytd", "profit_ytd", "performance_fee_balance")
    return {name: float(row[name]) for name in names}
