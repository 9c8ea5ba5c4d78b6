"""The back-test's walk-forward in memory (batch mode), checked against the Dagster walk-forward.

``twin backtest`` walks a span through Dagster: a ``solution_job`` run per month (the
solution level and the firm's P&L, written to the warehouse) and a ``month_end_job`` run
per complete month (the search, reading the month's closing state back from the
warehouse). This script walks the same span in one process, with no run and no write:
each month's solution level stepped by ``step_solutions`` from the state the month before
left, with the choices made so far in memory, and each complete month's search
(``month_end_search``) from that state. It prints the time of the steps and of the
searches, and compares what it computed with what the Dagster walk-forward stored over
the span: every ``portfolio.*`` row (the largest difference in a float column; every
other column equal) and every month end's chosen candidate and its figures. They must
agree: the same step, inputs and seeds, the state carried in memory instead of through
the warehouse.

It reads the warehouse (point it at a copy of one ``twin backtest`` has filled over the
span) and the config the back-test ran with.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/walk_in_memory.py \\
        --warehouse /tmp/copy/twin.duckdb --start 2022-01-03 --end 2022-12-28
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


def walk(warehouse, config, days: list[str], calendar: list[str]):
    """The span's ``portfolio.*`` frames and searched rows, walked in memory; the seconds
    spent stepping and searching, and the number of month ends."""
    from twin_assets.cli.walk_forward import month_steps
    from twin_assets.shared.policies import EVALUATIONS, IN_FORCE_COLUMNS
    from twin_assets.shared.solution_inputs import step_solutions
    from twin_assets.twin.assets import month_end_inputs
    from twin_model.contracts import TABLES, validate
    from twin_model.optimize import Optimizer
    from twin_model.twin.search import month_end_search

    spec = TABLES[EVALUATIONS]
    first = dt.date.fromisoformat(days[0])
    choices = warehouse.read_history(EVALUATIONS, None, first - dt.timedelta(days=1), list(IN_FORCE_COLUMNS))
    state, frames, searched = None, [], []
    seconds = {"steps": 0.0, "searches": 0.0}
    for chunk, month in month_steps(days, calendar):
        chunk_days = [dt.date.fromisoformat(d) for d in chunk]
        started = time.perf_counter()
        stepped = step_solutions(warehouse, config, chunk_days, start=state, choices=choices)
        seconds["steps"] += time.perf_counter() - started
        state = stepped.final
        frames.append(stepped.frames)
        if month is None:
            continue
        started = time.perf_counter()
        inputs = month_end_inputs(warehouse, config, chunk_days[-1], states=state.solutions)
        table, _ = month_end_search(**inputs, optimizer=Optimizer())
        rows = validate(table, spec) if table.height else spec.empty_frame()
        seconds["searches"] += time.perf_counter() - started
        choices = pl.concat([choices, rows.select(IN_FORCE_COLUMNS)])
        searched.append(rows)
    tables = {table: pl.concat([f[table] for f in frames]) for table in frames[0]}
    return tables, pl.concat(searched) if searched else spec.empty_frame(), seconds


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
    parser.add_argument(
        "--warehouse", required=True, help="a copy of a warehouse a `twin backtest` filled over the span"
    )
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--config", default=str(ROOT / "config"))
    args = parser.parse_args()
    os.environ.setdefault("TWIN_CONFIG_DIR", args.config)

    from twin_assets.shared.partitions import daily_partitions
    from twin_model.contracts import TABLES
    from twin_resources.config import load_config
    from twin_resources.resources import WarehouseResource

    config = load_config(Path(args.config))
    warehouse = WarehouseResource(path=args.warehouse)
    calendar = daily_partitions().get_partition_keys()
    days = [d for d in calendar if args.start.isoformat() <= d <= args.end.isoformat()]
    started = time.perf_counter()
    tables, searched, seconds = walk(warehouse, config, days, calendar)
    total = time.perf_counter() - started
    months = searched.get_column("date").n_unique() if searched.height else 0
    print(f"{days[0]} .. {days[-1]}: {len(days)} days, {months} month ends, in memory in {total:.1f} s")
    print(f"  steps {seconds['steps']:.1f} s, searches {seconds['searches']:.1f} s")

    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    for table, computed in tables.items():
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
