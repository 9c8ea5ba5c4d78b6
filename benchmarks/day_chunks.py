"""The strategy layer's per-day work over a long span: in one process, and spread over
worker processes (``TWIN_WORKERS``, twin_assets/shared/day_chunks.py). The forecasts
asset spreads its days; the statistics are timed both ways too, to show why they do not
(their polars already use both cores).

Reads a warehouse whose span has its raw history, posteriors and statistics stored (a
`twin backtest` warehouse), and computes over ``--start`` .. ``--end`` what the assets
compute: the forecasts (each day simulated from its posterior draws, seeded by its date;
the scenario artefacts are written to a scratch folder, the posterior draws read from the
warehouse's) and the statistics (each day from the returns up to it), first with one
worker, then with ``--workers``. Prints each time and whether the rows are equal between
the two and to the stored rows (the forecasts' artefact hashes included). Nothing is
written to the warehouse.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/day_chunks.py \\
        --warehouse /tmp/w/twin.duckdb --start 2016-01-04 --end 2022-12-28 [--workers 2]
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORECAST_KEYS = ["date", "strategy_id", "parameter_set"]
STATISTICS_KEYS = ["date", "strategy_id", "window"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="a warehouse holding the span's strategy layers")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", default=str(ROOT / "config"))
    args = parser.parse_args()

    from twin_assets.models.assets import window_history_start
    from twin_assets.models.forecasts import forecast_days
    from twin_assets.shared import history
    from twin_assets.shared.day_chunks import in_day_chunks
    from twin_assets.stats.assets import statistics_days
    from twin_resources.artifacts import ArtifactStore
    from twin_resources.config import load_config
    from twin_resources.resources import WarehouseResource
    from twin_resources.runtime import WORKERS_VARIABLE

    warehouse = WarehouseResource(path=args.warehouse)
    strategies = load_config(Path(args.config)).strategies
    window = strategies.model.window_days
    posteriors = warehouse.read_history("models.strategy_posteriors", args.start, args.end)
    fitted = sorted(posteriors.get_column("date").unique().to_list())
    returns = history.strategy_returns(warehouse, window_history_start(args.start, window), args.end)
    factors = history.factor_returns(warehouse, window_history_start(args.start, window), args.end)
    all_returns = history.strategy_returns(warehouse, None, args.end)
    benchmark = history.benchmark(warehouse, None, args.end)
    traded = sorted(set(all_returns.filter(pl.col("date").is_between(args.start, args.end))["date"].to_list()))
    print(f"{len(fitted)} days with posteriors, {len(traded)} traded days, {args.start} .. {args.end}")

    results = {}
    with tempfile.TemporaryDirectory(prefix="day_chunks_") as scratch:
        for workers in (1, args.workers):
            os.environ[WORKERS_VARIABLE] = str(workers)
            root = Path(scratch) / f"workers_{workers}"
            root.mkdir()
            (root / "strategy_posteriors").symlink_to(warehouse.artifacts().root / "strategy_posteriors")
            store = ArtifactStore(root)
            started = time.perf_counter()
            chunks = in_day_chunks(
                forecast_days, fitted, posteriors, returns, factors, strategies.forecast,
                strategies.expert_views(), store, window,
            )  # fmt: skip
            forecasts = pl.concat([frame for frames, _ in chunks for frame in frames])
            forecast_seconds = time.perf_counter() - started
            started = time.perf_counter()
            statistics = pl.concat(
                [frame for chunk in in_day_chunks(statistics_days, traded, all_returns, benchmark) for frame in chunk]
            )
            statistics_seconds = time.perf_counter() - started
            print(f"{workers} worker(s): forecasts {forecast_seconds:.1f} s, statistics {statistics_seconds:.1f} s")
            results[workers] = (forecasts, statistics)

    (f1, s1), (fn, sn) = results[1], results[args.workers]
    print(f"rows equal between 1 and {args.workers} workers: forecasts {f1.equals(fn)}, statistics {s1.equals(sn)}")
    stored_f = warehouse.read_history("models.strategy_forecasts", args.start, args.end)
    stored_s = warehouse.read_history("stats.strategy_statistics", args.start, args.end)
    print(
        "equal to the stored rows: forecasts "
        f"{_same(fn, stored_f, FORECAST_KEYS)}, statistics {_same(sn, stored_s, STATISTICS_KEYS)}"
    )


def _same(computed: pl.DataFrame, stored: pl.DataFrame, keys: list[str]) -> bool:
    """Whether the computed rows are the stored ones (the stored frame's columns beyond
    the computed ones are not compared)."""
    columns = [c for c in computed.columns if c in stored.columns]
    return computed.select(columns).sort(keys).equals(stored.select(columns).sort(keys))


if __name__ == "__main__":
    main()
