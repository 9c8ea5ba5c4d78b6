"""The solution level's inputs and its run: each solution's state at the close before a
run, the tables of the run's days and the firm's holidays, read from the warehouse, and
``step_solutions``, which steps every solution through the days with the runner. The
solution-level asset, the month-end assets and the back-test's static baseline all use
these, so the static baseline runs exactly the daily step."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl

from twin_assets.shared import history as stored_history
from twin_assets.shared import policies
from twin_assets.shared.common import HOLIDAY_LOOKBACK
from twin_model.calendar import previous_business_day
from twin_model.contracts import TABLES, decode_scenarios
from twin_model.conventions import ParameterSetName
from twin_model.errors import StateGapError, StateMismatchError
from twin_model.optimize import Optimizer
from twin_model.solution import (
    PORTFOLIO_TABLES,
    SolutionHistory,
    SolutionRules,
    SolutionsState,
    carried_states,
    forecasts_start,
    history_start,
    is_managed,
    records_to_frames,
    solutions_level,
)
from twin_model.twin import run
from twin_model.twin.search import policies_in_force
from twin_resources.artifacts import ArtifactStore
from twin_resources.config import CalendarConfig, StrategiesConfig, TwinConfig
from twin_resources.resources import WarehouseResource

WEIGHTS, OPTIMIZATIONS, PERFORMANCE, ATTRIBUTION, VIOLATIONS, ORDERS = (TABLES[t] for t in PORTFOLIO_TABLES.values())
FORECASTS = "models.strategy_forecasts"


CRYSTALLISATION_LOOKAHEAD = dt.timedelta(days=40)
"""Holidays known past the run's last day: whether a day is the last business day before
a period end depends on the days up to that end."""


def holidays(calendar: CalendarConfig, days: list[dt.date]) -> frozenset[dt.date]:
    """The firm's holidays over the run's days and the weeks after (crystallisation days avoid them)."""
    return frozenset(calendar.holiday_calendar().no_data_days(days[0], days[-1] + CRYSTALLISATION_LOOKAHEAD))


def previous_states(warehouse: WarehouseResource, rules: list[SolutionRules], first_day: dt.date):
    """Each solution's state at the close of the business day before ``first_day`` (from
    config for a solution with no rows before it)."""
    latest = warehouse.warehouse().last_dates_before(PERFORMANCE, first_day, "solution_id")
    day = previous_business_day(first_day)
    weights, optimizations, performance, violations = (
        warehouse.read_history(spec.qualified_name, day, day)
        for spec in (WEIGHTS, OPTIMIZATIONS, PERFORMANCE, VIOLATIONS)
    )
    try:
        return carried_states(rules, latest, first_day, weights, optimizations, performance, violations)
    except (StateMismatchError, StateGapError) as error:
        raise dg.Failure(description=str(error)) from None


@dataclass(frozen=True)
class StoredScenarios:
    """A day's stored posterior-predictive scenarios, the ``scenarios`` of ``SolutionHistory``:
    ``(day, wanted)`` -> the day's posterior set's columns ``wanted`` (None when the day has no
    forecast row). A class rather than a closure so that a day's inputs pickle (a month end's
    search runs in worker processes)."""

    forecasts: pl.DataFrame
    artifacts: ArtifactStore

    def __call__(self, day: dt.date, wanted: Sequence[str]) -> np.ndarray | None:
        posterior = (pl.col("date") == day) & (pl.col("parameter_set") == ParameterSetName.POSTERIOR.value)
        row = self.forecasts.filter(posterior)
        return decode_scenarios(self.artifacts.read(FORECASTS, row.row(0, named=True)), wanted) if row.height else None


def history(
    warehouse: WarehouseResource,
    strategies: StrategiesConfig,
    days: list[dt.date],
    metalabels: bool,
    pool: pl.DataFrame | None = None,
) -> SolutionHistory:
    """The tables the solution level reads over ``days``; ``models.metalabels`` only when
    a solution sizes by it (``metalabel_sizing``), so the default graph does not need it;
    ``pool`` in place of the stored ``alpha.alpha_pool``."""
    first, last = days[0], days[-1]
    returns = warehouse.read_history("raw.strategy_returns", history_start(first), last)
    ids = returns.get_column("strategy_id").unique().to_list()
    positions = warehouse.read_history("raw.strategy_positions", first, last)
    forecasts = warehouse.read_history(FORECASTS, forecasts_start(first), last)
    return SolutionHistory(
        returns=returns,
        pool=warehouse.read_history("alpha.alpha_pool", first - HOLIDAY_LOOKBACK, last) if pool is None else pool,
        posteriors=warehouse.read_history("models.strategy_posteriors", first - HOLIDAY_LOOKBACK, last),
        forecasts=forecasts,
        regime=warehouse.read_history("raw.market_regime", first, last),
        positions=positions if positions.height else None,
        sectors={s: strategies.metadata(s).sector for s in ids},
        asset_classes={s: strategies.metadata(s).asset_class for s in ids},
        scenarios=StoredScenarios(forecasts, warehouse.artifacts()),
        metalabels=_metalabels(warehouse, first, last) if metalabels else None,
    )


def _metalabels(warehouse: WarehouseResource, first: dt.date, last: dt.date) -> pl.DataFrame:
    """The metalabels of the run's days (each day with a usable posterior must have them)
    and of the ten days before (a holiday at the start carries the last one)."""
    before = warehouse.read_history(
        "models.metalabels",
        first - HOLIDAY_LOOKBACK,
        first - dt.timedelta(days=1),
        ["date", "strategy_id", "p_profitable"],
    )
    return pl.concat([before, stored_history.metalabels(warehouse, first, last, "portfolio (metalabel_sizing)")])


@dataclass(frozen=True)
class SteppedSolutions:
    """A run of the solution level: the ``portfolio.*`` frames, the policy segments it used
    and the state at the last day's close."""

    frames: dict[str, pl.DataFrame]
    in_force: policies.Segments
    final: SolutionsState


