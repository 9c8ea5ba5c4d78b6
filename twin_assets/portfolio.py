"""The solution level: one multi-asset writing the six ``portfolio.*`` tables.

Dagster lets an asset depend only on its own previous partition, so the whole solution
level is one ``@multi_asset`` whose previous-day input is its own state: it reads the state
of the business day before its partition (or range) once, steps every solution through
the days in memory with ``twin_model.solutions.step``, validates every frame, and only
then hands the six frames to the warehouse IO manager.
"""

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import numpy as np
import polars as pl

from twin_model.calendar import previous_business_day
from twin_model.optimize import Optimizer
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.schemas import TABLES, validate
from twin_model.solution_inputs import SolutionHistory, forecasts_start, history_start, scenario_matrix
from twin_model.solution_state import SolutionRules, SolutionState
from twin_model.solution_tables import PORTFOLIO_TABLES, StateMismatchError, records_to_frames, state_from_tables
from twin_model.solutions import step
from twin_resources.config import SolutionsConfig, StrategiesConfig
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource
from twin_assets.common import DUCKDB_POOL, OWNER, RAW_RETURNS, WAREHOUSE_IO, check_stored, days_of
from twin_assets.history import previous_state
from twin_assets.partitions import BUSINESS_DAYS

WEIGHTS, OPTIMIZATIONS, PERFORMANCE, ATTRIBUTION, VIOLATIONS, ORDERS = (TABLES[t] for t in PORTFOLIO_TABLES.values())
TOL = 1e-8

# Written in this order: performance first (every output depends on its previous day, and
# Dagster wants topological order), then the other state tables, the optimisation row that
# counts them last among those, so a state read back can prove it was written whole.
DESCRIPTIONS = {
    PERFORMANCE: "Per solution: AUM, AUM peak, daily return from held weights, P&L, costs, drawdown, "
    "leverage, volatility and diversification ratio.",
    WEIGHTS: "Per solution and strategy: weight held (drifted), target, weight after trades, status "
    "(active, paused, stopped, out_of_pool) with pause days left, re-entry ramp and pause count, and why.",
    VIOLATIONS: "Risk-limit breaches per solution: level, rule, severity, action taken, opened and resolved dates.",
    OPTIMIZATIONS: "Per solution: what set today's targets (policy, objective, method, triggers, status), "
    "expected return, volatility and Sharpe recomputed from the targets, solver, constraint status, cash buckets.",
    ATTRIBUTION: "Per solution and strategy: return contribution (w x r) and marginal and total risk contribution.",
    ORDERS: "The trading plan: held vs target weight, trade value, estimated cost and simulated fill with slippage.",
}

CHECKS = {
    WEIGHTS: {
        "targets_sum": "Each solution's targets sum to its target exposure less the cash of pauses, risk actions and the rest.",
        "targets_within_bounds": "No target below 0 or above the solution's max weight; a full-size target is at least min weight.",
        "targets_only_on_selected": "No target on a strategy out of the pool (and incubation), paused or stopped.",
    },
    OPTIMIZATIONS: {"constraints_hold": "The final targets satisfy the solution's constraints, recomputed from them."},
    PERFORMANCE: {"aum_continuity": "AUM = yesterday's AUM x (1 + return) - costs - fees + flows; costs = yesterday's pending costs."},
    ATTRIBUTION: {"contributions_sum": "Return contributions sum to the solution's daily return."},
    VIOLATIONS: {},
    ORDERS: {"orders_match_targets": "Every order moves its strategy from the held to the target weight of solution_weights."},
}
ROWS_VALID = "rows_valid"


def _out(spec) -> dg.AssetOut:
    return dg.AssetOut(
        key=dg.AssetKey(spec.path),
        description=DESCRIPTIONS[spec],
        group_name=spec.layer,
        io_manager_key=WAREHOUSE_IO,
        owners=[OWNER],
        kinds={"duckdb", "polars"},
        metadata={"dagster/table_name": spec.qualified_name, "dagster/column_schema": column_schema(spec)},
    )


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for spec, checks in CHECKS.items():
        named = {ROWS_VALID: f"Every stored row of the written days passes the {spec.qualified_name} schema.", **checks}
        specs += [dg.AssetCheckSpec(n, asset=dg.AssetKey(spec.path), blocking=True, description=d) for n, d in named.items()]
    return specs


