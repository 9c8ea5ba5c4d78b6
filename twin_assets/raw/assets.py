"""The raw layer: what the firm observes each business day (W_{t+1}).

Each asset reads its days from the return source, validates them against the table's
schema and rules before anything is written (a bad input fails the run with a message
naming day, strategy and rule, and the warehouse keeps its last good state), then writes
them through the warehouse IO manager and re-checks what was stored. Strategy returns
must account for every business day asked for: a weekday without rows is stored empty
only when the firm's holiday calendar (calendar.yaml) says it has no data. Factor
returns are written first (strategy returns depend on them), so a bad factors file fails
the run before any table of its days changes.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from twin_assets.shared.common import check_written, daily_asset_args, daily_output, days_of
from twin_assets.shared.metadata import SHOWN, data_day_metadata
from twin_assets.shared.restatements import record_input_digests
from twin_model.contracts import (
    TABLES,
    missing_factor_days,
    unaccounted_days,
    unknown_position_strategies,
    validate,
    vanished_strategies,
)
from twin_model.data.market import market_regime as regime_of
from twin_model.errors import DataQualityError
from twin_resources.config import load_calendar
from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource
from twin_resources.sources import ReturnSource

MARKET_PRICES = TABLES["raw.market_prices"]
STRATEGY_RETURNS = TABLES["raw.strategy_returns"]
STRATEGY_POSITIONS = TABLES["raw.strategy_positions"]
FACTOR_RETURNS = TABLES["raw.factor_returns"]
MARKET_REGIME = TABLES["raw.market_regime"]
REGIME_HISTORY_DAYS = 420
"""Calendar days of closes read before a range: 252 closes for the drawdown, 200 for the trend."""

UNIVERSE_CONTINUOUS = "universe_continuous"
FACTORS_COMPLETE = "factors_complete"
ALPHA_OVER_CASH = (
    "no factors: alpha is measured over cash (a returns file's factors come from TWIN_FACTORS_FILE "
    "or strategies.yaml's source.factors_file)"
)
KNOWN_STRATEGIES = "known_strategies"
ACCOUNTING_HINT = (
    "a weekday without rows is accepted as empty only when calendar.yaml's holiday calendar lists it: "
    "'holidays' (an exchange calendar such as XNYS) or 'no_data_days' (the firm's own list)"
)


@dg.asset(
    **daily_asset_args(
        MARKET_PRICES,
        "Daily closes of the instruments the bundled strategies trade (20 S&P 500 stocks, five "
        "factor ETFs) and the benchmark (is_benchmark: the S&P 500 index, or the synthetic market). "
        "Empty for a returns file, which has neither.",
        {},
    )
)
def market_prices(context: dg.AssetExecutionContext, return_source: ReturnSourceResource, warehouse: WarehouseResource):
    days = days_of(context)
    source = return_source.source()
    frame = validate(source.market_prices(days[0], days[-1]), MARKET_PRICES, source.description)
    metadata = {
        **data_day_metadata(context, frame, days, "ticker"),
        "source": source.description,
    }
    yield daily_output(context, frame, days, warehouse.path, return_source.config_dir, metadata)
    record_input_digests(context, warehouse, MARKET_PRICES, frame, days)
    yield from check_written(warehouse, MARKET_PRICES, days, {})


@dg.asset(
    **daily_asset_args(
        FACTOR_RETURNS,
        "The factors each strategy's alpha is measured over: each factor's simple daily total return, "
        "one of them the benchmark (strategies.yaml factors.benchmark). Bundled: the S&P 500 (its index's "
        "price return plus the configured dividend yield) and the factor ETFs MTUM, QUAL, SIZE, USMV and "
        "VLUE (adjusted closes); synthetic: the generated market; a returns file: the factors file "
        "(TWIN_FACTORS_FILE), and without one no rows: alpha over cash.",
        {FACTORS_COMPLETE: "Every factor has a return on every day with strategy returns, from its first day."},
    )
)
def factor_returns(
    context: dg.AssetExecutionContext, return_source: ReturnSourceResource, warehouse: WarehouseResource
):
    days = days_of(context)
    source = return_source.source()
    origin = source.factor_origin()
    frame = validate(source.factor_returns(days[0], days[-1]), FACTOR_RETURNS, origin)
    starts = source.factor_starts()
    return_days = _return_days(source, days) if starts else []
    problems = missing_factor_days(frame, return_days, starts)
    if problems:
        raise DataQualityError(FACTOR_RETURNS.qualified_name, problems, origin)
    benchmark_return = source.benchmark_return()
    why_empty = dict.fromkeys(days, ALPHA_OVER_CASH) if benchmark_return is None else None
    metadata = {
        **data_day_metadata(context, frame, days, None, _factor_figures(benchmark_return), why_empty),
        "factors_from": origin,
        "alpha_over": "factors" if benchmark_return else "cash",
    }
    yield daily_output(context, frame, days, warehouse.path, return_source.config_dir, metadata)
    record_input_digests(context, warehouse, FACTOR_RETURNS, frame, days)
    yield from check_written(
        warehouse,
        FACTOR_RETURNS,
        days,
        {FACTORS_COMPLETE: lambda stored: missing_factor_days(stored, return_days, starts)},
    )


def _return_days(source: ReturnSource, days: list[dt.date]) -> list[dt.date]:
    """The days of the run on which the source has strategy returns (the file's rows as
    read: the returns' own asset validates them)."""
    dates = source.strategy_returns(days[0], days[-1]).get_column("date")
    return sorted(dates.unique().to_list())


def _factor_figures(benchmark_return: str | None):
    """A day's factors: how many, which is the benchmark and how its return is made; a
    day without them is alpha over cash."""

    def figures(_: dt.date, rows: pl.DataFrame) -> dict:
        if rows.height == 0:
            return {"factors": 0, "alpha_over": "cash"}
        benchmark = rows.filter(pl.col("is_benchmark")).get_column("factor_id").item()
        return {"factors": rows.height, "benchmark": benchmark, "benchmark_return": benchmark_return}

    return figures


@dg.asset(
    **daily_asset_args(
        STRATEGY_RETURNS,
        "Each strategy's simple daily return (net of its own trading costs) and whether it was "
        "available: the exogenous information W_{t+1} at strategy level. The universe is whatever "
        "the source delivers.",
        {UNIVERSE_CONTINUOUS: "No strategy disappears from one data day to the next without being marked unavailable."},
    ),
    deps=[dg.AssetDep(FACTOR_RETURNS.path)],
)
def strategy_returns(
    context: dg.AssetExecutionContext, return_source: ReturnSourceResource, warehouse: WarehouseResource
):
    days = days_of(context)
    source = return_source.source()
    frame = validate(source.strategy_returns(days[0], days[-1]), STRATEGY_RETURNS, source.description)
    holidays = load_calendar(Path(return_source.config_dir)).holiday_calendar()
    no_data = holidays.no_data_days(days[0], days[-1])
    with_data = set(frame.get_column("date").unique().to_list())
    unaccounted = unaccounted_days(days, with_data, source.span(), no_data, holidays.description)
    previous = _previous_universe(warehouse, days[0])
    problems = unaccounted + ([ACCOUNTING_HINT] if unaccounted else []) + vanished_strategies(frame, previous)
    if problems:
        raise DataQualityError(STRATEGY_RETURNS.qualified_name, problems, source.description)
    metadata = {
        **data_day_metadata(context, frame, days, "strategy_id", _unavailable_rows, no_data),
        **_empty_day_reasons(no_data, with_data, holidays.description),
        "source": source.description,
    }
    yield daily_output(context, frame, days, warehouse.path, return_source.config_dir, metadata)
    record_input_digests(context, warehouse, STRATEGY_RETURNS, frame, days)
    yield from check_written(
        warehouse, STRATEGY_RETURNS, days, {UNIVERSE_CONTINUOUS: lambda stored: vanished_strategies(stored, previous)}
    )


def _unavailable_rows(_: dt.date, rows: pl.DataFrame) -> dict:
    return {"unavailable_rows": rows.filter(~pl.col("available")).height}


def _empty_day_reasons(no_data: dict[dt.date, str], with_data: set[dt.date], calendar: str) -> dict:
    """Why each day stored empty has no data (the first ``SHOWN`` of them)."""
    empty = [f"{day}: {why}" for day, why in no_data.items() if day not in with_data]
    if not empty:
        return {}
    more = f"; and {len(empty) - SHOWN} more" if len(empty) > SHOWN else ""
    return {"empty_reason": "; ".join(empty[:SHOWN]) + more, "holiday_calendar": calendar}


def _previous_universe(warehouse: WarehouseResource, first_day: dt.date) -> tuple[dt.date, set[str]] | None:
    """The last data day before ``first_day`` and the strategies delivered on it."""
    last = warehouse.warehouse().last_date_before(STRATEGY_RETURNS, first_day)
    if last is None:
        return None
    ids = warehouse.read_history(STRATEGY_RETURNS.qualified_name, last, last, ["strategy_id"])
    return last, set(ids.get_column("strategy_id").to_list())


@dg.asset(
    **daily_asset_args(
        STRATEGY_POSITIONS,
        "What each bundled strategy holds over the day: weight per ticker as a fraction of the "
        "strategy's capital, decided at the previous close. Empty for a returns file or the "
        "synthetic source, so position-level risk is off there.",
        {KNOWN_STRATEGIES: "Every position belongs to a strategy with a return that day."},
    ),
    ins={"returns": dg.AssetIn(key=STRATEGY_RETURNS.path)},
)
def strategy_positions(
    context: dg.AssetExecutionContext,
    return_source: ReturnSourceResource,
    warehouse: WarehouseResource,
    returns: pl.DataFrame,
):
    days = days_of(context)
    source = return_source.source()
    frame = validate(source.strategy_positions(days[0], days[-1]), STRATEGY_POSITIONS, source.description)
    problems = unknown_position_strategies(frame, returns)
    if problems:
        raise DataQualityError(STRATEGY_POSITIONS.qualified_name, problems, source.description)
    metadata = {
        **data_day_metadata(context, frame, days, "strategy_id"),
        "source": source.description,
    }
    if not source.has_positions:
        metadata["positions_off"] = "this source has no positions: position-level risk is off"
    yield daily_output(context, frame, days, warehouse.path, return_source.config_dir, metadata)
    record_input_digests(context, warehouse, STRATEGY_POSITIONS, frame, days)
    yield from check_written(
        warehouse,
        STRATEGY_POSITIONS,
        days,
        {KNOWN_STRATEGIES: lambda stored: unknown_position_strategies(stored, returns)},
    )


@dg.asset(
    **daily_asset_args(
        MARKET_REGIME,
        "The market regime each business day, from the benchmark: trend (close vs its 200-day "
        "average), volatility state (21-day realised volatility: low < 12% <= normal < 25% <= high), "
        "their indicators and the suggested risk_scale of a solution's risk budget (1.0, halved in "
        "high volatility, x0.75 in a downtrend). Empty when the source has no benchmark.",
        {},
    ),
    deps=[dg.AssetDep(MARKET_PRICES.path)],
)
def market_regime(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    days = days_of(context)
    start = days[0] - dt.timedelta(days=REGIME_HISTORY_DAYS)
    prices = warehouse.read_history(MARKET_PRICES.qualified_name, start, days[-1])
    closes = prices.filter(pl.col("is_benchmark")).select("date", "close")
    frame = regime_of(closes, days) if closes.height else MARKET_REGIME.empty_frame()
    metadata = data_day_metadata(context, frame, days, None, _regime)
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(warehouse, MARKET_REGIME, days, {})


def _regime(_: dt.date, rows: pl.DataFrame) -> dict:
    return {"regime": rows.get_column("regime")[0]} if rows.height else {}


RAW_ASSETS = [market_prices, factor_returns, strategy_returns, strategy_positions, market_regime]
