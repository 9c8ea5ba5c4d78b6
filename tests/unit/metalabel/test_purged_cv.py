"""PurgedDateKFold against hand-worked folds, random examples (checked pair by pair), and
as a scikit-learn cv=."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from twin_model.metalabel import PurgedDateKFold

d = dt.date
# index: date, window_end
SAMPLES = [
    (d(2024, 1, 10), d(2024, 1, 25)),  # 0
    (d(2024, 1, 20), d(2024, 2, 4)),  # 1
    (d(2024, 2, 10), d(2024, 2, 25)),  # 2 strategy a
    (d(2024, 2, 10), d(2024, 2, 12)),  # 3 strategy b, same date
    (d(2024, 2, 20), d(2024, 3, 12)),  # 4
    (d(2024, 3, 10), d(2024, 3, 25)),  # 5
    (d(2024, 3, 20), d(2024, 4, 4)),  # 6
    (d(2024, 4, 10), d(2024, 4, 25)),  # 7
    (d(2024, 4, 20), d(2024, 5, 5)),  # 8
]
DATES = [s for s, _ in SAMPLES]
ENDS = [e for _, e in SAMPLES]
# observed days (distinct sample dates): Jan10 Jan20 Feb10 Feb20 Mar10 Mar20 Apr10 Apr20


def test_hand_worked_folds_with_embargo_one_day():
    # 4 months, 4 folds: one month a fold.
    # Jan test {0,1}: windows [Jan10,Jan25] u [Jan20,Feb4] = [Jan10,Feb4]; nothing else starts
    #   before Feb10, so nothing is purged; embargo: the first observed day after Feb4 is Feb10
    #   -> drop 2 and 3 (both dated Feb10). Train 4..8.
    # Feb test {2,3,4}: union [Feb10,Mar12]; 5 [Mar10,Mar25] overlaps -> purged; 1 ends Feb4 < Feb10.
    #   Embargo: first observed day after Mar12 is Mar20 -> drop 6. Train 0,1,7,8.
    # Mar test {5,6}: union [Mar10,Apr4]; 4 [Feb20,Mar12] overlaps -> purged; embargo: Apr10 -> drop 7.
    #   Train 0,1,2,3,8.
    # Apr test {7,8}: union [Apr10,May5]; 6 ends Apr4 -> kept; no observed day after May5.
    #   Train 0..6.
    cv = PurgedDateKFold(n_splits=4, embargo=1, dates=DATES, window_ends=ENDS)
    folds = [(list(tr), list(te)) for tr, te in cv.split(np.zeros((9, 1)))]
    assert folds == [
        ([4, 5, 6, 7, 8], [0, 1]),
        ([0, 1, 7, 8], [2, 3, 4]),
        ([0, 1, 2, 3, 8], [5, 6]),
        ([0, 1, 2, 3, 4, 5, 6], [7, 8]),
    ]
    assert cv.get_n_splits() == 4


def test_hand_worked_folds_without_embargo_and_two_month_blocks():
    # 2 folds: months {Jan, Feb} then {Mar, Apr}.
    # Test {0..4}: union [Jan10, Mar12]; 5 [Mar10,..] overlaps -> purged; 6.. kept. Train 6,7,8.
    # Test {5..8}: union [Mar10, May5]; 4 [Feb20,Mar12] overlaps -> purged. Train 0..3.
    cv = PurgedDateKFold(n_splits=2, embargo=0, dates=DATES, window_ends=ENDS)
    folds = [(list(tr), list(te)) for tr, te in cv.split(np.zeros((9, 1)))]
    assert folds == [([6, 7, 8], [0, 1, 2, 3, 4]), ([0, 1, 2, 3], [5, 6, 7, 8])]


def _random_example(rng) -> tuple[np.ndarray, np.ndarray]:
    """Several strategies on a business-day grid; windows of 3..30 observed days."""
    days = np.arange(np.datetime64("2023-01-02"), np.datetime64("2023-12-29"))
    days = days[np.is_busday(days)]
    starts, ends = [], []
    for _ in range(int(rng.integers(2, 5))):
        own = np.sort(rng.choice(len(days), size=int(rng.integers(60, 200)), replace=False))
        for j in range(len(own) - 30):
            starts.append(days[own[j]])
            ends.append(days[own[j + int(rng.integers(1, 30))]])
    return np.array(starts), np.array(ends)


@pytest.mark.parametrize("seed", range(8))
def test_no_training_window_overlaps_a_test_window_and_embargo_holds(seed):
    rng = np.random.default_rng(seed)
    start, end = _random_example(rng)
    embargo = int(rng.integers(0, 6))
    cv = PurgedDateKFold(n_splits=int(rng.integers(2, 6)), embargo=embargo, dates=start, window_ends=end)
    calendar = np.unique(start)
    seen_test = []
    for train, test in cv.split(start):
        seen_test.append(test)
        # no overlap, checked pair by pair (closed intervals)
        overlap = (start[train][:, None] <= end[test][None, :]) & (start[test][None, :] <= end[train][:, None])
        assert not overlap.any()
        # embargo: no training date among the first `embargo` observed days after the test windows' last end
        last = end[test].max()
        banned = calendar[calendar > last][:embargo]
        assert not np.isin(start[train], banned).any()
        # and nothing else is dropped: every sample outside test, not overlapping, not embargoed, is trained on
        others = np.setdiff1d(np.arange(len(start)), test)
        clash = ((start[others][:, None] <= end[test][None, :]) & (start[test][None, :] <= end[others][:, None])).any(1)
        expected = others[~clash & ~np.isin(start[others], banned)]
        assert np.array_equal(train, expected)
        # folds are whole dates: a test date has no row in training
        assert not np.isin(start[train], start[test]).any()
    assert np.array_equal(np.sort(np.concatenate(seen_test)), np.arange(len(start)))


def test_groups_carry_the_windows_when_not_given_at_construction():
    cv = PurgedDateKFold(n_splits=4, embargo=1)
    groups = np.array(SAMPLES, dtype="datetime64[D]")
    first_train, _ = next(cv.split(np.zeros((9, 1)), groups=groups))
    assert list(first_train) == [4, 5, 6, 7, 8]
    with pytest.raises(ValueError, match="label windows"):
        next(cv.split(np.zeros((9, 1))))
    with pytest.raises(ValueError, match="holds 9 label windows but X has 5 rows"):
        next(PurgedDateKFold(4, 1, DATES, ENDS).split(np.zeros((5, 1))))
    with pytest.raises(ValueError, match="4 distinct months cannot make 5 folds"):
        next(PurgedDateKFold(5, 1, DATES, ENDS).split(np.zeros((9, 1))))


def test_works_as_cv_in_scikit_learn_tools():
    rng = np.random.default_rng(0)
    days = np.arange(np.datetime64("2023-01-02"), np.datetime64("2023-12-29"))
    days = days[np.is_busday(days)]
    start = np.repeat(days[:-5], 3)  # three strategies a day, windows of five days
    end = np.repeat(days[5:], 3)
    X = rng.standard_normal((len(start), 2))
    y = (X[:, 0] + rng.standard_normal(len(start)) > 0).astype(int)
    cv = PurgedDateKFold(n_splits=3, embargo=2, dates=start, window_ends=end)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring="neg_log_loss")
    assert len(scores) == 3 and np.all(np.isfinite(scores))
    grid = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv, scoring="neg_log_loss").fit(X, y)
    assert grid.best_params_["C"] in (0.1, 1.0)
    calibrated = CalibratedClassifierCV(LogisticRegression(), method="sigmoid", cv=cv).fit(X, y)
    assert len(calibrated.calibrated_classifiers_) == 3
    # with routed groups instead of stored windows, GridSearchCV gives the same folds
    grouped = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=PurgedDateKFold(3, 2), scoring="neg_log_loss")
    grouped.fit(X, y, groups=np.stack([start, end], axis=1))
    assert grouped.cv_results_["mean_test_score"] == pytest.approx(grid.cv_results_["mean_test_score"])
