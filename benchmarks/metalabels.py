"""Metalabel training and scoring time per day, for the bundled firm and synthetic strategies.

Scenarios:

- ``bundled``: the bundled firm's 13 strategies on real closes, 2018-2022, S&P 500 as the one
  factor;
- ``synthetic``: ``--strategies`` (100) regime-switching synthetic strategies
  (tests/helpers/metalabel_truth.py), three years.

The tables the metalabel reads are stand-ins built from the returns (the models and stats
layers are not run here): the trailing-window posterior summary and rolling 21d/63d
statistics of tests/helpers/metalabel_truth.py, betas as trailing 126-day OLS betas to the
factor (known at t); the regime from the benchmark's closes (bundled only). For each
scenario it times: the features and labels of the whole span, one refit (model choice by
purged CV over the three candidates, then the calibrated winner) on the last day, one day's
scoring, and a monthly-refit walk-forward over the last ``--months`` months (per day,
amortised); it prints the walk-forward's out-of-sample scores beside the base rate.

    .venv/bin/python benchmarks/metalabels.py [--strategies 100] [--months 6]

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.metalabel_truth import stand_in_posteriors, stand_in_statistics, synthetic_firm  # noqa: E402
from twin_model.data.market import market_regime  # noqa: E402
from twin_model.metalabel import (  # noqa: E402
    MetalabelSettings,
    fit_metalabel_model,
    metalabel_features,
    metalabel_labels,
    metalabel_scores,
    walk_forward,
)


def _rolling_betas(returns: pl.DataFrame, factor: pl.DataFrame, window: int = 126) -> pl.DataFrame:
    """Trailing OLS beta of each strategy to the factor on each date (from data up to the date)."""
    joined = returns.join(factor.select("date", pl.col("ret").alias("x")), on="date").sort("strategy_id", "date")
    xy, x, y, xx = (pl.col("x") * pl.col("ret")), pl.col("x"), pl.col("ret"), pl.col("x") ** 2

    def mean(e):
        return e.rolling_mean(window, min_samples=42).over("strategy_id")

    beta = (mean(xy) - mean(x) * mean(y)) / (mean(xx) - mean(x) ** 2)
    return joined.select("date", "strategy_id", pl.lit("market").alias("factor_id"), beta.alias("beta")).drop_nulls()


def _bundled():
    from twin_resources.sources import BundledSource

    source = BundledSource()
    start, last = dt.date(2018, 1, 1), dt.date(2022, 12, 31)
    returns = source.strategy_returns(start, last)
    closes = source.market_prices(start - dt.timedelta(days=400), last).filter(pl.col("is_benchmark")).sort("date")
    factor = closes.select("date", (pl.col("close") / pl.col("close").shift(1) - 1).alias("ret")).drop_nulls()
    factor = factor.filter(pl.col("date") >= start).with_columns(pl.lit("market").alias("factor_id"))
    days = sorted(returns["date"].unique().to_list())
    regime = market_regime(closes.select("date", "close"), days)
    return returns, factor, _rolling_betas(returns, factor), regime


def _synthetic(strategies: int):
    firm = synthetic_firm(strategies, 756, regimes=True, seed=7)
    return firm.returns, firm.factor_returns, _rolling_betas(firm.returns, firm.factor_returns), None


def run(name: str, returns, factor, betas, regime, months: int) -> None:
    settings = MetalabelSettings()
    t0 = time.perf_counter()
    features = metalabel_features(returns, stand_in_posteriors(returns), stand_in_statistics(returns), None, regime)
    labels = metalabel_labels(returns, factor, betas)
    t_inputs = time.perf_counter() - t0
    days = sorted(features["date"].unique().to_list())
    last = days[-1]
    t0 = time.perf_counter()
    model = fit_metalabel_model(features, labels, last, settings)
    t_fit = time.perf_counter() - t0
    today = features.filter(pl.col("date") == last)
    t0 = time.perf_counter()
    model.predict(today)
    t_score = time.perf_counter() - t0
    span = [d for d in days if d > last - dt.timedelta(days=round(months * 30.44))]
    t0 = time.perf_counter()
    walk = walk_forward(features, labels, span, settings)
    t_walk = time.perf_counter() - t0
    done = walk.filter(pl.col("realised").is_not_null())
    print(f"\n== {name}: {returns['strategy_id'].n_unique()} strategies, {len(days)} days")
    print(f"features + labels of the span: {t_inputs:.2f} s")
    print(
        f"one refit on {last}: {t_fit:.2f} s (model {model.model.value}, n_train {model.n_train}, "
        f"effective_months {model.effective_months}, cv log loss {model.cv_log_loss})"
    )
    print(f"one day's scoring ({today.height} rows): {1000 * t_score:.1f} ms")
    refits = walk["fitted_on"].n_unique()
    print(
        f"walk-forward {len(span)} days, {refits} refits: {t_walk:.2f} s = {t_walk / len(span):.3f} s/day amortised; "
        f"models {sorted(walk['model'].unique().to_list())}"
    )
    if done.height:
        s = metalabel_scores(done["date"], done["realised"], done["p_profitable"], n_boot=500)
        print(
            f"out of sample ({s.n} matured rows, {s.effective_months} months): base rate {s.base_rate:.3f}; "
            f"Brier {s.brier:.4f} (base rate {s.brier_base_rate:.4f}); log loss {s.log_loss:.4f} "
            f"(base rate {s.log_loss_base_rate:.4f}); AUC {s.auc:.3f} [90% month-block {s.auc_low:.3f}, "
            f"{s.auc_high:.3f}]; within-date AUC {s.within_date_auc:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
    run("bundled firm", *_bundled(), args.months)
    run("synthetic", *_synthetic(args.strategies), args.months)


if __name__ == "__main__":
    main()
