"""Out-of-sample scores of probability forecasts p_j of binary outcomes y_j.

- Brier score  B = mean (p_j - y_j)^2; the base rate's is ybar (1 - ybar).
- log loss     L = -mean [y_j log p_j + (1 - y_j) log(1 - p_j)], p clipped to [eps, 1 - eps].
- AUC          P(p of a random positive > p of a random negative) + 0.5 P(tie), the
               Mann-Whitney statistic (average ranks): (R_+ - n_+(n_+ + 1)/2) / (n_+ n_-).
- within-date AUC: the mean over dates of the AUC across that day's strategies (dates
  with both outcomes only): skill at ranking strategies, free of market-wide swings.
- month-block bootstrap: the labels of one month overlap (21-day windows), so the
  effective sample is months, not rows; an interval resamples whole months with
  replacement (seeded) and takes the AUC's percentiles.
- reliability: predictions binned into equal-width bins of p; mean p vs realised rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import rankdata

_EPS = 1e-15


def brier_score(y, p) -> float:
    """mean (p - y)^2."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return float(np.mean((p - y) ** 2))


def log_loss(y, p) -> float:
    """-mean [y log p + (1 - y) log(1 - p)], p clipped to [1e-15, 1 - 1e-15]."""
    y, p = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auc(y, p) -> float:
    """Mann-Whitney AUC (ties count a half); NaN when y holds one class only."""
    y, p = np.asarray(y, dtype=bool), np.asarray(p, dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def within_date_auc(dates, y, p) -> float:
    """Mean over dates (with both outcomes) of the AUC across that date's rows; NaN if none."""
    frame = pl.DataFrame({"date": dates, "y": np.asarray(y, dtype=bool), "p": np.asarray(p, dtype=float)})
    values = [auc(g["y"].to_numpy(), g["p"].to_numpy()) for _, g in frame.group_by("date")]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def month_block_auc_interval(
    dates, y, p, *, n_boot: int = 1000, level: float = 0.9, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the AUC when whole months (of ``dates``) are resampled with replacement."""
    months = np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]")
    y, p = np.asarray(y, dtype=bool), np.asarray(p, dtype=float)
    distinct, index = np.unique(months, return_inverse=True)
    rows = [np.flatnonzero(index == m) for m in range(len(distinct))]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        take = np.concatenate([rows[m] for m in rng.integers(0, len(distinct), len(distinct))])
        values.append(auc(y[take], p[take]))
    values = np.asarray(values)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def reliability_table(y, p, *, bins: int = 10) -> pl.DataFrame:
    """Per non-empty bin [k/bins, (k+1)/bins) of p (the last closed): n, mean_p, realised."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    k = np.minimum((p * bins).astype(np.int64), bins - 1)
    frame = pl.DataFrame({"bin": k, "y": y, "p": p})
    table = frame.group_by("bin").agg(
        pl.len().cast(pl.Int64).alias("n"), pl.col("p").mean().alias("mean_p"), pl.col("y").mean().alias("realised")
    )
    return (
        table.with_columns((pl.col("bin") / bins).alias("p_low"), ((pl.col("bin") + 1) / bins).alias("p_high"))
        .select("p_low", "p_high", "n", "mean_p", "realised")
        .sort("p_low")
    )


@dataclass(frozen=True)
class MetalabelScores:
    """Scores of matured predictions, with what to compare them with.

    ``effective_months`` is the number of distinct prediction months: the labels of one
    month overlap, so it, not ``n``, is the effective sample.
    """

    n: int
    effective_months: int
    base_rate: float
    brier: float
    brier_base_rate: float
    log_loss: float
    log_loss_base_rate: float
    auc: float
    auc_low: float
    auc_high: float
    within_date_auc: float


def metalabel_scores(dates, y, p, *, n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> MetalabelScores:
    """Every score of predictions p of outcomes y made on ``dates`` (rows aligned)."""
    y = np.asarray(y, dtype=bool)
    if y.size == 0:
        raise ValueError("metalabel_scores needs at least one matured prediction")
    rate = float(y.mean())
    low, high = month_block_auc_interval(dates, y, p, n_boot=n_boot, level=level, seed=seed)
    months = np.unique(np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]"))
    return MetalabelScores(
        n=int(y.size),
        effective_months=int(len(months)),
        base_rate=rate,
        brier=brier_score(y, p),
        brier_base_rate=rate * (1 - rate),
        log_loss=log_loss(y, p),
        log_loss_base_rate=log_loss(y, np.full(y.size, rate)),
        auc=auc(y, p),
        auc_low=low,
        auc_high=high,
        within_date_auc=within_date_auc(dates, y, p),
    )
