"""The solution level: one multi-asset writing the six ``portfolio.*`` tables.

Dagster lets an asset depend only on its own previous partition, so the whole solution
level is one ``@multi_asset`` whose previous-day input is its own state: it reads the state
of the business day before its partition (or range) once, steps every solution through
the days in memory with ``twin_model.twin.run`` (the solution level of
``twin_model.solution``), and writes the six frames through
one warehouse call in ONE transaction (validated first), so a failure or a kill leaves
all six tables old. An IO manager handles one output at a time, so the outputs have
none: the level yields a ``MaterializeResult`` per table, then its checks.

Only the solutions in config/solutions.yaml are replaced: the rows of the run's days of
those solutions (a solution retired within the days has none from its ``retired`` date).
A solution removed from config keeps every row it has; if it comes back, it continues
from the previous business day's state or the run fails naming the first day it lacks.

Each solution runs the policy in force on the day (online mode): the latest month-end
search's choice before it in ``twin.policy_evaluations``, read through the warehouse
resource, or the configured policy; each partition's metadata names it
(``policy_in_force``, see ``twin_assets.shared.policies``).
"""

import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.shared import policies, solution_inputs
from twin_assets.shared.common import (
    DUCKDB_POOL,
    OWNER,
    RAW_RETURNS,
    check_stored,
    days_of,
    layer_code_version,
    provenance,
)
from twin_assets.shared.metadata import (
    SHOWN,
    DayFigures,
    add_daily_metadata,
    first_items,
    on_last_day,
    preview,
    run_metadata,
)
from twin_assets.shared.partitions import daily_partitions
from twin_assets.shared.restatements import restatement_check, restatement_check_spec, stale_metadata, staleness
from twin_model.alerts import opened_alert_violations
from twin_model.calendar import previous_business_day
from twin_model.contracts import (
    TABLES,
    aum_problems,
    bound_problems,
    constraint_problems,
    contribution_problems,
    order_problems,
    selection_problems,
    targets_sum_problems,
)
from twin_model.conventions import Severity, StrategyStatus, ViolationStatus
from twin_model.solution import (
    PORTFOLIO_TABLES,
)
from twin_resources.config import SolutionConfig, SolutionsConfig
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource
from twin_resources.warehouse import PartitionWrite

WEIGHTS, OPTIMIZATIONS, PERFORMANCE, ATTRIBUTION, VIOLATIONS, ORDERS = (TABLES[t] for t in PORTFOLIO_TABLES.values())

# Written in this order: performance first (every output depends on its previous day, and
# Dagster wants topological order), then the other state tables, the optimisation row that
# counts them last among those, so a state read back can prove it was written whole.
DESCRIPTIONS = {
    PERFORMANCE: "Per solution: AUM (NAV, net of fees) in units and NAV per unit, gross and net return, cash "
    "interest, costs, management fee, performance-fee accrual, balance and crystallisation, high-water mark, flows, "
    "P&L, drawdown, leverage, volatility and diversification ratio.",
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
    PERFORMANCE: {
        "aum_continuity": "AUM = yesterday's AUM + gross assets x return + cash interest - costs - fees + flows; "
        "gross assets = yesterday's AUM + performance-fee balance; costs = yesterday's pending costs."
    },
    ATTRIBUTION: {"contributions_sum": "Return contributions sum to the solution's daily return."},
    VIOLATIONS: {},
    ORDERS: {
        "orders_match_targets": "Every order moves its strategy from the held to the target weight of solution_weights."
    },
}
ROWS_VALID = "rows_valid"
ALERT_VIOLATIONS = "alert_violations"
"""Per-day metadata of portfolio/risk_violations: the high and critical violations opened
that day (at most ``SHOWN``; ``alert_violations_opened`` counts them all), which the alert
sensor reads from the event log."""


UPSTREAM = [
    RAW_RETURNS,
    dg.AssetDep(["raw", "strategy_positions"]),
    dg.AssetDep(["raw", "market_regime"]),
    dg.AssetDep(["models", "strategy_posteriors"]),
    dg.AssetDep(["models", "strategy_forecasts"]),
    dg.AssetDep(["alpha", "alpha_pool"]),
    dg.AssetDep(PERFORMANCE.path, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)),
]
"""What every table of the level is computed from, its own previous day among them."""


def _spec(spec) -> dg.AssetSpec:
    """A table of the level: written by the asset itself, so no IO manager."""
    return dg.AssetSpec(
        key=dg.AssetKey(spec.path),
        description=DESCRIPTIONS[spec],
        group_name=spec.layer,
        owners=[OWNER],
        kinds={"duckdb", "polars"},
        code_version=layer_code_version(spec.layer),
        metadata={"dagster/table_name": spec.qualified_name, "dagster/column_schema": column_schema(spec)},
        deps=UPSTREAM,
    )


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for spec, checks in CHECKS.items():
        named = {ROWS_VALID: f"Every stored row of the written days passes the {spec.qualified_name} schema.", **checks}
        specs += [
            dg.AssetCheckSpec(n, asset=dg.AssetKey(spec.path), blocking=True, description=d) for n, d in named.items()
        ]
    return specs + [restatement_check_spec(dg.AssetKey(PERFORMANCE.path))]


