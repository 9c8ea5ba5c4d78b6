"""Online mode: the policy in force on a day, from the month-end searches' choices.

A search dated month end ``t`` ran on the state at ``t``'s close, so its choice governs the
business days after ``t``: on day ``d`` the policy in force is the ``chosen`` row of the
latest search dated before ``d`` (the latest choice in force at or before ``d``), its
``parameters`` applied to the configured rules (``with_parameters``); with no search
before ``d``, or when the search kept the incumbent, it is the configured policy as
config says it today (a config change then takes effect). What was used is named (``PolicyInForce``) so
the daily assets can say so in their metadata.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from twin_model.solution import SolutionRules
from twin_model.twin import Policy
from twin_model.twin.search._candidates import with_parameters

CONFIGURED = "configured"
"""``PolicyInForce.source`` of the configured policy (no search before the day)."""


@dataclass(frozen=True)
class PolicyInForce:
    """The rules a solution runs on a day and where they came from: ``source`` is
    ``CONFIGURED`` or ``"policy_search <date>: <candidate_id>"``."""

    rules: SolutionRules
    source: str
    searched_on: dt.date | None = None
    candidate_id: str | None = None


def policy_in_force(evaluations: pl.DataFrame, rules: SolutionRules, day: dt.date) -> PolicyInForce:
    """The policy ``rules.solution_id`` runs on ``day`` given the ``twin.policy_evaluations``
    rows ``evaluations`` (any rows; only the chosen ones of this solution dated before
    ``day`` count)."""
    chosen = (
        evaluations.filter(
            pl.col("chosen") & (pl.col("solution_id") == rules.solution_id) & (pl.col("date") < day)
        ).sort("date")
        if evaluations.height
        else evaluations
    )
    if chosen.height == 0:
        return PolicyInForce(rules, CONFIGURED)
    row = chosen.row(-1, named=True)
    where = f"policy_search {row['date']}: {row['candidate_id']}"
    if row["incumbent"]:
        return PolicyInForce(rules, f"{where} (the configured policy kept)", row["date"], row["candidate_id"])
    return PolicyInForce(with_parameters(rules, json.loads(row["parameters"])), where, row["date"], row["candidate_id"])


def policies_in_force(
    evaluations: pl.DataFrame, rules: Sequence[SolutionRules], days: Sequence[dt.date]
) -> list[tuple[dt.date, list[PolicyInForce]]]:
    """The policies in force over ``days`` (in order) as segments: ``(first day, each
    solution's PolicyInForce)``, a new segment on each day where any of them changes."""
    segments: list[tuple[dt.date, list[PolicyInForce]]] = []
    for day in days:
        now = [policy_in_force(evaluations, r, day) for r in rules]
        if not segments or [p.source for p in now] != [p.source for p in segments[-1][1]]:
            segments.append((day, now))
    return segments


@dataclass(frozen=True)
class PolicySchedule:
    """X^pi of a level whose policy changes within a run: ``policies[k]`` decides the days
    from ``starts[k]`` up to the next start (a month-end search's choice taking effect)."""

    starts: tuple[dt.date, ...]
    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        if not self.starts or len(self.starts) != len(self.policies) or list(self.starts) != sorted(set(self.starts)):
            raise ValueError("PolicySchedule: one policy per start, the starts increasing")

    @property
    def name(self) -> str:
        return " | ".join(f"from {s}: {p.name}" for s, p in zip(self.starts, self.policies))

    @property
    def parameters(self) -> dict[str, object]:
        return {str(s): p.parameters for s, p in zip(self.starts, self.policies)}

    def in_force(self, day: dt.date) -> Policy:
        """The policy deciding ``day`` (the first one before the first start)."""
        return self.policies[max(0, bisect.bisect_right(self.starts, day) - 1)]

    def decide(self, state, info):
        return self.in_force(info.day).decide(state, info)
