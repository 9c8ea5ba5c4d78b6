"""The alpha layer: which strategies hold persistent alpha (the strategy-level decision).

``alpha.alpha_pool`` depends on its own previous day: it reads yesterday's state once,
steps the strategy level through the days of its partition or range in memory with
``twin_model.twin.run``, and writes every day (a day without new information carries
the state).
"""

import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.shared import history
from twin_assets.shared.common import check_written, daily_asset_args, daily_output, days_of
from twin_assets.shared.history import previous_state
from twin_assets.shared.metadata import DayFigures, add_daily_metadata, preview, run_metadata
from twin_assets.shared.restatements import restatement_check, stale_metadata, staleness
from twin_model.contracts import TABLES
from twin_model.strategy import PoolState, alpha_pool_level, pool_exogenous, pool_table
from twin_model.twin import run
from twin_resources.resources import TwinConfigResource, WarehouseResource

ALPHA_POOL = TABLES["alpha.alpha_pool"]
POSTERIORS = TABLES["models.strategy_posteriors"]
STATISTICS = TABLES["stats.strategy_statistics"]
ONE_ROW_PER_KNOWN_STRATEGY = "one_row_per_known_strategy"


@dg.asset(
    **daily_asset_args(
        ALPHA_POOL,
        "The alpha pool: for every strategy and business day, in_pool or not, days in that state, "
        "the alpha level and evidence behind it and a readable reason. A policy function "
        "approximation with hysteresis on P(alpha > 0), deflated Sharpe, minimum track record and "
        "drawdown, optionally gated by the metalabel's P(profitable) (config/strategies.yaml pool_policy). Carries its own state from the previous day.",
        {ONE_ROW_PER_KNOWN_STRATEGY: "Every strategy known yesterday has a row today (state is never dropped)."},
        self_dependent=True,
    ),
    deps=[
        dg.AssetDep(POSTERIORS.path),
        dg.AssetDep(STATISTICS.path),
        dg.AssetDep(
            ALPHA_POOL.path,
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1),
        ),
    ],
)
def alpha_pool(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    days = days_of(context)
    policy = twin_config.strategies().pool_policy
    previous, cold_start = previous_state(warehouse, ALPHA_POOL, days[0])
    posteriors = warehouse.read_history(POSTERIORS.qualified_name, days[0], days[-1])
    statistics = warehouse.read_history(STATISTICS.qualified_name, days[0], days[-1])

    metalabels = None
    if policy.metalabel_min_probability is not None:  # the gate is on: only then is the table read
        metalabels = history.metalabels(warehouse, days[0], days[-1], "alpha.alpha_pool (metalabel_min_probability)")
    path = pool_exogenous(posteriors, statistics, days, policy.signal, metalabels)
    trajectory = run(alpha_pool_level(policy), PoolState.from_rows(previous), path)
    frame = pool_table(trajectory, policy).select(list(ALPHA_POOL.columns()))

    add_daily_metadata(context, frame, days, "strategy_id", _pool_figures(days[0] if cold_start else None))
    stale = staleness(context, warehouse)
    metadata = {
        **run_metadata(days),
        "policy": policy.name,
        **stale_metadata(stale),
    }
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    known_before = set(previous.get_column("strategy_id").to_list())
    yield from check_written(
        warehouse, ALPHA_POOL, days, {ONE_ROW_PER_KNOWN_STRATEGY: lambda stored: _dropped(stored, days, known_before)}
    )
    yield restatement_check(stale)


def _pool_figures(cold_day: dt.date | None) -> DayFigures:
    """A day's pool: whether the level started cold on it (``cold_day``, the first day
    of a run with no earlier state), how many strategies are in it and changed state."""

    def figures(day: dt.date, rows: pl.DataFrame) -> dict:
        changed = rows.filter(pl.col("changed"))
        return {
            "cold_start": day == cold_day,
            "in_pool": int(rows.get_column("in_pool").sum()),
            "changes": changed.height,
            "entered": int(changed.get_column("in_pool").sum()),
            "left": int((~changed.get_column("in_pool")).sum()),
            "decisions": preview(
                rows.with_columns(pl.col("evidence").round(4)),
                ["strategy_id", "in_pool", "changed", "evidence", "reason"],
                sort=["in_pool", "evidence"],
            ),
        }

    return figures


def _on(frame: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("date") == day)


def _dropped(stored: pl.DataFrame, days: list[dt.date], known_before: set[str]) -> list[str]:
    """Strategies known on an earlier day that have no row on a later one."""
    problems, known = [], set(known_before)
    for day in days:
        today = set(_on(stored, day).get_column("strategy_id").to_list())
        problems += [f"day {day}, strategy {s}: known before but has no alpha-pool row" for s in sorted(known - today)]
        known |= today
    return problems
