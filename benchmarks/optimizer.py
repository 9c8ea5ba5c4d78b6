"""Optimiser latency (issue 4): P50/P99 per (objective, method) and N, cold and warm,
next to PyPortfolioOpt on the same mean-variance problems.

    .venv/bin/python benchmarks/optimizer.py [--quick] [--sizes 20,100,500]
        [--warm 200] [--cold 200] [--cold-large 30] [--pypfopt 200] [--pypfopt-large 30]

* warm: one ``Optimizer`` per (configuration, N); one untimed request first (it builds the
  problem), then ``--warm`` timed requests, each with new data.
* cold: a fresh ``Optimizer`` per request, so every mean-variance request builds its cvxpy
  problem (HRP and unconstrained risk parity build nothing: cold ~ warm for them).
  RISK_PARITY builds its constrained cvxpy problem on the first request whose bounds or
  sector caps bind (2 % of the requests at N=100 here) and keeps it in the ``Optimizer``: a warm
  RISK_PARITY cell reports that one build ("warm optimizer rebuilt (1)"), and every binding
  request of a cold cell pays it.
* data: every request draws its own mu and covariance from a seeded factor model
  (5 factors + idiosyncratic risk; seed = (N, request index)), the same draws for every
  configuration and for PyPortfolioOpt.
* constraints: long-only, max_weight = max(0.4, 2/N), sector limits S0 <= 0.30 and
  S1 <= 0.25 (five round-robin sectors), leverage_limit 1, risk_free_rate 0.01;
  MAX_RETURN uses max_volatility = 1.2 x the equal-weight book's volatility (feasible).
* timing: ``optimize(request, optimizer)`` on an already validated ``OptimizationRequest``
  (covariance as a list of lists, as it arrives); pydantic validation of the JSON is not
  timed.  PyPortfolioOpt is timed per request including ``EfficientFrontier``
  construction and ``add_sector_constraints`` (that is how it is used), on numpy arrays.

BLAS threading matters a lot here: run with ``OPENBLAS_NUM_THREADS=1`` (the header prints
the value used); see benchmarks/RESULTS.md.

Prints figures; asserts nothing about time.
Aims (issue 4): warm P99 under 50 ms at 100 strategies; no slower than PyPortfolioOpt.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import warnings

import numpy as np

from twin_model.optimize import (
    Constraints,
    Method,
    Objective,
    OptimizationRequest,
    Optimizer,
    RiskParameters,
    StrategyInput,
    View,
    optimize,
)

RF = 0.01
N_SECTORS = 5
SECTOR_LIMITS = {"S0": 0.30, "S1": 0.25}
FACTOR_VOL = np.array([0.15, 0.08, 0.06, 0.05, 0.04])
FACTOR_PREMIA = np.array([0.04, 0.01, 0.0, -0.01, 0.005])

# (label, objective, method)
CONFIGS = [
    ("MIN_VOLATILITY / MV", Objective.MIN_VOLATILITY, Method.MEAN_VARIANCE),
    ("MAX_SHARPE / MV", Objective.MAX_SHARPE, Method.MEAN_VARIANCE),
    ("MAX_RETURN / MV", Objective.MAX_RETURN, Method.MEAN_VARIANCE),
    ("RISK_PARITY", Objective.RISK_PARITY, Method.MEAN_VARIANCE),
    ("MULTI_OBJECTIVE / MV", Objective.MULTI_OBJECTIVE, Method.MEAN_VARIANCE),
    ("HRP", Objective.MIN_VOLATILITY, Method.HIERARCHICAL_RISK_PARITY),
    ("MAX_SHARPE / BL", Objective.MAX_SHARPE, Method.BLACK_LITTERMAN),
    ("MAX_SHARPE / ROBUST", Objective.MAX_SHARPE, Method.ROBUST_OPTIMIZATION),
    ("MAX_RETURN / ROBUST", Objective.MAX_RETURN, Method.ROBUST_OPTIMIZATION),
]
PYPFOPT_KINDS = {
    "MIN_VOLATILITY / MV": "min_volatility",
    "MAX_SHARPE / MV": "max_sharpe",
    "MAX_RETURN / MV": "efficient_risk",
}


def max_weight(n: int) -> float:
    return max(0.4, 2.0 / n)


def sectors(n: int) -> list[str]:
    return [f"S{i % N_SECTORS}" for i in range(n)]


def draw(n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mu, sigma, sd, max_vol) for request k at size n, from a seeded factor model."""
    rng = np.random.default_rng([n, k, 4])
    B = np.column_stack(
        [
            rng.normal(1.0, 0.3, n),  # market
            rng.normal(0.0, 0.5, (n, len(FACTOR_VOL) - 1)),
        ]
    )
    idio = rng.uniform(0.05, 0.25, n)
    sigma = (B * FACTOR_VOL**2) @ B.T + np.diag(idio**2)
    sigma = 0.5 * (sigma + sigma.T)
    mu = 0.02 + B @ FACTOR_PREMIA + rng.normal(0.0, 0.02, n)
    sd = 0.3 * np.abs(mu) + 0.01
    ew = np.full(n, 1.0 / n)
    max_vol = 1.2 * float(np.sqrt(ew @ sigma @ ew))
    return mu, sigma, sd, max_vol