def step_solutions(
    warehouse: WarehouseResource,
    config: TwinConfig,
    days: list[dt.date],
    configured_only: bool = False,
    pool: pl.DataFrame | None = None,
    start: SolutionsState | None = None,
    choices: pl.DataFrame | None = None,
) -> SteppedSolutions:
    """Every solution of config managed on any of ``days``, stepped through them with the
    policy in force (online mode: the month-end search's choice,
    ``policies.segments_in_force``; ``choices``, ``twin.policy_evaluations`` rows with
    ``policies.IN_FORCE_COLUMNS``, in place of the stored searches: batch mode) or,
    ``configured_only``, its configured policy.

    It starts from each solution's stored state at the close before ``days[0]``, or from
    ``start`` for the solutions it holds, and reads the stored alpha pool unless ``pool``
    (``alpha.alpha_pool`` rows from ten days before ``days[0]``) replaces it: the
    back-test steps alternative pools through the same daily step this way."""
    solutions = config.solutions
    stepped = [s for s in solutions.solutions if any(is_managed(s.launch_date, s.retired, day) for day in days)]
    rules = [s.rules() for s in stepped]
    states = {**previous_states(warehouse, rules, days[0]), **(start.solutions if start else {})}
    if configured_only:
        choices = TABLES[policies.EVALUATIONS].empty_frame().select(policies.IN_FORCE_COLUMNS)
    in_force = (
        policies.segments_in_force(warehouse, rules, days)
        if choices is None
        else policies_in_force(choices, rules, days)
    )
    days_off = holidays(config.calendar, days)
    fees = {s.solution_id: config.firm.fee_terms(s.fees, days_off) for s in stepped}
    retired = {s.solution_id: s.retired for s in stepped}
    policy = policies.schedule(in_force, retired, config.risk_limits, solutions.execution, Optimizer(), fees)
    inputs = history(warehouse, config.strategies, days, any(r.metalabel_sizing for r in rules), pool)
    trajectory = run(solutions_level(policy), SolutionsState(states), inputs.exogenous(days))
    frames = records_to_frames([record for day in trajectory.records for record in day])
    return SteppedSolutions(frames, in_force, trajectory.final)
