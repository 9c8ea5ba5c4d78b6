"""Online mode: the solution policies in force over a run's days, read through the
warehouse resource from ``twin.policy_evaluations`` (not a Dagster dependency: the
month-end search depends on the daily solution level, so the reverse edge would be a
cycle), falling back to the configured policy, and named in each day's metadata."""

import datetime as dt
from collections.abc import Mapping, Sequence

from twin_assets.shared.metadata import DayFigures
from twin_model.firm import FeeTerms
from twin_model.optimize import Optimizer
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution import SolutionPolicy, SolutionRules, SolutionsPolicy
from twin_model.twin.search import PolicyInForce, PolicySchedule, policies_in_force
from twin_resources.resources import WarehouseResource

EVALUATIONS = "twin.policy_evaluations"
IN_FORCE_COLUMNS = ("date", "solution_id", "candidate_id", "incumbent", "chosen", "parameters")
"""What the daily assets read of the searches' rows."""

Segments = list[tuple[dt.date, list[PolicyInForce]]]


def segments_in_force(warehouse: WarehouseResource, rules: Sequence[SolutionRules], days: list[dt.date]) -> Segments:
    """Each solution's policy in force over ``days``: the latest choice dated before the
    day (``policies_in_force``), else the configured rules."""
    evaluations = warehouse.read_history(EVALUATIONS, None, days[-1], IN_FORCE_COLUMNS)
    return policies_in_force(evaluations, rules, days)


def schedule(
    segments: Segments,
    retired: Mapping[str, dt.date | None],
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer,
    fees: Mapping[str, FeeTerms],
) -> PolicySchedule:
    """The solution level's policy over the run: a ``SolutionsPolicy`` per segment, each
    solution charged its ``fees``."""
    return PolicySchedule(
        tuple(start for start, _ in segments),
        tuple(
            SolutionsPolicy(
                tuple(SolutionPolicy(p.rules, limits, costs, optimizer, fees[p.rules.solution_id]) for p in now),
                retired,
            )
            for _, now in segments
        ),
    )


def with_policies(figures: DayFigures, segments: Segments) -> DayFigures:
    """``figures`` plus ``policy_in_force``: each solution's policy on the day and where it
    came from (``configured`` or the search that chose it)."""

    def day_figures(day: dt.date, rows) -> dict:
        now = next(policies for start, policies in reversed(segments) if start <= day)
        return {
            **figures(day, rows),
            "policy_in_force": "; ".join(f"{p.rules.solution_id}: {p.source}" for p in now),
        }

    return day_figures
