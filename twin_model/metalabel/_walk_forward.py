"""Walk-forward metalabels: on each day of a span, the prediction a model fitted only on
labels matured by that day would have made, beside the outcome realised later.

On each refit day (``monthly_refit_dates`` of the span) a model is fitted on the rows known
then (``fit_metalabel_model``: labels with window_end <= the refit day); every day until the
next refit, it predicts that day's feature rows. The realised label joins on afterwards
(null while its window has not ended in the data), so out-of-sample scores accumulate from
the rows whose ``window_end`` has passed.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from twin_model.metalabel._model import MetalabelModel, MetalabelSettings, fit_metalabel_model, monthly_refit_dates
from twin_model.metalabel._scores import MetalabelScores, metalabel_scores

WALK_FORWARD_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "strategy_id": pl.String(),
    "p_profitable": pl.Float64(),
    "model": pl.String(),
    "fitted_on": pl.Date(),
    "n_train": pl.Int64(),
    "effective_months": pl.Int64(),
    "horizon_days": pl.Int64(),
    "window_end": pl.Date(),
    "realised": pl.Boolean(),
}
"""Columns of ``walk_forward`` in order: ``realised`` is the later label (null until known)."""


def _day_rows(model: MetalabelModel, day_features: pl.DataFrame, horizon: int) -> pl.DataFrame:
    return model.predict(day_features).with_columns(
        pl.lit(model.model.value).alias("model"),
        pl.lit(model.fitted_on, dtype=pl.Date).alias("fitted_on"),
        pl.lit(model.n_train, dtype=pl.Int64).alias("n_train"),
        pl.lit(model.effective_months, dtype=pl.Int64).alias("effective_months"),
        pl.lit(horizon, dtype=pl.Int64).alias("horizon_days"),
    )


def walk_forward(
    features: pl.DataFrame,
    labels: pl.DataFrame,
    days: list[dt.date],
    settings: MetalabelSettings = MetalabelSettings(),
) -> pl.DataFrame:
    """Predictions on every day of ``days`` (sorted, distinct) from models refitted monthly.

    ``features`` as ``metalabel_features``, ``labels`` as ``metalabel_labels`` (same
    horizon as ``settings``). Rows ordered by date then strategy_id; columns
    ``WALK_FORWARD_SCHEMA``.
    """
    days = sorted(set(days))
    refits = set(monthly_refit_dates(days))
    by_day = features.filter(pl.col("date").is_in(days)).partition_by("date", as_dict=True)
    parts, model = [], None
    for day in days:
        if model is None or day in refits:
            model = fit_metalabel_model(features, labels, day, settings)
        rows = by_day.get((day,))
        if rows is not None:
            parts.append(_day_rows(model, rows, settings.horizon))
    if not parts:
        return pl.DataFrame(schema=WALK_FORWARD_SCHEMA)
    outcome = labels.select("date", "strategy_id", "window_end", pl.col(settings.label.value).alias("realised"))
    out = pl.concat(parts).join(outcome, on=["date", "strategy_id"], how="left")
    return out.select(list(WALK_FORWARD_SCHEMA)).sort("date", "strategy_id")


def scores_so_far(
    predictions: pl.DataFrame, as_of: dt.date, *, n_boot: int = 1000, seed: int = 0
) -> MetalabelScores | None:
    """``metalabel_scores`` of the predictions (``walk_forward`` rows) made on or before
    ``as_of`` whose outcome was known by then (``window_end <= as_of``); None when none is."""
    known = predictions.filter(
        (pl.col("date") <= as_of) & (pl.col("window_end") <= as_of) & pl.col("realised").is_not_null()
    )
    if known.height == 0:
        return None
    return metalabel_scores(known["date"], known["realised"], known["p_profitable"], n_boot=n_boot, seed=seed)
