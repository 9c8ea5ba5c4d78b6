"""Policy search speed: 20 candidates x 500 paths x 21 days for 100 strategies.

A synthetic firm of 100 strategies (a posterior of 200 draws per strategy with alpha,
two factor betas and residual sigma spread across draws, over 504 days of history) and
one solution allocating by ``performance`` (or, ``--kind inverse_volatility``, by inverse
volatility: the covariance of each path's own history, allocated path by path) over all
of them. Times:

* drawing the 500 search and 500 hold-out paths (one seeded stream per path, the
  strategy models' forecast machinery) and the month's valleys from them;
* the whole search (20 candidates: the incumbent, PFA and CFA grids, all on the
  vectorised evaluator under ``inert_limits()``), hold-out included;
* the reference evaluator (the solution step through the runner) on a few paths of one
  candidate, extrapolated to the same work, under the same limits and under the
  firm's ``config/risk_limits.yaml`` (what the vectorised path does not model).

Aim (issue 12): the search in under 2 minutes.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/policy_search.py [--paths 500] [--strategies 100] [--kind K]
"""

import argparse
import datetime as dt
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _firm(n: int, seed: int):
    """Draws frame, history, factors and ids of ``n`` synthetic strategies."""
    rng = np.random.default_rng(seed)
    t, d, ids = 504, 200, [f"strategy_{i:03d}" for i in range(n)]
    factors = rng.normal([0.0004, 0.0], [0.01, 0.004], size=(t, 2))
    alpha, beta, sigma = rng.normal(0.0002, 0.0003, n), rng.normal([0.6, 0.1], 0.2, (n, 2)), rng.uniform(0.005, 0.02, n)
    history = alpha + factors @ beta.T + sigma * rng.standard_normal((t, n))
    a = alpha + rng.normal(0, 0.0001, (d, n))
    b = beta + rng.normal(0, 0.05, (d, n, 2))
    s = sigma * np.exp(rng.normal(0, 0.05, (d, n)))
    draws = pl.DataFrame(
        {
            "draw": np.repeat(np.arange(d), n).astype(np.int64),
            "strategy_id": ids * d,
            "daily_mean": (a + b @ factors.mean(axis=0)).ravel(),
            "alpha": a.ravel(),
            "beta_mkt": b[..., 0].ravel(),
            "beta_spread": b[..., 1].ravel(),
            "sigma": s.ravel(),
            "nu": np.full(d * n, math.inf),
            "vol": s.ravel(),
            "sharpe": (a / s).ravel() * math.sqrt(252),
        }
    )
    return draws, history, factors, ids, alpha, sigma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=500)
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--reference-paths", type=int, default=4)
    parser.add_argument(
        "--kind",
        choices=["performance", "inverse_volatility"],
        default="performance",
        help="the allocation policy of the incumbent and the CFA grid (inverse volatility reads the covariance: "
        "allocated path by path on each rebalance day)",
    )
    args = parser.parse_args()

    from twin_model.calendar import business_days
    from twin_model.conventions import PolicyKind, ScenarioStream
    from twin_model.portfolio import CostModel
    from twin_model.solution import DayInputs, SolutionRules, SolutionState
    from twin_model.strategy import forecast_summary, predictive_model
    from twin_model.twin.search import (
        CfaGrid,
        CfaPolicy,
        PfaGrid,
        PolicySearchSettings,
        ScenarioSet,
        SimulatedMonth,
        candidates,
        inert_limits,
        month_days,
        reference_returns,
        search,
        vectorised_returns,
    )
    from twin_resources.config import load_config

    n, p = args.strategies, args.paths
    draws, history, factors, ids, alpha, sigma = _firm(n, 1)
    day = dt.date(2022, 11, 30)
    dates = tuple(business_days(day - dt.timedelta(days=800), day)[-252:])
    started = time.perf_counter()
    model = predictive_model(draws, history, factors, ids, factor_ids=["mkt", "spread"])
    search_set = ScenarioSet(seed=7, stream=ScenarioStream.SEARCH, n_paths=p, horizon=21)
    holdout_set = ScenarioSet(seed=7, stream=ScenarioStream.HOLDOUT, n_paths=p, horizon=21)
    paths, holdout = search_set.simulate(model), holdout_set.simulate(model)
    valley = dict(zip(ids, forecast_summary(paths, ids)["monthly_valley"].to_list()))
    t_paths = time.perf_counter() - started

    base = DayInputs(
        day=day,
        strategy_ids=tuple(ids),
        history_dates=dates,
        history=history[-252:],
        in_pool={s: True for s in ids},
        sectors={s: f"sector_{i % 5}" for i, s in enumerate(ids)},
        asset_classes={s: "equity" for s in ids},
        expected_return=dict(zip(ids, alpha * 252)),
        expected_return_sd={s: 0.03 for s in ids},
        sharpe=dict(zip(ids, alpha / sigma * math.sqrt(252))),
        valley={},
    )
    month = SimulatedMonth(base, month_days(day, 21), tuple(ids), valley)
    kind = PolicyKind(args.kind)
    rules = SolutionRules(
        "bench",
        dt.date(2020, 1, 2),
        1e8,
        policy_kind=kind,
        max_weight=0.05,
        policy_params={"floor": 0.005} if kind == PolicyKind.PERFORMANCE else {},
    )
    cfa = (
        CfaPolicy(PolicyKind.PERFORMANCE, {"floor": [0.0, 0.002]})
        if kind == PolicyKind.PERFORMANCE
        else CfaPolicy(PolicyKind.INVERSE_VOLATILITY, {})
    )
    exposures = (0.5, 1.0) if kind == PolicyKind.PERFORMANCE else (0.5, 0.75, 0.9, 1.0)
    settings = PolicySearchSettings(
        n_paths=p,
        holdout_paths=p,
        pfa=PfaGrid(pause_days=(5, 10, 20), valley_multiple=(1.5, 2.0, 3.0), ramp_days=(0, 5)),
        cfa=CfaGrid(policies=(cfa,), exposure=exposures, turnover_limit=()),
    )
    pool = candidates(rules, settings)[:20]
    costs = CostModel()
    state = SolutionState.launch(rules)
    started = time.perf_counter()
    result = search(pool, state, month, paths, holdout, settings, inert_limits(), costs)
    t_search = time.perf_counter() - started
    evaluators = result.table["evaluator"].value_counts().rows()

    k = args.reference_paths
    started = time.perf_counter()
    want = reference_returns(rules, state, month, paths[:k], inert_limits(), costs)
    t_ref = (time.perf_counter() - started) / k
    gap = np.abs(vectorised_returns(rules, state, month, paths[:k], inert_limits(), costs) - want).max()
    firm = load_config(ROOT / "config").risk_limits
    started = time.perf_counter()
    reference_returns(rules, state, month, paths[:k], firm, costs)
    t_ref_firm = (time.perf_counter() - started) / k
    work = len(pool) * p + 2 * p  # every candidate on the search paths, two on the hold-out paths

    print(f"strategies {n}, candidates {len(pool)}, paths {p} + {p} hold-out, 21 days; evaluators {evaluators}")
    print(f"paths and valleys: {t_paths:.1f} s ({2 * p} paths, one stream each)")
    print(f"search (vectorised, inert limits): {t_search:.1f} s; winner {result.winner.candidate_id}")
    print(f"reference, inert limits: {t_ref:.3f} s per path -> {t_ref * work:.0f} s for the same search")
    print(f"reference, the firm's limits: {t_ref_firm:.3f} s per path -> {t_ref_firm * work:.0f} s")
    print(
        f"vectorised: {t_search / work * 1e3:.2f} ms per candidate-path; vs reference on {k} paths: max gap {gap:.1e}"
    )


if __name__ == "__main__":
    main()
