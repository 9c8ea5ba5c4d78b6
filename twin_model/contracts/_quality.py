"""Data-quality rules of the raw and models layers that span rows or days, beyond what
one table's schema can say.

Each function returns a list of readable problems (empty when the data is fine), naming
the day and the strategy, so the same rule can stop a write and feed an asset check.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from twin_model.conventions import ParameterSetName


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


def unaccounted_days(
    days: list[dt.date],
    days_with_rows: set[dt.date],
    span: tuple[dt.date, dt.date] | None,
    no_data_days: dict[dt.date, str],
    calendar: str,
) -> list[str]:
    """Business days of a run that the source does not account for.

    Days outside the source's ``span`` (its first to last day of data; None for a source
    that generates any day) are missing, never holidays: one line names each run of them
    before and after the span. A day inside it without rows is accepted only when it is
    one of ``no_data_days`` (the firm's holiday calendar, named ``calendar``); otherwise
    storing it would replace what the warehouse holds with nothing.
    """
    problems = []
    if span is not None:
        first, last = span
        for outside, where in (([d for d in days if d < first], "before"), ([d for d in days if d > last], "after")):
            if outside:
                problems.append(
                    f"{_days_named(outside)}: missing: {where} the source's data, which runs from {first} to {last} "
                    "(rule: a day beyond the data is missing, not a holiday)"
                )
        days = [day for day in days if first <= day <= last]
    return problems + [
        f"day {day}: missing: no rows on this {day.strftime('%A')}, which the holiday calendar "
        f"({calendar}) does not list as a day without data"
        for day in days
        if day not in days_with_rows and day not in no_data_days
    ]


def _days_named(days: list[dt.date]) -> str:
    """ "day D" for one day, else "days FIRST to LAST (N business days)"."""
    return f"day {days[0]}" if len(days) == 1 else f"days {days[0]} to {days[-1]} ({len(days)} business days)"


def missing_factor_days(factors: pl.DataFrame, return_days: list[dt.date], starts: dict[str, dt.date]) -> list[str]:
    """Days with strategy returns on which a factor that had begun has no return.

    ``starts`` maps each factor the source has to its first day with a return (before
    it, the factor did not exist: alpha over the others). From that day on, every day in
    ``return_days`` needs a row of the factor in ``factors``; one line names each factor
    and its missing days (the first five, and how many more), since a strategy's alpha on a day
    without its factors would be measured over less than the firm asked for.
    """
    present = set(factors.select("date", "factor_id").iter_rows())
    problems = []
    for factor_id, start in sorted(starts.items()):
        missing = [day for day in return_days if day >= start and (day, factor_id) not in present]
        if missing:
            problems.append(
                f"{_listed(missing)}, factor {factor_id}: missing: strategy returns but no factor return "
                f"(rule: a factor has a return on every day with strategy returns from its first day, {start})"
            )
    return problems


def _listed(days: list[dt.date], shown: int = 5) -> str:
    """ "day D" for one day, else "days D1, D2, ... (and N more)"."""
    if len(days) == 1:
        return f"day {days[0]}"
    more = f" and {len(days) - shown} more" if len(days) > shown else ""
    return "days " + ", ".join(str(day) for day in days[:shown]) + more


def unknown_position_strategies(positions: pl.DataFrame, returns: pl.DataFrame) -> list[str]:
    """Position rows whose (date, strategy_id) has no strategy return that day."""
    known = returns.select("date", "strategy_id").unique()
    orphans = positions.join(known, on=["date", "strategy_id"], how="anti").select("date", "strategy_id").unique()
    return [
        f"day {day}, strategy {strategy_id}: positions given for a strategy with no return that day "
        "(rule: positions only for known strategies)"
        for day, strategy_id in orphans.sort("date", "strategy_id").iter_rows()
    ]


def unusable_fits(posteriors: pl.DataFrame) -> list[str]:
    """Rows whose fit did not converge and carry no fallback: they must not be used."""
    bad = posteriors.filter(~pl.col("converged") & pl.col("fallback_reason").is_null())
    return [
        f"day {day}, strategy {sid}: fit did not converge (R-hat {rhat}, ESS {ess}) and no fallback was recorded"
        for day, sid, rhat, ess in bad.select("date", "strategy_id", "rhat_max", "ess_bulk_min").iter_rows()
    ]


POSTERIOR_BOUNDS = {
    "vol_mean": (0.0, 0.5),
    "sharpe_mean": (-10.0, 10.0),
    "beta_mean": (-5.0, 5.0),
    "daily_mean_mean": (-0.05, 0.05),
}
"""Plausible ranges of daily posterior means (vol and mean daily, Sharpe annual)."""


def implausible_posteriors(posteriors: pl.DataFrame) -> list[str]:
    """Posterior summaries outside ``POSTERIOR_BOUNDS``, a regressor's mean beta (in
    ``factor_betas``) outside the ``beta_mean`` bounds, or a tail df not above 2."""
    problems = []
    for column, (low, high) in POSTERIOR_BOUNDS.items():
        outside = posteriors.filter(~pl.col(column).is_between(low, high, closed="none"))
        problems += [
            f"day {day}, strategy {sid}: {column} = {value:.4g} outside ({low:g}, {high:g})"
            for day, sid, value in outside.select("date", "strategy_id", column).iter_rows()
        ]
    low, high = POSTERIOR_BOUNDS["beta_mean"]
    for day, sid, betas in posteriors.select("date", "strategy_id", "factor_betas").iter_rows():
        problems += [
            f"day {day}, strategy {sid}: beta on {factor} = {value:.4g} outside ({low:g}, {high:g})"
            for factor, value in json.loads(betas).items()
            if not low < value < high
        ]
    heavy = posteriors.filter(~(pl.col("nu_mean") > 2))
    problems += [
        f"day {d}, strategy {s}: tail df {v} not above 2"
        for d, s, v in heavy.select("date", "strategy_id", "nu_mean").iter_rows()
    ]
    return problems


def forecasts_without_usable_fit(forecasts: pl.DataFrame, posteriors: pl.DataFrame) -> list[str]:
    """Model forecasts for a strategy whose fit that day was not usable (not converged)."""
    usable = posteriors.filter(pl.col("converged")).select("date", "strategy_id")
    model = forecasts.filter(pl.col("parameter_set") == ParameterSetName.POSTERIOR.value)
    orphans = model.join(usable, on=["date", "strategy_id"], how="anti").select("date", "strategy_id")
    return [f"day {d}, strategy {s}: forecast without a usable fit" for d, s in orphans.iter_rows()]