@dg.multi_asset(
    name="solution_level",
    specs=[_spec(spec) for spec in DESCRIPTIONS],
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    can_subset=False,
    check_specs=_check_specs(),
)
def solution_level(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    """Select, allocate, manage and risk-check every solution of config/solutions.yaml, day by day."""
    days = days_of(context)
    config = twin_config.validated()
    solutions = config.solutions
    stepped = solution_inputs.step_solutions(warehouse, config, days)
    frames, in_force = stepped.frames, stepped.in_force
    ids = tuple(s.solution_id for s in solutions.solutions)
    warehouse.warehouse().replace_partitions_together(
        [PartitionWrite(spec, frames[spec.qualified_name], days, "solution_id", ids) for spec in DESCRIPTIONS]
    )
    stale = staleness(context, warehouse)
    for spec in DESCRIPTIONS:
        key = dg.AssetKey(spec.path)
        figures = policies.with_policies(_day_figures(spec, frames[PERFORMANCE.qualified_name]), in_force)
        add_daily_metadata(context, frames[spec.qualified_name], days, "solution_id", figures, key)
        metadata = {**run_metadata(days), **stale_metadata(stale), **provenance(context, twin_config.config_dir, key)}
        yield dg.MaterializeResult(asset_key=key, metadata=on_last_day(context, days, warehouse.path, metadata, key))
    yield from _checks(warehouse, days, solutions)
    yield restatement_check(stale, dg.AssetKey(PERFORMANCE.path))


def _day_figures(spec, performance: pl.DataFrame) -> DayFigures:
    """A day of table ``spec``: the solutions that started from config on it (their
    performance row is a cold start) and the table's own figures: each solution's AUM,
    the rebalances, the violations open at the close and the high or critical ones opened
    that day (``ALERT_VIOLATIONS``)."""

    def figures(day: dt.date, rows: pl.DataFrame) -> dict:
        today = performance.filter(pl.col("date") == day)
        cold = today.filter(pl.col("cold_start")).get_column("solution_id").to_list()
        metadata = {"cold_start": bool(cold), "cold_started": first_items(cold)}
        if spec is PERFORMANCE:
            for solution, aum, nav, drawdown in today.select(
                "solution_id", "aum", "nav_per_unit", "drawdown"
            ).iter_rows():
                metadata |= {f"aum_{solution}": float(aum), f"nav_{solution}": float(nav)}
                metadata[f"drawdown_{solution}"] = float(drawdown)
            metadata["fees"] = float(today.get_column("fees").sum())
            metadata["crystallised_fee"] = float(today.get_column("crystallised_fee").sum())
        if spec is WEIGHTS:
            metadata |= _status_counts(rows)
            held = rows.filter((pl.col("weight_target") != 0) | (pl.col("status") != StrategyStatus.OUT_OF_POOL))
            metadata["weights"] = preview(
                held, ["solution_id", "strategy_id", "status", "weight_close", "weight_target", "reason"]
            )
        if spec is OPTIMIZATIONS:
            metadata["rebalances"] = int(rows.get_column("rebalanced").sum())
        if spec is VIOLATIONS:
            open_now = rows.filter(pl.col("status") == ViolationStatus.OPEN)
            metadata["open_violations"] = open_now.height
            metadata |= {f"open_{s.value}": int((open_now.get_column("severity") == s).sum()) for s in Severity}
            metadata["open"] = preview(open_now, ["solution_id", "severity", "rule", "subject", "value", "limit_value"])
            opened = opened_alert_violations(rows)
            metadata[ALERT_VIOLATIONS] = dg.MetadataValue.json(opened[:SHOWN])
            metadata[f"{ALERT_VIOLATIONS}_opened"] = len(opened)
        return metadata

    return figures


def _status_counts(weights: pl.DataFrame) -> dict:
    """Strategies by status over every solution of the day (numbers that plot over partitions)."""
    status = weights.get_column("status")
    return {f"strategies_{s.value}": int((status == s).sum()) for s in StrategyStatus}


# --------------------------------------------------------------------------- checks


def _checks(warehouse: WarehouseResource, days: list[dt.date], solutions: SolutionsConfig):
    """Every check of the level on the rows this run wrote (the written days of the
    configured solutions), each table read back once."""
    configs: dict[str, SolutionConfig] = {s.solution_id: s for s in solutions.solutions}

    def written(spec, first: dt.date, last: dt.date) -> pl.DataFrame:
        return warehouse.warehouse().read(spec, first, last).filter(pl.col("solution_id").is_in(list(configs)))

    stored = {spec: written(spec, days[0], days[-1]) for spec in DESCRIPTIONS}
    before = written(PERFORMANCE, previous_business_day(days[0]), previous_business_day(days[0]))
    rules = {
        WEIGHTS: {
            "targets_sum": lambda _: targets_sum_problems(stored[WEIGHTS], stored[OPTIMIZATIONS]),
            "targets_within_bounds": lambda _: bound_problems(stored[WEIGHTS], configs),
            "targets_only_on_selected": lambda _: selection_problems(stored[WEIGHTS]),
        },
        OPTIMIZATIONS: {"constraints_hold": constraint_problems},
        PERFORMANCE: {"aum_continuity": lambda frame: aum_problems(pl.concat([before, frame]))},
        ATTRIBUTION: {"contributions_sum": lambda frame: contribution_problems(frame, stored[PERFORMANCE])},
        VIOLATIONS: {},
        ORDERS: {"orders_match_targets": lambda frame: order_problems(frame, stored[WEIGHTS])},
    }
    for spec, checks in rules.items():
        yield from check_stored(spec, stored[spec], checks, asset_key=dg.AssetKey(spec.path))
