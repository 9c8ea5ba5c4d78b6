"""Strategies their factors replicate (twin_model.strategy._replication): found by the
median residual of their days that are not flat, fitted by the exact conjugate model, kept
out of the NUTS model and out of the rolling anchor.

The numbers are derived by hand: the median of |N(0, s)| is 0.6745 s (the normal's 75%
quantile), so a tracking error of 0.5% of the return's sd has a median absolute residual
of 0.34% of it and one of 3% a median of 2.0%, on either side of the 1% tolerance; the
sleeve's count of days that are not flat is its count of invested days by construction;
the exact posterior mean is the normal-inverse-gamma formula worked here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.helpers.anchors import anchor_rows, weekdays
from twin_model.conventions import FitMethod
from twin_model.strategy import (
    REPLICATED,
    Anchor,
    FitSettings,
    ReturnWindow,
    RollingFitter,
    StrategyModelFitter,
    conjugate_fit,
    replicated,
    stored_anchor,
)

T = 300
COST = 0.0005
NORMAL_NU = 1e8


def _factors(rng, t: int = T) -> np.ndarray:
    """A benchmark and one spread over it, ``[t, 2]``."""
    return np.column_stack([rng.normal(0.0004, 0.01, t), rng.normal(0.0, 0.004, t)])


def _sleeve(factors: np.ndarray) -> tuple[np.ndarray, int]:
    """Invested in benchmark + spread (the factor ETF) for 20 days, in cash for 20, ...,
    paying ``COST`` on each switch: ``r_t = s_t f_t - COST |s_t - s_(t-1)|``. Returns the
    returns and the number of invested days."""
    t = factors.shape[0]
    invested = (np.arange(t) // 20) % 2 == 0
    switched = np.abs(np.diff(invested.astype(float), prepend=1.0))
    return np.where(invested, factors.sum(axis=1), 0.0) - COST * switched, int(invested.sum())


def _window(returns: np.ndarray, factors: np.ndarray | None, ids, dates=None) -> ReturnWindow:
    dates = dates or weekdays(returns.shape[0])
    if factors is None:
        return ReturnWindow(tuple(ids), dates, returns)
    return ReturnWindow(
        tuple(ids), dates, returns, factors=factors, factor_ids=("SP500", "ETF-SP500"), benchmark_id="SP500"
    )


def _hand_nig_mean(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``mn = (V0^-1 + X'X)^-1 X'y`` with ``V0 = diag(1, 1e4, ..)`` (prior mean 0)."""
    v0_inv = np.diag(1.0 / np.array([1.0] + [1.0e4] * (x.shape[1] - 1)))
    return np.linalg.solve(v0_inv + x.T @ x, x.T @ y)


def test_a_factor_sleeve_and_a_tight_tracker_are_replicated_a_loose_tracker_and_a_strategy_are_not():
    rng = np.random.default_rng(1)
    f = _factors(rng)
    etf = f.sum(axis=1)
    sleeve, invested = _sleeve(f)
    tight = etf + rng.normal(0.0, 0.005 * etf.std(), T)
    loose = etf + rng.normal(0.0, 0.03 * etf.std(), T)
    strategy = 0.0003 + 0.8 * f[:, 0] + rng.normal(0.0, 0.008, T)
    window = _window(np.column_stack([sleeve, tight, loose, strategy]), f, ["sleeve", "tight", "loose", "strategy"])

    found = replicated(window, 0.01)
    assert sorted(found) == ["sleeve", "tight"]
    assert found["sleeve"].startswith(REPLICATED) and f"on {invested} days" in found["sleeve"]
    assert f"on {T} days" in found["tight"]  # no flat day
    assert replicated(window, 0.0) == {}  # the test off
    assert replicated(window, 0.05).keys() == {"sleeve", "tight", "loose"}  # loose: ~2.0% <= 5%
    no_factors = _window(window.returns, None, window.strategy_ids)
    assert replicated(no_factors, 0.01) == {}


def test_a_mostly_flat_strategy_has_too_few_days_to_be_called_replicated():
    rng = np.random.default_rng(2)
    f = _factors(rng)
    returns = np.zeros(T)
    returns[:19] = f[:19].sum(axis=1)  # 19 invested days: below MIN_ACTIVE_DAYS = 20
    assert replicated(_window(returns[:, None], f, ["rare"]), 0.01) == {}


def test_select_keeps_the_order_and_renumbers_blocks_a_sector_of_one_becoming_its_own_block():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0, 0.01, (30, 4))
    window = ReturnWindow(
        ("a", "b", "c", "d"), weekdays(30), returns, blocks=np.array([0, 0, 1, 1]), block_names=("tech", "energy")
    )
    part = window.select(["d", "a", "c"])
    assert part.strategy_ids == ("a", "c", "d")
    np.testing.assert_array_equal(part.returns, returns[:, [0, 2, 3]])
    assert part.block_names[part.blocks[0]] == "tech" and part.block_sizes.tolist() == [1, 2, 2]
    assert part.block_names[part.blocks[1]] == "energy"
    assert window.select(["c", "d"], shared=False).block_sizes.tolist() == [1, 1]


