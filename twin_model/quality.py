"""Data-quality rules that span rows or days, beyond what one table's schema can say.

Each function returns a list of readable problems (empty when the data is fine), naming
the day and the strategy, so the same rule can stop a write and feed an asset check.
"""

from __future__ import annotations

import datetime as dt

import polars as pl


def vanished_strategies(returns: pl.DataFrame, previous: tuple[dt.date, set[str]] | None = None) -> list[str]:
    """Strategies delivered on one data day and missing from the next data day.

    A strategy that stops trading must still be delivered, with ``available`` False;
    silently dropping it would look like a flat day downstream. ``previous`` is the last
    data day before ``returns`` and the strategies delivered on it. Days with no rows at
    all (holidays) are skipped: they carry no information either way.
    """
    problems = []
    by_day = returns.group_by("date").agg(pl.col("strategy_id").unique()).sort("date")
    last_day, last_ids = previous if previous else (None, set())
    for day, ids in by_day.iter_rows():
        current = set(ids)
        for strategy_id in sorted(last_ids - current):
            problems.append(
                f"day {day}, strategy {strategy_id}: delivered on {last_day} but missing on {day} "
                "(rule: a strategy that did not trade must be delivered with available=false)"
            )
        last_day, last_ids = day, current
    return problems


def unknown_position_strategies(positions: pl.DataFrame, returns: pl.DataFrame) -> list[str]:
    """Position rows whose (date, strategy_id) has no strategy return that day."""
    known = returns.select("date", "strategy_id").unique()
    orphans = positions.join(known, on=["date", "strategy_id"], how="anti").select("date", "strategy_id").unique()
    return [
        f"day {day}, strategy {strategy_id}: positions given for a strategy with no return that day "
        "(rule: positions only for known strategies)"
        for day, strategy_id in orphans.sort("date", "strategy_id").iter_rows()
    ]
