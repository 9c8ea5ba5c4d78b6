"""Metalabels in the product: ``models.metalabels`` (P(profitable next month) per strategy
and day, with the model's out-of-sample scores so far) and ``models.metalabel_scores``
(each prediction once its window has ended, with the outcome).

``metalabels`` reads the history it needs as date-range queries (features and labels
need every earlier day): returns, the factors' regressor returns, posteriors, forecasts,
statistics and the market regime, never the alpha pool (which may read the metalabel).
On a day whose month differs from its model's ``fitted_on`` month (the first day of a
month with data), or with no model yet, it refits (``fit_metalabel_model`` on every label
matured by that day) and stores the model in the artefact store; otherwise it carries the
previous day's model: a range carries it in memory, a single day loads it from the
previous day's ``model_path`` (verified by its hash), so a day gives the same rows alone
or inside a range. A missing previous day fails ("materialise DAY first"). A range's
refits do not depend on each other (each reads the labels matured by its own day), so a
range of at least ``MIN_REFITS_PER_WORKER`` refits a worker fits them in the workers
first (``in_workers``): 2016-2022's 84 refits were most of the asset's 2:10.
"""

import datetime as dt
from functools import partial

import dagster as dg
import numpy as np
import polars as pl

from twin_assets.shared import history
from twin_assets.shared.common import (
    RAW_FACTORS,
    RAW_RETURNS,
    artifact_problems,
    check_written,
    daily_asset_args,
    daily_output,
    days_of,
)
from twin_assets.shared.day_chunks import in_workers
from twin_assets.shared.metadata import data_day_metadata
from twin_model.contracts import TABLES
from twin_model.conventions import MetalabelModelKind, ParameterSetName
from twin_model.metalabel import (
    MetalabelModel,
    MetalabelSettings,
    auc,
    betas_from_posteriors,
    brier_score,
    decode_model,
    encode_model,
    fit_metalabel_model,
    log_loss,
    matured_outcomes,
    metalabel_features,
    metalabel_labels,
    monthly_refit_dates,
    regressor_returns,
)
from twin_resources.resources import TwinConfigResource, WarehouseResource

POSTERIORS = TABLES["models.strategy_posteriors"]
FORECASTS = TABLES["models.strategy_forecasts"]
METALABELS = TABLES["models.metalabels"]
OUTCOMES = TABLES["models.metalabel_scores"]
STATISTICS = TABLES["stats.strategy_statistics"]
REGIME = TABLES["raw.market_regime"]

PROBABILITIES = "probabilities"
ONE_ROW_PER_USABLE_POSTERIOR = "one_row_per_usable_posterior"
MODEL_STORED = "model_stored"

_PREDICTION_COLUMNS = ["date", "strategy_id", "p_profitable", "model"]
SCORE_COLUMNS = ["n_scored", "brier", "log_loss", "auc", "base_rate"]
MIN_REFITS_PER_WORKER = 4
"""Refits a worker must have before a range's refits are spread (a fit takes 0.5-3 s)."""


def _usable_posteriors(warehouse: WarehouseResource, end: dt.date) -> pl.DataFrame:
    return warehouse.read_history(
        POSTERIORS.qualified_name,
        None,
        end,
        ["date", "strategy_id", "p_alpha_positive", "alpha_sd", "sharpe_mean", "factor_betas", "converged"],
    ).filter(pl.col("converged"))


def _labels(warehouse: WarehouseResource, end: dt.date, posteriors: pl.DataFrame, settings: MetalabelSettings):
    """Returns through ``end`` and every label they hold (betas: the usable posteriors')."""
    returns = history.strategy_returns(warehouse, None, end)
    regressors = regressor_returns(history.factor_returns(warehouse, None, end))
    labels = metalabel_labels(returns, regressors, betas_from_posteriors(posteriors), horizon=settings.horizon)
    return returns, labels


