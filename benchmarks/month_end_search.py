"""The month-end policy search on a real warehouse: the evaluators side by side.

Builds a month end's search exactly as ``twin.policy_evaluations`` does (the base day,
the strategy model of the month end, the valleys in force, each solution's state at the
close, the firm's risk limits, costs and fees) and runs it twice in one process:

* as the asset runs it: each candidate on the vectorised evaluator where it applies
  (the paths a risk rule could act on, or whose allocation failed, re-run by the
  reference: ``mixed``), else on the reference;
* with every candidate forced onto the reference (the solution step through the runner).

It prints both times, the evaluators used, and the largest difference between the two
tables' figures (the two evaluators must agree to 1e-9). The warehouse is opened for
reading and writing by the resource, so point it at a copy, not at a warehouse a run is
using.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/month_end_search.py \\
        --warehouse /tmp/copy/twin.duckdb --month-end 2021-08-31 [--paths 100] [--asset-only] [--workers 2]

``--workers N`` runs the first (the asset's) search with its solutions spread over N
processes, as ``TWIN_WORKERS`` does; the reference run stays in this process
(it replaces the screen in this process only). ``--asset-only`` times the first run
alone (a month end whose paths mostly go to the step takes minutes on the reference).
"""

import argparse
import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIGURES = ["mean_return", "se_return", "score", "score_se", "diff_vs_incumbent", "diff_se"]


def _timed(run) -> tuple[pl.DataFrame, float]:
    started = time.perf_counter()
    table, _ = run()
    return table, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="a copy of a warehouse holding the month end's layers")
    parser.add_argument("--month-end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--config", default=str(ROOT / "config"))
    parser.add_argument("--paths", type=int, default=None, help="search and hold-out paths (default: config)")
    parser.add_argument("--asset-only", action="store_true", help="time the search as the asset runs it, only")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes the asset's search spreads the solutions over (default 1)"
    )
    args = parser.parse_args()

    from twin_assets.shared.month_end import month_end_inputs
    from twin_model.parallel import worker_pool
    from twin_model.twin.search import _search, month_end_search
    from twin_resources.config import load_config
    from twin_resources.resources import WarehouseResource

    config = load_config(Path(args.config))
    inputs = month_end_inputs(WarehouseResource(path=args.warehouse), config, args.month_end)
    if args.paths:
        inputs["settings"] = dataclasses.replace(inputs["settings"], n_paths=args.paths, holdout_paths=args.paths)
    settings = inputs["settings"]
    with worker_pool(args.workers) as executor:
        fast, t_fast = _timed(lambda: month_end_search(**inputs, executor=executor))
    if args.asset_only:
        _print_fast(args.month_end, settings, fast, t_fast)
        return

    def forced(*_):
        return ["benchmark: the reference forced"]

    _search.vectorised_obstacles = forced
    slow, t_slow = _timed(lambda: month_end_search(**inputs))

    keys = ["solution_id", "candidate_id"]
    joined = fast.join(slow, on=keys, suffix="_reference")
    gap = max(float(np.nanmax(np.abs(joined[c].to_numpy() - joined[f"{c}_reference"].to_numpy()))) for c in FIGURES)
    same_choice = (
        fast.filter(pl.col("chosen"))
        .select(keys)
        .sort(keys)
        .equals(slow.filter(pl.col("chosen")).select(keys).sort(keys))
    )
    _print_fast(args.month_end, settings, fast, t_fast)
    print(f"every candidate on the reference: {t_slow:.1f} s ({t_slow / t_fast:.1f}x)")
    print(f"largest difference in {', '.join(FIGURES)}: {gap:.1e}; same choices: {same_choice}")


def _print_fast(month_end: dt.date, settings, fast: pl.DataFrame, seconds: float) -> None:
    solutions = fast.get_column("solution_id").n_unique()
    print(
        f"month end {month_end}: {solutions} solutions, {fast.height} candidates, "
        f"{settings.n_paths} + {settings.holdout_paths} hold-out paths, {settings.horizon} days"
    )
    print(f"as the asset runs it: {seconds:.1f} s; evaluators {fast.get_column('evaluator').value_counts().rows()}")


if __name__ == "__main__":
    main()
