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

import datetime as dt
import json
from dataclasses import dataclass

import polars as pl

from twin_model.solution import SolutionRules
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