def _features(warehouse: WarehouseResource, end: dt.date, returns, posteriors) -> pl.DataFrame:
    statistics = warehouse.read_history(
        STATISTICS.qualified_name,
        None,
        end,
        ["date", "strategy_id", "window", "sharpe", "annual_volatility", "max_drawdown", "hit_rate", "mtd_pnl"],
    )
    forecasts = warehouse.read_history(
        FORECASTS.qualified_name, None, end, ["date", "strategy_id", "parameter_set", "monthly_valley"]
    ).filter(pl.col("parameter_set") == ParameterSetName.POSTERIOR.value)
    regime = warehouse.read_history(
        REGIME.qualified_name, None, end, ["date", "trend", "volatility_state", "vol_21d", "risk_scale"]
    )
    return metalabel_features(returns, posteriors, statistics, forecasts, regime)


def _scores_by_day(
    predictions: pl.DataFrame, labels: pl.DataFrame, days: list[dt.date], settings: MetalabelSettings
) -> pl.DataFrame:
    """Per day of ``days``: the scores (``twin_model.metalabel`` formulas) of the predictions
    made before it whose window ended by it, in one pass: every prediction is joined with
    its outcome once, in (date, strategy_id) order, and each day scores its prefix in
    window-end terms (every score None on a day none has matured). Columns: date and
    ``SCORE_COLUMNS``."""
    known = labels.filter(pl.col(settings.label.value).is_not_null()).select(
        "date", "strategy_id", "window_end", pl.col(settings.label.value).alias("y")
    )
    matured = predictions.join(known, on=["date", "strategy_id"]).sort("date", "strategy_id")
    made, ended = matured.get_column("date").to_numpy(), matured.get_column("window_end").to_numpy()
    y, p = matured.get_column("y").to_numpy(), matured.get_column("p_profitable").to_numpy()
    rows = []
    for day in days:
        scored = (made < np.datetime64(day)) & (ended <= np.datetime64(day))
        rows.append({"date": day, **_scores(y[scored], p[scored])})
    return pl.DataFrame(rows, schema={"date": pl.Date, **{k: METALABELS.columns()[k] for k in SCORE_COLUMNS}})


def _scores(y: np.ndarray, p: np.ndarray) -> dict:
    """n, Brier score, log loss, AUC (None when one class only) and base rate of outcomes
    ``y`` predicted ``p``; every score None for none."""
    if y.size == 0:
        return {"n_scored": 0, "brier": None, "log_loss": None, "auc": None, "base_rate": None}
    area = auc(y, p)
    return {
        "n_scored": int(y.size),
        "brier": brier_score(y, p),
        "log_loss": log_loss(y, p),
        "auc": area if np.isfinite(area) else None,
        "base_rate": float(y.mean()),
    }


def _scored(earlier: pl.DataFrame, frames: list[pl.DataFrame], labels, days: list[dt.date], settings) -> pl.DataFrame:
    """The range's rows (``frames``, one a day of ``days``) with each day's scores so far,
    over the ``earlier`` predictions (dated before the range) and the range's own."""
    if not frames:
        return METALABELS.empty_frame()
    rows = pl.concat(frames)
    predictions = pl.concat([earlier.filter(pl.col("date") < days[0]), rows.select(_PREDICTION_COLUMNS)])
    scores = _scores_by_day(predictions, labels, days, settings)
    return rows.join(scores, on="date", how="left", maintain_order="left").select(list(METALABELS.columns()))


def _previous_model(warehouse: WarehouseResource, first_day: dt.date) -> tuple[MetalabelModel | None, dict]:
    """The model the previous traded day's rows name (loaded, hash verified) and its
    reference; (None, {}) on a cold start."""
    previous, cold_start = history.previous_state(
        warehouse, METALABELS, first_day, history.last_traded_before(warehouse, first_day)
    )
    if cold_start:
        return None, {}
    row = previous.row(0, named=True)
    frame = warehouse.artifacts().read(METALABELS.qualified_name, row)
    reference = {"model_path": row["model_path"], "model_sha256": row["model_sha256"]}
    return decode_model(frame, f"{METALABELS.qualified_name} model {row['model_path']}"), reference


