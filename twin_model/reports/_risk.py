"""The risk page's data: exposure against limits, correlation of the strategies, risk
contribution per strategy and the violation log with its lifecycle."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

CORRELATION_DAYS = 252
"""Trailing observed days of the strategies' correlation matrix."""


def correlation(strategy_returns: pl.DataFrame, as_of: dt.date, days: int = CORRELATION_DAYS) -> pl.DataFrame:
    """strategy_id x strategy_id correlation of daily returns over the last ``days``
    dates up to ``as_of``, each pair over the days both observed (pairwise complete).
    Columns: strategy_id, then one per strategy; a pair with fewer than 3 common days is null."""
    recent = strategy_returns.filter(pl.col("date") <= as_of)
    dates = recent.get_column("date").unique().sort().tail(days)
    wide = (
        recent.filter(pl.col("date").is_in(dates.implode()))
        .pivot(on="strategy_id", index="date", values="ret")
        .sort("date")
    )
    ids = sorted(c for c in wide.columns if c != "date")
    matrix = wide.select(ids).to_numpy().astype(float) if ids else np.empty((0, 0))
    out = np.full((len(ids), len(ids)), np.nan)
    for i in range(len(ids)):
        for j in range(i, len(ids)):
            both = np.isfinite(matrix[:, i]) & np.isfinite(matrix[:, j])
            if both.sum() >= 3 and np.std(matrix[both, i]) > 0 and np.std(matrix[both, j]) > 0:
                out[i, j] = out[j, i] = float(np.corrcoef(matrix[both, i], matrix[both, j])[0, 1])
    columns = {"strategy_id": ids} | {sid: [None if np.isnan(v) else v for v in out[:, k]] for k, sid in enumerate(ids)}
    return pl.DataFrame(columns, schema={"strategy_id": pl.String} | {sid: pl.Float64 for sid in ids})


def risk_contributions(attribution: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """solution_id, strategy_id, weight_close, risk_contribution_pct on ``as_of`` (rows
    without a risk contribution left out)."""
    return (
        attribution.filter(pl.col("date") == as_of)
        .drop_nulls("risk_contribution_pct")
        .select("solution_id", "strategy_id", "weight_close", "risk_contribution_pct")
        .sort("solution_id", "strategy_id")
    )


def violation_log(violations: pl.DataFrame) -> pl.DataFrame:
    """One row per violation (solution, level, rule, subject, opened_date): its severity
    and action, first and last day seen, days seen, the worst value against its limit,
    the last status and when it was resolved (null while open). Newest first."""
    keys = ["solution_id", "level", "rule", "subject", "opened_date"]
    if violations.height == 0:
        return pl.DataFrame(
            schema={
                **{k: violations.schema[k] for k in keys},
                "severity": pl.String,
                "action": pl.String,
                "first_seen": pl.Date,
                "last_seen": pl.Date,
                "days_seen": pl.UInt32,
                "worst_value": pl.Float64,
                "limit_value": pl.Float64,
                "status": pl.String,
                "resolved_date": pl.Date,
            }
        )
    return (
        violations.sort("date")
        .group_by(keys, maintain_order=True)
        .agg(
            severity=pl.col("severity").last(),
            action=pl.col("action").last(),
            first_seen=pl.col("date").min(),
            last_seen=pl.col("date").max(),
            days_seen=pl.len(),
            worst_value=pl.col("value").min(),
            limit_value=pl.col("limit_value").last(),
            status=pl.col("status").last(),
            resolved_date=pl.col("resolved_date").drop_nulls().last(),
        )
        .sort("opened_date", "solution_id", "rule", descending=[True, False, False])
    )
