"""The twin layer: ``twin.policy_evaluations``, the month-end policy search.

One partition per month. The search starts from the month end ``t``: the last business
day of the month with rows in ``portfolio.solution_performance``. It reads, through the
warehouse resource, each searched solution's state at ``t``'s close, the day's
information (``DayInputs`` as the solution level builds it), the strategy model of ``t``
(the posterior draws artefact of ``models.strategy_posteriors`` over its return window)
and the monthly valley the forecast of ``t`` sets for the next month; then
``twin_model.twin.search.month_end_search`` scores every candidate of
``config/twin.yaml`` on shared seeded paths under the firm's risk limits and costs, and
the rows are validated and written for ``t``. The daily solution level reads the choice
back (``twin_assets.shared.policies``); it is not a Dagster dependency of it.
"""

import datetime as dt
from collections.abc import Mapping

import dagster as dg
import polars as pl

from twin_assets.shared import history, solution_inputs
from twin_assets.shared.common import (
    DUCKDB_POOL,
    HOLIDAY_LOOKBACK,
    OWNER,
    check_written,
    layer_code_version,
    provenance,
)
from twin_assets.shared.partitions import MONTH_END_TAGS, monthly_partitions
from twin_model.calendar import business_days, next_business_day
from twin_model.contracts import TABLES, validate
from twin_model.optimize import Optimizer
from twin_model.solution import SolutionState, is_managed, valleys_in_force
from twin_model.strategy import SimulationSettings, predictive_model, return_window
from twin_model.twin.search import month_days, month_end_search, searched
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource

EVALUATIONS = TABLES["twin.policy_evaluations"]
POSTERIORS = TABLES["models.strategy_posteriors"]
PERFORMANCE = TABLES["portfolio.solution_performance"]
SEARCHED_ALL = "every_searched_solution_written"


def _next_month(day: dt.date) -> dt.date:
    """The first calendar day of the month after ``day``'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_end(warehouse: WarehouseResource, month_start: dt.date) -> dt.date:
    """The last business day of the month with solution rows (``dg.Failure`` if none)."""
    last = _next_month(month_start) - dt.timedelta(days=1)
    rows = warehouse.read_history(PERFORMANCE.qualified_name, month_start, last, ["date"])
    if rows.height == 0:
        first, final = business_days(month_start, last)[0], business_days(month_start, last)[-1]
        raise dg.Failure(
            description=f"no solution rows from {first} to {final}: materialise the solution level for the month first"
        )
    return rows.get_column("date").max()


@dg.asset(
    key=dg.AssetKey(EVALUATIONS.path),
    description=(
        "Month-end policy search on common random numbers: each searched solution's candidate "
        "policies (the configured one, a PFA grid of pause, stop and ramp rules, a CFA grid of "
        "allocation policies, parameters and exposure) stepped through the solution step on the "
        "same seeded paths of the next month from the strategy models; mean, standard error, "
        "paired difference vs the incumbent, the winner re-measured on independent hold-out "
        "paths, and the policy chosen for the next month."
    ),
    group_name="twin",
    partitions_def=monthly_partitions(),
    tags=MONTH_END_TAGS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    owners=[OWNER],
    kinds={"duckdb", "polars", "numpy"},
    code_version=layer_code_version("twin"),
    metadata={"dagster/table_name": EVALUATIONS.qualified_name, "dagster/column_schema": column_schema(EVALUATIONS)},
    deps=[
        dg.AssetDep(PERFORMANCE.path, partition_mapping=dg.TimeWindowPartitionMapping()),
        dg.AssetDep(POSTERIORS.path, partition_mapping=dg.TimeWindowPartitionMapping()),
        dg.AssetDep(["models", "strategy_forecasts"], partition_mapping=dg.TimeWindowPartitionMapping()),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "rows_valid",
            asset=dg.AssetKey(EVALUATIONS.path),
            blocking=True,
            description="Every stored row of the month end passes the twin.policy_evaluations schema.",
        ),
        dg.AssetCheckSpec(
            SEARCHED_ALL,
            asset=dg.AssetKey(EVALUATIONS.path),
            blocking=True,
            description="Every solution the settings search and that is managed at the month end has its rows.",
        ),
    ],
)
def policy_evaluations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource
):
    """Search each month of the run (a range is searched month by month, in order)."""
    config = twin_config.validated()
    month_ends, wanted = [], set()
    for key in context.partition_keys:
        t, frame, rules = _search_month(warehouse, config, dt.date.fromisoformat(key))
        month_ends.append(t)
        wanted |= {(t, r.solution_id) for r in rules}
        context.add_asset_metadata(_month_metadata(t, frame, config.twin.policy_search), partition_key=key)
    yield dg.MaterializeResult(
        metadata={
            "month_ends": ", ".join(str(t) for t in month_ends[:10]),
            **provenance(context, twin_config.config_dir),
        }
    )
    yield from check_written(
        warehouse,
        EVALUATIONS,
        month_ends,
        {
            SEARCHED_ALL: lambda stored: [
                f"{t}: {s}" for t, s in sorted(wanted - set(stored.select("date", "solution_id").rows()))
            ]
        },
    )


def _search_month(warehouse: WarehouseResource, config, month_start: dt.date):
    """The month end of ``month_start``'s month, its validated rows (written) and the
    solutions searched."""
    t = month_end(warehouse, month_start)
    inputs = month_end_inputs(warehouse, config, t)
    table, _ = month_end_search(**inputs, optimizer=Optimizer())
    frame = validate(table, EVALUATIONS) if table.height else EVALUATIONS.empty_frame()
    warehouse.warehouse().replace_partitions(EVALUATIONS, frame, [t])
    return t, frame, [rules for rules, _ in inputs["solutions"]]


def month_end_inputs(
    warehouse: WarehouseResource, config, t: dt.date, states: Mapping[str, SolutionState] | None = None
) -> dict:
    """The keyword arguments of ``month_end_search`` at month end ``t`` but the optimiser:
    the base day, the strategy model, the valleys in force over the next month, each
    searched solution's rules and state at ``t``'s close (stored, or from ``states`` by
    solution id: batch mode), the settings, the firm's risk limits, the cost model and
    each solution's fee terms."""
    settings = config.twin.policy_search
    managed = [s for s in config.solutions.solutions if is_managed(s.launch_date, s.retired, t)]
    rules = searched([s.rules() for s in managed], settings)
    holidays = solution_inputs.holidays(config.calendar, [t, *month_days(t, settings.horizon)])
    if states is None:
        states = solution_inputs.previous_states(warehouse, rules, next_business_day(t))
    forecasts = warehouse.read_history("models.strategy_forecasts", t - HOLIDAY_LOOKBACK, t)
    return {
        "base": solution_inputs.history(warehouse, config.strategies, [t], any(r.metalabel_sizing for r in rules)).day(
            t
        ),
        "model": _model(warehouse, config.strategies, t),
        "valley": valleys_in_force(forecasts, _next_month(t)),  # the forecast of t, the last before the month
        "solutions": [(r, states[r.solution_id]) for r in rules],
        "settings": settings,
        "limits": config.risk_limits,
        "costs": config.solutions.execution,
        "fees": {s.solution_id: config.firm.fee_terms(s.fees, holidays) for s in managed},
    }