def _refit_days(model: MetalabelModel | None, usable_days: list[dt.date]) -> list[dt.date]:
    """The days that refit, given the model carried in: the first of ``usable_days`` (the
    days with a usable posterior) in each month (``monthly_refit_dates``), less the first
    when the carried model was fitted in that month."""
    refits = monthly_refit_dates(usable_days)
    carried_month = (model.fitted_on.year, model.fitted_on.month) if model is not None else None
    if refits and carried_month == (refits[0].year, refits[0].month):
        return refits[1:]
    return refits


def fit_and_encode(features, labels, day: dt.date, settings: MetalabelSettings) -> tuple[MetalabelModel, pl.DataFrame]:
    """A refit and its artefact, encoded in the process that fitted it: a model that came
    back from a worker pickles to other bytes (its enum members are the receiving
    process's, no longer the objects its dictionary keys share), so another hash."""
    model = fit_metalabel_model(features, labels, day, settings)
    return model, encode_model(model)


def _refitted(features, labels, days: list[dt.date], settings: MetalabelSettings) -> dict:
    """Each of ``days``: the model fitted on it and its encoded artefact (in workers for
    enough of them)."""
    fit = partial(fit_and_encode, features, labels, settings=settings)
    return dict(zip(days, in_workers(fit, days, MIN_REFITS_PER_WORKER)))


def _day_figures(settings: MetalabelSettings):
    def figures(_: dt.date, rows: pl.DataFrame) -> dict:
        if rows.height == 0:
            return {}
        first = rows.row(0, named=True)
        shown = {k: first[k] for k in ("model", "n_train", "effective_months", "n_scored", "auc", "base_rate")}
        shown["fitted_on"] = str(first["fitted_on"])
        needed = max(settings.min_months, settings.n_splits)  # fit_metalabel_model's bar
        if first["model"] == MetalabelModelKind.BASE_RATE.value:
            shown["why_base_rate"] = (
                f"only {first['effective_months']} of {needed} label months matured"
                if first["effective_months"] < needed
                else "no classifier beat the base rate in purged cross-validation (or one outcome only)"
            )
        return shown

    return figures


