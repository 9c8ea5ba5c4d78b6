"""Batch mode (the back-test's walk in memory) checked against the Dagster walk-forward.

``twin run`` walks its span through Dagster: a ``solution_job`` run a month (the solution
level and the firm's P&L, written to the warehouse) and a ``month_end_job`` run a complete
month (the search and the firm's decision, reading the month's closing state back from
the warehouse). ``twin backtest`` walks in memory instead (``twin_assets.twin.batch.walk``:
the same step, search and decision, the state and the choices carried in memory, nothing
written). This script runs ``walk`` over a span the Dagster walk stored and prints its
time (steps, searches, decisions) and what differs from the stored rows: every
``portfolio.*`` and ``firm.firm_decisions`` row (the largest difference in a float column;
every other column equal) and every month end's chosen candidate and figures. They must
agree.

Point it at a copy of a warehouse whose span ``twin run`` walked (or ``twin backtest``
before batch mode), with the config that walk ran with.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/walk_in_memory.py \\
        --warehouse /tmp/copy/twin.duckdb --start 2022-09-01 --end 2022-12-28
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEARCH_FIGURES = ["mean_return", "se_return", "score", "diff_vs_incumbent", "holdout_score"]


def largest_gap(computed: pl.DataFrame, stored: pl.DataFrame, keys: list[str]) -> tuple[float, list[str]]:
    """The largest absolute difference over the float columns of two frames of the same
    keys, and the other columns that differ (or the row counts, when they do)."""
    if computed.height != stored.height:
        return float("inf"), [f"rows: {computed.height} computed, {stored.height} stored"]
    a, b = computed.sort(keys), stored.select(computed.columns).sort(keys)
    gap, unequal = 0.0, []
    for column in a.columns:
        x, y = a.get_column(column), b.get_column(column)
        if x.dtype.is_float():
            both = np.column_stack([x.to_numpy(), y.to_numpy()]).astype(float)
            same_nan = np.isnan(both[:, 0]) == np.isnan(both[:, 1])
            if not same_nan.all():
                unequal.append(f"{column} (missing values differ)")
            finite = ~np.isnan(both).any(axis=1)
            gap = max(gap, float(np.max(np.abs(both[finite, 0] - both[finite, 1]), initial=0.0)))
        elif not x.equals(y):
            unequal.append(column)
    return gap, unequal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="a copy of a warehouse whose span the Dagster walk stored")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--config", default=str(ROOT / "config"))
    args = parser.parse_args()
    os.environ.setdefault("TWIN_CONFIG_DIR", args.config)

    from twin_assets.shared.partitions import daily_partitions
    from twin_assets.twin.batch import walk
    from twin_model.contracts import TABLES
    from twin_model.parallel import worker_pool
    from twin_resources.config import load_config
    from twin_resources.resources import WarehouseResource
    from twin_resources.runtime import worker_count

    config = load_config(Path(args.config))
    warehouse = WarehouseResource(path=args.warehouse)
    calendar = daily_partitions().get_partition_keys()
    days = [d for d in calendar if args.start.isoformat() <= d <= args.end.isoformat()]
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    started = time.perf_counter()
    with worker_pool(worker_count()) as executor:
        walked = walk(warehouse, config, [dt.date.fromisoformat(d) for d in days], print, executor)
    total = time.perf_counter() - started
    searched, seconds = walked.searches, walked.seconds
    months = searched.get_column("date").n_unique() if searched.height else 0
    print(f"{days[0]} .. {days[-1]}: {len(days)} days, {months} month ends, in memory in {total:.1f} s")
    print(", ".join(f"{part} {s:.1f} s" for part, s in seconds.items()))
    for table, computed in {**walked.frames, "firm.firm_decisions": walked.decisions}.items():
        spec = TABLES[table]
        stored = warehouse.read_history(table, first, last)
        gap, unequal = largest_gap(computed, stored, list(spec.keys))
        print(f"  {table}: {computed.height} rows, largest float difference {gap:.1e}, unequal {unequal or 'none'}")
    stored = warehouse.read_history("twin.policy_evaluations", first, last)
    keys = ["date", "solution_id", "candidate_id"]
    chosen = searched.filter(pl.col("chosen")).select(keys).sort(keys)
    same = chosen.equals(stored.filter(pl.col("chosen")).select(keys).sort(keys))
    gap, unequal = largest_gap(searched.select([*keys, *SEARCH_FIGURES]), stored.select([*keys, *SEARCH_FIGURES]), keys)
    print(f"  twin.policy_evaluations: {searched.height} rows, the same choices: {same}, largest difference {gap:.1e}")
    if unequal:
        print(f"    unequal: {unequal}")


if __name__ == "__main__":
    main()
