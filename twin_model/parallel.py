"""Worker processes for work that splits into independent pieces: a month end's solutions
(the policy search), a long span's days (the forecasts), the back-test's baselines.

``worker_pool(workers)`` spawns that many processes, each pinned to one BLAS and one
OpenMP thread (as the services are: on two shared cores threaded BLAS is slower, not
faster), or gives None for one worker (the caller works in its own process);
``map_on(executor, ...)`` maps in the pool's workers, or in this process on None. ``spawn``,
not ``fork``: the callers (a Dagster step, the back-test) hold threads and open files
that a forked child must not inherit. What a piece computes does not depend on the
process it runs in; the callers keep each piece's state its own (a search's optimiser,
a day's seed) so that the rows are the same for any number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _one_blas_thread() -> None:
    """A worker's initialiser: one BLAS and one OpenMP thread for the process's life."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """A pool of ``workers`` spawned processes, shut down on exit; None (work in the
    calling process) for ``workers`` <= 1."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_one_blas_thread) as pool:
        yield pool


def map_on(executor: Executor | None, function: Callable[..., R], *iterables: Iterable) -> Iterator[R]:
    """``function`` over ``iterables`` (as ``map``), in ``executor``'s workers when given,
    else in this process; results in the inputs' order either way."""
    return executor.map(function, *iterables) if executor is not None else map(function, *iterables)


def contiguous_chunks(items: Sequence[T], n: int) -> list[list[T]]:
    """``items`` cut into ``min(n, len(items))`` runs of consecutive items, in order, whose
    lengths differ by at most one (none for no items)."""
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    cuts = [k * size + min(k, extra) for k in range(n + 1)]
    return [list(items[cuts[k] : cuts[k + 1]]) for k in range(n)] if items else []
