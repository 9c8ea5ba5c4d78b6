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
from pydantic import ConfigDict, Field, field_validator
from pydantic import dataclasses as validated

from twin_model.contracts import TABLES, beta_column
from twin_model.conventions import PERIODS_PER_YEAR, FitMethod, MassMatrix, ModelUpdate, ReweightBy
from twin_model.strategy._window import ReturnWindow

ROLLING_COLUMNS = ("pareto_k", "ess_weighted", "anchor_date", "days_since_anchor", "refit_reason")
"""The posterior table's columns that say how a day's row followed its anchor (``_rolling``)."""
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in TABLES["models.strategy_posteriors"].columns().items()
    if name not in ("date", "draws_path", "draws_sha256", *ROLLING_COLUMNS)
}
"""A fit's summary: the posterior table's row less the day, the draws artefact's reference
and the rolling update's columns."""
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
    defaults). ``hurdle_sharpe`` is annual; ``method`` a ``FitMethod`` (or its value):
    nuts or conjugate (``reweighted`` is what a rolling day is, not a way to fit).

    ``update`` (a ``ModelUpdate``): ``rolling`` reweights the last NUTS fit's draws day
    by day (``_rolling``) until a refit rule fires -- at the latest ``refit_every``
    observed days after the anchor, or when a strategy's importance-sampling effective
    sample size falls below ``min_ess``; ``refit`` fits every day with NUTS.
    ``reweight`` (a ``ReweightBy``): weigh by each residual block's joint density or by
    each strategy's marginal density (``_reweighting``).

    ``max_treedepth``: NUTS doubles a draw's trajectory at most this many times, so a draw
    costs at most ``2^max_treedepth`` gradients. A converging fit of the bundled firm takes
    41-58 leapfrog steps a draw (depth 6); on a window whose geometry defeats the sampler
    (5 July 2022: nine minutes at nutpie's default depth 10) the cap bounds the fit's cost
    at a quarter of that, and such a fit fails R-hat or ESS and falls back, flagged.

    ``mass_matrix`` (a ``MassMatrix``) and ``target_accept``: the sampler's metric and its
    step-size adaptation target (nutpie's defaults: diagonal, 0.8). On six bundled windows
    2017-2022 the low-rank correction cut a draw from 52-70 leapfrog steps to 36-40 and a
    fit from 5.5 to 3.8 s on average; at 0.8 it diverged (3-22 in 1,000 draws, one window
    falling back whole), at 0.9 0-1 (benchmarks/RESULTS.md).

    ``retry_after_failure``: when NUTS failed for every strategy (all fell back to the
    conjugate model, as on every window of H2 2021 and on 5 July 2022: R-hat 2-3 with the
    bundled factor sleeves), the next days take the exact conjugate fit of their own window
    and NUTS is tried again only this many observed days after the failed fit; 1 retries
    every day. A refit the next day on a window one day apart failed the same way on each
    day measured, at 38 s a try. A partial fallback still refits the next day.

    ``replication_tolerance``: a strategy whose active returns its factors reproduce to a
    median absolute residual of at most this share of their sd (``_replication``: the
    bundled factor sleeves, 0.1-0.5%) takes the exact conjugate fit and stays out of the
    NUTS model, whose Student-t likelihood it would make unbounded; 0 turns the test off.

    ``min_ess`` = 100: the Monte Carlo sd of a weighted posterior mean is ``sd /
    sqrt(ESS)``; against a refit with its own ESS of about 600, the two means differ by
    ``sd * sqrt(1/100 + 1/600)`` = 0.11 sd (1.96 times that is 0.21 sd), inside the 0.25
    sd the rolling update must stay within, and it equals ``min_ess_bulk`` (a NUTS fit
    with less is not converged). Simulated per-strategy ESS stayed above 66 over 21 days,
    so the floor fires sometimes before the cadence, not every day.
    """

    window_days: int = Field(default=504, ge=1)
    draws: int = Field(default=500, ge=1)
    tune: int = Field(default=300, ge=0)
    chains: int = Field(default=2, ge=1)
    max_treedepth: int = Field(default=8, ge=1, le=12)
    mass_matrix: MassMatrix = MassMatrix.DIAGONAL
    target_accept: float = Field(default=0.8, gt=0, lt=1)
    seed: int = Field(default=20260101, ge=0)
    hurdle_sharpe: float = 0.0
    max_rhat: float = 1.05
    min_ess_bulk: float = Field(default=100.0, gt=0)
    max_divergence_share: float = Field(default=0.01, ge=0)
    method: FitMethod = FitMethod.NUTS
    update: ModelUpdate = ModelUpdate.ROLLING
    refit_every: int = Field(default=21, ge=1)
    retry_after_failure: int = Field(default=5, ge=1)
    replication_tolerance: float = Field(default=0.01, ge=0)
    min_ess: float = Field(default=100.0, gt=0)
    reweight: ReweightBy = ReweightBy.BLOCK

    @field_validator("method")
    @classmethod
    def _a_way_to_fit(cls, method: FitMethod) -> FitMethod:
        if method == FitMethod.REWEIGHTED:
            raise ValueError("method must be nuts or conjugate (reweighted is set by update: rolling)")
        return method


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


def combine_fits(window: ReturnWindow, parts: list[FitResult], seconds: float) -> FitResult:
    """One fit of ``window`` from fits of disjoint parts of its strategies: rows in the
    window's order, each with the whole fit's ``seconds``; the draws of every part; the
    hyper-parameters of the part that has them."""
    order = {s: i for i, s in enumerate(window.strategy_ids)}
    summary = (
        pl.concat([part.summary for part in parts])
        .sort(pl.col("strategy_id").replace_strict(order, return_dtype=pl.Int64))
        .with_columns(fit_seconds=pl.lit(seconds))
    )
    if summary.get_column("strategy_id").to_list() != list(window.strategy_ids):
        raise ValueError("the parts do not cover the window's strategies once each")
    draws = pl.concat([part.draws for part in parts]).sort("strategy_id", "draw", maintain_order=True)
    hyper = pl.concat([part.hyper for part in parts])
    return FitResult(summary=summary, draws=draws, hyper=hyper)


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


_SUMMARISED = ("daily_mean", "alpha", "beta", "vol", "nu", "sharpe", "loading")
"""The draws' quantities with a mean and sd in the summary (``loading`` as ``residual_loading``)."""


def _summarise_draws(
    flat: dict[str, np.ndarray], hurdle: float, factor_ids=(), *, weights: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The summary columns of draws ``[S, N]`` per quantity, equally weighted or with
    ``weights`` ``[S, N]`` (each column summing to 1, a rolling day's importance weights),
    and ``factor_betas``, the JSON object of each regressor's (weighted) mean beta.

    Weighted: ``mean = sum w x``; ``sd^2 = sum w (x - mean)^2 / (1 - sum w^2)`` (the
    reliability-weights correction, which is ``ddof = 1`` for equal weights); quantiles
    the inverted weighted CDF (``numpy.quantile(method="inverted_cdf", weights=w)``);
    probabilities ``sum w 1[event]``. Unweighted: numpy's mean, ``std(ddof=1)`` and
    default (linear) quantiles."""
    out = _summarise_equal(flat, hurdle) if weights is None else _summarise_weighted(flat, hurdle, weights)
    out["factor_betas"] = _factor_betas(flat, factor_ids, weights)
    return out


def _summarise_weighted(flat: dict[str, np.ndarray], hurdle: float, weights: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    w = np.asarray(weights, dtype=float)
    correction = 1.0 - (w**2).sum(axis=0)
    for name in _SUMMARISED:
        values = flat[name]
        key = _summary_key(name)
        mean = (w * values).sum(axis=0)
        out[f"{key}_mean"] = mean
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{key}_sd"] = np.sqrt((w * (values - mean) ** 2).sum(axis=0) / correction)
    for name in ("sharpe", "alpha"):
        low, high = (_weighted_quantile(flat[name], w, q) for q in (0.05, 0.95))
        out[f"{name}_q05"], out[f"{name}_q95"] = low, high
    out["p_alpha_positive"] = _weighted_share(w, flat["alpha"] > 0)
    out["p_sharpe_above_hurdle"] = _weighted_share(w, flat["sharpe"] > hurdle)
    return {key: np.array(value, dtype=np.float64) for key, value in out.items()}


def _weighted_share(w: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``sum w 1[event]`` per column, kept in [0, 1]: weights normalised in floating point
    can sum to 1 + a few ulp, and every draw in the event then gives 1.0000000000000004
    (the bundled firm's main job met it on a reweighted day)."""
    return np.clip((w * event).sum(axis=0), 0.0, 1.0)


def _summarise_equal(flat: dict[str, np.ndarray], hurdle: float) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in _SUMMARISED:
        values = flat[name]
        key = _summary_key(name)
        out[f"{key}_mean"] = values.mean(axis=0)
        with np.errstate(invalid="ignore"):
            sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
            out[f"{key}_sd"] = sd
    # nu is +inf for conjugate draws: mean inf, sd undefined -> report inf and NaN -> null later
    out["sharpe_q05"], out["sharpe_q95"] = np.quantile(flat["sharpe"], [0.05, 0.95], axis=0)
    out["alpha_q05"], out["alpha_q95"] = np.quantile(flat["alpha"], [0.05, 0.95], axis=0)
    out["p_alpha_positive"] = (flat["alpha"] > 0).mean(axis=0)
    out["p_sharpe_above_hurdle"] = (flat["sharpe"] > hurdle).mean(axis=0)
    return {key: np.array(value, dtype=np.float64) for key, value in out.items()}


def _summary_key(name: str) -> str:
    return "residual_loading" if name == "loading" else name


def _factor_betas(flat: dict[str, np.ndarray], factor_ids, weights: np.ndarray | None) -> np.ndarray:
    """Per strategy, the JSON object ``{regressor: posterior (weighted) mean beta}``."""
    n = flat["alpha"].shape[1]
    w = np.full(flat["alpha"].shape, 1.0 / flat["alpha"].shape[0]) if weights is None else np.asarray(weights)
    means = {f: (w * flat[beta_column(f)]).sum(axis=0) for f in factor_ids}
    return np.array([json.dumps({f: float(means[f][i]) for f in factor_ids}) for i in range(n)], dtype=object)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per column of ``values [S, N]``: the ``q`` quantile of the inverted weighted CDF."""
    return np.array(
        [np.quantile(values[:, i], q, method="inverted_cdf", weights=weights[:, i]) for i in range(values.shape[1])]
    )


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
