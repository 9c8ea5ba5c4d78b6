"""A day's fit: its settings, its result tables, and the helpers both fitters share
(the derived quantities of a draw, the summary of draws, the summary frame).

The summary's columns are the posterior table's (``twin_model.contracts``); the draws
frame is the contract's encoding (``encode_draws``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.contracts import TABLES, beta_column
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
"""The NUTS hyper-parameters; ``mu_beta`` and ``tau_beta`` have one row per regressor,
named ``mu_beta[<regressor>]``."""


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


def _derive(alpha, betas, sigma, xbar: np.ndarray, cov: np.ndarray) -> dict[str, np.ndarray]:
    """Daily mean ``alpha + beta' xbar``, total vol ``sqrt(beta' S_x beta + sigma^2)`` and annual
    Sharpe per draw (``betas`` ``[..., K]`` over ``alpha``'s shape)."""
    betas = np.asarray(betas, dtype=float)
    daily_mean = alpha + betas @ xbar
    vol = np.sqrt(np.einsum("...k,kl,...l->...", betas, cov, betas) + sigma**2)
    sharpe = math.sqrt(PERIODS_PER_YEAR) * daily_mean / vol
    return {"daily_mean": daily_mean, "vol": vol, "sharpe": sharpe}


def _draw_columns(window: ReturnWindow, alpha, betas, sigma, nu, loading) -> dict[str, np.ndarray]:
    """Every draws column for ``[..., N]`` parameter arrays and ``betas`` ``[..., N, K]``:
    the parameters, ``beta`` (the benchmark's, 0 without one), ``beta_<regressor>`` and the
    derived daily mean, vol and Sharpe."""
    xbar, cov = window.factor_moments()
    columns = {"alpha": alpha, "sigma": sigma, "nu": nu, "loading": loading}
    for k, factor_id in enumerate(window.factor_ids):
        columns[beta_column(factor_id)] = betas[..., k]
    bench = window.benchmark_id
    columns["beta"] = columns[beta_column(bench)] if bench is not None else np.zeros_like(alpha)
    return columns | _derive(alpha, betas, sigma, xbar, cov)


def _summarise_draws(flat: dict[str, np.ndarray], hurdle: float, factor_ids=()) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in ("daily_mean", "alpha", "beta", "vol", "nu", "sharpe", "loading"):
        values = flat[name]
        key = "residual_loading" if name == "loading" else name
        out[f"{key}_mean"] = values.mean(axis=0)
        with np.errstate(invalid="ignore"):
            sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
            out[f"{key}_sd"] = sd
    # nu is +inf for conjugate draws: mean inf, sd undefined -> report inf and NaN -> null later
    out["sharpe_q05"], out["sharpe_q95"] = np.quantile(flat["sharpe"], [0.05, 0.95], axis=0)
    out["alpha_q05"], out["alpha_q95"] = np.quantile(flat["alpha"], [0.05, 0.95], axis=0)
    out["p_alpha_positive"] = (flat["alpha"] > 0).mean(axis=0)
    out["p_sharpe_above_hurdle"] = (flat["sharpe"] > hurdle).mean(axis=0)
    out = {key: np.array(value, dtype=np.float64) for key, value in out.items()}
    out["factor_betas"] = _factor_betas(flat, factor_ids)
    return out


def _factor_betas(flat: dict[str, np.ndarray], factor_ids) -> np.ndarray:
    """Per strategy, the JSON object ``{regressor: posterior mean beta}``."""
    means = {f: flat[beta_column(f)].mean(axis=0) for f in factor_ids}
    n = flat["alpha"].shape[1]
    return np.array([json.dumps({f: float(means[f][i]) for f in factor_ids}) for i in range(n)], dtype=object)


def _summary_frame(window: ReturnWindow, cols, settings: FitSettings, seed: int, **per_row) -> pl.DataFrame:
    n = len(window.strategy_ids)
    fit_seconds = per_row.pop("fit_seconds")
    data: dict[str, Any] = {"strategy_id": list(window.strategy_ids), "n_obs": window.n_obs.tolist()}
    for key in SUMMARY_SCHEMA:
        if key == "factor_betas":
            data[key] = list(cols[key])
        elif key in cols:
            data[key] = [None if math.isnan(v) else float(v) for v in cols[key]]
    sizes = window.block_sizes
    data.update(
        alpha_reference=[window.alpha_reference] * n,
        residual_block=[window.block_names[b] if size >= 2 else None for b, size in zip(window.blocks, sizes)],
        block_size=sizes.tolist(),
    )
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
