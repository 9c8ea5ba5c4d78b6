"""The betas sampled centred against preconditioned (``BetaForm``), on one window, many seeds.

Both forms have one posterior (a test holds their log densities equal); this measures how
NUTS fares on each: for every seed, the sampling seconds, the mean leapfrog steps per
draw, the divergences, the largest rank R-hat of alpha, beta and sigma (above 1.05 a
chain is elsewhere: the fit falls back to the conjugate model), and the smallest bulk
ESS of the betas of the strategies in shared residual blocks. Asserts nothing.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/beta_mixing.py [--scenario bundled]
        [--strategies 100] [--seeds 8] [--draws 500] [--tune 300] [--day -1]

``--day`` picks the window's last day among the bundled (or synthetic) observed days of
the last 30 (-1: the last).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from strategy_fit import WINDOW, _universe  # noqa: E402 -- the same universes as the fit benchmark


def _fits(form, window, args) -> list[dict]:
    import arviz as az
    import numpy as np
    import nutpie

    from twin_model.strategy import build_model, padded_arrays, padded_shape, stored_variables

    t, n = window.returns.shape
    shape = padded_shape(n, t, WINDOW)
    k = len(window.factor_ids)
    started = time.perf_counter()
    compiled = nutpie.compile_pymc_model(build_model(*shape, k, beta_form=form), var_names=stored_variables(k))
    print(f"{form}: compiled in {time.perf_counter() - started:.1f} s", flush=True)
    data = padded_arrays(window, *shape, beta_form=form)
    shared = np.nonzero(window.block_sizes >= 2)[0]
    rows = []
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        trace = nutpie.sample(
            compiled.with_data(**data),
            draws=args.draws,
            tune=args.tune,
            chains=2,
            seed=seed,
            save_warmup=False,
            progress_bar=False,
        )
        seconds = time.perf_counter() - started
        post = trace.posterior
        rhat = az.rhat(post[["alpha", "beta", "sigma"]], method="rank")
        ess = az.ess(post[["beta"]], method="bulk")
        rows.append(
            {
                "seed": seed,
                "seconds": seconds,
                "steps": float(trace.sample_stats["n_steps"].mean()),
                "divergences": int(trace.sample_stats["diverging"].sum()),
                "rhat_max": max(float(np.nanmax(rhat[name].values[:n])) for name in ("alpha", "beta", "sigma")),
                "shared_beta_ess_min": float(ess["beta"].values[shared].min()) if len(shared) else float("nan"),
            }
        )
        print(f"  seed {seed}: " + ", ".join(f"{key} {value:.3g}" for key, value in rows[-1].items()), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("bundled", "synthetic"), default="bundled")
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--day", type=int, default=-1)
    args = parser.parse_args()

    from twin_model.strategy import BetaForm, return_window
    from twin_model.strategy._fitting import _quiet_known_warnings

    _quiet_known_warnings()
    returns, factors, sectors, ends = _universe(args.scenario, args.strategies, 30)
    window = return_window(returns, factors, ends[args.day], WINDOW, sectors=sectors)
    print(f"window ending {ends[args.day]}: {len(window.strategy_ids)} strategies, {len(window.dates)} days")
    for form in (BetaForm.CENTRED, BetaForm.PRECONDITIONED):
        rows = _fits(form, window, args)
        stuck = sum(r["rhat_max"] > 1.05 for r in rows)
        print(
            f"--- {form}: fits with R-hat > 1.05: {stuck} of {len(rows)}; median seconds "
            f"{statistics.median(r['seconds'] for r in rows):.1f}; median steps "
            f"{statistics.median(r['steps'] for r in rows):.0f}; shared-block beta ESS min over the "
            f"fits that mixed {min((r['shared_beta_ess_min'] for r in rows if r['rhat_max'] <= 1.05), default=0):.0f}"
        )


if __name__ == "__main__":
    main()
