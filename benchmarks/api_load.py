"""Load on the HTTP API, and the public ``optimize()`` in a loop against PyPortfolioOpt.

1. ``twin serve`` is started in its own process on a free port of 127.0.0.1 (over an
   empty warehouse directory: ``POST /api/v1/optimize`` needs no snapshot; its events
   file is written there). A load generator in this process (threads, one
   ``httpx.Client`` each, keep-alive) posts MAX_SHARPE requests with binding bounds
   (benchmarks/optimizer.py's seeded factor model: max_weight max(0.4, 2/N), sector caps,
   leverage limit) at N = 20 and 100 strategies, each thread cycling through 50
   different requests, for ``--seconds`` per cell after 20 untimed warm-up requests.
   Figures: requests per second (completed / wall time) and P50/P99 of the latency
   seen by the client (JSON encoding, HTTP, validation, solve, event append).
2. In this process: ``optimize(request)`` with no optimizer (the process-wide cache)
   called in a loop on 200 different requests at N = 100, and PyPortfolioOpt's
   ``EfficientFrontier`` on the same data (min_volatility, max_sharpe, efficient_risk),
   interleaved per kind. The first call of each kind is timed too (it compiles).

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/api_load.py``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimizer import PYPFOPT_KINDS, draw, make_request, pct, run_pypfopt  # noqa: E402

from twin_model.optimize import Method, Objective, optimize  # noqa: E402

KINDS = {
    "min_volatility": Objective.MIN_VOLATILITY,
    "max_sharpe": Objective.MAX_SHARPE,
    "efficient_risk": Objective.MAX_RETURN,
}
REQUESTS_PER_CELL = 50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(warehouse: Path, port: int) -> subprocess.Popen:
    """``twin serve`` on ``port``, waited for until /health answers."""
    env = {**os.environ, "TWIN_WAREHOUSE": str(warehouse), "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "twin_assets.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
            return process
        except httpx.ConnectError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("twin serve did not come up") from None
            time.sleep(0.2)


def bodies(n: int) -> list[bytes]:
    """REQUESTS_PER_CELL different MAX_SHARPE requests at size n, as JSON."""
    label = "MAX_SHARPE / MV"
    return [
        make_request(label, Objective.MAX_SHARPE, Method.MEAN_VARIANCE, n, draw(n, k)).model_dump_json().encode()
        for k in range(REQUESTS_PER_CELL)
    ]


def load(url: str, payloads: list[bytes], threads: int, seconds: float) -> tuple[float, list[float], int]:
    """(requests per second, latencies in s, errors) of ``threads`` clients posting for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        headers = {"content-type": "application/json"}
        with httpx.Client(timeout=60) as session:
            for k in range(20):  # untimed warm-up: connection, compiled problems
                session.post(url, content=payloads[k % len(payloads)], headers=headers)
            start.wait()
            k = index
            while time.perf_counter() < stop_at[0]:
                t0 = time.perf_counter()
                response = session.post(url, content=payloads[k % len(payloads)], headers=headers)
                latencies[index].append(time.perf_counter() - t0)
                errors[index] += response.status_code != 200
                k += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    stop_at[0] = time.perf_counter() + 3600  # set properly once every client is warm
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    flat = [t for per in latencies for t in per]
    return len(flat) / elapsed, flat, sum(errors)


def optimize_loop(n: int, count: int) -> dict[str, dict]:
    """Public ``optimize()`` (no optimizer) and PyPortfolioOpt on the same ``count`` requests."""
    datas = [draw(n, k) for k in range(count)]
    rows = {}
    for label, kind in PYPFOPT_KINDS.items():
        requests = [make_request(label, KINDS[kind], Method.MEAN_VARIANCE, n, data) for data in datas]
        times = []
        for request in requests:
            t0 = time.perf_counter()
            optimize(request)
            times.append(time.perf_counter() - t0)
        try:
            ppo_times, _, solvers, failed = run_pypfopt(kind, n, datas, count, budget=1e9, least=count)
        except ImportError:
            ppo_times, solvers, failed = None, set(), 0
        rows[kind] = {"ours": times, "ppo": ppo_times, "solvers": solvers, "failed": failed}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per load cell")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4], help="concurrent clients per cell")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--loop", type=int, default=200, help="optimize() calls per kind at N=100")
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {platform.platform()}; {os.cpu_count()} cpus; "
        f"Python {platform.python_version()}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
        f"load average {open('/proc/loadavg').read().split()[:3]}"
    )
    with tempfile.TemporaryDirectory() as directory:
        warehouse = Path(directory) / "twin.duckdb"
        port = free_port()
        server = start_server(warehouse, port)
        url = f"http://127.0.0.1:{port}/api/v1/optimize"
        try:
            print(
                "\n| N | clients | requests/s | P50 (ms) | P99 (ms) | requests | errors |\n|---|---|---|---|---|---|---|"
            )
            for n in args.sizes:
                payloads = bodies(n)
                for threads in args.threads:
                    rate, latencies, errors = load(url, payloads, threads, args.seconds)
                    p50, p99 = pct(latencies)
                    print(f"| {n} | {threads} | {rate:.1f} | {p50:.1f} | {p99:.1f} | {len(latencies)} | {errors} |")
        finally:
            server.terminate()
            server.wait(timeout=30)
        events = (warehouse.parent / "twin.events" / "portfolio_optimized.jsonl").read_text().splitlines()
        print(f"\nevents recorded by the server: {len(events)} (last: {json.loads(events[-1])['portfolio_id']})")
    print(f"\npublic optimize() (no optimizer) vs PyPortfolioOpt, N=100, {args.loop} requests each, same data:")
    print(
        "\n| kind | optimize() first call (ms) | optimize() P50 (ms) | optimize() P99 (ms) | PyPortfolioOpt P50 (ms) "
        "| PyPortfolioOpt P99 (ms) | PyPortfolioOpt solvers |\n|---|---|---|---|---|---|---|"
    )
    for kind, row in optimize_loop(100, args.loop).items():
        p50, p99 = pct(row["ours"])
        if row["ppo"] is None:
            ppo = "not installed | - | -"
        else:
            q50, q99 = pct(row["ppo"])
            failed = f" (failed {row['failed']})" if row["failed"] else ""
            ppo = f"{q50:.1f} | {q99:.1f} | {', '.join(sorted(row['solvers']))}{failed}"
        print(f"| {kind} | {row['ours'][0] * 1000:.1f} | {p50:.1f} | {p99:.1f} | {ppo} |")
    print(f"\nnumpy {np.__version__}")


if __name__ == "__main__":
    main()
