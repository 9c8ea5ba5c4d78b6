"""Batch mode: the twin's walk-forward over a span in memory, for the back-test.

It is the walk ``twin run`` makes through Dagster (twin_assets/cli/walk_forward.py: a
``solution_job`` run a month and a ``month_end_job`` run a complete month, the closing
state and the month end's choice passing through the warehouse), made in one process
with nothing written: each month's solution level stepped by ``step_solutions`` from the
state the month before left, with the choices made so far (those stored before the span,
then the walk's own); then, for a complete month, its policy search
(``month_end_search``) from that state and, when the firm has a ``new_solution`` policy,
its initiate-solution decision on the month end's weights. It reads the stored layers
below the solutions (raw, strategy models, forecasts, alpha pool) as the daily assets do.
``benchmarks/walk_in_memory.py`` compares it with a span the Dagster walk stored:
September-December 2022 gave the same rows to 0.0 and the same choices.
"""

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import polars as pl

from twin_assets.firm.month_end import decide_month
from twin_assets.shared.month_end import month_end_inputs, searched_rows
from twin_assets.shared.partitions import daily_partitions, month_steps
from twin_assets.shared.policies import EVALUATIONS, IN_FORCE_COLUMNS
from twin_assets.shared.solution_inputs import step_solutions
from twin_model.contracts import TABLES
from twin_resources.config import TwinConfig
from twin_resources.resources import WarehouseResource

SEARCHES, DECISIONS = TABLES[EVALUATIONS], TABLES["firm.firm_decisions"]
WEIGHTS = "portfolio.solution_weights"


@dataclass(frozen=True)
class Walk:
    """A span walked in memory: its ``portfolio.*`` frames, its month ends' search rows
    (``twin.policy_evaluations``) and decisions (``firm.firm_decisions``), and the seconds
    spent stepping, searching and deciding."""

    frames: dict[str, pl.DataFrame]
    searches: pl.DataFrame
    decisions: pl.DataFrame
    seconds: dict[str, float]


def walk(
    warehouse: WarehouseResource,
    config: TwinConfig,
    days: list[dt.date],
    log: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> Walk:
    """Walk ``days`` month by month: the solutions, then a complete month's search and
    decision, whose choice the next month runs; ``log`` (if given) hears of each month.
    The month ends' solutions are searched in ``executor``'s workers when given
    (``twin_model.parallel.worker_pool``), else in this process."""
    log = log or (lambda _: None)
    calendar = daily_partitions().get_partition_keys()
    choices = warehouse.read_history(EVALUATIONS, None, days[0] - dt.timedelta(days=1), list(IN_FORCE_COLUMNS))
    state, frames, searches, decisions = None, [], [], []
    seconds = dict.fromkeys(("steps", "searches", "decisions"), 0.0)
    for chunk, month in month_steps([d.isoformat() for d in days], calendar):
        month_days = [dt.date.fromisoformat(d) for d in chunk]
        started = time.perf_counter()
        stepped = step_solutions(warehouse, config, month_days, start=state, choices=choices)
        seconds["steps"] += time.perf_counter() - started
        state = stepped.final
        frames.append(stepped.frames)
        if month is None:
            log(f"walked {month_days[0]} .. {month_days[-1]}; the month is not complete: not searched")
            continue
        t = month_days[-1]
        started = time.perf_counter()
        rows = searched_rows(month_end_inputs(warehouse, config, t, states=state.solutions), executor)
        seconds["searches"] += time.perf_counter() - started
        chosen = rows.filter(pl.col("chosen")).select("solution_id", "candidate_id").rows()
        log(f"walked {month_days[0]} .. {t}; searched {t}: " + ("; ".join(f"{s}: {c}" for s, c in chosen) or "none"))
        choices = pl.concat([choices, rows.select(IN_FORCE_COLUMNS)])
        searches.append(rows)
        if config.firm.new_solution is not None:
            started = time.perf_counter()
            weights = stepped.frames[WEIGHTS].filter(pl.col("date") == t)
            decisions.append(decide_month(warehouse, config, t, weights))
            seconds["decisions"] += time.perf_counter() - started
    return Walk(
        {table: pl.concat([f[table] for f in frames]) for table in frames[0]},
        pl.concat(searches) if searches else SEARCHES.empty_frame(),
        pl.concat(decisions) if decisions else DECISIONS.empty_frame(),
        seconds,
    )
