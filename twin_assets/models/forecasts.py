"""The models layer's forecasts: ``strategy_forecasts`` simulates the next month from each
day's posterior (the days of a long span spread over worker processes:
twin_assets/shared/day_chunks.py), and ``forecast_calibration`` scores earlier forecasts
against what happened."""

import dataclasses
import datetime as dt

import dagster as dg
import polars as pl

from twin_assets.models.assets import POSTERIORS, window_history_start
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
from twin_assets.shared.day_chunks import in_day_chunks
from twin_assets.shared.metadata import data_day_metadata
from twin_model.contracts import TABLES, encode_scenarios, forecasts_without_usable_fit
from twin_model.conventions import ParameterSetName
from twin_model.strategy import (
    ParameterSet,
    forecast_summary,
    return_window,
    simulate_parameter_set,
    simulate_posterior_predictive,
)
from twin_model.strategy import (
    forecast_calibration_days as calibrate,
)
from twin_resources.config import ExpertView
from twin_resources.resources import TwinConfigResource, WarehouseResource

FORECASTS = TABLES["models.strategy_forecasts"]
CALIBRATION = TABLES["models.forecast_calibration"]

ONLY_USABLE_FITS = "only_usable_fits"
SCENARIOS_STORED = "scenarios_stored"


@dg.asset(
    **daily_asset_args(
        FORECASTS,
        "One-month (21 business days) posterior-predictive forecast of every strategy: parameters "
        "drawn from the posterior, factor and residual co-movement by a joint bootstrap of "
        "historical days. Mean, 5/50/95 percentiles of the month's compounded return, P(loss), "
        "expected shortfall 95% and the monthly valley (5th percentile of the month-to-date "
        "trough: where the solution layer pauses a strategy). Named parameter sets ('expert' views "
        "from config) are simulated beside the model. Scenario matrices in the artefact store.",
        {
            ONLY_USABLE_FITS: "Forecasts exist only for strategies whose fit converged or fell back.",
            SCENARIOS_STORED: "Every row's scenario matrix is in the artefact store, with the hash the row recorded.",
        },
    ),
    ins={"posteriors": dg.AssetIn(POSTERIORS.path)},
    deps=[RAW_RETURNS, RAW_PRICES],
)
def strategy_forecasts(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    twin_config: TwinConfigResource,
    posteriors: pl.DataFrame,
):
    days = days_of(context)
    config = twin_config.strategies()
    base = config.forecast
    start = window_history_start(days[0], config.model.window_days)
    returns = history.strategy_returns(warehouse, start, days[-1])
    factors = history.factor_returns(warehouse, start, days[-1])
    fitted = sorted(posteriors.get_column("date").unique().to_list())
    shared = (
        posteriors,
        returns,
        factors,
        base,
        config.expert_views(),
        warehouse.artifacts(),
        config.model.window_days,
    )
    frames = []
    for chunk_frames, unusable in in_day_chunks(forecast_days, fitted, *shared):
        frames += chunk_frames
        for day in unusable:
            context.log.warning(f"{day}: no usable fit, so no forecast (no new information)")
    frame = pl.concat(frames).select(list(FORECASTS.columns())) if frames else FORECASTS.empty_frame()
    metadata = {
        **data_day_metadata(context, frame, days, "strategy_id"),
        "paths": base.n_paths,
        "horizon": base.horizon,
    }
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(
        warehouse,
        FORECASTS,
        days,
        {
            ONLY_USABLE_FITS: lambda stored: forecasts_without_usable_fit(stored, posteriors),
            SCENARIOS_STORED: lambda stored: artifact_problems(warehouse, FORECASTS.qualified_name, stored),
        },
    )


def forecast_days(
    days, posteriors, returns, factors, base, experts: dict[str, ExpertView], artifacts, window_days
) -> tuple[list[pl.DataFrame], list[dt.date]]:
    """The forecast rows of each of ``days`` with a usable fit (each day seeded by its own
    date, so a day's rows do not depend on the days beside it), and the days without one."""
    frames, unusable = [], []
    for day in days:
        usable = posteriors.filter((pl.col("date") == day) & pl.col("converged"))
        if usable.height == 0:
            unusable.append(day)
            continue
        settings = dataclasses.replace(base, seed=base.seed + day.toordinal())
        frames.append(_forecast_day(day, usable, returns, factors, settings, experts, artifacts, window_days))
    return frames, unusable


def _forecast_day(day, usable, returns, factors, settings, experts: dict[str, ExpertView], artifacts, window_days):
    """Simulate one day: the posterior predictive (on the fit's regressors, bootstrapped with
    the residuals), and each expert view beside it."""
    ids = usable.get_column("strategy_id").to_list()
    draws = artifacts.read(POSTERIORS.qualified_name, usable.row(0, named=True)).filter(
        pl.col("strategy_id").is_in(ids)
    )
    window = return_window(
        returns.filter(pl.col("strategy_id").is_in(ids)), factors if factors.height else None, day, window_days
    )
    ids = list(window.strategy_ids)
    scenarios = simulate_posterior_predictive(
        draws, window.returns, window.factors, ids, settings, factor_ids=window.factor_ids
    )
    summaries = [
        forecast_summary(scenarios, ids, settings).with_columns(parameter_set=pl.lit(ParameterSetName.POSTERIOR.value))
    ]
    stored = {ParameterSetName.POSTERIOR.value: scenarios}
    expert_ids = [s for s in ids if s in experts]
    if expert_ids:
        view = ParameterSet(
            name=ParameterSetName.EXPERT.value,
            annual_return={s: experts[s].annual_return for s in expert_ids},
            annual_volatility={s: experts[s].annual_volatility for s in expert_ids},
            tail_df={s: experts[s].tail_df for s in expert_ids},
        )
        expert_scenarios = simulate_parameter_set(view, expert_ids, settings)
        summaries.append(
            forecast_summary(expert_scenarios, expert_ids, settings).with_columns(
                parameter_set=pl.lit(ParameterSetName.EXPERT.value)
            )
        )
        stored[ParameterSetName.EXPERT.value] = expert_scenarios
    artifact = artifacts.write(
        "strategy_forecasts",
        day,
        encode_scenarios(stored, {ParameterSetName.POSTERIOR.value: ids, ParameterSetName.EXPERT.value: expert_ids}),
    )
    return pl.concat(summaries).with_columns(
        date=pl.lit(day), scenarios_path=pl.lit(artifact.path), scenarios_sha256=pl.lit(artifact.sha256)
    )


@dg.asset(
    **daily_asset_args(
        CALIBRATION,
        "Forecast calibration: for each strategy, whether the month that just ended (the last 21 "
        "observed returns) fell inside the 5-95% band forecast a month earlier, and the running "
        "coverage rate over every matured forecast (about 90% for a calibrated model).",
        {},
    ),
    deps=[dg.AssetDep(FORECASTS.path), RAW_RETURNS],
)
def forecast_calibration(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource
):
    days = days_of(context)
    horizon = twin_config.strategies().forecast.horizon
    forecasts = warehouse.read_history(
        FORECASTS.qualified_name, None, days[-1], ["date", "strategy_id", "parameter_set", "p05", "p95"]
    )
    forecasts = forecasts.filter(pl.col("parameter_set") == ParameterSetName.POSTERIOR.value).drop("parameter_set")
    returns = history.strategy_returns(warehouse, None, days[-1])
    frame = calibrate(forecasts, returns, days, horizon).select(list(CALIBRATION.columns()))
    metadata = data_day_metadata(context, frame, days, "strategy_id")
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(warehouse, CALIBRATION, days, {})
