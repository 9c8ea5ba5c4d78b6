"""The back-test's ``launched`` rows: the firm's initiate-solution decision acted on.

The daily graph records ``firm.firm_decisions`` and launches nothing: a new solution is a
change to config/solutions.yaml that a person makes. The back-test acts on the first
``launch`` its walk decided (twin_assets/twin/batch.py): a copy of the template solution (its policy, rules and fee terms, no
flows or manual overrides) launched with ``new_solution.launch_aum`` on the business day
after the decision, stepped on its configured policy by the same daily step, from a
cold start, over the stored inputs. Only the first: every later decision was taken on a
book without the launched solution (its strategies still counted as unused), so acting
on it would launch again on stale grounds.
"""

import datetime as dt
from dataclasses import dataclass

import polars as pl

from twin_assets.shared import solution_inputs
from twin_model.conventions import SolutionDecision
from twin_resources.config import SolutionConfig, TwinConfig
from twin_resources.resources import WarehouseResource


@dataclass(frozen=True)
class Launch:
    """The launched solution, the month end that decided it and its ``portfolio.*`` frames."""

    solution: SolutionConfig
    decided: dt.date
    frames: dict[str, pl.DataFrame]


def launched_id(template: str, decided: dt.date) -> str:
    """The launched copy's solution_id: ``<template>_launch_<decision day>``."""
    return f"{template}_launch_{decided.isoformat()}"


def first_launch(
    warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date], decisions: pl.DataFrame
) -> Launch | None:
    """The first ``launch`` of ``decisions`` (``firm.firm_decisions`` rows of the span's
    month ends) before the span's last day, stepped from the next business day to the end;
    None when there is none (or the firm has no ``new_solution`` policy)."""
    settings = config.firm.new_solution
    if settings is None:
        return None
    launches = decisions.filter(
        (pl.col("decision") == SolutionDecision.LAUNCH.value) & (pl.col("date") < days[-1])
    ).sort("date")
    if launches.height == 0:
        return None
    first = launches.row(0, named=True)
    decided, template_id = first["date"], first["template"]
    template = next(s for s in config.solutions.solutions if s.solution_id == template_id)  # config checks it
    managed = [day for day in days if day > decided]
    solution = template.model_copy(
        update={
            "solution_id": launched_id(template_id, decided),
            "description": f"a copy of {template_id} launched by the firm's decision of {decided}",
            "launch_date": managed[0],
            "retired": None,
            "initial_aum": settings.launch_aum,
            "flows": [],
            "manual": [],
        }
    )
    alone = config.model_copy(update={"solutions": config.solutions.model_copy(update={"solutions": [solution]})})
    stepped = solution_inputs.step_solutions(warehouse, alone, managed, configured_only=True)
    return Launch(solution, decided, stepped.frames)
