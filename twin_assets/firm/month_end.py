"""The firm's month-end assets: ``firm.firm_projections`` and ``firm.firm_decisions``.

Month end, not daily: a projection is ``scenarios`` (2000) paths of 252 business days per
solution, too dear for every day. Each partition (a month) works from its month end ``t``
(the last business day with solution rows): the strategy model of ``t`` (its posterior
draws over its return window, as the forecasts and the policy search use it), each
managed solution's targets (``weight_target``) and fee state at ``t``'s close, the cash rate
in force at ``t``, the firm's costs, the solutions' dated flows; then
``twin_model.firm.projections``. A target on a strategy without a converged posterior at
``t`` has no paths: its weight is projected as cash (at the cash rate). The
decision projects a launch of the configured template (its targets at ``t``, ``launch_aum``,
the firm's fee terms) against the per-strategy costs of the strategies it would add,
and applies ``twin_model.firm.decisions.NewSolutionPolicy``.
"""

import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.shared import solution_inputs
from twin_assets.shared.common import DUCKDB_POOL, OWNER, check_written, layer_code_version, provenance
from twin_assets.shared.month_end import modelled_day, month_end, strategy_model
from twin_assets.shared.partitions import MONTH_END_TAGS, monthly_partitions
from twin_model.calendar import business_days, next_business_day
from twin_model.contracts import TABLES, projection_cost_problems, validate
from twin_model.conventions import FIRM_TOTAL
from twin_model.firm import FeeState, FirmCosts
from twin_model.firm.decisions import FirmView, LaunchOutlook, NewSolutionPolicy, launch_profit_p50
from twin_model.firm.projections import (
    MONTH_DAYS,
    ProjectedSolution,
    monthly_costs,
    project_from_model,
    projection_rows,
)
from twin_model.solution import is_managed
from twin_resources.io_manager import column_schema
from twin_resources.resources import TwinConfigResource, WarehouseResource

PROJECTIONS = TABLES["firm.firm_projections"]
DECISIONS = TABLES["firm.firm_decisions"]
PERFORMANCE = TABLES["portfolio.solution_performance"]
WEIGHTS = TABLES["portfolio.solution_weights"]
POOL = TABLES["alpha.alpha_pool"]
MONTHS_COVERED = "every_month_ahead_with_config_costs"
ONE_DECISION = "one_decision_each_month_end"


def _month_asset(spec, description: str, checks: dict[str, str], deps: list):
    """``@dg.asset`` for a month-end table of the firm layer with blocking checks."""
    return dg.asset(
        key=dg.AssetKey(spec.path),
        description=description,
        group_name="firm",
        partitions_def=monthly_partitions(),
        tags=MONTH_END_TAGS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_POOL,
        owners=[OWNER],
        kinds={"duckdb", "polars", "numpy"},
        code_version=layer_code_version("firm"),
        metadata={"dagster/table_name": spec.qualified_name, "dagster/column_schema": column_schema(spec)},
        deps=[dg.AssetDep(d, partition_mapping=dg.TimeWindowPartitionMapping()) for d in deps],
        check_specs=[
            dg.AssetCheckSpec(name, asset=dg.AssetKey(spec.path), blocking=True, description=text)
            for name, text in {
                "rows_valid": f"Every stored row passes the {spec.qualified_name} schema.",
                **checks,
            }.items()
        ],
    )


