"""Selection bias of the policy search's in-sample best, and what the hold-out paths fix.

K = 20 candidates of equal true value with independent estimates: candidate k holds
strategy k alone (static, fully invested, no costs, no valley rule), the K strategies'
daily returns i.i.d. N(mu, sigma). From a launch, day 1 earns nothing, so each
candidate's true expected net return over H days is (1 + mu)^(H - 1) - 1 (independent
days: the expectation of the product is the product of the expectations), and with
risk_aversion 0 that is its true score. Over R seeded replications the script reports,
in units of the winner's in-sample standard error:

* the in-sample best's score minus its hold-out re-measurement (expected: E[max of K
  standard normals], by quadrature: 1.8675 for K = 20);
* the in-sample best's score minus the true value (the same, expected) and the hold-out
  estimate minus the true value (expected: 0).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/selection_bias.py [--replications 200] [--paths 200]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import integrate, stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def expected_max(k: int) -> float:
    """E[max of k iid N(0, 1)] = integral of x k phi(x) Phi(x)^(k-1) dx."""
    return integrate.quad(lambda x: x * k * stats.norm.pdf(x) * stats.norm.cdf(x) ** (k - 1), -np.inf, np.inf)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--paths", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=21)
    args = parser.parse_args()

    from tests.helpers.policy_search import base_inputs, month, rules
    from twin_model.conventions import PolicyKind
    from twin_model.portfolio import CostModel
    from twin_model.solution import SolutionState
    from twin_model.twin.search import (
        CfaGrid,
        CfaPolicy,
        PfaGrid,
        PolicySearchSettings,
        candidates,
        inert_limits,
        search,
    )

    k, p, h, mu, sigma = args.candidates, args.paths, args.horizon, 0.0005, 0.01
    ids = [f"s{i:02d}" for i in range(k)]
    incumbent = rules(policy_params={"weights": {ids[0]: 1.0}}, max_weight=1.0)
    settings = PolicySearchSettings(
        n_paths=p,
        holdout_paths=p,
        risk_aversion=0.0,
        pfa=PfaGrid(pause_days=(10,), valley_multiple=(2.0,), ramp_days=(5,)),
        cfa=CfaGrid(policies=tuple(CfaPolicy(PolicyKind.STATIC, {"weights": {s: 1.0}}) for s in ids), exposure=()),
    )
    pool = candidates(incumbent, settings)
    m = month(base_inputs(k), horizon=h, valley=None)
    state, no_costs = SolutionState.launch(incumbent), CostModel(0.0, 0.0, 0.0, 1e9, 0.0)
    truth = (1 + mu) ** (h - 1) - 1
    gap, over, held = [], [], []
    started = time.perf_counter()
    for seed in range(args.replications):
        rng = np.random.default_rng(seed)
        paths, holdout = (rng.normal(mu, sigma, size=(p, h, k)) for _ in range(2))
        table = search(pool, state, m, paths, holdout, settings, inert_limits(), no_costs).table
        best = table.filter(table["best_in_sample"]).row(0, named=True)
        se = best["score_se"]
        gap.append((best["score"] - best["holdout_score"]) / se)
        over.append((best["score"] - truth) / se)
        held.append((best["holdout_score"] - truth) / se)
    elapsed = time.perf_counter() - started

    def line(name: str, values: list[float], expected: float) -> str:
        v = np.array(values)
        return f"{name}: {v.mean():.3f} +- {v.std(ddof=1) / np.sqrt(v.size):.3f} SE (expected {expected:.3f})"

    print(f"K {len(pool)} candidates, {p} + {p} paths of {h} days, {args.replications} replications, {elapsed:.0f} s")
    print(line("in-sample best - hold-out", gap, expected_max(len(pool))))
    print(line("in-sample best - truth   ", over, expected_max(len(pool))))
    print(line("hold-out - truth         ", held, 0.0))


if __name__ == "__main__":
    main()
