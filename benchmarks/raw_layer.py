"""Raw-layer back-fill: wall time and peak memory for one year as one run.

Scenarios: the bundled firm (13 strategies on real closes) and the synthetic source at
1,000 strategies. Each scenario runs in a fresh child process (so peak RSS is its own)
against a fresh DuckDB file and Dagster instance.

    .venv/bin/python benchmarks/raw_layer.py [--year 2021] [--strategies 1000]

Aim (issue 2): a year of the raw layer for 1,000 strategies in under 60 s on 2 cores.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(scenario: str, year: int, strategies: int) -> dict:
    """Run one back-fill in this process and report its figures."""
    work = Path(tempfile.mkdtemp(prefix="twin_bench_"))
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    if scenario == "synthetic":
        text = (config / "strategies.yaml").read_text().replace("kind: bundled", "kind: synthetic")
        (config / "strategies.yaml").write_text(text.replace("n_strategies: 20", f"n_strategies: {strategies}"))
    os.environ["DAGSTER_HOME"] = str(work)
    os.environ["TWIN_CONFIG_DIR"] = str(config)

    started = time.perf_counter()
    import datetime as dt

    import dagster as dg

    from twin_assets.raw import RAW_ASSETS
    from twin_model.calendar import business_days
    from twin_resources.io_manager import WarehouseIOManager
    from twin_resources.resources import ReturnSourceResource, WarehouseResource

    days = business_days(dt.date(year, 1, 1), dt.date(year, 12, 31))
    warehouse = WarehouseResource(path=str(work / "twin.duckdb"))
    resources = {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "return_source": ReturnSourceResource(config_dir=str(config)),
    }
    imported = time.perf_counter()
    result = dg.materialize(
        RAW_ASSETS,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )
    finished = time.perf_counter()
    assert result.success
    counts = warehouse.warehouse().row_counts()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "scenario": scenario if scenario == "bundled" else f"synthetic x {strategies}",
        "days": len(days),
        "rows": counts,
        "import_s": round(imported - started, 2),
        "backfill_s": round(finished - imported, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", type=int, default=2021)
    parser.add_argument("--strategies", type=int, default=1000)
    parser.add_argument("--child", choices=["bundled", "synthetic"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.year, args.strategies)))
        return

    print(
        f"raw-layer back-fill of {args.year} as one run; {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    for scenario in ("bundled", "synthetic"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                scenario,
                "--year",
                str(args.year),
                "--strategies",
                str(args.strategies),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        rows = ", ".join(f"{table} {n:,}" for table, n in figures["rows"].items())
        print(
            f"{figures['scenario']:<18} {figures['days']} days  back-fill {figures['backfill_s']:>6.2f} s  "
            f"(+ import {figures['import_s']:.2f} s)  peak RSS {figures['peak_rss_mib']:>7.1f} MiB  rows: {rows}"
        )


if __name__ == "__main__":
    main()
