"""Coverage of alpha's 90% interval when strategies of one sector share a risk (issue 10).

For each of ``--replications`` seeded synthetic universes (replication ``r`` has seed
``--seed + r``): ``--strategies`` strategies (``--shares`` of the ``alpha``, ``beta`` and
``noise`` archetypes; no decay, so alpha is constant) in ``--sectors`` sectors whose
strategies share a sector risk of daily sd ``--sigma-s``, ``--days`` business days, the
market as the only factor.

The default universe is all ``alpha`` archetype (annual Sharpe of alpha uniform in
[0.5, 1.5]): a unimodal spread of true information ratios that the model's normal pool
of alpha's information ratio can describe, so that what the run measures is the shared
risk. With half the strategies at exactly zero alpha (``--shares 0.5,0.25,0.25``) the
normal pool is misspecified (two clusters) and shrinks both toward the middle: measured
on the benchmark-only model, 0.82 with shared sectors and 0.83 with none (``--sectors
16``), so that universe cannot tell shared risk from the pool's shape. The default shared
risk is large (two sectors of eight, ``sigma_s`` 0.01: residual correlation ``c_i c_j``
about 0.6 within a sector), where the benchmark-only model covered 0.76 against 0.91
with the same risk unshared (``--sectors 16``); with four sectors and ``sigma_s`` 0.006
it covered 0.87, too close to the 0.85 aim to tell (benchmarks/RESULTS.md). The strategy model is fitted through the public API
(``return_window`` then ``StrategyModelFitter(FitSettings(...)).fit``) on the whole span,
and the interval ``[alpha_q05, alpha_q95]`` of the posterior table is checked against the
true alpha (``alpha0``: ``twin_model.data.synthetic``'s ground truth, alpha over the
market). The residual correlation within a sector is ``c_i c_j`` with
``c_i = sigma_s / sqrt(sigma_s^2 + sigma_i^2)`` (``synthetic.residual_truth``); the run
prints its mean.

The windows carry the factors (``synthetic.factor_returns``: date, factor_id, ret,
is_benchmark; the market is the benchmark factor) and the sectors, so each sector is a
block whose residual risk the model shares (``twin_model.strategy._likelihood``);
``--independent`` leaves the sectors out, every strategy its own block: the residuals
independent, as the model was before it learned shared risk.

Printed: R, the events (R x strategies), the coverage with its Wilson 95% interval over
the events (which treats them as independent), and, because the events of one
replication move together (a sector's good two years is in every member's interval), an
interval from the R per-replication coverages (mean +- t_{0.975, R-1} sd / sqrt(R)); the
coverage by archetype; fallbacks to the conjugate fit; seconds per fit.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/alpha_coverage.py [--replications 100]
        [--strategies 16] [--sectors 2] [--days 504] [--sigma-s 0.01] [--shares 1,0,0]
        [--draws 300] [--tune 300] [--chains 2] [--seed 1000] [--max-minutes 10] [--independent]

``--max-minutes`` stops starting new replications once the budget is spent (the figures
are then over the replications done, and say so). Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time

import numpy as np
import polars as pl
from scipy import stats

LEVEL = 0.90  # the interval [alpha_q05, alpha_q95]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion:
    (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z the normal quantile."""
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def replication_interval(coverages: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of the per-replication coverages +- t_{(1+c)/2, R-1} sd / sqrt(R)."""
    r = coverages.size
    if r < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2.0, r - 1) * coverages.std(ddof=1) / math.sqrt(r)
    return float(coverages.mean() - half), float(coverages.mean() + half)


def universe(args, replication: int):
    """(config, truth, returns, benchmark frame date/ret, factor frame, sector frame, dates)."""
    from twin_model.data import synthetic

    config = synthetic.SyntheticConfig(
        n_strategies=args.strategies,
        seed=args.seed + replication,
        n_sectors=args.sectors,
        sigma_s=args.sigma_s,
        share_alpha=args.shares[0],
        share_beta=args.shares[1],
        share_decay=0.0,
        share_noise=args.shares[2],
    )
    dates = np.busday_offset(np.datetime64(config.anchor), np.arange(args.days)).astype(dt.date).tolist()
    truth = synthetic.truth_table(config)
    returns, bench = synthetic.generate(config, dates, truth)
    benchmark = bench.select("date", pl.col("market_return").alias("ret"))
    factors = synthetic.factor_returns(config, dates)
    sectors = truth.select("strategy_id", "sector")
    return config, truth, returns, benchmark, factors, sectors, dates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--strategies", type=int, default=16)
    parser.add_argument("--sectors", type=int, default=2)
    parser.add_argument("--days", type=int, default=504)
    parser.add_argument("--sigma-s", type=float, default=0.01, help="daily sd of each sector's shared risk")
    parser.add_argument(
        "--shares",
        type=lambda text: tuple(float(x) for x in text.split(",")),
        default=(1.0, 0.0, 0.0),
        help="archetype shares alpha,beta,noise (summing to 1)",
    )
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1000, help="replication r uses seed + r (data and sampler)")
    parser.add_argument("--max-minutes", type=float, default=10.0, help="start no replication after this")
    parser.add_argument(
        "--independent",
        action="store_true",
        help="fit without the sectors (every strategy its own block): residuals independent, the earlier model",
    )
    args = parser.parse_args()

    from twin_model.data import synthetic
    from twin_model.strategy import FitSettings, StrategyModelFitter, return_window

    settings = FitSettings(window_days=args.days, draws=args.draws, tune=args.tune, chains=args.chains)
    fitter = StrategyModelFitter(settings)
    started = time.perf_counter()
    per_replication, rows, fit_seconds = [], [], []
    for r in range(args.replications):
        if time.perf_counter() - started > 60.0 * args.max_minutes:
            break
        config, truth, returns, benchmark, factors, sectors, dates = universe(args, r)
        blocks = None if args.independent else dict(sectors.iter_rows())
        window = return_window(returns, factors, dates[-1], args.days, sectors=blocks)
        fit_start = time.perf_counter()
        summary = fitter.fit(window, seed=args.seed + r).summary
        fit_seconds.append(time.perf_counter() - fit_start)
        t = synthetic.business_day_index(config.anchor, list(window.dates))
        alpha = synthetic.true_alpha(truth, t).mean(axis=0)  # constant here: alpha0
        joined = truth.select("strategy_id", "archetype").with_columns(pl.Series("alpha_true", alpha))
        joined = joined.join(summary, on="strategy_id", how="inner")
        covered = (joined["alpha_q05"] <= joined["alpha_true"]) & (joined["alpha_true"] <= joined["alpha_q95"])
        joined = joined.with_columns(covered.alias("covered"), pl.lit(r).alias("replication"))
        rows.append(joined.select("replication", "strategy_id", "archetype", "covered", "method"))
        per_replication.append(float(covered.mean()))
        if r == 0:
            corr = synthetic.residual_truth(config, truth)["sector_corr"].to_numpy()
    elapsed = time.perf_counter() - started
    report(args, pl.concat(rows), np.array(per_replication), fit_seconds, elapsed, corr, fitter)


def report(args, events: pl.DataFrame, per_replication, fit_seconds, elapsed, corr, fitter) -> None:
    r, n = per_replication.size, events.height
    hits = int(events["covered"].sum())
    lo, hi = wilson_interval(hits, n)
    rlo, rhi = replication_interval(per_replication)
    print(f"coverage of alpha's {LEVEL:.0%} interval [alpha_q05, alpha_q95], shared sector risk")
    print(
        f"  universe: {args.strategies} strategies in {args.sectors} sectors, {args.days} days, "
        f"sigma_s {args.sigma_s}, within-sector residual corr c_i c_j: mean c_i^2 {np.mean(corr**2):.2f} "
        f"(c_i {corr.min():.2f}-{corr.max():.2f}, first replication)"
    )
    print(
        f"  model: {'independent residuals' if args.independent else 'residual risk shared within a sector'}; "
        f"draws {args.draws} tune {args.tune} chains {args.chains}"
    )
    print(f"  R = {r} replications (of {args.replications} asked), {n} events")
    print(f"  coverage {hits / n:.3f}  Wilson 95% [{lo:.3f}, {hi:.3f}] (events taken as independent)")
    print(f"  per-replication mean {per_replication.mean():.3f}  t 95% [{rlo:.3f}, {rhi:.3f}] (R as the unit)")
    by_kind = events.group_by("archetype").agg(pl.col("covered").mean(), pl.len()).sort("archetype")
    for kind, share, count in by_kind.iter_rows():
        print(f"    {kind:<6} {share:.3f} of {count}")
    fallbacks = events.filter(pl.col("method") != "nuts").height
    print(f"  fallbacks to the conjugate fit: {fallbacks} of {n}")
    print(
        f"  {elapsed:.0f} s in all; fit {np.median(fit_seconds):.2f} s median, "
        f"{fitter.compile_seconds:.0f} s compiling (one shape)"
    )


if __name__ == "__main__":
    main()
