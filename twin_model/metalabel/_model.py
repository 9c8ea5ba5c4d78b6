"""The metalabel classifier: candidates, model choice by purged cross-validation, calibration.

Candidates (``conventions.MetalabelModelKind``):

- ``logistic``: median imputation (plus missing-value indicators), standardisation and an
  L2-regularised logistic regression (C = ``MetalabelSettings.logistic_c``);
- ``boosting``: scikit-learn's HistGradientBoostingClassifier (shallow trees, few leaves,
  L2 leaf regularisation; missing values routed natively);
- ``base_rate``: the training base rate, always: a model must beat it to be used.

Choice: each candidate's out-of-fold probabilities over ``PurgedDateKFold`` (month blocks,
purged, embargoed) are scored by log loss; the lowest wins. (A fold whose training rows hold
one class predicts that fold's training base rate.)

Calibration: Platt scaling (sigmoid) fitted on the winner's purged out-of-fold predictions,
p = 1 / (1 + exp(-(a logit(q) + b))), q the winner fitted on all training rows -- what
CalibratedClassifierCV(method="sigmoid", ensemble=False) does, reusing the out-of-fold
predictions the model choice already made. Sigmoid rather than isotonic: the effective
sample is months (tens of them), and a two-parameter map cannot overfit that the way an
isotonic step function can.

Threads: every fit and prediction runs with one OpenMP and one BLAS thread (threadpoolctl).
The training sets are small (thousands to tens of thousands of rows), and on a loaded shared
machine HistGradientBoosting's default OpenMP team made a fit some 50 times slower
(benchmarks/RESULTS.md); and with one BLAS thread the logistic regression's sums are
summed in one order in any process (a worker process has one thread).

Training rows at day T: feature rows dated <= T whose label is known (``window_end <= T``)
and not null. ``effective_months`` is their number of distinct label months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from twin_model.conventions import MetalabelModelKind, MetalabelTarget
from twin_model.metalabel._features import FEATURE_COLUMNS
from twin_model.metalabel._labels import DEFAULT_HORIZON
from twin_model.metalabel._purged_cv import PurgedDateKFold
from twin_model.metalabel._scores import log_loss

_CLIP = 1e-6


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class MetalabelSettings:
    """Policy of the metalabel model; horizon and embargo in observed days
    (``strategies.yaml``'s ``metalabel`` section is this type, with its defaults)."""

    horizon: int = Field(default=DEFAULT_HORIZON, ge=1)
    label: MetalabelTarget = MetalabelTarget.RESIDUAL
    n_splits: int = Field(default=4, ge=2)
    embargo: int = Field(default=5, ge=0)
    min_months: int = Field(default=12, ge=0)
    logistic_c: float = Field(default=0.01, gt=0)
    boosting_iterations: int = Field(default=100, ge=1)
    seed: int = 0
    candidates: tuple[MetalabelModelKind, ...] = (
        MetalabelModelKind.LOGISTIC,
        MetalabelModelKind.BOOSTING,
        MetalabelModelKind.BASE_RATE,
    )


def _estimator(candidate: MetalabelModelKind, settings: MetalabelSettings) -> Pipeline | None:
    """An unfitted scikit-learn estimator of a candidate (None for the base rate)."""
    if candidate is MetalabelModelKind.LOGISTIC:
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=settings.logistic_c, max_iter=1000),
        )
    if candidate is MetalabelModelKind.BOOSTING:
        return make_pipeline(
            HistGradientBoostingClassifier(
                max_iter=settings.boosting_iterations,
                learning_rate=0.05,
                max_depth=3,
                max_leaf_nodes=8,
                min_samples_leaf=40,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=settings.seed,
            )
        )
    return None


def _varying_columns(X: np.ndarray) -> np.ndarray:
    """Indices of the columns holding at least two distinct non-missing values: both models
    fit only on these (an all-missing or constant column carries nothing, and
    HistGradientBoosting's binning rejects it)."""
    seen = ~np.isnan(X)
    low = np.where(seen, X, np.inf).min(axis=0)
    high = np.where(seen, X, -np.inf).max(axis=0)
    return np.flatnonzero(high > low)


def _fit(candidate, settings, X, y) -> tuple[Pipeline, np.ndarray] | None:
    """The candidate fitted on its varying columns (and those columns); None for the base
    rate, a single class or no varying column."""
    estimator = _estimator(candidate, settings)
    columns = _varying_columns(X)
    if estimator is None or y.min() == y.max() or columns.size == 0:
        return None
    return clone(estimator).fit(X[:, columns], y), columns


def _fit_predict(candidate, settings, X_train, y_train, X_test) -> np.ndarray:
    """P(y = 1) on X_test of the candidate fitted on the training rows (their base rate when
    the candidate cannot be fitted, see ``_fit``)."""
    fitted = _fit(candidate, settings, X_train, y_train)
    if fitted is None:
        return np.full(len(X_test), float(y_train.mean()))
    estimator, columns = fitted
    return estimator.predict_proba(X_test[:, columns])[:, 1]