def _sleeve_window(seed: int, t: int = 120) -> ReturnWindow:
    """Two normal strategies s0, s1 (alpha over the factors, beta 0.5) and a factor sleeve."""
    rng = np.random.default_rng(seed)
    f = _factors(rng, t)
    others = 0.0004 + 0.5 * f[:, :1] + rng.normal(0.0, 0.01, (t, 2))
    return _window(np.column_stack([others, _sleeve(f)[0]]), f, ["s0", "s1", "sleeve"])


def _next_day(window: ReturnWindow, rng) -> ReturnWindow:
    """The window moved by one day: a new day of factors, of normal returns and of the sleeve (cash)."""
    f = np.vstack([window.factors[1:], _factors(rng, 1)])
    r = np.vstack([window.returns[1:], np.append(0.0004 + 0.5 * f[-1, 0] + rng.normal(0.0, 0.01, 2), 0.0)])
    dates = window.dates[1:] + weekdays(1, window.dates[-1] + dt.timedelta(days=1))
    return _window(r, f, window.strategy_ids, dates)


def test_rolling_reweights_the_modelled_strategies_and_fits_the_replicated_one_exactly_each_day():
    settings = FitSettings(draws=300, chains=1, method=FitMethod.CONJUGATE)
    rolling = RollingFitter(StrategyModelFitter(settings))
    day1 = _sleeve_window(4)
    modelled = day1.select(["s0", "s1"])
    # an anchor of exact draws for s0, s1 (normal: nu 1e8), as if NUTS had sampled them
    draws = conjugate_fit(modelled, settings, 5, "test").draws.with_columns(nu=pl.lit(NORMAL_NU))
    anchor = Anchor.of(day1.dates[-1], modelled, draws, anchor_rows(2, 300))
    rng = np.random.default_rng(6)
    day2 = _next_day(day1, rng)
    day3 = _next_day(day2, rng)

    step = rolling.step(anchor, day2, day2.dates[-1], seed=7)
    assert not step.refitted and step.anchor is anchor
    rows = {row["strategy_id"]: row for row in step.summary.iter_rows(named=True)}
    assert list(rows) == ["s0", "s1", "sleeve"]
    assert rows["s0"]["method"] == rows["s1"]["method"] == FitMethod.REWEIGHTED
    sleeve = rows["sleeve"]
    assert sleeve["method"] == FitMethod.CONJUGATE and sleeve["fallback_reason"].startswith(REPLICATED)
    assert sleeve["anchor_date"] == anchor.date and sleeve["days_since_anchor"] == 1
    assert sleeve["pareto_k"] is None and sleeve["refit_reason"] is None and sleeve["block_size"] == 1
    x = np.column_stack([np.ones(day2.returns.shape[0]), day2.factors])
    assert sleeve["alpha_mean"] == pytest.approx(_hand_nig_mean(day2.returns[:, 2], x)[0], rel=1e-9, abs=1e-12)
    assert step.draws.filter(pl.col("strategy_id") == "sleeve").height == 300

    in_memory = rolling.step(step.anchor, day3, day3.dates[-1], seed=8)
    rebuilt = stored_anchor(anchor.date, day1, step.draws, step.summary, settings)
    assert rebuilt.window.strategy_ids == ("s0", "s1")
    from_store = rolling.step(rebuilt, day3, day3.dates[-1], seed=8)
    assert in_memory.summary.drop("fit_seconds").equals(from_store.summary.drop("fit_seconds"))
    assert in_memory.draws.equals(from_store.draws)


def test_when_the_factors_replicate_every_strategy_nothing_is_sampled_and_there_is_no_anchor():
    settings = FitSettings(draws=200, chains=1)  # NUTS configured: it must not be needed
    rolling = RollingFitter(StrategyModelFitter(settings))
    only = _sleeve_window(9).select(["sleeve"])
    step = rolling.step(None, only, only.dates[-1], seed=1)
    assert step.anchor is None and not step.refitted
    row = step.summary.row(0, named=True)
    assert row["method"] == FitMethod.CONJUGATE and row["anchor_date"] == only.dates[-1]
    assert stored_anchor(only.dates[-1], only, step.draws, step.summary, settings) is None
    fit = StrategyModelFitter(settings).fit(only, seed=1)
    assert fit.summary["fallback_reason"][0].startswith(REPLICATED) and fit.hyper.height == 0