def make_request(label: str, objective: Objective, method: Method, n: int, data) -> OptimizationRequest:
    mu, sigma, sd, max_vol = data
    ids = [f"s{i:03d}" for i in range(n)]
    secs = sectors(n)
    robust = method == Method.ROBUST_OPTIMIZATION
    rp = RiskParameters(
        risk_free_rate=RF,
        risk_aversion=2.5 if method == Method.BLACK_LITTERMAN else 1.0,
        max_volatility=max_vol if objective == Objective.MAX_RETURN else None,
        l2_penalty=0.01 if objective == Objective.MULTI_OBJECTIVE else 0.0,
    )
    views = None
    if method == Method.BLACK_LITTERMAN:
        views = [
            View(strategy_id=ids[0], expected_return=0.08, confidence=0.5),
            View(strategy_id=ids[1], expected_return=0.02, confidence=0.8),
        ]
    return OptimizationRequest(
        portfolio_id="bench",
        objective=objective,
        method=method,
        strategies=[
            StrategyInput(
                strategy_id=i, expected_return=float(m), sector=s, expected_return_sd=float(e) if robust else None
            )
            for i, m, s, e in zip(ids, mu, secs, sd)
        ],
        covariance=sigma.tolist(),
        constraints=Constraints(
            min_weight=0.0, max_weight=max_weight(n), sector_limits=dict(SECTOR_LIMITS), leverage_limit=1.0
        ),
        risk_parameters=rp,
        views=views,
    )


def pct(ts: list[float]) -> tuple[float, float]:
    a = np.asarray(ts) * 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def run_engine(cfg, n: int, datas, count: int, warm: bool, budget: float, least: int):
    """Latencies (s) and weights per request index; stops after ``budget`` seconds of
    timed requests once ``least`` requests are done."""
    label, objective, method = cfg
    times, weights, viol = [], [], []
    opt = Optimizer()
    if warm:  # untimed first request builds the problem (different data: index 10_000)
        optimize(make_request(label, objective, method, n, draw(n, 10_000)), opt)
    built0 = opt.problems_built
    for k in range(count):
        if len(times) >= least and sum(times) > budget:
            break
        req = make_request(label, objective, method, n, datas[k])
        o = opt if warm else Optimizer()
        t0 = time.perf_counter()
        resp = optimize(req, o)
        times.append(time.perf_counter() - t0)
        weights.append(np.array(list(resp.optimal_weights.values())))
        if resp.optimization_metadata.violations:
            viol.append(resp.optimization_metadata.violations[0])
    if viol:  # HRP ignores sector limits by design and reports the breach
        print(f"  !! {label} N={n} {'warm' if warm else 'cold'}: {len(viol)} responses with violations, e.g. {viol[0]}")
    if warm and opt.problems_built != built0:
        print(f"  !! {label} N={n}: warm optimizer rebuilt ({opt.problems_built - built0})")
    return times, weights


