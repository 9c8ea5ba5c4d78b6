"""The back-test's baselines that do not depend on the walk, run beside it.

Each solution on its static configuration and the pool-tuned run
(twin_assets/twin/pool_tuning.py, which walks each distinct pool once, the stored one
included) read only the stored layers below the solutions, not the walk's choices, so
the back-test hands them to one of its worker processes (the month-end search's pool,
``TWIN_WORKERS``) before it walks, and collects them after: on two cores they run while
the walk steps and searches instead of after it, and the other worker is free for the
searches from the first month end. A worker rebuilds the warehouse resource from its
path (a Dagster resource does not unpickle) and reads with read-only connections, as the
walk does. Without workers they are computed in this process, before the walk.
"""

import datetime as dt
from concurrent.futures import Executor, Future

from twin_assets.twin.pool_tuning import BaselineRuns, baseline_runs
from twin_resources.config import TwinConfig
from twin_resources.resources import WarehouseResource


def runs_in_worker(path: str, lock_timeout_s: float, config: TwinConfig, days: list[dt.date]) -> BaselineRuns:
    """``baseline_runs`` over ``days`` on the warehouse at ``path``."""
    return baseline_runs(WarehouseResource(path=path, lock_timeout_s=lock_timeout_s), config, days)


class Baselines:
    """The static and pool-tuned runs of a span, started on ``executor``'s workers (or
    computed at once without one); ``runs()`` waits for them and raises what they raised."""

    def __init__(
        self, executor: Executor | None, warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date]
    ):
        args = (warehouse.path, warehouse.lock_timeout_s, config, days)
        if executor is not None:
            self._runs = executor.submit(runs_in_worker, *args)
        else:
            self._runs = Future()
            self._runs.set_result(runs_in_worker(*args))

    def runs(self) -> BaselineRuns:
        return self._runs.result()
