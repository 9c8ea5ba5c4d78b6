"""What a month end reads, for the month-end assets (the policy search, the firm's
projection and decision) and batch mode alike: the month end of a month (its last
business day with solution rows), the day whose strategy model it uses, that model, and
the search's inputs; and the search's validated rows."""

import datetime as dt
from collections.abc import Mapping
from concurrent.futures import Executor

import dagster as dg
import polars as pl

from twin_assets.shared import history, solution_inputs
from twin_assets.shared.common import HOLIDAY_LOOKBACK
from twin_model.calendar import business_days, first_of_next_month, next_business_day
from twin_model.contracts import TABLES, validate
from twin_model.solution import SolutionState, is_managed, valleys_in_force
from twin_model.strategy import SimulationSettings, predictive_model, return_window
from twin_model.twin.search import month_days, month_end_search, searched
from twin_resources.resources import WarehouseResource

EVALUATIONS = TABLES["twin.policy_evaluations"]
POSTERIORS = TABLES["models.strategy_posteriors"]
PERFORMANCE = TABLES["portfolio.solution_performance"]


def month_end(warehouse: WarehouseResource, month_start: dt.date) -> dt.date:
    """The last business day of the month with solution rows (``dg.Failure`` if none)."""
    last = first_of_next_month(month_start) - dt.timedelta(days=1)
    rows = warehouse.read_history(PERFORMANCE.qualified_name, month_start, last, ["date"])
    if rows.height == 0:
        days = business_days(month_start, last)
        first, final = days[0], days[-1]
        raise dg.Failure(
            description=f"no solution rows from {first} to {final}: materialise the solution level for the month first"
        )
    return rows.get_column("date").max()


def searched_rows(inputs: dict, executor: Executor | None = None) -> pl.DataFrame:
    """The validated rows of the search ``inputs`` (``month_end_inputs``) describe, its
    solutions searched in ``executor``'s workers when given (``twin_model.parallel``)."""
    table, _ = month_end_search(**inputs, executor=executor)
    return validate(table, EVALUATIONS) if table.height else EVALUATIONS.empty_frame()


def month_end_inputs(
    warehouse: WarehouseResource, config, t: dt.date, states: Mapping[str, SolutionState] | None = None
) -> dict:
    """The keyword arguments of ``month_end_search`` at month end ``t`` but the executor:
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
        "model": strategy_model(warehouse, config.strategies, t),
        "valley": valleys_in_force(forecasts, first_of_next_month(t)),  # the forecast of t, the last before the month
        "solutions": [(r, states[r.solution_id]) for r in rules],
        "settings": settings,
        "limits": config.risk_limits,
        "costs": config.solutions.execution,
        "fees": {s.solution_id: config.firm.fee_terms(s.fees, holidays) for s in managed},
    }


def modelled_day(warehouse: WarehouseResource, t: dt.date) -> dt.date:
    """The last day at or before ``t`` with strategy posteriors: ``t`` itself, or, when the
    month's last weekday is a market holiday (Memorial Day, 31 May 2021: solution rows, no
    traded returns, so no posterior), the traded day before it."""
    days = warehouse.read_history(POSTERIORS.qualified_name, t - HOLIDAY_LOOKBACK, t, ["date"]).get_column("date")
    if days.len() == 0:
        raise dg.Failure(description=f"no usable posterior on {t}: materialise models.strategy_posteriors for it first")
    return days.max()


def strategy_model(warehouse: WarehouseResource, strategies, t: dt.date):
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
