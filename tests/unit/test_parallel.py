"""Worker processes: how a span is cut, the ``TWIN_WORKERS`` setting, and a span's days
computed in two spawned workers giving the rows of one process (the statistics of a day,
which read the returns up to it, stand in for any day-wise computation)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_assets.shared import day_chunks
from twin_assets.stats.assets import statistics_days
from twin_model.parallel import contiguous_chunks
from twin_resources.runtime import WORKERS_VARIABLE, worker_count


def test_a_span_is_cut_into_runs_of_consecutive_items_differing_by_at_most_one():
    assert contiguous_chunks(list(range(10)), 3) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert contiguous_chunks(list(range(6)), 2) == [[0, 1, 2], [3, 4, 5]]
    assert contiguous_chunks(["a", "b"], 5) == [["a"], ["b"]]
    assert contiguous_chunks(list(range(4)), 1) == [[0, 1, 2, 3]]
    assert contiguous_chunks([], 3) == []


def test_the_worker_count_comes_from_twin_workers(monkeypatch):
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    assert worker_count() == 2
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    assert worker_count() == 1
    monkeypatch.setenv(WORKERS_VARIABLE, " 3 ")
    assert worker_count() == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(WORKERS_VARIABLE, bad)
        with pytest.raises(ValueError, match=f"{WORKERS_VARIABLE}='{bad}'"):
            worker_count()


def _returns(days: list[dt.date]) -> pl.DataFrame:
    """Three strategies' returns over ``days`` (one day of one strategy unavailable)."""
    rng = np.random.default_rng(3)
    rows = [
        (day, strategy, float(rng.normal(0.0003, 0.01)), not (strategy == "b" and k == 7))
        for k, day in enumerate(days)
        for strategy in ("a", "b", "c")
    ]
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


def test_a_spans_days_in_two_workers_give_the_rows_of_one_process(monkeypatch):
    """The statistics of 26 days (a day reads the returns up to it) computed in two spawned
    workers, 13 days each, equal the same days computed here, row for row and in order."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=k) for k in range(40)]
    days = [day for day in days if day.weekday() < 5]  # 30 weekdays, Monday 1 January to Friday 9 February
    returns = _returns(days)
    benchmark = returns.filter(pl.col("strategy_id") == "a").select("date", (pl.col("ret") * 0.5).alias("ret"))
    span = days[4:]
    monkeypatch.setattr(day_chunks, "MIN_DAYS_PER_WORKER", 5)
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    here = day_chunks.in_day_chunks(statistics_days, span, returns, benchmark)
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    there = day_chunks.in_day_chunks(statistics_days, span, returns, benchmark)
    assert [len(chunk) for chunk in here] == [len(span)] and [len(chunk) for chunk in there] == [13, 13]
    assert pl.concat([f for chunk in there for f in chunk]).equals(pl.concat(here[0]))
    assert pl.concat(here[0]).get_column("date").unique().sort().to_list() == span
