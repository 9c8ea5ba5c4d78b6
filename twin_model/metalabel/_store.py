"""What the product needs around the metalabel core: the labels' factor returns in the
strategy model's design, the fitted model as an artefact frame, and the matured outcomes.

Regressors. ``models.strategy_posteriors.factor_betas`` holds betas on the fit's
regressors (``twin_model.strategy.factor_design``: the benchmark ``m`` and each other
factor's spread over it, named ``MTUM-SP500``), not on ``raw.factor_returns``' ids, so
the labels' residual u_s = r_s - sum_k beta_k x_sk needs x in that design:
``regressor_returns`` maps the long raw frame to the long frame of regressors,
x = (m, f_1 - m, ..., f_J - m) per date, with the regressor names as ``factor_id``.

Model encoding. The fitted scikit-learn pipelines (a logistic regression, or gradient-
boosted trees) have no portable encoding in this stack but pickle (skops is not installed),
so ``encode_model`` pickles the ``MetalabelModel`` into a one-row frame beside the
scikit-learn version it was fitted with. Unpickling runs code, so ``decode_model`` is only
ever given bytes the artefact store has verified against the sha256 the table row
recorded when this warehouse wrote them, and it refuses a model pickled under another
scikit-learn version (whose estimators may load with different behaviour).
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Sequence

import polars as pl
import sklearn

from twin_model.conventions import MetalabelTarget
from twin_model.metalabel._model import MetalabelModel
from twin_model.strategy import factor_design

MODEL_ARTIFACT_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "fitted_on": pl.Date(),
    "sklearn_version": pl.String(),
    "pickle": pl.Binary(),
}
"""Columns of a model artefact (one row)."""


def regressor_returns(factor_returns: pl.DataFrame) -> pl.DataFrame:
    """Long (date, factor_id, ret) of the strategy model's regressors on every date of
    ``factor_returns`` (``date, factor_id, ret, is_benchmark``): the benchmark's return and
    each other factor's spread over it (null where either is missing); empty without factors."""
    if factor_returns.height == 0:
        return pl.DataFrame(schema={"date": pl.Date, "factor_id": pl.String, "ret": pl.Float64})
    dates = sorted(factor_returns.get_column("date").unique().to_list())
    design = factor_design(factor_returns, dates)
    wide = pl.DataFrame(design.values, schema=list(design.names), orient="row").with_columns(
        pl.Series("date", dates, dtype=pl.Date)
    )
    long = wide.unpivot(index="date", variable_name="factor_id", value_name="ret")
    return long.with_columns(pl.col("ret").fill_nan(None)).sort("date", "factor_id")


def encode_model(model: MetalabelModel) -> pl.DataFrame:
    """The model as a one-row artefact frame (``MODEL_ARTIFACT_SCHEMA``)."""
    return pl.DataFrame(
        {
            "model": [model.model.value],
            "fitted_on": [model.fitted_on],
            "sklearn_version": [sklearn.__version__],
            "pickle": [pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)],
        },
        schema=MODEL_ARTIFACT_SCHEMA,
    )


def decode_model(frame: pl.DataFrame, where: str) -> MetalabelModel:
    """The model of a verified artefact frame; ``where`` names it in errors."""
    if frame.columns != list(MODEL_ARTIFACT_SCHEMA) or frame.height != 1:
        raise ValueError(f"{where}: not a metalabel model artefact (columns {frame.columns}, {frame.height} rows)")
    row = frame.row(0, named=True)
    if row["sklearn_version"] != sklearn.__version__:
        raise ValueError(
            f"{where}: model pickled under scikit-learn {row['sklearn_version']}, running {sklearn.__version__}: "
            "re-materialise models.metalabels from its last refit day"
        )
    model = pickle.loads(row["pickle"])  # noqa: S301 -- bytes verified against the row's sha256
    if not isinstance(model, MetalabelModel) or model.fitted_on != row["fitted_on"]:
        raise ValueError(f"{where}: the pickle is not the MetalabelModel the artefact names")
    return model


def matured_outcomes(
    predictions: pl.DataFrame,
    labels: pl.DataFrame,
    days: Sequence[dt.date],
    label: MetalabelTarget = MetalabelTarget.RESIDUAL,
) -> pl.DataFrame:
    """Predictions (date, strategy_id, p_profitable, model) whose label window ended on
    one of ``days``, each on that day, with the window's return (over the factors, or total
    for the total-return label) and the outcome: columns date (= window_end),
    strategy_id, prediction_date, p_profitable, model, realised_return, realised,
    window_end, ordered by date, strategy_id and prediction_date. A prediction whose label
    is null (no betas, or no factor return on a window day) is left out."""
    ret = "residual_return" if label is MetalabelTarget.RESIDUAL else "total_return"
    ended = labels.filter(pl.col("window_end").is_in(list(days)) & pl.col(label.value).is_not_null())
    rows = predictions.rename({"date": "prediction_date"}).join(
        ended.select(
            pl.col("date").alias("prediction_date"),
            "strategy_id",
            pl.col(ret).alias("realised_return"),
            "window_end",
            pl.col(label.value).alias("label"),
        ),
        on=["prediction_date", "strategy_id"],
        how="inner",
    )
    return rows.select(
        pl.col("window_end").alias("date"),
        "strategy_id",
        "prediction_date",
        "p_profitable",
        "model",
        "realised_return",
        pl.col("label").alias("realised"),
        "window_end",
    ).sort("date", "strategy_id", "prediction_date")
