"""Trailing windows read from the warehouse as date-range queries (not as Dagster
partition mappings with long offsets), and the state a self-dependent asset carries."""

import datetime as dt

import dagster as dg
import polars as pl

from twin_model.calendar import previous_business_day
from twin_model.contracts import TableSpec
from twin_model.data.market import benchmark_returns
from twin_model.strategy import benchmark_factors
from twin_resources.resources import WarehouseResource


def strategy_returns(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    return warehouse.read_history("raw.strategy_returns", start, end)


def benchmark(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    """Benchmark simple returns ``date, ret`` from ``start`` to ``end`` (empty without one)."""
    first = start - dt.timedelta(days=10) if start else None  # the close before start
    prices = warehouse.read_history("raw.market_prices", first, end)
    returns = benchmark_returns(prices)
    return returns.filter(pl.col("date") >= start) if start else returns


def factor_returns(warehouse: WarehouseResource, start: dt.date | None, end: dt.date) -> pl.DataFrame:
    """Factor returns ``date, factor_id, ret, is_benchmark`` from ``start`` to ``end`` (empty
    without any), the long frame ``twin_model.strategy.return_window`` takes.

    raw.factor_returns (the S&P 500 and the five factor ETFs, or TWIN_FACTORS_FILE) replaces
    this: here the benchmark alone, from raw.market_prices' benchmark closes, named by its
    ticker (``SP500`` on the bundled source) and flagged ``is_benchmark``.
    """
    first = start - dt.timedelta(days=10) if start else None
    prices = warehouse.read_history("raw.market_prices", first, end)
    tickers = prices.filter(pl.col("is_benchmark")).get_column("ticker").unique().sort().to_list()
    returns = benchmark_returns(prices)
    returns = returns.filter(pl.col("date") >= start) if start else returns
    return benchmark_factors(returns, tickers[0] if tickers else "benchmark")


def previous_state(warehouse: WarehouseResource, spec: TableSpec, first_day: dt.date) -> tuple[pl.DataFrame, bool]:
    """The state of ``spec`` on the business day before ``first_day``, and whether this is
    a cold start (no earlier state at all).

    Raises ``dg.Failure`` when earlier state exists but the previous business day is
    missing: a continuing history never skips a day.
    """
    last = warehouse.warehouse().last_date_before(spec, first_day)
    if last is None:
        return spec.empty_frame(), True
    wanted = previous_business_day(first_day)
    if last != wanted:
        raise dg.Failure(
            description=(
                f"{spec.qualified_name}: materialise {wanted} first: the state carried into {first_day} "
                f"comes from the previous business day, and the latest state stored is {last}"
            )
        )
    return warehouse.read_history(spec.qualified_name, last, last), False