@dg.multi_asset(
    name="solution_level",
    outs={spec.name: _out(spec) for spec in DESCRIPTIONS},
    partitions_def=BUSINESS_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    can_subset=False,
    check_specs=_check_specs(),
    deps=[
        RAW_RETURNS,
        dg.AssetDep(["raw", "strategy_positions"]),
        dg.AssetDep(["raw", "market_regime"]),
        dg.AssetDep(["models", "strategy_posteriors"]),
        dg.AssetDep(["models", "strategy_forecasts"]),
        dg.AssetDep(["alpha", "alpha_pool"]),
        dg.AssetDep(PERFORMANCE.path, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)),
    ],
)
def solution_level(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    """Select, allocate, manage and risk-check every solution of config/solutions.yaml, day by day."""
    days = days_of(context)
    solutions, strategies = twin_config.solutions(), twin_config.strategies()
    rules = [SolutionRules.from_config(s.model_dump()) for s in solutions.solutions]
    limits = RiskLimits.from_mapping(twin_config.risk_limits().model_dump())
    costs = CostModel(**solutions.execution.model_dump())
    states, cold_start = _previous_states(warehouse, rules, days[0])
    history = _history(warehouse, strategies, days)
    optimizer = Optimizer()
    records = []
    for day in days:
        inputs = history.day(day)
        for rule in rules:
            if day < rule.launch_date:
                continue
            states[rule.solution_id], record = step(rule, states[rule.solution_id], inputs, limits, costs, optimizer)
            records.append(record)
    frames = {table: validate(frame, TABLES[table]) for table, frame in records_to_frames(records).items()}
    for spec in DESCRIPTIONS:
        yield dg.Output(frames[spec.qualified_name], output_name=spec.name, metadata=_metadata(spec, frames, days, cold_start))
    yield from _checks(warehouse, days, solutions)


# --------------------------------------------------------------------------- reading


def _previous_states(warehouse: WarehouseResource, rules: list[SolutionRules], first_day: dt.date):
    """Each solution's state at the close of the business day before ``first_day``."""
    performance, cold_start = previous_state(warehouse, PERFORMANCE, first_day)
    if cold_start:
        return {r.solution_id: SolutionState.launch(r) for r in rules}, True
    day = previous_business_day(first_day)
    tables = [warehouse.read_history(spec.qualified_name, day, day) for spec in (WEIGHTS, OPTIMIZATIONS, VIOLATIONS)]
    weights, optimizations, violations = tables
    try:
        return {r.solution_id: state_from_tables(r, weights, optimizations, performance, violations) for r in rules}, False
    except StateMismatchError as error:
        raise dg.Failure(description=str(error)) from None


def _history(warehouse: WarehouseResource, strategies: StrategiesConfig, days: list[dt.date]) -> SolutionHistory:
    first, last = days[0], days[-1]
    returns = warehouse.read_history("raw.strategy_returns", history_start(first), last)
    ids = returns.get_column("strategy_id").unique().to_list()
    positions = warehouse.read_history("raw.strategy_positions", first, last)
    forecasts = warehouse.read_history("models.strategy_forecasts", forecasts_start(first), last)
    artifacts = warehouse.artifacts()

    def scenarios(day: dt.date, wanted: Sequence[str]) -> np.ndarray | None:
        row = forecasts.filter((pl.col("date") == day) & (pl.col("parameter_set") == "posterior"))
        return scenario_matrix(artifacts.read(row.get_column("scenarios_path")[0]), wanted) if row.height else None

    return SolutionHistory(
        returns=returns,
        pool=warehouse.read_history("alpha.alpha_pool", first - dt.timedelta(days=10), last),
        posteriors=warehouse.read_history("models.strategy_posteriors", first - dt.timedelta(days=10), last),
        forecasts=forecasts,
        regime=warehouse.read_history("raw.market_regime", first, last),
        positions=positions if positions.height else None,
        sectors={s: strategies.metadata(s).sector for s in ids},
        asset_classes={s: strategies.metadata(s).asset_class for s in ids},
        scenarios=scenarios,
    )


def _metadata(spec, frames: dict[str, pl.DataFrame], days: list[dt.date], cold_start: bool) -> dict:
    frame = frames[spec.qualified_name]
    metadata = {"cold_start": cold_start, "first_day": str(days[0]), "last_day": str(days[-1]), "days": len(days)}
    if spec is PERFORMANCE and frame.height:
        last = frame.filter(pl.col("date") == days[-1])
        metadata["aum_last_day"] = dg.MetadataValue.json(dict(zip(last["solution_id"].to_list(), last["aum"].to_list())))
    if spec is OPTIMIZATIONS and frame.height:
        metadata["rebalances"] = int(frame.get_column("rebalanced").sum())
    if spec is VIOLATIONS:
        metadata["open_violations_last_day"] = frame.filter((pl.col("date") == days[-1]) & (pl.col("status") == "open")).height
    return metadata


# --------------------------------------------------------------------------- checks


def _checks(warehouse: WarehouseResource, days: list[dt.date], solutions: SolutionsConfig):
    """Every check of the level on the written days, each table read back once."""
    stored = {spec: warehouse.warehouse().read(spec, days[0], days[-1]) for spec in DESCRIPTIONS}
    configs = {s.solution_id: s for s in solutions.solutions}
    before = warehouse.read_history(PERFORMANCE.qualified_name, previous_business_day(days[0]), previous_business_day(days[0]))
    rules = {
        WEIGHTS: {
            "targets_sum": lambda _: targets_sum_problems(stored[WEIGHTS], stored[OPTIMIZATIONS]),
            "targets_within_bounds": lambda _: bound_problems(stored[WEIGHTS], configs),
            "targets_only_on_selected": lambda _: selection_problems(stored[WEIGHTS]),
        },
        OPTIMIZATIONS: {"constraints_hold": lambda frame: _rows(frame.filter(~pl.col("constraints_satisfied")), "violations")},
        PERFORMANCE: {"aum_continuity": lambda frame: aum_problems(pl.concat([before, frame]))},
        ATTRIBUTION: {"contributions_sum": lambda frame: contribution_problems(frame, stored[PERFORMANCE])},
        VIOLATIONS: {},
        ORDERS: {"orders_match_targets": lambda frame: order_problems(frame, stored[WEIGHTS])},
    }
    for spec, checks in rules.items():
        yield from check_stored(spec, stored[spec], checks, asset_key=dg.AssetKey(spec.path))


def _rows(frame: pl.DataFrame, column: str) -> list[str]:
    keys = [k for k in ("date", "solution_id", "strategy_id") if k in frame.columns]
    return [", ".join(f"{k}={row[k]}" for k in keys) + f": {row[column]}" for row in frame.iter_rows(named=True)]


def targets_sum_problems(weights: pl.DataFrame, optimizations: pl.DataFrame) -> list[str]:
    """sum(target) = target_exposure - cash_pauses - cash_risk - cash_other, per solution-day."""
    sums = weights.group_by("date", "solution_id").agg(targets=pl.col("weight_target").sum())
    joined = optimizations.join(sums, on=["date", "solution_id"], how="left").with_columns(pl.col("targets").fill_null(0.0))
    expected = pl.col("target_exposure") - pl.col("cash_pauses") - pl.col("cash_risk") - pl.col("cash_other")
    bad = joined.filter((pl.col("targets") - expected).abs() > TOL).with_columns(
        problem=pl.format("targets sum to {} but exposure less cash is {}", pl.col("targets"), expected)
    )
    return _rows(bad, "problem")


def bound_problems(weights: pl.DataFrame, configs: dict) -> list[str]:
    problems = []
    for row in weights.filter(pl.col("weight_target") != 0).iter_rows(named=True):
        constraints = configs[row["solution_id"]].constraints if row["solution_id"] in configs else None
        if constraints is None:
            continue
        t, where = row["weight_target"], f"date={row['date']}, solution_id={row['solution_id']}, strategy_id={row['strategy_id']}"
        if t < -TOL or t > constraints.max_weight + TOL:
            problems.append(f"{where}: target {t:.6g} outside [0, {constraints.max_weight:g}]")
        elif row["target_scale"] == 1 and t < constraints.min_weight - TOL:
            problems.append(f"{where}: full-size target {t:.6g} below min weight {constraints.min_weight:g}")
    return problems


def selection_problems(weights: pl.DataFrame) -> list[str]:
    bad = weights.filter(
        (pl.col("weight_target") != 0) & ((pl.col("status") != "active") | (pl.col("tier") == "none"))
    ).with_columns(problem=pl.format("target {} on a strategy with status {} (tier {})", "weight_target", "status", "tier"))
    return _rows(bad, "problem")


def aum_problems(performance: pl.DataFrame) -> list[str]:
    """aum = aum_start (1 + r) - costs - fees + flows; aum_start and costs continue the previous row."""
    ordered = performance.sort("solution_id", "date").with_columns(
        previous_aum=pl.col("aum").shift(1).over("solution_id"),
        previous_pending=pl.col("pending_costs").shift(1).over("solution_id"),
    )
    scale = pl.max_horizontal(pl.col("aum").abs(), pl.lit(1.0))
    identity = pl.col("aum_start") * (1 + pl.col("daily_return")) - pl.col("costs") - pl.col("fees") + pl.col("flows")
    problems = _rows(ordered.filter((pl.col("aum") - identity).abs() > TOL * scale).with_columns(
        problem=pl.format("aum {} != aum_start x (1 + return) - costs - fees + flows = {}", "aum", identity)), "problem")
    carried = ordered.filter(pl.col("previous_aum").is_not_null() & ~pl.col("cold_start"))
    problems += _rows(carried.filter((pl.col("aum_start") - pl.col("previous_aum")).abs() > TOL * scale).with_columns(
        problem=pl.format("aum_start {} != previous aum {}", "aum_start", "previous_aum")), "problem")
    problems += _rows(carried.filter((pl.col("costs") - pl.col("previous_pending")).abs() > TOL * scale).with_columns(
        problem=pl.format("costs {} != previous pending costs {}", "costs", "previous_pending")), "problem")
    return problems


def contribution_problems(attribution: pl.DataFrame, performance: pl.DataFrame) -> list[str]:
    sums = attribution.group_by("date", "solution_id").agg(total=pl.col("return_contribution").sum())
    joined = performance.join(sums, on=["date", "solution_id"], how="left").with_columns(pl.col("total").fill_null(0.0))
    bad = joined.filter((pl.col("total") - pl.col("daily_return")).abs() > 1e-12).with_columns(
        problem=pl.format("contributions sum to {} but the daily return is {}", "total", "daily_return"))
    return _rows(bad, "problem")


def order_problems(orders: pl.DataFrame, weights: pl.DataFrame) -> list[str]:
    joined = orders.join(
        weights.select("date", "solution_id", "strategy_id", held="weight_held", target="weight_target", close="weight_close"),
        on=["date", "solution_id", "strategy_id"], how="left",
    )
    bad = joined.filter(
        pl.col("target").is_null()
        | ((pl.col("weight_held") - pl.col("held")).abs() > TOL)
        | ((pl.col("weight_target") - pl.col("target")).abs() > TOL)
        | ((pl.col("close") - pl.col("target")).abs() > TOL)
        | ((pl.col("trade_weight") - (pl.col("weight_target") - pl.col("weight_held"))).abs() > TOL)
    ).with_columns(problem=pl.lit("order does not move the held weight to the stored target"))
    return _rows(bad, "problem")
