"""Strategy-model fitting: compile once, then fit every day -- against the naive way.

Scenarios (each in a fresh child process, with its own fresh PyTensor compile dir, so
compile times are cold and peak RSS is the scenario's own):

- ``bundled``: the bundled firm (13 strategies on real closes, S&P 500 benchmark),
  two-year window (504 observed days) ending on each of the last ``--backfill`` days of
  the bundled data;
- ``synthetic``: ``--strategies`` (100) synthetic strategies, same window and back-fill;

each with ``twin_model.strategy.StrategyModelFitter`` (nutpie, compiled once, data
swapped per day) as one single-run back-fill of consecutive days on one fitter, and with
the naive way (a fresh ``pm.Model`` and default ``pm.sample()`` each day, C backend)
over ``--naive-days`` days.

    .venv/bin/python benchmarks/strategy_fit.py [--strategies 100] [--backfill 21]
        [--draws-tune 300,500] [--naive-days 2] [--skip-naive] [--scenarios bundled,synthetic]

The environment's ``PYTENSOR_FLAGS`` is passed to every child (each gets its own
``base_compiledir`` appended), so a BLAS comparison is two runs, e.g. with
``PYTENSOR_FLAGS=blas__ldflags=-lopenblas``. Prints figures; asserts nothing about time.
Aims (issue): 100 strategies, two-year window, 21-day back-fill under 10 s a day
amortised (compile included), at least 5x faster than the naive way, peak RSS < 3 GiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 504


def _peak_rss_mib() -> float:
    """Peak RSS of this process, or of its largest finished child if larger (pm.sample runs
    its chains in child processes; ru_maxrss is in KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def _cpu_seconds() -> float:
    """User + system CPU of this process (all its threads: both nutpie chains) and of its
    finished children (pm.sample's chain processes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _universe(scenario: str, strategies: int, backfill: int, last_end: dt.date | None = None):
    """(returns long frame, factors frame, sectors by strategy id, the back-fill's end
    dates: the last ``backfill`` observed days, up to ``last_end`` when given). Bundled: the S&P 500 total return and the five factor ETFs, as raw.factor_returns
    holds them; synthetic: the generator's market. Bundled sectors from config/strategies.yaml, synthetic ones from
    the generator's truth (sector blocks of the residual model)."""
    import numpy as np
    import polars as pl

    from twin_model.strategy import benchmark_factors

    if scenario == "bundled":
        from twin_resources.sources import BundledSource

        source = BundledSource()
        last = last_end or dt.date(2022, 12, 31)
        start = last - dt.timedelta(days=5 * 365) if backfill < 1000 else dt.date(2012, 1, 1)
        returns = source.strategy_returns(start, last)
        factors = source.factor_returns(start, last)  # the S&P 500 total return and the five ETFs
        from twin_resources.config import load_config

        config = load_config(ROOT / "config").strategies
        ids = returns["strategy_id"].unique().to_list()
        sectors = {s: config.metadata(s).sector for s in ids if config.metadata(s).sector != config.defaults.sector}
    else:
        from twin_model.data import synthetic

        config = synthetic.SyntheticConfig(n_strategies=strategies, seed=7)
        days = WINDOW + backfill + 5
        dates = np.busday_offset(np.datetime64(config.anchor), np.arange(days)).astype(dt.date).tolist()
        truth = synthetic.truth_table(config)
        returns, bench = synthetic.generate(config, dates, truth)
        factors = benchmark_factors(bench.select("date", pl.col("market_return").alias("ret")))
        sectors = dict(zip(truth["strategy_id"], truth["sector"]))
    observed_dates = returns.filter(pl.col("available") & pl.col("ret").is_not_null())["date"].unique().sort()
    if last_end is not None:
        observed_dates = observed_dates.filter(observed_dates <= last_end)
    return returns, factors, sectors, observed_dates.tail(backfill).to_list()


def child_nutpie(scenario: str, strategies: int, backfill: int, draws: int, tune: int) -> dict:
    t0 = time.perf_counter()
    from twin_model.strategy import FitSettings, StrategyModelFitter, return_window

    returns, factors, sectors, ends = _universe(scenario, strategies, backfill)
    fitter = StrategyModelFitter(FitSettings(window_days=WINDOW, draws=draws, tune=tune))
    import pytensor

    setup = time.perf_counter() - t0
    days = []
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    for end in ends:
        day_start = time.perf_counter()
        cpu_start = _cpu_seconds()
        window = return_window(returns, factors, end, WINDOW, sectors=sectors)
        window_s = time.perf_counter() - day_start
        compile_before = fitter.compile_seconds
        result = fitter.fit(window)
        wall = time.perf_counter() - day_start
        s = result.summary
        days.append(
            {
                "end": end.isoformat(),
                "n": s.height,
                "cpu_s": _cpu_seconds() - cpu_start,
                "window_s": window_s,
                "compile_s": fitter.compile_seconds - compile_before,
                "fit_s": float(s["fit_seconds"][0]),
                "wall_s": wall,
                "rhat_max": float(s["rhat_max"].max()),
                "ess_min": float(s["ess_bulk_min"].min()),
                "divergences": int(s["divergences"][0]),
                "fallbacks": int((s["method"] == "conjugate").sum()),
                "hyper_rhat_max": float(result.hyper["rhat"].max()),
                "hyper_ess_min": float(result.hyper["ess_bulk"].min()),
            }
        )
    total = time.perf_counter() - started
    return {
        "mode": "nutpie",
        "scenario": scenario,
        "draws": draws,
        "tune": tune,
        "setup_s": setup,
        "compile_s": fitter.compile_seconds,
        "shapes": [list(shape) for shape in fitter.compiled_shapes],
        "days": days,
        "total_s": total,
        "load_1min": [load_start, os.getloadavg()[0]],
        "peak_rss_mib": _peak_rss_mib(),
        "blas": pytensor.config.blas__ldflags,
    }


def child_naive(scenario: str, strategies: int, backfill: int, naive_days: int) -> dict:
    import arviz as az
    import numpy as np
    import pymc as pm
    import pytensor

    from twin_model.strategy import block_slots, build_model, padded_arrays, return_window

    returns, factors, sectors, ends = _universe(scenario, strategies, backfill)
    days = []
    load_start = os.getloadavg()[0]
    for end in ends[:naive_days]:
        day_start = time.perf_counter()
        cpu_start = _cpu_seconds()
        window = return_window(returns, factors, end, WINDOW, sectors=sectors)
        t, n = window.returns.shape
        # The naive way: a fresh model of the exact (unpadded) shape, default pm.sample().
        model = build_model(n, t, len(window.factor_ids), n_blocks=block_slots(window, n))
        with model:
            pm.set_data(padded_arrays(window, n, t))
            trace = pm.sample(progressbar=False, random_seed=1, compute_convergence_checks=False)
        wall = time.perf_counter() - day_start
        names = ["alpha", "sigma", "nu", "loading"] + (["beta"] if window.factor_ids else [])
        rhat = az.rhat(trace, var_names=names)
        ess = az.ess(trace, var_names=names, method="bulk")
        days.append(
            {
                "end": end.isoformat(),
                "n": n,
                "wall_s": wall,
                "cpu_s": _cpu_seconds() - cpu_start,
                "rhat_max": float(max(np.nanmax(rhat[v].values) for v in names)),
                "ess_min": float(min(np.nanmin(ess[v].values) for v in names)),
                "divergences": int(trace.sample_stats["diverging"].values.sum()),
                "draws": int(trace.posterior.sizes["draw"]),
                "chains": int(trace.posterior.sizes["chain"]),
            }
        )
    return {
        "mode": "naive",
        "scenario": scenario,
        "days": days,
        "load_1min": [load_start, os.getloadavg()[0]],
        "peak_rss_mib": _peak_rss_mib(),
        "blas": pytensor.config.blas__ldflags,
    }


def run_child(args: list[str]) -> dict:
    env = dict(os.environ)
    compiledir = tempfile.mkdtemp(prefix="pt_strategy_fit_")
    flags = env.get("PYTENSOR_FLAGS", "")
    env["PYTENSOR_FLAGS"] = ",".join(filter(None, [flags, f"base_compiledir={compiledir}"]))
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"child {args} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report_nutpie(r: dict, backfill: int) -> str:
    days = r["days"]
    first = days[0]
    rest = days[1:] or days
    per_day = sum(d["wall_s"] for d in rest) / len(rest)
    fit = sum(d["fit_s"] for d in rest) / len(rest)
    cpu = sum(d["cpu_s"] for d in rest) / len(rest)
    amortised = r["total_s"] / len(days)
    return (
        f"| {r['scenario']} | nutpie {r['tune']}+{r['draws']} | {first['n']} | {r['compile_s']:.1f} | "
        f"{first['wall_s']:.1f} | {fit:.2f} | {per_day:.2f} ({cpu:.1f} CPU) | {len(days)} days: {r['total_s']:.1f} s, "
        f"**{amortised:.2f} s/day** | {max(d['rhat_max'] for d in days):.3f} | "
        f"{min(d['ess_min'] for d in days):.0f} | {max(d['divergences'] for d in days)} | "
        f"{sum(d['fallbacks'] for d in days)} | {max(d['hyper_rhat_max'] for d in days):.3f} / "
        f"{min(d['hyper_ess_min'] for d in days):.0f} | {r['peak_rss_mib']:.0f} | "
        f"{r['load_1min'][0]:.1f} / {r['load_1min'][1]:.1f} |"
    )


def report_naive(r: dict) -> str:
    days = r["days"]
    walls = ", ".join(f"{d['wall_s']:.1f}" for d in days)
    mean = sum(d["wall_s"] for d in days) / len(days)
    cpu = sum(d["cpu_s"] for d in days) / len(days)
    method = f"naive pm.sample {days[0]['chains']}x({days[0]['draws']}+1000)"
    return (
        f"| {r['scenario']} | {method} | {days[0]['n']} | (in each day) | {walls} | - | {mean:.1f} ({cpu:.1f} CPU) | "
        f"{len(days)} days | {max(d['rhat_max'] for d in days):.3f} | "
        f"{min(d['ess_min'] for d in days):.0f} | {max(d['divergences'] for d in days)} | - | - | "
        f"{r['peak_rss_mib']:.0f} | {r['load_1min'][0]:.1f} / {r['load_1min'][1]:.1f} |"
    )


HEADER = (
    "| scenario | method | strategies | compile (s) | first day incl. compile (s) | fit (s/day) | "
    "day wall (s) | back-fill total, amortised | R-hat max | bulk ESS min | divergences max | fallbacks | "
    "hyper R-hat max / ESS min | peak RSS (MiB) | load 1-min start / end |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--backfill", type=int, default=21)
    parser.add_argument("--draws-tune", default="300,500", help="comma list; each is draws = tune")
    parser.add_argument("--naive-days", type=int, default=2)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--scenarios", default="bundled,synthetic")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        mode, scenario, *rest = args.child
        if mode == "nutpie":
            draws, tune = int(rest[0]), int(rest[1])
            result = child_nutpie(scenario, args.strategies, args.backfill, draws, tune)
        else:
            result = child_naive(scenario, args.strategies, args.backfill, args.naive_days)
        print(json.dumps(result))
        return

    now = dt.datetime.now().isoformat(timespec="seconds")
    print(f"# {now}  {platform.platform()}  {os.cpu_count()} cores  Python {platform.python_version()}")
    print(f"# PYTENSOR_FLAGS={os.environ.get('PYTENSOR_FLAGS', '')!r}")
    rows, raw = [], []
    naive_mean: dict[str, float] = {}
    for scenario in args.scenarios.split(","):
        for n in [int(x) for x in args.draws_tune.split(",")]:
            common = ["--strategies", str(args.strategies), "--backfill", str(args.backfill)]
            r = run_child(["nutpie", scenario, str(n), str(n), *common])
            raw.append(r)
            rows.append(report_nutpie(r, args.backfill))
            print(rows[-1], flush=True)
        if not args.skip_naive:
            r = run_child(
                [
                    "naive",
                    scenario,
                    "--strategies",
                    str(args.strategies),
                    "--backfill",
                    str(args.backfill),
                    "--naive-days",
                    str(args.naive_days),
                ]
            )
            raw.append(r)
            rows.append(report_naive(r))
            naive_mean[scenario] = sum(d["wall_s"] for d in r["days"]) / len(r["days"])
            print(rows[-1], flush=True)

    print()
    print(HEADER)
    print("\n".join(rows))
    print()
    for r in raw:
        if r["mode"] == "nutpie":
            amortised = r["total_s"] / len(r["days"])
            speedup = naive_mean.get(r["scenario"], float("nan")) / amortised
            print(
                f"# {r['scenario']} nutpie {r['tune']}+{r['draws']}: amortised {amortised:.2f} s/day, "
                f"{speedup:.1f}x faster than naive; shapes {r['shapes']}; blas {r['blas']!r}"
            )
        else:
            print(f"# {r['scenario']} naive: blas {r['blas']!r}")
    print("# raw: " + json.dumps(raw))


if __name__ == "__main__":
    main()
