"""The walk-forward back-test: ``twin.backtest_results``, what the twin's own decisions
earned over a span, next to baselines on the same days.

`twin backtest --start --end` first materialises what the span lacks below the solutions
(the raw history, the strategy layers); this asset then walks the span in memory in batch
mode (twin_assets/twin/batch.py: month by month the solution level on realised returns,
each complete month's search from the state it reached, the next month on the policy it
chose, and the firm's initiate-solution decision) and measures it. Per solution: the twin
as it walked (``twin``); the same solution on its configured policy with no search,
stepped by the same daily step from the same state at the close before ``start``
(``solution_inputs.step_solutions(configured_only=True)``); the same configured policies
with the alpha pool's entry bar tuned walk-forward on realised returns (``pool_tuned``,
twin_assets/twin/pool_tuning.py); the solution the walk's first ``launch`` decision
starts (``launched``, twin_assets/twin/launches.py); and the baselines: equal weight of
every strategy rebalanced monthly (charged the cost model's linear rate), and the
benchmark bought and held. The static and pool-tuned runs do not depend on the walk: they
run beside it in the month-end search's worker processes (twin_assets/twin/baselines.py,
``TWIN_WORKERS``). Unpartitioned (a back-test is one span); a back-test replaces
the rows of its end date. Survivorship: the bundled strategies are 2022's survivors,
which flatters every strategy-based row.
"""

import datetime as dt

import dagster as dg
import numpy as np
import polars as pl

from twin_assets.shared.common import DUCKDB_POOL, OWNER, check_stored, layer_code_version, provenance
from twin_assets.shared.metadata import preview
from twin_assets.shared.partitions import CADENCE_TAG, ON_DEMAND_CADENCE, firm_calendar
from twin_assets.twin import batch
from twin_assets.twin.baselines import Baselines
from twin_assets.twin.launches import Launch, first_launch
from twin_model.calendar import business_days, previous_business_day
from twin_model.contracts import TABLES, validate
from twin_model.conventions import BacktestKind
from twin_model.parallel import worker_pool
from twin_model.twin.backtest import backtest_rows, benchmark_book, equal_weight_book, solution_books
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource
from twin_resources.runtime import worker_count

RESULTS = TABLES["twin.backtest_results"]
PERFORMANCE, ORDERS = TABLES["portfolio.solution_performance"], TABLES["portfolio.rebalance_orders"]
POOL = TABLES["alpha.alpha_pool"]
READS = (
    "raw.strategy_returns",
    "raw.factor_returns",
    "raw.strategy_positions",
    "raw.market_regime",
    "models.strategy_posteriors",
    "models.strategy_forecasts",
    "stats.strategy_statistics",
    "alpha.alpha_pool",
)
"""The stored layers the walk and the baselines read (the solutions are walked, not read)."""
EVERY_PORTFOLIO = "every_portfolio_measured"
SHOWN_COLUMNS = ["kind", "portfolio_id", "annual_return", "annual_volatility", "sharpe", "max_drawdown", "turnover"]


class BacktestConfig(dg.Config):
    """The back-test's span (ISO dates); both ends are business days the warehouse covers."""

    start: str
    end: str


