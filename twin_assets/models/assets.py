"""The models layer's posteriors: what the firm believes about each strategy.

``strategy_posteriors`` holds the hierarchical Bayesian model's posterior for every day
with returns over a trailing window: fitted with NUTS (compiled once per run, re-used
across the days of a range) on an anchor day, and between anchors the anchor's draws
reweighted by the days that moved (``twin_model.strategy._rolling``; ``model.update``).
It depends on its own previous day with data: a range carries the anchor in memory, a
single day rebuilds it from the previous day's rows and draws, and a missing previous
day fails ("materialise DAY first"). The forecasts and their calibration are in
forecasts.py, the metalabels in metalabels.py.
"""

import datetime as dt

import dagster as dg
import numpy as np
import polars as pl

from twin_assets.shared import history
from twin_assets.shared.common import (
    RAW_PRICES,
    RAW_RETURNS,
    artifact_problems,
    check_written,
    daily_asset_args,
    daily_output,
    days_of,
)
from twin_assets.shared.metadata import data_day_metadata
from twin_model.contracts import (
    TABLES,
    implausible_posteriors,
    unusable_fits,
)
from twin_model.conventions import FitMethod
from twin_model.strategy import (
    REPLICATED,
    Anchor,
    RollingFitter,
    StrategyModelFitter,
    return_window,
    stored_anchor,
)
from twin_resources.resources import TwinConfigResource, WarehouseResource

POSTERIORS = TABLES["models.strategy_posteriors"]
FORECASTS = TABLES["models.strategy_forecasts"]
CALIBRATION = TABLES["models.forecast_calibration"]

FITS_USABLE = "fits_usable"
POSTERIOR_RANGES = "posterior_ranges"
DRAWS_STORED = "draws_stored"
ONLY_USABLE_FITS = "only_usable_fits"
SCENARIOS_STORED = "scenarios_stored"


def window_history_start(first_day: dt.date, window_days: int) -> dt.date:
    """Far enough back to hold ``window_days`` observed returns (weekends and holidays)."""
    return first_day - dt.timedelta(days=int(window_days * 1.6) + 30)


def _traded_days(returns: pl.DataFrame, days: list[dt.date]) -> list[dt.date]:
    traded = set(returns.filter(pl.col("available")).get_column("date").to_list())
    return [day for day in days if day in traded]


@dg.asset(
    **daily_asset_args(
        POSTERIORS,
        "Posterior summary of each strategy's return model: a hierarchical Student-t model of daily "
        "returns over a trailing window (two years of observed returns by default), alpha over the "
        "factors (the benchmark and each other factor's spread over it; cash without factors, "
        "alpha_reference says which) and a beta per factor pooled across strategies, residual risk "
        "shared within a sector block (a rank-one residual covariance integrated out), the "
        "information ratio of alpha partially pooled across strategies, unavailable days masked. "
        "Means and sds of daily mean, alpha, the benchmark's beta, volatility, tail df and "
        "annual Sharpe; P(alpha > 0), P(Sharpe > hurdle); R-hat, ESS, divergences, converged, and "
        "the exact conjugate fallback where NUTS did not converge. Draws in the artefact store.",
        {
            FITS_USABLE: "No fit that did not converge is left without a recorded fallback.",
            POSTERIOR_RANGES: "Posterior summaries lie in plausible ranges (vol > 0, nu > 2, |Sharpe| < 10, ...).",
            DRAWS_STORED: "Every row's posterior draws are in the artefact store, with the hash the row recorded.",
        },
    ),
    deps=[RAW_RETURNS, RAW_PRICES],
)
def strategy_posteriors(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource
):
    days = days_of(context)
    settings = twin_config.strategies().model
    previous, cold_start = history.previous_state(
        warehouse, POSTERIORS, days[0], history.last_traded_before(warehouse, days[0])
    )
    anchor_day = None if cold_start else previous.get_column("anchor_date")[0]
    start = window_history_start(min(days[0], anchor_day or days[0]), settings.window_days)
    returns = history.strategy_returns(warehouse, start, days[-1])
    factors = history.factor_returns(warehouse, start, days[-1])
    factors = factors if factors.height else None
    sectors = _sectors(twin_config, returns)
    fitter = StrategyModelFitter(settings)
    rolling = RollingFitter(fitter)
    artifacts = warehouse.artifacts()
    anchor = _stored_anchor(previous, anchor_day, returns, factors, sectors, settings, artifacts)
    frames = []
    notes: dict[str, list[str]] = {}
    for day in _traded_days(returns, days):
        window = return_window(returns, factors, day, settings.window_days, sectors=sectors)
        for note in window.notes:
            notes.setdefault(note, []).append(str(day))
        posterior = rolling.step(anchor, window, day, seed=settings.seed + day.toordinal())
        anchor = posterior.anchor
        stored = artifacts.write("strategy_posteriors", day, posterior.draws)
        frames.append(
            posterior.summary.with_columns(
                date=pl.lit(day), draws_path=pl.lit(stored.path), draws_sha256=pl.lit(stored.sha256)
            )
        )
        how = _how_obtained(posterior)
        context.log.info(f"{day}: {window.returns.shape[1]} strategies over {len(window.dates)} days, {how}")
    frame = pl.concat(frames).select(list(POSTERIORS.columns())) if frames else POSTERIORS.empty_frame()
    metadata = data_day_metadata(context, frame, days, "strategy_id", _day_fits)
    metadata = {
        **metadata,
        **_fit_metadata(frame, fitter),
        "alpha_reference": "; ".join(sorted(set(frame.get_column("alpha_reference").to_list()))),
        "window_notes": dg.MetadataValue.json({note: f"{d[0]}..{d[-1]} ({len(d)} days)" for note, d in notes.items()}),
    }
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(
        warehouse,
        POSTERIORS,
        days,
        {
            FITS_USABLE: unusable_fits,
            POSTERIOR_RANGES: implausible_posteriors,
            DRAWS_STORED: lambda stored: artifact_problems(warehouse, POSTERIORS.qualified_name, stored),
        },
    )


