"""The processes a month end's solutions are searched in (``policy_search.workers``).

A month end searches each solution on the same paths, independently of the others
(``_month_end``): with ``workers`` > 1 the solutions are spread over that many spawned
processes, each pinned to one BLAS thread (as the services are: on two shared cores
threaded BLAS is slower, not faster). The rows do not depend on where a solution was
searched: every solution's search builds its own optimiser (whose warm starts would
otherwise carry one solution's solves into the next), and a worker computes exactly what
the calling process would. ``spawn``, not ``fork``: the callers (a Dagster step, the
back-test) hold threads and open files that a forked child must not inherit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor


def _one_blas_thread() -> None:
    """A worker's initialiser: one BLAS and one OpenMP thread for the process's life."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


@contextlib.contextmanager
def search_workers(workers: int) -> Iterator[Executor | None]:
    """A pool of ``workers`` spawned processes, shut down on exit; None (search in the
    calling process) for ``workers`` <= 1."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_one_blas_thread) as pool:
        yield pool