def run_pypfopt(kind: str, n: int, datas, count: int, budget: float, least: int):
    from pypfopt import EfficientFrontier

    mapper = {i: s for i, s in enumerate(sectors(n))}
    lower = {f"S{j}": 0.0 for j in range(N_SECTORS)}
    upper = {f"S{j}": SECTOR_LIMITS.get(f"S{j}", 1.0) for j in range(N_SECTORS)}
    times, weights, solvers, failed = [], [], set(), 0
    for k in range(count):
        if len(times) >= least and sum(times) > budget:
            break
        mu, sigma, _sd, max_vol = datas[k]
        t0 = time.perf_counter()
        try:
            ef = EfficientFrontier(mu, sigma, weight_bounds=(0, max_weight(n)))
            ef.add_sector_constraints(mapper, lower, upper)
            if kind == "min_volatility":
                ef.min_volatility()
            elif kind == "max_sharpe":
                ef.max_sharpe(risk_free_rate=RF)
            else:
                ef.efficient_risk(target_volatility=max_vol)
        except Exception as exc:  # noqa: BLE001  (e.g. OSQP hitting its iteration limit)
            times.append(time.perf_counter() - t0)  # a failed request still costs its time
            weights.append(None)
            failed += 1
            print(f"  !! PyPortfolioOpt {kind} N={n} request {k}: {str(exc)[:100]}")
            continue
        times.append(time.perf_counter() - t0)
        weights.append(np.asarray(ef.weights, dtype=float))
        st = getattr(ef._opt, "solver_stats", None)
        if st is not None:
            solvers.add(st.solver_name)
    return times, weights, solvers, failed


