"""Solution layer latency: every solution of the firm on one business day.

Needs a warehouse holding the layers below the solutions (run the README main job
first: ``twin run``). Times, for the last day with an alpha pool:

* the whole Dagster materialisation of ``solution_level`` for that day (read history,
  step every solution, validate, write six tables, run the blocking checks), as a run
  in a throw-away copy of the warehouse (cold: fresh process state for cvxpy problems);
* the pure part alone: building the day's inputs and ``step`` per solution, repeated, as
  configured and with every solution forced to rebalance (the worst case: allocation,
  orders and costs for all of them).

Aim (issue 4): three solutions on one day in under 5 s.

    .venv/bin/python benchmarks/solution_layer.py [--warehouse warehouse/twin.duckdb] [--repeat 20]
"""

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default=str(ROOT / "warehouse" / "twin.duckdb"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    source = Path(args.warehouse)
    if not source.exists():
        sys.exit(f"{source} does not exist: run the README main job first")

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "twin.duckdb"
        shutil.copy(source, copy)
        from twin_resources.artifacts import artifacts_root

        if artifacts_root(source).exists():
            artifacts_root(copy).symlink_to(artifacts_root(source))
        os.environ["TWIN_WAREHOUSE"] = str(copy)
        os.environ.setdefault("DAGSTER_HOME", scratch)
        from twin_resources.runtime import own_pytensor_compiledir

        own_pytensor_compiledir()
        day = _last_pool_day(copy)
        print(f"warehouse {source}, day {day}, load {os.getloadavg()[0]:.2f}")
        run_seconds = _materialise(day)
        print(f"Dagster run of solution_level for {day} (read, step, validate, write, 13 checks): {run_seconds:.2f} s")
        _pure(day, args.repeat, copy)


def _last_pool_day(path: Path) -> dt.date:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("SELECT max(date) FROM alpha.alpha_pool").fetchall()[0][0]


def _materialise(day: dt.date) -> float:
    import dagster as dg

    from twin_assets.definitions import defs
    from twin_assets.portfolio import solution_level

    started = time.perf_counter()
    result = dg.materialize([solution_level], resources=defs.resources, partition_key=day.isoformat())
    elapsed = time.perf_counter() - started
    assert result.success
    return elapsed


def _pure(day: dt.date, repeat: int, path: Path) -> None:
    from twin_assets.portfolio.assets import _history, _previous_states
    from twin_model.optimize import Optimizer
    from twin_model.solution import ManualAction, step
    from twin_resources.config import DEFAULT_CONFIG_DIR
    from twin_resources.resources import TwinConfigResource, WarehouseResource

    warehouse = WarehouseResource(path=str(path))
    config = TwinConfigResource(config_dir=os.environ.get("TWIN_CONFIG_DIR", str(DEFAULT_CONFIG_DIR)))
    solutions = config.solutions()
    rules = [s.rules() for s in solutions.solutions]
    limits = config.risk_limits()
    costs = solutions.execution
    started = time.perf_counter()
    history = _history(warehouse, config.strategies(), [day])
    states = _previous_states(warehouse, rules, day)
    read = time.perf_counter() - started
    print(f"read history and previous state: {read * 1e3:.0f} ms")
    forced = [replace(r, manual=(ManualAction(day, "rebalance"),)) for r in rules]
    for label, variant in (("as configured", rules), ("every solution forced to rebalance", forced)):
        optimizer = Optimizer()
        timings: dict[str, list[float]] = {r.solution_id: [] for r in variant}
        inputs_seconds = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            inputs = history.day(day)
            inputs_seconds.append(time.perf_counter() - t0)
            for rule in variant:
                t0 = time.perf_counter()
                _, record = step(rule, states[rule.solution_id], inputs, limits, costs, optimizer)
                timings[rule.solution_id].append(time.perf_counter() - t0)
        total = statistics.median(inputs_seconds)
        print(f"{label}: day inputs median {total * 1e3:.1f} ms")
        for solution_id, values in timings.items():
            total += statistics.median(values)
            rest = values[1:] or values
            print(
                f"  step {solution_id:12s}: first {values[0] * 1e3:7.1f} ms, median of the next {len(rest)} {statistics.median(rest) * 1e3:7.1f} ms"
            )
        print(
            f"  pure solution layer, {len(variant)} solutions on one day (inputs + steps, medians): {total * 1e3:.0f} ms"
        )


if __name__ == "__main__":
    main()
