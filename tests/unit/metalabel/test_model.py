"""The metalabel model: training rows only from matured labels, effective months, fallbacks,
refit cadence, and no look-ahead through the whole chain (tables -> features -> labels -> p)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from tests.helpers.metalabel_truth import business_days, stand_in_posteriors, statistics_by_day, synthetic_firm
from twin_model.conventions import MetalabelModelKind, MetalabelTarget
from twin_model.data.market import market_regime
from twin_model.metalabel import (
    FEATURE_COLUMNS,
    MetalabelSettings,
    fit_metalabel_model,
    metalabel_features,
    metalabel_labels,
    monthly_refit_dates,
    training_rows,
    walk_forward,
)

SMALL = MetalabelSettings(n_splits=3, min_months=6, boosting_iterations=20)
LEARNERS = (MetalabelModelKind.LOGISTIC, MetalabelModelKind.BOOSTING)


def _toy(n_days: int, rng) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two strategies, one feature column carrying the label; window_end 10 calendar days on."""
    days = business_days(dt.date(2023, 1, 2), n_days)
    keys = pl.DataFrame({"date": days * 2, "strategy_id": ["a"] * n_days + ["b"] * n_days})
    signal = rng.standard_normal(2 * n_days)
    features = keys.with_columns(
        *[pl.lit(None, dtype=pl.Float64).alias(c) for c in FEATURE_COLUMNS if c != "sharpe_21d"],
        pl.Series("sharpe_21d", signal),
    ).select("date", "strategy_id", *FEATURE_COLUMNS)
    labels = keys.with_columns(
        (pl.col("date") + pl.duration(days=10)).alias("window_end"),
        pl.Series("label", signal + 0.5 * rng.standard_normal(2 * n_days) > 0),
        pl.Series("label_total", rng.random(2 * n_days) > 0.5),
    )
    return features, labels


def test_training_rows_only_matured_labels():
    features, labels = _toy(60, np.random.default_rng(0))
    as_of = dt.date(2023, 2, 15)
    rows = training_rows(features, labels, as_of, MetalabelTarget.RESIDUAL)
    # matured: window_end = date + 10 <= Feb 15, so dates up to Feb 5 (business days), both strategies
    expected = labels.filter(pl.col("date") <= dt.date(2023, 2, 5))
    assert rows.height == expected.height
    assert rows["window_end"].max() <= as_of
    assert rows["y"].to_list() == expected.sort("date", "strategy_id")["label"].to_list()
    total = training_rows(features, labels, as_of, MetalabelTarget.TOTAL)
    assert total["y"].to_list() == expected.sort("date", "strategy_id")["label_total"].to_list()


def test_effective_months_and_base_rate_fallback():
    features, labels = _toy(120, np.random.default_rng(1))
    as_of = dt.date(2023, 5, 31)
    model = fit_metalabel_model(features, labels, as_of, SMALL)
    rows = training_rows(features, labels, as_of, MetalabelTarget.RESIDUAL)
    # labels dated Jan 2 .. May 19 (window end <= May 31): months Jan..May
    assert model.effective_months == 5 and model.n_train == rows.height
    # 5 months < min_months 6: the base rate
    assert model.model is MetalabelModelKind.BASE_RATE
    assert model.base_rate == pytest.approx(rows["y"].mean())
    p = model.predict(features.head(3))["p_profitable"].to_list()
    assert p == pytest.approx([rows["y"].mean()] * 3)
    # no training row at all: 0.5
    empty = fit_metalabel_model(features, labels, dt.date(2023, 1, 5), SMALL)
    assert empty.n_train == 0 and empty.predict(features.head(1))["p_profitable"].item() == 0.5


def test_a_learnable_label_is_learnt():
    features, labels = _toy(200, np.random.default_rng(2))
    model = fit_metalabel_model(features, labels, dt.date(2023, 10, 10), SMALL)
    assert model.model is not MetalabelModelKind.BASE_RATE
    assert model.cv_log_loss[model.model.value] < model.cv_log_loss["base_rate"]
    assert model.feature_columns == ("sharpe_21d",)  # the all-null columns are dropped
    p = model.predict(features)["p_profitable"].to_numpy()
    # the generator's truth: label = s + 0.5 e > 0 with e ~ N(0, 1), so P(label | s) = Phi(2 s)
    truth = norm.cdf(2 * features["sharpe_21d"].to_numpy())
    # (within 0.1 on average: 400 rows, and the winner may be a few-step boosted model)
    assert np.mean(np.abs(p - truth)) < 0.1


def test_monthly_refit_dates():
    days = [dt.date(2024, 1, 4), dt.date(2024, 1, 3), dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 3, 5)]
    assert monthly_refit_dates(days) == [dt.date(2024, 1, 3), dt.date(2024, 2, 1), dt.date(2024, 3, 5)]


# --------------------------------------------------------------------------- no look-ahead


def _chain(returns: pl.DataFrame, factor_returns: pl.DataFrame, betas: pl.DataFrame, days: list[dt.date]):
    """Every table the metalabel reads, rebuilt from the returns, then features and labels."""
    closes = factor_returns.sort("date").select("date", (100 * (1 + pl.col("ret")).cum_prod()).alias("close"))
    regime = market_regime(closes, days)
    features = metalabel_features(returns, stand_in_posteriors(returns), statistics_by_day(returns, days), None, regime)
    return features, metalabel_labels(returns, factor_returns, betas)


def test_no_look_ahead():
    firm = synthetic_firm(4, 330, regimes=True, seed=3)
    days = sorted(firm.returns["date"].unique().to_list())
    t = days[300]
    later = pl.col("date") > t
    bent = pl.when(later).then(-2 * pl.col("ret") + 0.01).otherwise(pl.col("ret")).alias("ret")
    returns2, factors2 = firm.returns.with_columns(bent), firm.factor_returns.with_columns(bent)

    stat_days = days[:321]  # the tables are built past t too
    f1, l1 = _chain(firm.returns, firm.factor_returns, firm.betas, stat_days)
    f2, l2 = _chain(returns2, factors2, firm.betas, stat_days)

    # the perturbation reaches features and labels after t ...
    assert not f1.filter(later).equals(f2.filter(later))
    assert not l1.filter(pl.col("window_end") > t).equals(l2.filter(pl.col("window_end") > t))
    # ... but nothing known at t moves
    assert f1.filter(~later).equals(f2.filter(~later))
    rows1 = training_rows(f1, l1, t, MetalabelTarget.RESIDUAL)
    assert rows1.height > 0 and rows1.equals(training_rows(f2, l2, t, MetalabelTarget.RESIDUAL))
    # without the base-rate candidate, so a fitted classifier (not a constant) must match
    fitted = MetalabelSettings(n_splits=3, min_months=6, boosting_iterations=20, candidates=LEARNERS)
    m1, m2 = fit_metalabel_model(f1, l1, t, fitted), fit_metalabel_model(f2, l2, t, fitted)
    assert m1.estimator is not None and m1.model is m2.model
    today1, today2 = f1.filter(pl.col("date") == t), f2.filter(pl.col("date") == t)
    assert m1.predict(today1).equals(m2.predict(today2))
    known = ["date", "strategy_id", "p_profitable", "model", "fitted_on", "n_train", "effective_months"]
    w1 = walk_forward(f1, l1, days[290:301], fitted).select(known)
    assert w1.equals(walk_forward(f2, l2, days[290:301], fitted).select(known))
