"""The alpha pool over time on returns with known truth: it keeps real alpha, keeps pure
market beta out, and drops alpha that has decayed within a stated number of days.

The evidence comes from the exact conjugate fit (fast enough to refit every day for
three years in a test) over the default two-year window (504 observed returns); the
statistics and the policy (default parameters) are the ones the assets use.

Stated bound: once a strategy's alpha has gone, its window holds only alpha-free returns
after ``window`` observed days, so nothing in the data supports P(alpha > 0) any more;
it must leave the pool within window + 60 days. In practice it leaves much earlier, as
soon as the alpha-free part of the window drags the evidence under the exit probability.

What "stays out" can mean: for a strategy without alpha, P(alpha > 0) is uniform on
(0, 1) under a calibrated posterior, so the entry rule alone would admit it in about
1 - enter_probability (2.5%) of independent windows; the deflated-Sharpe, track-record
and drawdown gates cut that further. The test asserts the outcome on one seeded universe
(no pure-beta strategy admitted) and the share of days bounded at 5%.
"""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.calendar import business_days
from twin_model.statistics import strategy_statistics_table
from twin_model.strategy import (
    POOL_STATE_COLUMNS,
    AlphaPoolPolicy,
    FitSettings,
    benchmark_factors,
    conjugate_fit,
    pool_evidence,
    return_window,
)

WINDOW = 504
DECAY_DAY = 760  # index of the first day without alpha for the decaying strategies
START, END = 520, DECAY_DAY + WINDOW + 120  # decision days (indices)
ANNUAL_IR = 4.0  # information ratio of the alpha strategies: strong, so the test is about mechanics
SIGMA, MARKET_MEAN, MARKET_VOL = 0.01, 0.0004, 0.01
ARCHETYPES = {"alpha": 3, "beta": 3, "decay": 3}


@pytest.fixture(scope="module")
def pool_path():
    return simulate_pool(AlphaPoolPolicy())


def simulate_pool(policy: AlphaPoolPolicy, seed: int = 42) -> dict[int, dict[str, bool]]:
    """Day index -> strategy -> in_pool, stepping ``policy`` through the seeded universe."""
    rng = np.random.default_rng(seed)
    days = business_days(dt.date(2014, 1, 6), dt.date(2019, 12, 31))[:END]
    market = rng.normal(MARKET_MEAN, MARKET_VOL, len(days))
    alpha_daily = ANNUAL_IR / np.sqrt(252) * SIGMA
    rows, ids = [], []
    for archetype, count in ARCHETYPES.items():
        for k in range(count):
            sid = f"{archetype}_{k}"
            ids.append(sid)
            beta = 1.0 if archetype == "beta" else 0.2
            alpha = np.full(len(days), alpha_daily if archetype != "beta" else 0.0)
            if archetype == "decay":
                alpha[DECAY_DAY:] = 0.0
            ret = alpha + beta * market + rng.normal(0, SIGMA, len(days))
            rows.append(pl.DataFrame({"date": days, "strategy_id": sid, "ret": ret, "available": True}))
    returns = pl.concat(rows)
    benchmark = pl.DataFrame({"date": days, "ret": market})

    settings = FitSettings(window_days=WINDOW, draws=1000, chains=1, method="conjugate")
    state = pl.DataFrame(schema=POOL_STATE_COLUMNS)
    path = {}
    for i in range(START, END):
        day = days[i]
        window = return_window(returns, benchmark_factors(benchmark), day, WINDOW)
        fit = conjugate_fit(window, settings, seed=i, reason="test").summary
        stats = strategy_statistics_table(
            returns.filter(pl.col("date") <= day), benchmark.filter(pl.col("date") <= day), day
        )
        decision = policy.decide(state, pool_evidence(fit, stats, policy.signal))
        path[i] = dict(zip(decision.get_column("strategy_id"), decision.get_column("in_pool")))
        state = decision.select(list(POOL_STATE_COLUMNS))
    return path


def _share_in_pool(path, sid, first, last):
    days = [i for i in path if first <= i < last]
    return sum(path[i][sid] for i in days) / len(days)


@pytest.mark.slow(seconds=65)
def test_real_alpha_is_kept(pool_path):
    for k in range(ARCHETYPES["alpha"]):
        assert _share_in_pool(pool_path, f"alpha_{k}", START + 60, END) >= 0.95


@pytest.mark.slow
def test_pure_market_beta_stays_out(pool_path):
    for k in range(ARCHETYPES["beta"]):
        assert _share_in_pool(pool_path, f"beta_{k}", START, END) <= 0.05


@pytest.mark.slow
def test_decayed_alpha_is_dropped_within_the_stated_days(pool_path):
    bound = DECAY_DAY + WINDOW + 60
    for k in range(ARCHETYPES["decay"]):
        sid = f"decay_{k}"
        assert _share_in_pool(pool_path, sid, START + 60, DECAY_DAY) >= 0.95  # it had real alpha
        left = next(i for i in range(DECAY_DAY, END) if not pool_path[i][sid])
        assert left <= bound, (sid, left)
        assert _share_in_pool(pool_path, sid, bound, END) <= 0.1
