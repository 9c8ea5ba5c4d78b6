"""Rolling posteriors against a NUTS refit every day, on the same days.

Both modes step the same consecutive observed days (the last ``--days`` of the bundled
data, or of ``--strategies`` synthetic strategies) with a two-year window (504 observed
days) and the configured draws: ``refit`` fits every day with NUTS (seed ``seed +
ordinal``), ``rolling`` (``twin_model.strategy.RollingFitter``) reweights the last fit's
draws until a refit rule fires (its refits use the same seeds, so a refit day is the
refit mode's fit). One compiled model serves both.

Figures: for every strategy-day, whether the rolling posterior means of alpha and of
the annual Sharpe lie within 0.25 posterior sd (the refit's sd) of the refit's means --
over all days and over the reweighted days alone (a refit day agrees trivially); the
share of days refitted and why; k-hat and ESS of the reweighted days; seconds per day
in each mode (compile excluded, reported apart); peak RSS. Asserts nothing.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/rolling.py [--days 60]
        [--scenario bundled|synthetic] [--strategies 100] [--draws 500] [--tune 150]
        [--last-day 2022-12-28] [--mass-matrix low_rank|diagonal] [--target-accept 0.9] [--refit-every 21|21,63] [--min-ess 100] [--reweight block|strategy|block,strategy] [--rolling-only]

The whole bundled calendar (2,012 observed days, 2015-01-02 to 2022-12-28) with rolling
updates only: ``--days 2012 --rolling-only``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import itertools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from strategy_fit import WINDOW, _universe  # noqa: E402 -- the same universes as the fit benchmark

TOLERANCE_SD = 0.25


def _step_refit(fitter, windows, seed):
    """Each day's rows and seconds (compiling excluded)."""
    rows, seconds = [], []
    for day, window in windows:
        started, compiling = time.perf_counter(), fitter.compile_seconds
        rows.append(fitter.fit(window, seed=seed + day.toordinal()).summary)
        seconds.append(time.perf_counter() - started - (fitter.compile_seconds - compiling))
    return rows, seconds


def _step_rolling(fitter, windows, seed):
    from twin_model.strategy import RollingFitter

    rolling, anchor = RollingFitter(fitter), None
    rows, seconds = [], []
    for day, window in windows:
        started, compiling = time.perf_counter(), fitter.compile_seconds
        posterior = rolling.step(anchor, window, day, seed + day.toordinal())
        anchor = posterior.anchor
        rows.append(posterior.summary)
        seconds.append(time.perf_counter() - started - (fitter.compile_seconds - compiling))
        _progress(len(rows), len(windows), day, posterior.summary["method"][0], seconds)
    return rows, seconds


def _progress(done: int, total: int, day, method: str, seconds: list[float]) -> None:
    """One line a day on stderr (a long run shows where its time goes, and a run stopped
    part way leaves its figures so far)."""
    print(f"{done}/{total} {day} {method} {seconds[-1]:.1f} s (so far {sum(seconds) / 60:.1f} min)", file=sys.stderr)


