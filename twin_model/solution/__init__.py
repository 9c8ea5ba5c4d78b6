"""The solution level: a solution's rules, its state S_t, the day's exogenous information
W_{t+1}, its step (by stage) as a level of ``twin_model.twin``, and its records.

A solution (a portfolio of strategies, ``config/solutions.yaml``) carries its state from
day to day; its policy decides each business day in five stages, each in its own module:
``_book`` (1. mark to market, cash interest, fees and flows: ``twin_model.firm``),
``_manage`` (2. manage strategies), ``_risk`` (3. risk),
``_targets`` (4. targets), ``_orders`` (5. orders); ``_step`` joins them into
``SolutionPolicy.decide``, ``transition``, ``contribution`` and ``day_record`` (and
``step``, all four for one day), and ``solutions_level`` into the level that carries every
solution through ``twin_model.twin.run``. Also:

- ``_rules``: ``SolutionRules`` and ``ManualAction``, from config;
- ``_state``: ``SolutionState`` and ``StrategyState``, what carries over;
- ``_inputs``: ``DayInputs`` (W_{t+1}) and ``SolutionHistory``, which builds it from the
  warehouse tables;
- ``_record``: ``DayRecord``, the rows of the six ``portfolio.*`` tables of a day;
- ``_tables``: the records as frames, and a state rebuilt from stored rows.
"""

from twin_model.solution._book import Book
from twin_model.solution._inputs import (
    HISTORY_ROWS,
    POOL_COLUMNS,
    DayInputs,
    SolutionHistory,
    forecasts_start,
    history_start,
    valleys_in_force,
)
from twin_model.solution._orders import MIN_TRADE
from twin_model.solution._record import DayRecord
from twin_model.solution._rules import MANUAL_ACTIONS, ManualAction, SolutionRules
from twin_model.solution._state import SolutionState, StrategyState, Violation
from twin_model.solution._step import (
    SolutionDecision,
    SolutionPolicy,
    SolutionsPolicy,
    SolutionsState,
    contribution,
    day_record,
    solutions_level,
    step,
    transition,
)
from twin_model.solution._tables import (
    PORTFOLIO_TABLES,
    StateGapError,
    StateMismatchError,
    carried_states,
    is_managed,
    records_to_frames,
    state_from_tables,
)
from twin_model.solution._targets import ALLOCATION_FAILED, MIN_COVARIANCE_ROWS, allocate_targets

__all__ = [
    # rules and state
    "SolutionRules",
    "ManualAction",
    "MANUAL_ACTIONS",
    "SolutionState",
    "StrategyState",
    "Violation",
    # exogenous information
    "DayInputs",
    "SolutionHistory",
    "HISTORY_ROWS",
    "POOL_COLUMNS",
    "history_start",
    "forecasts_start",
    "valleys_in_force",
    # the step as a level
    "SolutionPolicy",
    "SolutionDecision",
    "transition",
    "contribution",
    "day_record",
    "step",
    "SolutionsState",
    "SolutionsPolicy",
    "solutions_level",
    # the allocation stage on its own (the month-end search's fast path)
    "Book",
    "allocate_targets",
    "ALLOCATION_FAILED",
    "MIN_COVARIANCE_ROWS",
    "MIN_TRADE",
    # records and stored state
    "DayRecord",
    "PORTFOLIO_TABLES",
    "records_to_frames",
    "carried_states",
    "state_from_tables",
    "is_managed",
    "StateMismatchError",
    "StateGapError",
]
