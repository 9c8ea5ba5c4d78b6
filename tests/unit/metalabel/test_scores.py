"""Scores: hand-worked values on a tiny example and scikit-learn's metrics on random data."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from sklearn import metrics

from twin_model.metalabel import (
    auc,
    brier_score,
    log_loss,
    metalabel_scores,
    month_block_auc_interval,
    reliability_table,
    within_date_auc,
)

Y = [1, 0, 1, 0]
P = [0.8, 0.4, 0.6, 0.6]


def test_hand_worked_scores():
    # Brier: (0.2^2 + 0.4^2 + 0.4^2 + 0.6^2) / 4 = 0.72 / 4
    assert brier_score(Y, P) == pytest.approx(0.18)
    # log loss: -(ln 0.8 + ln 0.6 + ln 0.6 + ln 0.4) / 4
    assert log_loss(Y, P) == pytest.approx(-(math.log(0.8) + 2 * math.log(0.6) + math.log(0.4)) / 4)
    # AUC: positives {0.8, 0.6} vs negatives {0.4, 0.6}: 1 + 1 + 1 + 0.5 (tie) of 4 pairs
    assert auc(Y, P) == pytest.approx(0.875)
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_within_date_auc_averages_dates_with_both_outcomes():
    day = [dt.date(2024, 1, 2), dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    # day 1: (1, 0.8) vs (0, 0.4) -> 1; day 2: (1, 0.6) vs (0, 0.6) -> 0.5; day 3 one class -> skipped
    assert within_date_auc(day, Y + [1], P + [0.1]) == pytest.approx(0.75)


def test_reliability_table_hand_worked():
    # 2 bins: [0, 0.5) holds p 0.4 (y 0); [0.5, 1] holds 0.8, 0.6, 0.6 (y 1, 1, 0)
    table = reliability_table(Y, P, bins=2)
    assert table["n"].to_list() == [1, 3]
    assert table["mean_p"].to_list() == pytest.approx([0.4, 2.0 / 3.0])
    assert table["realised"].to_list() == pytest.approx([0.0, 2.0 / 3.0])
    assert reliability_table([1], [1.0], bins=4)["p_low"].to_list() == [0.75]  # p = 1 in the last bin


@pytest.mark.parametrize("seed", range(3))
def test_scores_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, 300).round(2)  # rounding makes ties
    y = rng.random(300) < p
    assert brier_score(y, p) == pytest.approx(metrics.brier_score_loss(y, p))
    assert log_loss(y, p) == pytest.approx(metrics.log_loss(y, p))
    assert auc(y, p) == pytest.approx(metrics.roc_auc_score(y, p))


def test_month_block_interval():
    # every month separates perfectly, so every resample has AUC 1
    dates = [dt.date(2024, m, 1) for m in (1, 1, 2, 2, 3, 3)]
    assert month_block_auc_interval(dates, [1, 0] * 3, [0.9, 0.1] * 3, n_boot=50) == (1.0, 1.0)
    # one month only: every resample is the sample itself
    low, high = month_block_auc_interval([dt.date(2024, 1, 1)] * 4, Y, P, n_boot=50)
    assert low == pytest.approx(0.875) and high == pytest.approx(0.875)


def test_metalabel_scores_report_the_base_rate_and_months():
    dates = [dt.date(2024, 1, 2), dt.date(2024, 1, 2), dt.date(2024, 2, 1), dt.date(2024, 2, 1)]
    s = metalabel_scores(dates, Y, P, n_boot=20)
    assert (s.n, s.effective_months, s.base_rate) == (4, 2, 0.5)
    assert s.brier_base_rate == pytest.approx(0.25)  # 0.5 * 0.5
    assert s.log_loss_base_rate == pytest.approx(math.log(2))
    assert s.brier == pytest.approx(0.18) and s.auc == pytest.approx(0.875)
    with pytest.raises(ValueError, match="at least one matured prediction"):
        metalabel_scores([], [], [])