def _stored_anchor(previous: pl.DataFrame, anchor_day, returns, factors, sectors, settings, artifacts) -> Anchor | None:
    """The anchor the previous day's rows name, rebuilt: its window from the returns, its
    draws from the previous day's draws artefact (the anchor's draws, verified by hash).
    None on a cold start or for rows written before anchors were recorded."""
    if anchor_day is None:
        return None
    window = return_window(returns, factors, anchor_day, settings.window_days, sectors=sectors)
    draws = artifacts.read(POSTERIORS.qualified_name, previous.row(0, named=True))
    return stored_anchor(anchor_day, window, draws, previous, settings)


def _sectors(twin_config: TwinConfigResource, returns: pl.DataFrame) -> dict[str, str]:
    """Each strategy's sector from config, leaving out the default (unclassified) sector: a
    strategy without a sector shares its residual risk with no other."""
    config = twin_config.strategies()
    ids = returns.get_column("strategy_id").unique().to_list()
    return {s: config.metadata(s).sector for s in ids if config.metadata(s).sector != config.defaults.sector}


def _fit_metadata(frame: pl.DataFrame, fitter: StrategyModelFitter) -> dict:
    """The run's timings (compiling once, a day on average) and the share of days refitted."""
    if frame.height == 0:
        return {"compile_seconds": round(fitter.compile_seconds, 2)}
    per_day = frame.group_by("date").agg(
        pl.col("fit_seconds").first(), (pl.col("anchor_date") == pl.col("date")).all().alias("refitted")
    )
    return {
        "compile_seconds": round(fitter.compile_seconds, 2),
        "fit_seconds_per_day": round(float(per_day.get_column("fit_seconds").mean()), 2),
        "share_of_days_refitted": round(float(per_day.get_column("refitted").mean()), 3),
    }


def _how_obtained(posterior) -> str:
    """The day's log words: fitted with NUTS, reweighted from its anchor, or the exact fit
    while a failed NUTS fit waits for its retry; and how many strategies the factors
    replicate (the exact fit, every day)."""
    replicas = posterior.summary.filter(pl.col("fallback_reason").str.starts_with(REPLICATED)).height
    exact = f"; {replicas} replicated by their factors (exact fit)" if replicas else ""
    if posterior.anchor is None:
        return "exact fit: every strategy replicated by its factors"
    if posterior.refitted:
        return f"fitted with NUTS{exact}"
    if (posterior.summary.get_column("method") == FitMethod.REWEIGHTED).any():
        return f"reweighted (anchor {posterior.anchor.date}){exact}"
    return f"exact conjugate fit (NUTS failed on {posterior.anchor.date}; retry_after_failure){exact}"


def _day_fits(day: dt.date, rows: pl.DataFrame) -> dict:
    """One day's fits: how many converged, fell back to the conjugate model or neither,
    how many of each method, why it refitted, and the worst diagnostics."""
    if rows.height == 0:
        return {}
    methods = rows.get_column("method")
    return {
        "converged": int(rows.get_column("converged").sum()),
        "fallbacks": int((methods == FitMethod.CONJUGATE).sum()),
        "not_converged": int((~rows.get_column("converged")).sum()),
        **{f"method_{m.value}": int((methods == m.value).sum()) for m in FitMethod},
        "refitted": int(rows.get_column("anchor_date")[0] == day),
        "refit_reason": rows.get_column("refit_reason")[0] or f"none ({methods[0]})",
        "anchor_date": str(rows.get_column("anchor_date")[0]),
        "pareto_k_max": float(rows.get_column("pareto_k").max() or np.nan),
        "ess_weighted_min": float(rows.get_column("ess_weighted").min() or np.nan),
        "fit_seconds": round(float(rows.get_column("fit_seconds")[0]), 3),
        "rhat_max": float(rows.get_column("rhat_max").max() or np.nan),
        "ess_bulk_min": float(rows.get_column("ess_bulk_min").min() or np.nan),
    }