@_month_asset(
    PROJECTIONS,
    "Month-end Monte Carlo projection 12 months ahead (seeded paths of the strategy model of the month end, "
    "posterior parameter uncertainty and joint bootstrap co-movement): per solution and the firm (FIRM), per "
    "month ahead, p05/p50/p95 of AUM, revenue and profit and the firm's cost; the FIRM rows carry P(loss-making "
    "year) and the break-even AUM. Solutions hold their targets, rebalanced monthly with estimated trading costs; "
    "fees by the solution step's fee code; configured flows; cash at the rate in force.",
    {
        MONTHS_COVERED: "Each month ahead has its FIRM row, whose cost is the config's costs pro rata; a solution's is 0."
    },
    [PERFORMANCE.path, WEIGHTS.path, ["models", "strategy_posteriors"]],
)
def firm_projections(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    config = twin_config.validated()
    expected = {}
    for key in context.partition_keys:
        t = month_end(warehouse, dt.date.fromisoformat(key))
        frame, costs = _project_month(warehouse, config, t)
        warehouse.warehouse().replace_partitions(PROJECTIONS, frame, [t])
        expected[t] = costs
        context.add_asset_metadata(_projection_metadata(t, frame), partition_key=key)
    yield dg.MaterializeResult(metadata={"month_ends": ", ".join(str(t) for t in list(expected)[:10])})
    yield from check_written(
        warehouse, PROJECTIONS, sorted(expected), {MONTHS_COVERED: lambda s: projection_cost_problems(s, expected)}
    )


def _horizon(config, t: dt.date) -> list[dt.date]:
    """The ``months_ahead x 21`` business days after ``t``."""
    n = config.firm.projection.months_ahead * MONTH_DAYS
    return business_days(t + dt.timedelta(days=1), t + dt.timedelta(days=2 * n + 14))[:n]


def _project_month(warehouse: WarehouseResource, config, t: dt.date):
    """The validated rows of ``t`` and the FIRM costs per month they must carry."""
    days = _horizon(config, t)
    holidays = solution_inputs.holidays(config.calendar, [t, *days])
    managed = [s for s in config.solutions.solutions if is_managed(s.launch_date, s.retired, t)]
    rules = [s.rules() for s in managed]
    states = solution_inputs.previous_states(warehouse, rules, next_business_day(t))
    weights = _weights(warehouse, t)
    solutions = [
        ProjectedSolution(
            s.solution_id,
            _targets(weights, s.solution_id),
            states[s.solution_id].fees,
            config.firm.fee_terms(s.fees, holidays),
            r.flows,
        )
        for s, r in zip(managed, rules)
    ]
    in_use = weights.filter(pl.col("weight_close") != 0).get_column("strategy_id").n_unique()
    settings, costs = config.firm.projection, config.firm.costs()
    projection = project_from_model(
        strategy_model(warehouse, config.strategies, t),
        settings.scenarios,
        settings.seed,
        days,
        solutions,
        config.firm.cash_rates().rate_on(t),
        costs,
        in_use,
        config.solutions.execution,
    )
    return validate(projection_rows(t, projection), PROJECTIONS), list(monthly_costs(days, costs, in_use))


def _weights(warehouse: WarehouseResource, t: dt.date) -> pl.DataFrame:
    return warehouse.read_history(
        WEIGHTS.qualified_name, t, t, ["date", "solution_id", "strategy_id", "weight_target", "weight_close"]
    )


def _targets(weights: pl.DataFrame, solution_id: str) -> dict[str, float]:
    rows = weights.filter((pl.col("solution_id") == solution_id) & (pl.col("weight_target") != 0))
    return dict(rows.select("strategy_id", "weight_target").rows())


def _projection_metadata(t: dt.date, frame: pl.DataFrame) -> dict:
    """The month end's headline figures: the firm's p50 profit 12 months ahead (the last
    month), P(loss-making year), break-even AUM."""
    firm = frame.filter(pl.col("solution_id") == FIRM_TOTAL).sort("months_ahead")
    last = firm.row(-1, named=True)
    breakeven = last["breakeven_aum"]
    return {
        "month_end": str(t),
        "dagster/row_count": frame.height,
        "firm_profit_p50_last_month": dg.MetadataValue.float(float(last["profit_p50"])),
        "firm_profit_p50_year": dg.MetadataValue.float(float(firm.get_column("profit_p50").sum())),
        "p_loss_year": dg.MetadataValue.float(float(last["p_loss_year"])),
        "breakeven_aum": dg.MetadataValue.float(float("nan") if breakeven is None else float(breakeven)),
    }


@_month_asset(
    DECISIONS,
    "The firm's initiate-solution decision at each month end (config/firm.yaml new_solution): launch a copy of "
    "the template solution when enough alpha-pool strategies are unused by the solutions and the launch's "
    "projected p50 profit (its fees less the costs of the strategies it adds) is positive; hold otherwise, "
    "with the reason.",
    {ONE_DECISION: "Each month end of the run has exactly one decision row."},
    [PERFORMANCE.path, WEIGHTS.path, POOL.path, ["models", "strategy_posteriors"]],
)
def firm_decisions(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    config = twin_config.validated()
    if config.firm.new_solution is None:
        raise dg.Failure(description="config/firm.yaml has no 'new_solution' section: the decision has no policy")
    month_ends = []
    for key in context.partition_keys:
        t = month_end(warehouse, dt.date.fromisoformat(key))
        frame = decide_month(warehouse, config, t)
        warehouse.warehouse().replace_partitions(DECISIONS, frame, [t])
        month_ends.append(t)
        row = frame.row(0, named=True)
        context.add_asset_metadata(
            {"month_end": str(t), "decision": row["decision"], "reason": row["reason"]}, partition_key=key
        )
    yield dg.MaterializeResult(metadata=provenance(context, twin_config.config_dir))
    yield from check_written(
        warehouse,
        DECISIONS,
        month_ends,
        {
            ONE_DECISION: lambda s: [
                f"{t}: {n} rows" for t in month_ends if (n := s.filter(pl.col("date") == t).height) != 1
            ]
        },
    )


def decide_month(warehouse: WarehouseResource, config, t: dt.date, weights: pl.DataFrame | None = None) -> pl.DataFrame:
    """The validated decision row of ``t``, from the solutions' stored weights of ``t`` or
    ``weights`` (``portfolio.solution_weights`` rows of ``t``: batch mode)."""
    settings = config.firm.new_solution
    policy = NewSolutionPolicy(settings.template, settings.min_unused_pool_strategies, settings.require_positive_profit)
    weights = _weights(warehouse, t) if weights is None else weights
    held = set(weights.filter(pl.col("weight_close") != 0).get_column("strategy_id"))
    day = modelled_day(warehouse, t)  # the pool of the model the launch outlook draws from
    pool = warehouse.read_history(POOL.qualified_name, day, day, ["strategy_id", "in_pool"]).filter(pl.col("in_pool"))
    unused = len(set(pool.get_column("strategy_id")) - held)
    targets = _targets(weights, settings.template)
    profit = _launch_profit(warehouse, config, t, targets, held) if targets else None
    decision = policy.decide(FirmView(unused), LaunchOutlook(profit))
    row = {
        "date": [t],
        "decision": [decision.decision.value],
        "template": [settings.template],
        "n_unused_pool_strategies": [unused],
        "projected_profit_p50": [profit],
        "reason": [decision.reason],
    }
    return validate(pl.DataFrame(row, schema=DECISIONS.columns()), DECISIONS)


def _launch_profit(warehouse: WarehouseResource, config, t: dt.date, targets: dict, held: set) -> float:
    """The launch's p50 profit over the horizon: a new solution at ``launch_aum`` holding the
    template's targets, under the template's fee terms, against the per-strategy costs of
    the strategies it adds."""
    days = _horizon(config, t)
    template = next(s for s in config.solutions.solutions if s.solution_id == config.firm.new_solution.template)
    launch = ProjectedSolution(
        "launch",
        targets,
        FeeState.launch(config.firm.new_solution.launch_aum),
        config.firm.fee_terms(template.fees, solution_inputs.holidays(config.calendar, [t, *days])),
    )
    settings = config.firm.projection
    added = len(set(targets) - held)
    projection = project_from_model(
        strategy_model(warehouse, config.strategies, t),
        settings.scenarios,
        settings.seed,
        days,
        [launch],
        config.firm.cash_rates().rate_on(t),
        FirmCosts(per_strategy_per_year=config.firm.cost_per_strategy_per_year),
        added,
        config.solutions.execution,
    )
    return launch_profit_p50(projection)