def _logit(q: np.ndarray) -> np.ndarray:
    q = np.clip(q, _CLIP, 1 - _CLIP)
    return np.log(q / (1 - q))


def training_rows(features: pl.DataFrame, labels: pl.DataFrame, as_of: dt.date, label: MetalabelTarget) -> pl.DataFrame:
    """Feature rows dated <= as_of joined to labels known by as_of (window_end <= as_of, not null)."""
    known = labels.filter((pl.col("window_end") <= as_of) & pl.col(label.value).is_not_null())
    rows = features.filter(pl.col("date") <= as_of).join(
        known.select("date", "strategy_id", "window_end", pl.col(label.value).alias("y")),
        on=["date", "strategy_id"],
        how="inner",
    )
    return rows.sort("date", "strategy_id")


@dataclass
class MetalabelModel:
    """A fitted metalabel classifier (``fit_metalabel_model``); ``predict`` gives p_profitable."""

    model: MetalabelModelKind
    fitted_on: dt.date
    n_train: int
    effective_months: int
    base_rate: float
    cv_log_loss: dict[str, float]
    estimator: Pipeline | None = None
    platt: tuple[float, float] = (1.0, 0.0)
    feature_columns: tuple[str, ...] = ()

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        """(date, strategy_id, p_profitable) for every row of ``features``."""
        if self.estimator is None:
            p = np.full(features.height, self.base_rate)
        else:
            with threadpool_limits(limits=1):
                q = self.estimator.predict_proba(features.select(self.feature_columns).to_numpy())[:, 1]
            a, b = self.platt
            p = 1.0 / (1.0 + np.exp(-(a * _logit(q) + b)))
        return features.select("date", "strategy_id").with_columns(pl.Series("p_profitable", p, dtype=pl.Float64))


def _out_of_fold(candidate, settings, X, y, splitter) -> np.ndarray:
    """Purged out-of-fold P(y = 1) of a candidate over every row."""
    oof = np.empty(len(y))
    for train, test in splitter.split(X):
        oof[test] = _fit_predict(candidate, settings, X[train], y[train], X[test])
    return oof


def _platt(oof: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of p = sigmoid(a logit(q) + b) by maximum likelihood on out-of-fold q."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(oof)[:, None], y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def fit_metalabel_model(
    features: pl.DataFrame, labels: pl.DataFrame, as_of: dt.date, settings: MetalabelSettings = MetalabelSettings()
) -> MetalabelModel:
    """Fit on the rows known at ``as_of`` (``training_rows``), choose and calibrate (module docstring).

    With fewer than ``settings.min_months`` label months, or a single class, the model is
    the base rate (0.5 with no training row at all)."""
    with threadpool_limits(limits=1):
        return _fit_model(features, labels, as_of, settings)


def _fit_model(
    features: pl.DataFrame, labels: pl.DataFrame, as_of: dt.date, settings: MetalabelSettings
) -> MetalabelModel:
    rows = training_rows(features, labels, as_of, settings.label)
    y = rows["y"].cast(pl.Int64).to_numpy()
    months = rows["date"].dt.truncate("1mo").n_unique()
    rate = float(y.mean()) if y.size else 0.5
    common = dict(fitted_on=as_of, n_train=int(y.size), effective_months=int(months), base_rate=rate)
    if months < max(settings.min_months, settings.n_splits) or rate in (0.0, 1.0):
        return MetalabelModel(model=MetalabelModelKind.BASE_RATE, cv_log_loss={}, **common)
    X = rows.select(FEATURE_COLUMNS).to_numpy()
    splitter = PurgedDateKFold(settings.n_splits, settings.embargo, rows["date"], rows["window_end"])
    oof = {c: _out_of_fold(c, settings, X, y, splitter) for c in settings.candidates}
    scores = {c.value: log_loss(y, oof[c]) for c in settings.candidates}
    best = min(settings.candidates, key=lambda c: scores[c.value])
    if best is MetalabelModelKind.BASE_RATE:
        return MetalabelModel(model=best, cv_log_loss=scores, **common)
    fitted = _fit(best, settings, X, y)
    if fitted is None:
        return MetalabelModel(model=MetalabelModelKind.BASE_RATE, cv_log_loss=scores, **common)
    estimator, columns = fitted
    return MetalabelModel(
        model=best,
        cv_log_loss=scores,
        estimator=estimator,
        platt=_platt(oof[best], y),
        feature_columns=tuple(FEATURE_COLUMNS[j] for j in columns),
        **common,
    )


def monthly_refit_dates(dates) -> list[dt.date]:
    """The refit days of a monthly cadence: the first of ``dates`` in each calendar month."""
    frame = pl.DataFrame({"date": pl.Series(dates, dtype=pl.Date)}).unique().sort("date")
    return (
        frame.group_by(pl.col("date").dt.truncate("1mo"), maintain_order=True)
        .agg(pl.col("date").first().alias("d"))["d"]
        .to_list()
    )
