"""The back-test's baselines that do not depend on the walk, run beside it.

Each solution on its static configuration (``solution_inputs.step_solutions`` with
``configured_only``) and the pool-tuned run (twin_assets/twin/pool_tuning.py) read only
the stored layers below the solutions, not the walk's choices, so the back-test hands
them to its worker processes (the month-end search's pool, ``TWIN_WORKERS``)
before it walks, and collects them after: on two cores they run while the walk steps
and searches instead of after it. A worker rebuilds the warehouse resource from its path
(a Dagster resource does not unpickle) and reads with read-only connections, as the
walk does. Without workers they are computed in this process, before the walk.
"""

import datetime as dt
from collections.abc import Callable
from concurrent.futures import Executor, Future

import polars as pl

from twin_assets.shared import solution_inputs
from twin_assets.twin.pool_tuning import TunedRun, tuned_run
from twin_resources.config import TwinConfig
from twin_resources.resources import WarehouseResource


def static_frames(path: str, lock_timeout_s: float, config: TwinConfig, days: list[dt.date]) -> dict[str, pl.DataFrame]:
    """The ``portfolio.*`` frames of every solution on its configured policy over ``days``."""
    warehouse = WarehouseResource(path=path, lock_timeout_s=lock_timeout_s)
    return solution_inputs.step_solutions(warehouse, config, days, configured_only=True).frames


def pool_tuned(path: str, lock_timeout_s: float, config: TwinConfig, days: list[dt.date]) -> TunedRun:
    """The pool-tuned run over ``days`` (``tuned_run``)."""
    return tuned_run(WarehouseResource(path=path, lock_timeout_s=lock_timeout_s), config, days)


class Baselines:
    """The static and pool-tuned runs of a span, started on ``executor``'s workers (or
    computed at once without one); ``static()`` and ``tuned()`` wait for them and raise
    what they raised."""

    def __init__(
        self, executor: Executor | None, warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date]
    ):
        args = (warehouse.path, warehouse.lock_timeout_s, config, days)
        self._tuned = _submit(executor, pool_tuned, args)  # the longer: first, so it starts at once
        self._static = _submit(executor, static_frames, args)

    def static(self) -> dict[str, pl.DataFrame]:
        return self._static.result()

    def tuned(self) -> TunedRun:
        return self._tuned.result()


def _submit(executor: Executor | None, function: Callable, args: tuple) -> Future:
    """``executor.submit(function, *args)``, or a future already holding its result."""
    if executor is not None:
        return executor.submit(function, *args)
    done: Future = Future()
    done.set_result(function(*args))
    return done
