"""A day's fit: its settings, its result tables, and the helpers both fitters share
(the derived quantities of a draw, the summary of draws, the summary frame).

The summary's columns are the posterior table's (``twin_model.contracts``); the draws
frame is the contract's encoding (``encode_draws``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.contracts import TABLES
from twin_model.conventions import PERIODS_PER_YEAR, FitMethod
from twin_model.strategy._window import ReturnWindow

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in TABLES["models.strategy_posteriors"].columns().items()
    if name not in ("date", "draws_path", "draws_sha256")
}
"""A fit's summary: the posterior table's row less the day and the draws artefact's reference."""
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
    (``twin_model.contracts.DRAWS_SCHEMA``; ``draw`` = chain * draws + index, sharpe annual,
    the rest daily).
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
