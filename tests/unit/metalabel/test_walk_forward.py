"""Walk-forward metalabels on synthetic truth: skill where next month's profitability shows in
observable state, none where it does not (tests/helpers/metalabel_truth.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.helpers.metalabel_truth import stand_in_posteriors, stand_in_statistics, synthetic_firm
from twin_model.metalabel import (
    WALK_FORWARD_SCHEMA,
    MetalabelSettings,
    metalabel_features,
    metalabel_labels,
    metalabel_scores,
    reliability_table,
    scores_so_far,
    walk_forward,
)

SETTINGS = MetalabelSettings(n_splits=3, boosting_iterations=30)
RELIABILITY_BAND = 0.15
"""Stated band: in every reliability bin holding >= 200 matured predictions, |mean p - realised| <= 0.15."""


def _walk(regimes: bool) -> pl.DataFrame:
    firm = synthetic_firm(8, 650, regimes=regimes, seed=11)
    days = sorted(firm.returns["date"].unique().to_list())
    features = metalabel_features(
        firm.returns, stand_in_posteriors(firm.returns), stand_in_statistics(firm.returns), None, None
    )
    labels = metalabel_labels(firm.returns, firm.factor_returns, firm.betas)
    return walk_forward(features, labels, days[380:], SETTINGS)


@pytest.fixture(scope="module")
def regime_walk() -> pl.DataFrame:
    return _walk(regimes=True)


@pytest.fixture(scope="module")
def null_walk() -> pl.DataFrame:
    return _walk(regimes=False)


def _matured(walk: pl.DataFrame) -> pl.DataFrame:
    return walk.filter(pl.col("realised").is_not_null())


def test_predictions_are_out_of_sample(regime_walk):
    assert regime_walk.schema == pl.Schema(WALK_FORWARD_SCHEMA)
    # each model was fitted on or before the day it predicts, once a month
    assert (regime_walk["fitted_on"] <= regime_walk["date"]).all()
    fits = regime_walk.select("fitted_on").unique()["fitted_on"]
    assert fits.dt.truncate("1mo").n_unique() == fits.len()
    # a prediction's own label matures only after the day it was made
    assert (_matured(regime_walk)["window_end"] > _matured(regime_walk)["date"]).all()


def test_skill_where_state_predicts_profit(regime_walk):
    done = _matured(regime_walk)
    s = metalabel_scores(done["date"], done["realised"], done["p_profitable"], n_boot=300)
    assert s.auc_low > 0.5  # month-block interval excludes 0.5
    assert s.within_date_auc > 0.6
    assert s.brier < s.brier_base_rate and s.log_loss < s.log_loss_base_rate
    table = reliability_table(done["realised"], done["p_profitable"], bins=5).filter(pl.col("n") >= 200)
    assert table.height >= 2
    assert (table["mean_p"] - table["realised"]).abs().max() <= RELIABILITY_BAND


def test_no_invented_skill_without_dependence(null_walk):
    done = _matured(null_walk)
    s = metalabel_scores(done["date"], done["realised"], done["p_profitable"], n_boot=300)
    assert s.auc_low < 0.5 < s.auc_high
    # p stays near the base rate of the outcomes it predicts
    assert np.mean(np.abs(done["p_profitable"].to_numpy() - s.base_rate)) < 0.05


def test_scores_so_far_count_only_outcomes_known_that_day():
    d = dt.date
    rows = pl.DataFrame(
        {
            "date": [d(2024, 1, 2), d(2024, 1, 2), d(2024, 1, 3), d(2024, 2, 1)],
            "strategy_id": ["a", "b", "a", "a"],
            "p_profitable": [0.8, 0.4, 0.6, 0.6],
            "window_end": [d(2024, 1, 31), d(2024, 1, 31), d(2024, 2, 1), d(2024, 3, 1)],
            "realised": [True, False, True, False],
        }
    )
    assert scores_so_far(rows, d(2024, 1, 30)) is None  # no window has ended
    # on Feb 1 the first three are known: y (1, 0, 1), p (0.8, 0.4, 0.6);
    # Brier (0.04 + 0.16 + 0.16) / 3 = 0.12; AUC: 0.8 and 0.6 both beat 0.4 -> 1
    s = scores_so_far(rows, d(2024, 2, 1), n_boot=20)
    assert s.n == 3 and s.brier == pytest.approx(0.12) and s.auc == 1.0
    assert s.base_rate == pytest.approx(2 / 3) and s.effective_months == 1
