"""Data-quality rules of the portfolio layer: what the six ``portfolio.*`` tables of the
solution level must say together, beyond what each table's schema can say.

Each function returns one readable line per problem (empty when the rows are fine),
naming the row by its keys, so the same rule can feed an asset check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from twin_model.conventions import StrategyStatus, Tier

TOL = 1e-8
"""Slack allowed on the identities between stored weights and money."""


def _rows(frame: pl.DataFrame, column: str) -> list[str]:
    keys = [k for k in ("date", "solution_id", "strategy_id") if k in frame.columns]
    return [", ".join(f"{k}={row[k]}" for k in keys) + f": {row[column]}" for row in frame.iter_rows(named=True)]


def constraint_problems(optimizations: pl.DataFrame) -> list[str]:
    """Solution-days whose final targets broke the solution's constraints (their ``violations``)."""
    return _rows(optimizations.filter(~pl.col("constraints_satisfied")), "violations")


def targets_sum_problems(weights: pl.DataFrame, optimizations: pl.DataFrame) -> list[str]:
    """sum(target) = target_exposure - cash_pauses - cash_risk - cash_other, per solution-day."""
    sums = weights.group_by("date", "solution_id").agg(targets=pl.col("weight_target").sum())
    joined = optimizations.join(sums, on=["date", "solution_id"], how="left").with_columns(
        pl.col("targets").fill_null(0.0)
    )
    expected = pl.col("target_exposure") - pl.col("cash_pauses") - pl.col("cash_risk") - pl.col("cash_other")
    bad = joined.filter((pl.col("targets") - expected).abs() > TOL).with_columns(
        problem=pl.format("targets sum to {} but exposure less cash is {}", pl.col("targets"), expected)
    )
    return _rows(bad, "problem")


def bound_problems(weights: pl.DataFrame, configs: Mapping[str, Any]) -> list[str]:
    """Targets outside [0, max weight], and full-size targets below min weight; ``configs``
    maps each solution_id to its config (``constraints.min_weight``, ``constraints.max_weight``)."""
    problems = []
    for row in weights.filter(pl.col("weight_target") != 0).iter_rows(named=True):
        constraints = configs[row["solution_id"]].constraints
        t, where = (
            row["weight_target"],
            f"date={row['date']}, solution_id={row['solution_id']}, strategy_id={row['strategy_id']}",
        )
        if t < -TOL or t > constraints.max_weight + TOL:
            problems.append(f"{where}: target {t:.6g} outside [0, {constraints.max_weight:g}]")
        elif row["target_scale"] == 1 and t < constraints.min_weight - TOL:
            problems.append(f"{where}: full-size target {t:.6g} below min weight {constraints.min_weight:g}")
    return problems


def selection_problems(weights: pl.DataFrame) -> list[str]:
    """Targets on a strategy that is not active, or not selectable (tier none)."""
    bad = weights.filter(
        (pl.col("weight_target") != 0)
        & ((pl.col("status") != StrategyStatus.ACTIVE.value) | (pl.col("tier") == Tier.NONE.value))
    ).with_columns(
        problem=pl.format("target {} on a strategy with status {} (tier {})", "weight_target", "status", "tier")
    )
    return _rows(bad, "problem")


def aum_problems(performance: pl.DataFrame) -> list[str]:
    """The money identities of each row and their continuity from the previous row:
    ``aum = aum_start + gav_start x daily_return + cash_interest - costs - fees + flows``,
    ``fees = management_fee + performance_fee_charge``, ``gross_return = daily_return +
    (cash_interest - costs) / gav_start``; ``aum_start`` is the previous aum, ``gav_start``
    the previous aum plus the previous performance-fee balance, ``costs`` the previous
    pending costs."""
    ordered = performance.sort("solution_id", "date").with_columns(
        previous_aum=pl.col("aum").shift(1).over("solution_id"),
        previous_gav=(pl.col("aum") + pl.col("performance_fee_balance")).shift(1).over("solution_id"),
        previous_pending=pl.col("pending_costs").shift(1).over("solution_id"),
    )
    scale = pl.max_horizontal(pl.col("aum").abs(), pl.lit(1.0))
    identity = (
        pl.col("aum_start")
        + pl.col("gav_start") * pl.col("daily_return")
        + pl.col("cash_interest")
        - pl.col("costs")
        - pl.col("fees")
        + pl.col("flows")
    )
    gross = pl.col("daily_return") + (pl.col("cash_interest") - pl.col("costs")) / pl.col("gav_start")
    fees = pl.col("management_fee") + pl.col("performance_fee_charge")
    checks = [
        (
            (pl.col("aum") - identity).abs() > TOL * scale,
            pl.format(
                "aum {} != aum_start + gav_start x return + cash_interest - costs - fees + flows = {}", "aum", identity
            ),
        ),
        (
            (pl.col("fees") - fees).abs() > TOL * scale,
            pl.format("fees {} != management + performance charge {}", "fees", fees),
        ),
        ((pl.col("gross_return") - gross).abs() > TOL, pl.format("gross_return {} != {}", "gross_return", gross)),
    ]
    problems = []
    for bad, problem in checks:
        problems += _rows(ordered.filter(bad).with_columns(problem=problem), "problem")
    carried = ordered.filter(pl.col("previous_aum").is_not_null() & ~pl.col("cold_start"))
    for column, previous, what in (
        ("aum_start", "previous_aum", "previous aum"),
        ("gav_start", "previous_gav", "previous aum + performance_fee_balance"),
        ("costs", "previous_pending", "previous pending costs"),
    ):
        problems += _rows(
            carried.filter((pl.col(column) - pl.col(previous)).abs() > TOL * scale).with_columns(
                problem=pl.format(f"{column} {{}} != {what} {{}}", column, previous)
            ),
            "problem",
        )
    return problems


def contribution_problems(attribution: pl.DataFrame, performance: pl.DataFrame) -> list[str]:
    """Solution-days whose return contributions do not sum to the daily return."""
    sums = attribution.group_by("date", "solution_id").agg(total=pl.col("return_contribution").sum())
    joined = performance.join(sums, on=["date", "solution_id"], how="left").with_columns(pl.col("total").fill_null(0.0))
    bad = joined.filter((pl.col("total") - pl.col("daily_return")).abs() > 1e-12).with_columns(
        problem=pl.format("contributions sum to {} but the daily return is {}", "total", "daily_return")
    )
    return _rows(bad, "problem")


def order_problems(orders: pl.DataFrame, weights: pl.DataFrame) -> list[str]:
    """Orders that do not move their strategy from the stored held weight to the stored target."""
    joined = orders.join(
        weights.select(
            "date", "solution_id", "strategy_id", held="weight_held", target="weight_target", close="weight_close"
        ),
        on=["date", "solution_id", "strategy_id"],
        how="left",
    )
    bad = joined.filter(
        pl.col("target").is_null()
        | ((pl.col("weight_held") - pl.col("held")).abs() > TOL)
        | ((pl.col("weight_target") - pl.col("target")).abs() > TOL)
        | ((pl.col("close") - pl.col("target")).abs() > TOL)
        | ((pl.col("trade_weight") - (pl.col("weight_target") - pl.col("weight_held"))).abs() > TOL)
    ).with_columns(problem=pl.lit("order does not move the held weight to the stored target"))
    return _rows(bad, "problem")