class _Lazy:
    """datas[k] = draw(n, k), drawn on first use and kept."""

    def __init__(self, n: int) -> None:
        self.n, self._d = n, {}

    def __getitem__(self, k: int):
        if k not in self._d:
            self._d[k] = draw(self.n, k)
        return self._d[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: small counts")
    ap.add_argument("--sizes", default="20,100,500")
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--cold", type=int, default=200)
    ap.add_argument("--cold-large", type=int, default=30, help="cold requests at N >= 500")
    ap.add_argument("--pypfopt", type=int, default=200)
    ap.add_argument("--pypfopt-large", type=int, default=30, help="PyPortfolioOpt at N >= 500")
    ap.add_argument("--configs", default="", help="comma-separated label prefixes to run")
    ap.add_argument(
        "--cell-budget", type=float, default=8.0, help="stop a cell after this many seconds of timed requests ..."
    )
    ap.add_argument("--least", type=int, default=2, help="... once it has this many (cold 1)")
    ap.add_argument("--skip", default="", help="comma-separated LABEL@N cells not to run")
    args = ap.parse_args()
    if args.quick:
        args.warm, args.cold, args.cold_large = 10, 5, 3
        args.pypfopt, args.pypfopt_large = 10, 3
        args.cell_budget = min(args.cell_budget, 2.0)
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = [c for c in CONFIGS if not args.configs or any(c[0].startswith(p) for p in args.configs.split(","))]

    import cvxpy

    try:
        import clarabel

        clarabel_v = clarabel.__version__
    except Exception:  # noqa: BLE001
        clarabel_v = "?"
    try:
        from importlib.metadata import version

        import pypfopt  # noqa: F401

        have_ppo = True
        ppo_v = version("pyportfolioopt")
    except ImportError:
        have_ppo = False
        ppo_v = None
    import os

    print(
        "BLAS threads: OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')} (unset = OpenBLAS default; on "
        "the shared 2-core box an unset value made numpy eigh of 100x100 ~200 ms vs ~1.5 ms "
        "with 1 thread)"
    )
    print(
        f"Python {platform.python_version()}, cvxpy {cvxpy.__version__}, clarabel "
        f"{clarabel_v}, PyPortfolioOpt {ppo_v or 'not installed'}, numpy {np.__version__}"
    )
    print(
        f"sizes {sizes}; warm {args.warm} requests per cell; cold {args.cold} "
        f"(at N>=500: {args.cold_large}); PyPortfolioOpt {args.pypfopt} "
        f"(at N>=500: {args.pypfopt_large})" + ("  [--quick]" if args.quick else "")
    )
    if not have_ppo:
        print("PyPortfolioOpt not installed: comparison skipped")
    warnings.filterwarnings("ignore")

    rows = []  # dicts
    agree = []  # (kind, n, max abs diff, count)
    t_start = time.perf_counter()
    for n in sizes:
        large = n >= 500
        n_cold = args.cold_large if large else args.cold
        n_ppo = args.pypfopt_large if large else args.pypfopt
        datas = _Lazy(n)
        for cfg in configs:
            label = cfg[0]
            if f"{label}@{n}" in args.skip.split(","):
                print(f"  {label:22s} N={n:4d}  skipped (--skip)")
                continue
            gc.collect()
            wt, ww = run_engine(cfg, n, datas, args.warm, True, args.cell_budget, args.least)
            ct, _ = run_engine(cfg, n, datas, n_cold, False, args.cell_budget, 1)
            row = {"label": label, "n": n, "warm": pct(wt), "n_warm": len(wt), "cold": pct(ct), "n_cold": len(ct)}
            kind = PYPFOPT_KINDS.get(label)
            if kind and have_ppo:
                pt, pw, solvers, failed = run_pypfopt(kind, n, datas, n_ppo, args.cell_budget, args.least)
                row.update(ppo=pct(pt), n_ppo=len(pt), ppo_solver=",".join(sorted(solvers)), ppo_failed=failed)
                pairs = [(a, b) for a, b in zip(pw, ww) if a is not None]
                if pairs:
                    diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
                    agree.append((kind, n, diff, len(pairs)))
            rows.append(row)
            print(
                f"  {label:22s} N={n:4d}  warm P50/P99 {row['warm'][0]:8.2f}/"
                f"{row['warm'][1]:8.2f} ms  cold {row['cold'][0]:8.2f}/"
                f"{row['cold'][1]:8.2f} ms (n={row['n_cold']})"
                + (
                    f"  PyPortfolioOpt {row['ppo'][0]:8.2f}/{row['ppo'][1]:8.2f} ms "
                    f"(n={row['n_ppo']}, {row['ppo_solver']})"
                    if "ppo" in row
                    else ""
                ),
                flush=True,
            )
    total = time.perf_counter() - t_start

    print()
    print(
        "| objective / method | N | warm P50 (ms) | warm P99 (ms) | warm n | cold P50 (ms) "
        "| cold P99 (ms) | cold n | PyPortfolioOpt P50 (ms) | PyPortfolioOpt P99 (ms) "
        "| PyPortfolioOpt n |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ppo = (
            (
                f"{r['ppo'][0]:.1f} | {r['ppo'][1]:.1f} | {r['n_ppo']}"
                + (f" ({r['ppo_failed']} failed)" if r["ppo_failed"] else "")
            )
            if "ppo" in r
            else "- | - | -"
        )
        print(
            f"| {r['label']} | {r['n']} | {r['warm'][0]:.1f} | {r['warm'][1]:.1f} | "
            f"{r['n_warm']} | {r['cold'][0]:.1f} | {r['cold'][1]:.1f} | {r['n_cold']} | "
            f"{ppo} |"
        )
    print(
        f"\nasked: warm {args.warm} per cell, cold {args.cold} ({args.cold_large} at N>=500), "
        f"PyPortfolioOpt {args.pypfopt} ({args.pypfopt_large} at N>=500); a cell stops "
        f"after {args.cell_budget:g} s of timed requests (at least {args.least} warm, 1 "
        "cold), so the n columns are what ran. P99 of fewer than 100 requests is close to "
        "the maximum."
    )

    print("\nweights agreement, engine (warm) vs PyPortfolioOpt, max |w_engine - w_ppo| over the requests:")
    if not have_ppo:
        print("  PyPortfolioOpt not installed")
    for kind, n, diff, m in agree:
        print(f"  {kind:15s} N={n:4d}: {diff:.2e} ({m} requests)")

    print("\naims (issue 4):")
    at100 = [r for r in rows if r["n"] == 100]
    if at100:
        worst = max(at100, key=lambda r: r["warm"][1])
        bad = [r["label"] for r in at100 if r["warm"][1] >= 50.0]
        print(
            f"  warm P99 < 50 ms at 100 strategies: "
            f"{'HOLDS' if not bad else 'DOES NOT HOLD for ' + ', '.join(bad)} "
            f"(worst {worst['label']} {worst['warm'][1]:.1f} ms)"
        )
    else:
        print("  warm P99 < 50 ms at 100 strategies: N=100 not run")
    if have_ppo:
        for r in rows:
            if "ppo" not in r:
                continue
            for mode in ("warm", "cold"):
                p50, p99 = r[mode]
                q50, q99 = r["ppo"]
                ok = p50 <= q50 and p99 <= q99
                print(
                    f"  no slower than PyPortfolioOpt, {r['label']:20s} N={r['n']:4d} {mode}: "
                    f"{'yes' if ok else 'NO'} (P50 {p50:.1f} vs {q50:.1f} ms, "
                    f"P99 {p99:.1f} vs {q99:.1f} ms)"
                )
    else:
        print("  no slower than PyPortfolioOpt: PyPortfolioOpt not installed")
    print(f"\ntotal benchmark time {total:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
