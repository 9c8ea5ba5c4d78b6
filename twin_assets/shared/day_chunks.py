"""Independent pieces of a daily asset's span spread over worker processes.

``in_workers(compute, pieces, min_per_worker, *shared)`` computes each piece in up to
``TWIN_WORKERS`` spawned workers when there are at least ``min_per_worker`` pieces a
worker, else in the calling process, and gives the results in the pieces' order, so the
rows are the same either way: spawning a worker (importing the model's libraries) costs
about two seconds. ``in_day_chunks`` cuts a span into runs of consecutive days, for an
asset whose days do not depend on each other: the forecasts (each day's seed is its
own), about 90 ms a day in numpy and parquet: 2019-2020's 505 days took 26 s on two
workers, 46 s in one process (benchmarks/day_chunks.py). The statistics, whose polars
already use both cores, gained a tenth (9.4 s to 8.6) and stay in one process. The
metalabels' monthly refits go one a task (a later fit, on more labels, takes longer).
"""

import datetime as dt
from collections.abc import Callable
from itertools import repeat
from typing import TypeVar

from twin_model.parallel import contiguous_chunks, map_on, worker_pool
from twin_resources.runtime import worker_count

R = TypeVar("R")
MIN_DAYS_PER_WORKER = 100
"""Days a worker must have before a span is spread (100 days of forecasts: about 10 s)."""


def in_workers(compute: Callable[..., R], pieces: list, min_per_worker: int, *shared) -> list[R]:
    """``compute(piece, *shared)`` for each of ``pieces``, in order, in worker processes
    when there are at least ``min_per_worker`` pieces a worker."""
    workers = min(worker_count(), len(pieces) // min_per_worker)
    with worker_pool(workers) as pool:
        return list(map_on(pool, compute, pieces, *(repeat(value) for value in shared)))


def in_day_chunks(compute: Callable[..., R], days: list[dt.date], *shared) -> list[R]:
    """``compute(chunk, *shared)`` for runs of consecutive ``days``, in order, in worker
    processes when the span is long enough."""
    workers = min(worker_count(), len(days) // MIN_DAYS_PER_WORKER)
    return in_workers(compute, contiguous_chunks(days, workers), 1, *shared)