def _agreement(refit_rows, rolling_rows) -> dict:
    """Share of strategy-days within TOLERANCE_SD posterior sd, for alpha, Sharpe and both."""
    import polars as pl

    joined = pl.concat(
        [
            r.select("strategy_id", "alpha_mean", "alpha_sd", "sharpe_mean", "sharpe_sd").join(
                w.select("strategy_id", "alpha_mean", "sharpe_mean", "method"), on="strategy_id", suffix="_rolling"
            )
            for r, w in zip(refit_rows, rolling_rows)
        ]
    )
    z_alpha = ((pl.col("alpha_mean_rolling") - pl.col("alpha_mean")) / pl.col("alpha_sd")).abs()
    z_sharpe = ((pl.col("sharpe_mean_rolling") - pl.col("sharpe_mean")) / pl.col("sharpe_sd")).abs()
    scored = joined.with_columns(z_alpha=z_alpha, z_sharpe=z_sharpe)

    def shares(frame):
        if frame.height == 0:
            return {"strategy_days": 0}
        return {
            "strategy_days": frame.height,
            "alpha_within": round(float((frame["z_alpha"] <= TOLERANCE_SD).mean()), 4),
            "sharpe_within": round(float((frame["z_sharpe"] <= TOLERANCE_SD).mean()), 4),
            "both_within": round(
                float(((frame["z_alpha"] <= TOLERANCE_SD) & (frame["z_sharpe"] <= TOLERANCE_SD)).mean()), 4
            ),
            "z_alpha_p95": round(float(frame["z_alpha"].quantile(0.95)), 3),
            "z_sharpe_p95": round(float(frame["z_sharpe"].quantile(0.95)), 3),
        }

    return {
        "all_days": shares(scored),
        "reweighted_days": shares(scored.filter(pl.col("method") == "reweighted")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument(
        "--last-day", type=dt.date.fromisoformat, default=None, help="the span's last day (default: the data's last)"
    )
    parser.add_argument("--scenario", choices=("bundled", "synthetic"), default="bundled")
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=150)  # config/strategies.yaml's
    parser.add_argument("--mass-matrix", choices=("diagonal", "low_rank"), default="low_rank")  # the config's
    parser.add_argument("--target-accept", type=float, default=0.9)  # config/strategies.yaml's
    parser.add_argument("--refit-every", default="21", help="observed days, or several as 21,63: one rolling pass each")
    parser.add_argument("--min-ess", type=float, default=100.0)
    parser.add_argument(
        "--reweight",
        default="block",  # config/strategies.yaml's
        help="block, strategy, or both as block,strategy: one rolling pass each (for each --refit-every), "
        "against the same refits",
    )
    parser.add_argument(
        "--rolling-only",
        action="store_true",
        help="skip the daily refits (for a long span: the whole bundled calendar); a daily refit's cost is "
        "then estimated from the rolling run's own NUTS days",
    )
    args = parser.parse_args()

    from twin_model.conventions import ModelUpdate
    from twin_model.strategy import FitSettings, StrategyModelFitter, return_window

    returns, factors, sectors, ends = _universe(args.scenario, args.strategies, args.days, args.last_day)
    started = time.perf_counter()
    windows = [(end, return_window(returns, factors, end, WINDOW, sectors=sectors)) for end in ends]
    window_seconds = time.perf_counter() - started
    settings = FitSettings(
        window_days=WINDOW,
        draws=args.draws,
        tune=args.tune,
        min_ess=args.min_ess,
        mass_matrix=args.mass_matrix,
        target_accept=args.target_accept,
    )
    refit = StrategyModelFitter(dataclasses.replace(settings, update=ModelUpdate.REFIT))
    t0 = time.perf_counter()
    refit_rows, refit_seconds = ([], []) if args.rolling_only else _step_refit(refit, windows, settings.seed)
    refit_wall = time.perf_counter() - t0
    for by, every in itertools.product(args.reweight.split(","), args.refit_every.split(",")):
        fitter = refit.with_settings(update=ModelUpdate.ROLLING, reweight=by, refit_every=int(every))  # one compile
        figures = _rolling_figures(args, fitter, windows, ends, window_seconds, refit_rows, refit_seconds, refit_wall)
        print(f"--- reweight by {by}, refit every {every} days")
        for key, value in figures.items():
            print(f"{key}: {value}")


def _rolling_figures(args, fitter, windows, ends, window_seconds, refit_rows, refit_seconds, refit_wall) -> dict:
    """The rolling pass with ``fitter`` and its figures against the daily refits."""
    settings = fitter.settings
    t0 = time.perf_counter()
    rolling_rows, rolling_seconds = _step_rolling(fitter, windows, settings.seed)
    rolling_wall = time.perf_counter() - t0
    compile_seconds = fitter.compile_seconds  # paid once, by the first pass that fits

    refitted = [row["anchor_date"][0] == row["window_end"][0] for row in rolling_rows]  # NUTS ran that day
    reasons = collections.Counter(
        reason.split(":")[0] for row in rolling_rows for reason in (row["refit_reason"][0] or "").split("; ") if reason
    )
    reweighted = [row for row in rolling_rows if (row["method"] == "reweighted").any()]
    per_reweighted_day = [s for s, r in zip(rolling_seconds, refitted) if not r]
    per_nuts_day = [s for s, r in zip(rolling_seconds, refitted) if r]
    if args.rolling_only:  # a daily refit costs about what the rolling run's NUTS days cost
        refit_seconds = [sum(per_nuts_day) / len(per_nuts_day)] * len(windows)
    return {
        "scenario": args.scenario,
        "strategies": windows[0][1].returns.shape[1],
        "days": len(windows),
        "first_day": str(ends[0]),
        "last_day": str(ends[-1]),
        "draws": f"{settings.chains} x {settings.draws} (tune {settings.tune})",
        "mass_matrix": f"{settings.mass_matrix} (target_accept {settings.target_accept})",
        "refit_every": settings.refit_every,
        "min_ess": settings.min_ess,
        "reweight": str(settings.reweight),
        "agreement_within_0.25_sd": None if args.rolling_only else _agreement(refit_rows, rolling_rows),
        "share_of_days_refitted": round(sum(refitted) / len(refitted), 3),
        "refit_reasons": dict(reasons),
        "pareto_k_max_reweighted": max((float(r["pareto_k"].max() or 0) for r in reweighted), default=None),
        "ess_weighted_min_reweighted": min((float(r["ess_weighted"].min()) for r in reweighted), default=None),
        "compile_seconds": round(compile_seconds, 1),
        "refit_seconds_per_day" + (" (estimated from the NUTS days)" if args.rolling_only else ""): round(
            sum(refit_seconds) / len(refit_seconds), 3
        ),
        "daily_refits_whole_span_minutes (estimated)" if args.rolling_only else "refit_whole_span_minutes": round(
            sum(refit_seconds) / 60, 1
        ),
        "windows_built_seconds": round(window_seconds, 1),
        "rolling_seconds_per_day": round(sum(rolling_seconds) / len(rolling_seconds), 3),
        "rolling_seconds_per_reweighted_day": round(sum(per_reweighted_day) / max(len(per_reweighted_day), 1), 3),
        "refit_wall_seconds_with_compile": round(refit_wall, 1),
        "rolling_wall_seconds": round(rolling_wall, 1),
        "rolling_whole_span_minutes_incl_compile_and_windows": round(
            (rolling_wall + window_seconds + compile_seconds) / 60, 1
        ),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    main()
