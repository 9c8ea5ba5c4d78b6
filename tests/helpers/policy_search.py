"""Hand-built month-end situations for the policy-search tests: a base day's information
(history, pool, moments, valleys) of N synthetic strategies and the next month's days."""

from __future__ import annotations

import datetime as dt

import numpy as np

from twin_model.calendar import business_days
from twin_model.solution import DayInputs, SolutionRules
from twin_model.twin.search import SimulatedMonth, month_days

BASE_DAY = dt.date(2024, 1, 31)


def base_inputs(
    n: int, rows: int = 60, seed: int = 3, sharpe: list[float] | None = None, day: dt.date = BASE_DAY
) -> DayInputs:
    """A month-end ``DayInputs``: ``rows`` observed days of N(0.0003, 0.01) returns, every
    strategy in the pool, two sectors, expected returns 5% .. 15%."""
    rng = np.random.default_rng(seed)
    dates = tuple(business_days(day - dt.timedelta(days=rows * 2), day)[-rows:])
    ids = tuple(f"s{i:02d}" for i in range(n))
    mu = np.linspace(0.05, 0.15, n)
    return DayInputs(
        day=day,
        strategy_ids=ids,
        history_dates=dates,
        history=rng.normal(0.0003, 0.01, size=(rows, n)),
        in_pool={s: True for s in ids},
        sectors={s: ("equity_a" if i % 2 else "equity_b") for i, s in enumerate(ids)},
        asset_classes={s: "equity" for s in ids},
        expected_return=dict(zip(ids, mu)),
        expected_return_sd={s: 0.02 for s in ids},
        sharpe=dict(zip(ids, sharpe if sharpe is not None else np.linspace(-0.2, 1.5, n))),
        valley={},
    )


def month(base: DayInputs, horizon: int = 21, valley: float | None = -0.02) -> SimulatedMonth:
    """The ``horizon`` business days after the base day, every strategy simulated, one
    valley for all (None: no valley rule)."""
    valleys = {} if valley is None else {s: valley for s in base.strategy_ids}
    return SimulatedMonth(base, month_days(base.day, horizon), base.strategy_ids, valleys)


def rules(**kw) -> SolutionRules:
    """A solution launched before the base day; keyword arguments override its rules."""
    given = dict(solution_id="test", launch_date=dt.date(2023, 1, 2), initial_aum=1e8, policy_kind="static")
    given.update(kw)
    return SolutionRules(**given)
