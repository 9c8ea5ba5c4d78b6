"""A purged, embargoed K-fold over dates, for samples that are (date, strategy) rows whose
labels span a window of days.

Sample j has the label window [t_j, e_j] (its date and its label's ``window_end``). The
distinct months of the t_j, in order, are cut into ``n_splits`` contiguous blocks; test
fold k holds every sample whose month is in block k (all strategies of a date fall in the
same fold). Its training set is every other sample, minus

- purging: a sample whose window [t_j, e_j] intersects any test sample's window
  (closed intervals: sharing a day is an overlap);
- embargo: a sample whose date t_j falls in (b, c], where b is the test block's last
  window end and c the ``embargo``-th observed day after b, observed days being the
  distinct sample dates (every later sample when fewer remain).

Unlike skfolio's ``CombinatorialPurgedCV`` (row counts along one time axis), this works with
many samples per date, and ``split`` yields (train_idx, test_idx) pairs, so an instance is a
scikit-learn ``cv=`` (cross_val_score, GridSearchCV, CalibratedClassifierCV).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def _as_days(values) -> np.ndarray:
    """Dates (datetime.date, numpy datetime64, polars Series) as int64 day numbers."""
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64)


class PurgedDateKFold:
    """K-fold over contiguous month blocks with purging and an embargo (module docstring).

    The label windows come from ``dates`` and ``window_ends`` (aligned with the rows of X)
    given here, or from ``groups`` passed to ``split`` as an (n, 2) array of (date,
    window_end): scikit-learn tools that do not route ``groups`` (CalibratedClassifierCV
    without metadata routing) then still purge.
    """

    def __init__(self, n_splits: int = 4, embargo: int = 5, dates=None, window_ends=None):
        if n_splits < 2:
            raise ValueError(f"n_splits must be >= 2, got {n_splits}")
        if embargo < 0:
            raise ValueError(f"embargo must be >= 0 observed days, got {embargo}")
        if (dates is None) != (window_ends is None):
            raise ValueError("give both dates and window_ends, or neither (then pass groups to split)")
        self.n_splits = n_splits
        self.embargo = embargo
        self._times = None if dates is None else (_as_days(dates), _as_days(window_ends))

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of folds (``n_splits``)."""
        return self.n_splits

    def _label_times(self, n: int, groups) -> tuple[np.ndarray, np.ndarray]:
        if groups is not None:
            g = np.asarray(groups)
            if g.ndim != 2 or g.shape[1] != 2:
                raise ValueError(f"groups must be an (n, 2) array of (date, window_end), got shape {g.shape}")
            start, end = _as_days(g[:, 0]), _as_days(g[:, 1])
        elif self._times is not None:
            start, end = self._times
        else:
            raise ValueError("PurgedDateKFold needs the label windows: dates/window_ends or groups")
        if len(start) != n:
            raise ValueError(f"PurgedDateKFold holds {len(start)} label windows but X has {n} rows")
        if np.any(end < start):
            bad = int(np.flatnonzero(end < start)[0])
            raise ValueError(f"row {bad}: window_end precedes date")
        return start, end

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train_idx, test_idx) for each month block, purged and embargoed."""
        start, end = self._label_times(len(X), groups)
        months = start.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        distinct = np.unique(months)
        if len(distinct) < self.n_splits:
            raise ValueError(f"{len(distinct)} distinct months cannot make {self.n_splits} folds")
        calendar = np.unique(start)
        for block in np.array_split(distinct, self.n_splits):
            test = np.isin(months, block)
            keep = ~test & ~_overlaps(start, end, start[test], end[test])
            keep &= ~_embargoed(start, end[test].max(), calendar, self.embargo)
            yield np.flatnonzero(keep), np.flatnonzero(test)


def _overlaps(start: np.ndarray, end: np.ndarray, test_start: np.ndarray, test_end: np.ndarray) -> np.ndarray:
    """Whether each [start, end] intersects any [test_start, test_end] (closed intervals).

    The test windows are merged into disjoint intervals [a_m, b_m]; [s, e] meets one iff
    the first merged interval with b_m >= s has a_m <= e."""
    order = np.argsort(test_start)
    a, b = test_start[order], np.maximum.accumulate(test_end[order])
    new = np.r_[True, a[1:] > b[:-1]]
    merged_a = a[new]
    merged_b = b[np.r_[np.flatnonzero(new)[1:] - 1, len(b) - 1]]
    k = np.searchsorted(merged_b, start, side="left")
    inside = k < len(merged_a)
    hit = np.zeros(len(start), dtype=bool)
    hit[inside] = merged_a[k[inside]] <= end[inside]
    return hit


def _embargoed(start: np.ndarray, block_end: int, calendar: np.ndarray, embargo: int) -> np.ndarray:
    """Whether each date falls in (block_end, the embargo-th calendar day after block_end]."""
    if embargo == 0:
        return np.zeros(len(start), dtype=bool)
    after = calendar[calendar > block_end]
    last = after[min(embargo, len(after)) - 1] if len(after) else block_end
    return (start > block_end) & (start <= last)