@dg.asset(
    **daily_asset_args(
        METALABELS,
        "Metalabels: per strategy and day, P(the next 21 observed returns, over the strategy's "
        "factors, compound to > 0 | what the raw, models and stats tables knew that day), from a "
        "classifier (logistic regression or gradient boosting, chosen and Platt-calibrated by a "
        "purged K-fold over dates, or the base rate until enough label months have matured) "
        "refitted monthly on every matured label; the model in the artefact store, and its "
        "out-of-sample Brier score, log loss, AUC and base rate so far (config/strategies.yaml metalabel).",
        {
            PROBABILITIES: "Every p_profitable lies in [0, 1].",
            ONE_ROW_PER_USABLE_POSTERIOR: "Each day has one row per strategy with a usable posterior that day.",
            MODEL_STORED: "Every row's model is in the artefact store, with the hash the row recorded.",
        },
    ),
    deps=[
        RAW_RETURNS,
        RAW_FACTORS,
        dg.AssetDep(REGIME.path),
        dg.AssetDep(POSTERIORS.path),
        dg.AssetDep(FORECASTS.path),
        dg.AssetDep(STATISTICS.path),
    ],
)
def metalabels(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    days = days_of(context)
    settings = twin_config.strategies().metalabel
    posteriors = _usable_posteriors(warehouse, days[-1])
    returns, labels = _labels(warehouse, days[-1], posteriors, settings)
    features = _features(warehouse, days[-1], returns, posteriors)
    model, reference = _previous_model(warehouse, days[0])
    earlier = warehouse.read_history(METALABELS.qualified_name, None, days[0], _PREDICTION_COLUMNS)
    artifacts = warehouse.artifacts()
    usable_days = sorted(set(posteriors.filter(pl.col("date").is_in(days)).get_column("date").to_list()))
    refitted = _refitted(features, labels, _refit_days(model, usable_days), settings)
    frames = []
    for day in usable_days:
        usable = posteriors.filter(pl.col("date") == day).get_column("strategy_id")
        if day in refitted:
            model, encoded = refitted.pop(day)
            stored = artifacts.write("metalabels", day, encoded)
            reference = {"model_path": stored.path, "model_sha256": stored.sha256}
            context.log.info(
                f"{day}: fitted {model.model} on {model.n_train} labels over {model.effective_months} months"
            )
        today = features.filter((pl.col("date") == day) & pl.col("strategy_id").is_in(usable.implode()))
        rows = model.predict(today).with_columns(
            model=pl.lit(model.model.value),
            fitted_on=pl.lit(model.fitted_on, dtype=pl.Date),
            n_train=pl.lit(model.n_train, dtype=pl.Int64),
            effective_months=pl.lit(model.effective_months, dtype=pl.Int64),
            horizon_days=pl.lit(settings.horizon, dtype=pl.Int64),
            **{k: pl.lit(v) for k, v in reference.items()},
        )
        frames.append(rows)
    frame = _scored(earlier, frames, labels, usable_days, settings)
    metadata = {
        **data_day_metadata(context, frame, days, "strategy_id", _day_figures(settings)),
        "horizon_days": settings.horizon,
        "label": settings.label.value,
    }
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(
        warehouse,
        METALABELS,
        days,
        {
            PROBABILITIES: _outside_unit_interval,
            ONE_ROW_PER_USABLE_POSTERIOR: lambda stored: _row_per_usable_posterior(stored, posteriors, days),
            MODEL_STORED: lambda stored: artifact_problems(warehouse, METALABELS.qualified_name, stored),
        },
    )


def _outside_unit_interval(stored: pl.DataFrame) -> list[str]:
    bad = stored.filter(~pl.col("p_profitable").is_between(0.0, 1.0) | pl.col("p_profitable").is_null())
    return [f"{r['date']}, {r['strategy_id']}: p_profitable {r['p_profitable']}" for r in bad.iter_rows(named=True)]


def _row_per_usable_posterior(stored: pl.DataFrame, posteriors: pl.DataFrame, days: list[dt.date]) -> list[str]:
    problems = []
    for day in days:
        want = set(posteriors.filter(pl.col("date") == day).get_column("strategy_id").to_list())
        have = stored.filter(pl.col("date") == day).get_column("strategy_id").to_list()
        if sorted(have) != sorted(want):
            problems.append(f"{day}: metalabels for {sorted(have)}, usable posteriors for {sorted(want)}")
    return problems


@dg.asset(
    **daily_asset_args(
        OUTCOMES,
        "Metalabel outcomes: every models.metalabels prediction on the day its 21-observed-return "
        "window ended, with the probability given, the window's return over the factors and "
        "whether it was profitable: reliability and AUC over any span are queries over these rows.",
        {},
    ),
    deps=[dg.AssetDep(METALABELS.path), RAW_RETURNS, RAW_FACTORS, dg.AssetDep(POSTERIORS.path)],
)
def metalabel_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource, twin_config: TwinConfigResource):
    days = days_of(context)
    settings = twin_config.strategies().metalabel
    posteriors = _usable_posteriors(warehouse, days[-1])
    _, labels = _labels(warehouse, days[-1], posteriors, settings)
    predictions = warehouse.read_history(METALABELS.qualified_name, None, days[-1], _PREDICTION_COLUMNS)
    frame = matured_outcomes(predictions, labels, days, settings.label).select(list(OUTCOMES.columns()))
    metadata = data_day_metadata(context, frame, days, "strategy_id")
    yield daily_output(context, frame, days, warehouse.path, twin_config.config_dir, metadata)
    yield from check_written(warehouse, OUTCOMES, days, {})


METALABEL_ASSETS = [metalabels, metalabel_scores]