@dg.asset(
    key=dg.AssetKey(RESULTS.path),
    description=(
        "Walk-forward back-test over a span (run config start, end), walked in memory (batch mode): each solution as "
        "the twin ran it (month by month on realised returns, each month on the policy the previous month end's search "
        "chose from the state the twin had reached), on its static configuration without search, and "
        "with the alpha pool's entry bar tuned walk-forward on realised returns (config/twin.yaml backtest), the "
        "solution the walk's first launch decision starts (a copy of its template from the next day), "
        "next to equal weight of every strategy (monthly rebalance) and the benchmark (S&P 500 total return for the "
        "bundled firm): annual return, volatility, Sharpe over cash, max drawdown, turnover, trading costs and fees. "
        "The bundled strategies are 2022's survivors (survivorship bias flatters them)."
    ),
    group_name="twin",
    tags={CADENCE_TAG: ON_DEMAND_CADENCE},
    pool=DUCKDB_POOL,
    owners=[OWNER],
    kinds={"duckdb", "polars", "numpy"},
    code_version=layer_code_version("twin"),
    metadata={"dagster/table_name": RESULTS.qualified_name, "dagster/column_schema": column_schema(RESULTS)},
    deps=[TABLES[name].path for name in READS],
    check_specs=[
        dg.AssetCheckSpec(
            "rows_valid", asset=dg.AssetKey(RESULTS.path), blocking=True, description="The rows pass the schema."
        ),
        dg.AssetCheckSpec(
            EVERY_PORTFOLIO,
            asset=dg.AssetKey(RESULTS.path),
            blocking=True,
            description="Every solution of the span has a twin, a static and a pool_tuned row over its days; "
            "a launched solution one over its days from its launch; equal weight one over every day.",
        ),
    ],
)
def backtest_results(
    context: dg.AssetExecutionContext,
    config: BacktestConfig,
    warehouse: WarehouseResource,
    twin_config: TwinConfigResource,
):
    """Walk the span, measure it and its baselines; write the rows dated ``end``."""
    days = _span(config)
    twin = twin_config.validated()
    _require_strategy_layers(warehouse, days)
    with worker_pool(worker_count()) as executor:
        baselines = Baselines(executor, warehouse, twin, days)
        walked = batch.walk(warehouse, twin, days, context.log.info, executor)
        baseline = baselines.runs()
    static, tuned = baseline.static, baseline.tuned
    performance, orders = walked.frames[PERFORMANCE.qualified_name], walked.frames[ORDERS.qualified_name]
    launch = first_launch(warehouse, twin, days, walked.decisions)
    returns = warehouse.read_history("raw.strategy_returns", previous_business_day(days[0]), days[-1])
    factors = warehouse.read_history("raw.factor_returns", days[0], days[-1])
    costs = twin.solutions.execution
    books = [
        *solution_books(performance, orders, BacktestKind.TWIN),
        *solution_books(static[PERFORMANCE.qualified_name], static[ORDERS.qualified_name], BacktestKind.STATIC),
        *solution_books(
            tuned.frames[PERFORMANCE.qualified_name], tuned.frames[ORDERS.qualified_name], BacktestKind.POOL_TUNED
        ),
        *_launched_books(launch),
        equal_weight_book(returns, days, float(costs.rate(np.zeros(1))[0])),
    ]
    benchmark = benchmark_book(factors, days)
    books += [benchmark] if benchmark is not None else []
    cash = twin.firm.cash_rates()
    risk_free = {day: cash.accrual(previous_business_day(day), day) for day in days}
    rows = validate(backtest_rows(books, risk_free, days[0], days[-1], costs.seed), RESULTS)
    warehouse.warehouse().replace_partitions(RESULTS, rows, [days[-1]])
    yield dg.MaterializeResult(
        metadata={
            "start": str(days[0]),
            "end": str(days[-1]),
            "days": len(days),
            "results": preview(rows, SHOWN_COLUMNS),
            "pool_entry_bars": "; ".join(f"{first}: {bar}" for first, bar in tuned.bars),
            "baseline_walks": dg.MetadataValue.int(baseline.walks),
            "launched": _launch_note(launch),
            **_walk_metadata(walked),
            **_headline(rows),
            **provenance(context, twin_config.config_dir),
        }
    )
    stored = warehouse.warehouse().read(RESULTS, days[-1], days[-1])
    yield from check_stored(
        RESULTS, stored, {EVERY_PORTFOLIO: lambda frame: _missing(frame, performance, days, launch)}
    )


def _launched_books(launch: Launch | None) -> list:
    if launch is None:
        return []
    frames = launch.frames
    return solution_books(frames[PERFORMANCE.qualified_name], frames[ORDERS.qualified_name], BacktestKind.LAUNCHED)


def _launch_note(launch: Launch | None) -> str:
    if launch is None:
        return "no launch decided in the walk (its firm.firm_decisions)"
    solution = launch.solution
    return (
        f"{solution.solution_id}: decided {launch.decided}, managed from {solution.launch_date} "
        f"with {solution.initial_aum:,.0f}"
    )