def _month_metadata(t: dt.date, frame: pl.DataFrame, settings) -> dict:
    """A month's own metadata: its month end, rows, the choice per solution, evaluators, paths."""
    chosen = frame.filter(pl.col("chosen")).select("solution_id", "candidate_id").rows()
    evaluators = frame.get_column("evaluator").value_counts().rows() if frame.height else []
    return {
        "month_end": str(t),
        "dagster/row_count": frame.height,
        "solutions": len(chosen),
        "chosen": "; ".join(f"{s}: {c}" for s, c in chosen) or "no solution searched",
        "evaluators": ", ".join(f"{e}: {n}" for e, n in evaluators),
        "paths": f"{settings.n_paths} + {settings.holdout_paths} hold-out, {settings.horizon} days, seed {settings.seed}",
    }


def modelled_day(warehouse: WarehouseResource, t: dt.date) -> dt.date:
    """The last day at or before ``t`` with strategy posteriors: ``t`` itself, or, when the
    month's last weekday is a market holiday (Memorial Day, 31 May 2021: solution rows, no
    traded returns, so no posterior), the traded day before it."""
    days = warehouse.read_history(POSTERIORS.qualified_name, t - HOLIDAY_LOOKBACK, t, ["date"]).get_column("date")
    if days.len() == 0:
        raise dg.Failure(description=f"no usable posterior on {t}: materialise models.strategy_posteriors for it first")
    return days.max()


def _model(warehouse: WarehouseResource, strategies, t: dt.date):
    """The strategy model of month end ``t``: the posterior draws of its modelled day
    (``modelled_day``) over that day's return window (as its forecasts used them)."""
    t = modelled_day(warehouse, t)
    posteriors = warehouse.read_history(POSTERIORS.qualified_name, t, t).filter(pl.col("converged"))
    if posteriors.height == 0:
        raise dg.Failure(description=f"no usable posterior on {t}: materialise models.strategy_posteriors for it first")
    window_days = strategies.model.window_days
    start = t - dt.timedelta(days=2 * window_days)
    ids = posteriors.get_column("strategy_id").to_list()
    draws = warehouse.artifacts().read(POSTERIORS.qualified_name, posteriors.row(0, named=True))
    draws = draws.filter(pl.col("strategy_id").is_in(ids))
    returns = history.strategy_returns(warehouse, start, t).filter(pl.col("strategy_id").is_in(ids))
    factors = history.factor_returns(warehouse, start, t)
    window = return_window(returns, factors if factors.height else None, t, window_days)
    settings = SimulationSettings(center_residuals=strategies.forecast.center_residuals)
    return predictive_model(
        draws, window.returns, window.factors, list(window.strategy_ids), settings, factor_ids=window.factor_ids
    )
