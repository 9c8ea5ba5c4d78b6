"""The month-end policy search on common random numbers (DESIGN.md "Policy search and the
back-test").

- ``_scenarios``: ``ScenarioSet``, seeded paths of the next month from the strategy
  models' forecast machinery, one random stream per path;
- ``_month``: ``SimulatedMonth``, the solution level's ``DayInputs`` along a path;
- ``_candidates``: ``PolicySearchSettings`` (``config/twin.yaml``) and the candidates
  (incumbent, PFA and CFA grids) of a solution;
- ``_reference``: the solution step itself through the runner, one path at a time;
- ``_vectorised``: the same step over every path at once, where the policy allows;
- ``_search``: scores, standard errors, paired differences, hold-out, the choice;
- ``_month_end``: one month end's search of every searched solution on shared paths;
- ``_in_force``: online mode, the policy a solution runs on a day.

A subpackage of ``twin_model.twin`` (not re-exported by it): the solution and strategy
levels import the core vocabulary from ``twin_model.twin``, and the search imports them.
"""

from twin_model.twin.search._candidates import (
    SEARCHED_RULES,
    Candidate,
    CfaGrid,
    CfaPolicy,
    DlaGrid,
    PfaGrid,
    PolicySearchSettings,
    candidates,
    parameters_json,
    parameters_of,
    with_parameters,
)
from twin_model.twin.search._in_force import (
    CONFIGURED,
    PolicyInForce,
    PolicySchedule,
    policies_in_force,
    policy_in_force,
)
from twin_model.twin.search._month import SimulatedMonth, month_days
from twin_model.twin.search._month_end import month_end_search, searched
from twin_model.twin.search._reference import reference_returns, solution_level
from twin_model.twin.search._scenarios import STREAM_KEYS, ScenarioSet
from twin_model.twin.search._search import SEARCH_COLUMNS, SearchResult, evaluate, mean_and_se, search, utilities
from twin_model.twin.search._vectorised import (
    inert_limits,
    screened_returns,
    vectorised_obstacles,
    vectorised_returns,
)

__all__ = [
    "ScenarioSet",
    "STREAM_KEYS",
    "SimulatedMonth",
    "month_days",
    "PolicySearchSettings",
    "PfaGrid",
    "CfaGrid",
    "DlaGrid",
    "CfaPolicy",
    "Candidate",
    "candidates",
    "SEARCHED_RULES",
    "parameters_of",
    "parameters_json",
    "with_parameters",
    "solution_level",
    "reference_returns",
    "inert_limits",
    "vectorised_obstacles",
    "screened_returns",
    "vectorised_returns",
    "utilities",
    "mean_and_se",
    "evaluate",
    "search",
    "SearchResult",
    "SEARCH_COLUMNS",
    "month_end_search",
    "searched",
    "policy_in_force",
    "PolicyInForce",
    "CONFIGURED",
    "policies_in_force",
    "PolicySchedule",
]
