"""A day's fit: its settings, its result tables, and the helpers both fitters share
(the derived quantities of a draw, the summary of draws, the frames).


"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.conventions import PERIODS_PER_YEAR, FitMethod
from twin_model.strategy._window import ReturnWindow

DRAW_COLUMNS = ("daily_mean", "alpha", "beta", "sigma", "nu", "vol", "sharpe")
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "strategy_id": pl.String(),
    "n_obs": pl.Int64(),
    "daily_mean_mean": pl.Float64(),
    "daily_mean_sd": pl.Float64(),
    "alpha_mean": pl.Float64(),
    "alpha_sd": pl.Float64(),
    "beta_mean": pl.Float64(),
    "beta_sd": pl.Float64(),
    "vol_mean": pl.Float64(),
    "vol_sd": pl.Float64(),
    "nu_mean": pl.Float64(),
    "nu_sd": pl.Float64(),
    "sharpe_mean": pl.Float64(),
    "sharpe_sd": pl.Float64(),
    "sharpe_q05": pl.Float64(),
    "sharpe_q95": pl.Float64(),
    "alpha_q05": pl.Float64(),
    "alpha_q95": pl.Float64(),
    "p_alpha_positive": pl.Float64(),
    "p_sharpe_above_hurdle": pl.Float64(),
    "rhat_max": pl.Float64(),
    "ess_bulk_min": pl.Float64(),
    "divergences": pl.Int64(),
    "converged": pl.Boolean(),
    "method": pl.String(),
    "fallback_reason": pl.String(),
    "sampler": pl.String(),
    "draws": pl.Int64(),
    "chains": pl.Int64(),
    "seed": pl.Int64(),
    "window_start": pl.Date(),
    "window_end": pl.Date(),
    "window_days": pl.Int64(),
    "fit_seconds": pl.Float64(),
}
DRAWS_SCHEMA: dict[str, pl.DataType] = {
    "draw": pl.Int64(),
    "strategy_id": pl.String(),
    **{name: pl.Float64() for name in DRAW_COLUMNS},
}
HYPER_SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "mean": pl.Float64(),
    "sd": pl.Float64(),
    "rhat": pl.Float64(),
    "ess_bulk": pl.Float64(),
}
HYPER_PARAMETERS = ("mu_ir", "tau_ir", "mu_beta", "tau_beta")


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class FitSettings:
    """How a day's fit runs (``strategies.yaml``'s ``model`` section is this type, with its
    defaults). ``hurdle_sharpe`` is annual; ``method`` a ``FitMethod`` (or its value)."""

    window_days: int = Field(default=504, ge=1)
    draws: int = Field(default=300, ge=1)
    tune: int = Field(default=300, ge=0)
    chains: int = Field(default=2, ge=1)
    seed: int = Field(default=20260101, ge=0)
    hurdle_sharpe: float = 0.0
    max_rhat: float = 1.05
    min_ess_bulk: float = Field(default=100.0, gt=0)
    max_divergence_share: float = Field(default=0.01, ge=0)
    method: FitMethod = FitMethod.NUTS


@dataclass
class FitResult:
    """``summary``: one row per strategy (``SUMMARY_SCHEMA``). ``draws``: long posterior draws
    (``DRAWS_SCHEMA``; ``draw`` = chain * draws + index, sharpe annual, the rest daily).
    ``hyper``: the NUTS hyper-parameters' mean, sd, R-hat and bulk ESS (empty for a
    conjugate-only fit)."""

    summary: pl.DataFrame
    draws: pl.DataFrame
    hyper: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HYPER_SCHEMA))


def _derive(alpha, beta, sigma, bbar: float, var_b: float) -> dict[str, np.ndarray]:
    daily_mean = alpha + beta * bbar
    vol = np.sqrt(beta**2 * var_b + sigma**2)
    sharpe = math.sqrt(PERIODS_PER_YEAR) * daily_mean / vol
    return {"daily_mean": daily_mean, "vol": vol, "sharpe": sharpe}


def _summarise_draws(flat: dict[str, np.ndarray], hurdle: float) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in ("daily_mean", "alpha", "beta", "vol", "nu", "sharpe"):
        values = flat[name]
        out[f"{name}_mean"] = values.mean(axis=0)
        with np.errstate(invalid="ignore"):
            sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
            out[f"{name}_sd"] = sd
    # nu is +inf for conjugate draws: mean inf, sd undefined -> report inf and NaN -> null later
    out["sharpe_q05"], out["sharpe_q95"] = np.quantile(flat["sharpe"], [0.05, 0.95], axis=0)
    out["alpha_q05"], out["alpha_q95"] = np.quantile(flat["alpha"], [0.05, 0.95], axis=0)
    out["p_alpha_positive"] = (flat["alpha"] > 0).mean(axis=0)
    out["p_sharpe_above_hurdle"] = (flat["sharpe"] > hurdle).mean(axis=0)
    return {key: np.array(value, dtype=np.float64) for key, value in out.items()}


def _summary_frame(window: ReturnWindow, cols, settings: FitSettings, seed: int, **per_row) -> pl.DataFrame:
    n = len(window.strategy_ids)
    fit_seconds = per_row.pop("fit_seconds")
    data: dict[str, Any] = {"strategy_id": list(window.strategy_ids), "n_obs": window.n_obs.tolist()}
    for key in SUMMARY_SCHEMA:
        if key in cols:
            data[key] = [None if math.isnan(v) else float(v) for v in cols[key]]
    data.update(per_row)
    data.update(
        draws=[settings.chains * settings.draws] * n,
        chains=[settings.chains] * n,
        seed=[seed] * n,
        window_start=[window.dates[0]] * n,
        window_end=[window.dates[-1]] * n,
        window_days=[len(window.dates)] * n,
        fit_seconds=[fit_seconds] * n,
    )
    return pl.DataFrame({key: data[key] for key in SUMMARY_SCHEMA}, schema=SUMMARY_SCHEMA)


def _draws_frame(window: ReturnWindow, flat: dict[str, np.ndarray], total: int) -> pl.DataFrame:
    n = len(window.strategy_ids)
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(total, dtype=np.int64), n),
            "strategy_id": list(window.strategy_ids) * total,
            **{name: flat[name].reshape(-1) for name in DRAW_COLUMNS},
        },
        schema=DRAWS_SCHEMA,
    ).sort("strategy_id", "draw", maintain_order=True)