def _span(config: BacktestConfig) -> list[dt.date]:
    """The firm's business days from ``start`` to ``end`` (``dg.Failure`` when none)."""
    start, end = dt.date.fromisoformat(config.start), dt.date.fromisoformat(config.end)
    calendar = firm_calendar()
    days = [d for d in business_days(start, end) if d >= calendar.first_business_day]
    if not days:
        raise dg.Failure(description=f"back-test {start} .. {end}: no business day of the calendar in it")
    return days


def _require_strategy_layers(warehouse: WarehouseResource, days: list[dt.date]) -> None:
    """``dg.Failure`` naming the first day of ``days`` without an alpha-pool row (the
    strategy layers, which every business day has, are what the walk steps on)."""
    rows = warehouse.read_history(POOL.qualified_name, days[0], days[-1], ["date"])
    present = set(rows.get_column("date").to_list())
    missing = [d for d in days if d not in present]
    if missing:
        raise dg.Failure(
            description=f"back-test: no {POOL.qualified_name} rows on {missing[0]} ({len(missing)} of {len(days)} "
            f"days): run `twin backtest --start {days[0]} --end {days[-1]}`, which materialises the strategy layers "
            "first"
        )


def _walk_metadata(walked: batch.Walk) -> dict:
    """What the walk did: month ends searched, choices that replaced the incumbent, the
    decisions by kind, and the seconds each part took."""
    searches = walked.searches
    replaced = searches.filter(pl.col("chosen") & ~pl.col("incumbent"))
    by_family = replaced.group_by("solution_id", "family").len().sort("solution_id", "family").rows()
    decisions = walked.decisions.get_column("decision").value_counts().sort("decision").rows()
    return {
        "month_ends_searched": searches.get_column("date").n_unique() if searches.height else 0,
        "choices_not_incumbent": replaced.height,
        "replaced_by_family": "; ".join(f"{s} {family}: {n}" for s, family, n in by_family) or "none",
        "decisions": ", ".join(f"{kind}: {n}" for kind, n in decisions) or "none (no new_solution policy)",
        **{f"walk_{part}_seconds": round(seconds, 1) for part, seconds in walked.seconds.items()},
    }


def _headline(rows: pl.DataFrame) -> dict[str, float]:
    """Per-row Sharpe and annual return as numbers (they plot over back-tests); a
    statistic that is not computable is left out."""
    out = {}
    for kind, portfolio, sharpe, annual in rows.select("kind", "portfolio_id", "sharpe", "annual_return").iter_rows():
        out |= {f"sharpe_{kind}_{portfolio}": sharpe} if sharpe is not None else {}
        out |= {f"annual_return_{kind}_{portfolio}": annual} if annual is not None else {}
    return out


def _missing(stored: pl.DataFrame, performance: pl.DataFrame, days: list[dt.date], launch: Launch | None) -> list[str]:
    """What ``EVERY_PORTFOLIO`` finds missing from the stored rows (a launched solution
    covers the span's days from its launch)."""
    problems = []
    solutions = performance.get_column("solution_id").unique().sort().to_list()
    measured = set(stored.select("kind", "portfolio_id").rows())
    for solution in solutions:
        kinds = (BacktestKind.TWIN, BacktestKind.STATIC, BacktestKind.POOL_TUNED)
        problems += [f"{kind}: {solution}" for kind in kinds if (kind, solution) not in measured]
    if not any(kind == BacktestKind.EQUAL_WEIGHT for kind, _ in measured):
        problems.append("equal_weight: no row")
    expected = dict(performance.group_by("solution_id").len().iter_rows()) | {"equal_weight": len(days)}
    if launch is not None:
        expected[launch.solution.solution_id] = sum(day >= launch.solution.launch_date for day in days)
    for kind, portfolio, n in stored.select("kind", "portfolio_id", "days").iter_rows():
        if kind != BacktestKind.BENCHMARK and n != expected.get(portfolio):
            problems.append(f"{kind}: {portfolio} covers {n} days, the span has {expected.get(portfolio)}")
    return problems
