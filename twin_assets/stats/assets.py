"""The stats layer: risk and performance statistics of every strategy, every day."""

import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.shared import history
from twin_assets.shared.common import RAW_FACTORS, RAW_RETURNS, check_written, daily_asset_args, daily_output, days_of
from twin_assets.shared.metadata import data_day_metadata
from twin_model.contracts import TABLES
from twin_model.statistics import strategy_statistics_table
from twin_resources.resources import TwinConfigResource, WarehouseResource

STATISTICS = TABLES["stats.strategy_statistics"]


@dg.asset(
    **daily_asset_args(
        STATISTICS,
        "Risk and performance statistics of each strategy over its last 21, 63 and 252 observed "
        "returns and since inception: annual return, volatility, Sharpe, Sortino, Calmar, max "
        "drawdown and its duration, historical and Cornish-Fisher VaR/CVaR 95%, skew, kurtosis, "
        "alpha and beta to the benchmark (a total return), probabilistic and deflated Sharpe, minimum track record "
        "length, hit rate, month-to-date P&L and its trough. Conventions: twin_model.statistics.",
        {},
    ),
    deps=[RAW_RETURNS, RAW_FACTORS],
)
def strategy_statistics(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource
):
    days = days_of(context)
    returns = history.strategy_returns(warehouse, None, days[-1])
    benchmark = history.benchmark(warehouse, None, days[-1])
    has_benchmark = benchmark.height > 0
    traded = set(returns.filter(pl.col("date").is_between(days[0], days[-1])).get_column("date").to_list())
    frames = statistics_days([day for day in days if day in traded], returns, benchmark)
    frame = pl.concat(frames) if frames else STATISTICS.empty_frame()
    metadata = {
        **data_day_metadata(context, frame, days, "strategy_id"),
        "benchmark": has_benchmark,
    }
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(warehouse, STATISTICS, days, {})


def statistics_days(days: list[dt.date], returns: pl.DataFrame, benchmark: pl.DataFrame) -> list[pl.DataFrame]:
    """Each day's statistics table from the returns (and benchmark, if any) up to it."""
    has_benchmark = benchmark.height > 0
    return [
        strategy_statistics_table(
            returns.filter(pl.col("date") <= day),
            benchmark.filter(pl.col("date") <= day) if has_benchmark else None,
            day,
        )
        for day in days
    ]
