"""One month end's search for every searched solution (batch mode, the month-end asset,
the back-test): the paths are drawn once and shared by every solution and candidate.

    search_paths  = ScenarioSet(seed, SEARCH,  n_paths,       horizon).simulate(model)
    holdout_paths = ScenarioSet(seed, HOLDOUT, holdout_paths, horizon).simulate(model)

and each solution's candidates (``candidates(rules, settings)``) are searched from its
state at the month end's close, with an optimiser of its own (so a solution's rows do not
depend on which solutions were searched before it, nor in which process: given an
``executor``, the solutions are searched in its workers, ``twin_model.parallel``). The
rows are the search's table (``SEARCH_COLUMNS``) with the keys and what regenerates the
paths: ``date`` (the month end), ``solution_id``, ``n_paths``, ``holdout_paths``,
``horizon_days``, ``seed``, ``score_kind`` and ``risk_aversion``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from itertools import repeat

import polars as pl

from twin_model.conventions import ScenarioStream
from twin_model.firm import NO_FEES, FeeTerms
from twin_model.parallel import map_on
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution import DayInputs, SolutionRules, SolutionState
from twin_model.strategy import PredictiveModel
from twin_model.twin.search._candidates import PolicySearchSettings, candidates
from twin_model.twin.search._month import SimulatedMonth, month_days
from twin_model.twin.search._scenarios import ScenarioSet
from twin_model.twin.search._search import SearchResult, search


def searched(rules: Sequence[SolutionRules], settings: PolicySearchSettings) -> list[SolutionRules]:
    """The solutions the settings search (all when ``settings.solutions`` is None)."""
    names = settings.solutions
    return [r for r in rules if names is None or r.solution_id in names]


def month_end_search(
    base: DayInputs,
    model: PredictiveModel,
    valley: Mapping[str, float],
    solutions: Sequence[tuple[SolutionRules, SolutionState]],
    settings: PolicySearchSettings,
    limits: RiskLimits,
    costs: CostModel,
    fees: Mapping[str, FeeTerms] | None = None,
    executor: Executor | None = None,
) -> tuple[pl.DataFrame, dict[str, SearchResult]]:
    """The month end ``base.day``'s search of each ``(rules, state)``, each solution charged
    its ``fees`` (by solution id; none: no fees), in ``executor``'s workers when given:
    the table's rows and each solution's result. ``valley`` is the monthly valley in force
    over the next month (the forecast made at the month end)."""
    month = SimulatedMonth(base, month_days(base.day, settings.horizon), model.strategy_ids, valley)
    paths = ScenarioSet(settings.seed, ScenarioStream.SEARCH, settings.n_paths, settings.horizon).simulate(model)
    holdout = ScenarioSet(settings.seed, ScenarioStream.HOLDOUT, settings.holdout_paths, settings.horizon).simulate(
        model
    )
    pools = [candidates(rules, settings) for rules, _ in solutions]
    terms = [(fees or {}).get(rules.solution_id, NO_FEES) for rules, _ in solutions]
    states = [state for _, state in solutions]
    shared = (repeat(month), repeat(paths), repeat(holdout), repeat(settings), repeat(limits), repeat(costs))
    no_optimizer = repeat(None)  # each solution's search builds its own
    mapped = map_on(executor, search, pools, states, *shared, no_optimizer, terms)
    results, frames = {}, []
    for (rules, _), result in zip(solutions, mapped):
        results[rules.solution_id] = result
        frames.append(
            result.table.with_columns(
                pl.lit(base.day).alias("date"),
                pl.lit(rules.solution_id).alias("solution_id"),
                pl.lit(settings.n_paths, pl.Int64).alias("n_paths"),
                pl.lit(settings.holdout_paths, pl.Int64).alias("holdout_paths"),
                pl.lit(settings.horizon, pl.Int64).alias("horizon_days"),
                pl.lit(settings.seed, pl.Int64).alias("seed"),
                pl.lit(str(settings.score.value)).alias("score_kind"),
                pl.lit(float(settings.risk_aversion)).alias("risk_aversion"),
            )
        )
    table = pl.concat(frames) if frames else pl.DataFrame()
    return table, results
