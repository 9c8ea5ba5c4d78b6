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
back (``twin_assets.shared.policies``); it is not a Dagster dependency of it. What a month
end reads is in ``twin_assets.shared.month_end``, which batch mode (``batch.py``) shares.
"""

import datetime as dt
from concurrent.futures import Executor

import dagster as dg
import polars as pl

from twin_assets.shared.common import DUCKDB_POOL, OWNER, check_written, layer_code_version, provenance
from twin_assets.shared.month_end import (
    EVALUATIONS,
    PERFORMANCE,
    POSTERIORS,
    month_end,
    month_end_inputs,
    searched_rows,
)
from twin_assets.shared.partitions import MONTH_END_TAGS, monthly_partitions
from twin_model.parallel import worker_pool
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource
from twin_resources.runtime import worker_count

SEARCHED_ALL = "every_searched_solution_written"


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
    with worker_pool(worker_count()) as executor:
        for key in context.partition_keys:
            t, frame, rules = _search_month(warehouse, config, dt.date.fromisoformat(key), executor)
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


def _search_month(warehouse: WarehouseResource, config, month_start: dt.date, executor: Executor | None):
    """The month end of ``month_start``'s month, its validated rows (written) and the
    solutions searched (in ``executor``'s workers when given)."""
    t = month_end(warehouse, month_start)
    inputs = month_end_inputs(warehouse, config, t)
    frame = searched_rows(inputs, executor)
    warehouse.warehouse().replace_partitions(EVALUATIONS, frame, [t])
    return t, frame, [rules for rules, _ in inputs["solutions"]]


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
