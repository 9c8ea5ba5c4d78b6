"""Unit tests of the trading-cost model (twin_model.portfolio.CostModel).

Expected numbers are worked by hand from the module docstring's formulas:

    rate(v)   = (commission_bps + half_spread_bps) / 1e4 + impact * sqrt(|v| / capacity)
    estimate  = |v| rate(v)
    simulated = |v| max(0, rate(v) + slippage_sd_bps / 1e4 z),  z ~ N(0, 1) seeded by (seed, day, solution)
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from twin_model.portfolio import CostModel

DAY = dt.date(2024, 3, 4)


def test_defaults_are_the_documented_ones():
    c = CostModel()
    assert (c.commission_bps, c.half_spread_bps, c.impact_coefficient, c.capacity, c.slippage_sd_bps) == (
        1.0,
        2.0,
        0.001,
        1e9,
        1.0,
    )


def test_rate_and_estimate_by_hand():
    c = CostModel(commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.001, capacity=1e9)
    v = np.array([1e6, -4e6, 0.0, 1e9])
    # 1e6: 3e-4 + 0.001 sqrt(1e-3) = 3e-4 + 3.16227766e-5
    # 4e6 (a sale): 3e-4 + 0.001 sqrt(4e-3) = 3e-4 + 6.32455532e-5
    # 0: the linear part only; 1e9 (the whole capacity): 3e-4 + 0.001
    rate = np.array([3e-4 + 1e-3 * math.sqrt(1e-3), 3e-4 + 1e-3 * math.sqrt(4e-3), 3e-4, 3e-4 + 1e-3])
    np.testing.assert_allclose(c.rate(v), rate, rtol=1e-14, atol=0)
    np.testing.assert_allclose(c.estimate(v), [1e6 * rate[0], 4e6 * rate[1], 0.0, 1e9 * 1.3e-3], rtol=1e-14, atol=0)
    # 1e6 * 3.316227766e-4 = 331.6227766
    assert c.estimate(np.array([1e6]))[0] == pytest.approx(300.0 + 1000 * math.sqrt(1e-3), rel=1e-14)


def test_estimate_is_symmetric_and_superlinear():
    c = CostModel(commission_bps=0.5, half_spread_bps=1.5, impact_coefficient=0.01, capacity=1e7)
    v = np.array([2e5, 8e5])
    np.testing.assert_array_equal(c.estimate(v), c.estimate(-v))
    # a 4x larger trade costs 4 * (2e-4 + 0.01 sqrt(0.08)) / (2e-4 + 0.01 sqrt(0.02)) times more
    ratio = 4 * (2e-4 + 0.01 * math.sqrt(0.08)) / (2e-4 + 0.01 * math.sqrt(0.02))
    e = c.estimate(v)
    assert e[1] / e[0] == pytest.approx(ratio, rel=1e-13) and ratio > 4


def test_linear_only_model():
    c = CostModel(commission_bps=2.0, half_spread_bps=3.0, impact_coefficient=0.0, slippage_sd_bps=0.0)
    v = np.array([100.0, -250.0])
    np.testing.assert_allclose(c.estimate(v), [0.05, 0.125], rtol=1e-14)  # 5 bps of |v|
    np.testing.assert_allclose(c.execute(v, DAY, "s"), [0.05, 0.125], rtol=1e-14)


def test_scalar_and_list_inputs():
    c = CostModel(commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.0)
    assert float(c.estimate(1000.0)) == pytest.approx(0.3, rel=1e-14)
    np.testing.assert_allclose(c.estimate([1000.0, -2000.0]), [0.3, 0.6], rtol=1e-14)


def test_execute_without_slippage_equals_estimate():
    c = CostModel(commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.05, capacity=1e6, slippage_sd_bps=0.0)
    v = np.array([1e4, -3e4, 5e5])
    np.testing.assert_allclose(c.execute(v, DAY, "sol"), c.estimate(v), rtol=1e-15, atol=0)


def test_execute_is_deterministic_per_day_and_solution():
    c = CostModel(slippage_sd_bps=5.0)
    v = np.array([1e6, -2e6, 3e5])
    a = c.execute(v, DAY, "sol_a")
    np.testing.assert_array_equal(a, c.execute(v.copy(), DAY, "sol_a"))
    np.testing.assert_array_equal(a, CostModel(slippage_sd_bps=5.0).execute(v, DAY, "sol_a"))
    assert not np.array_equal(a, c.execute(v, DAY + dt.timedelta(days=1), "sol_a"))
    assert not np.array_equal(a, c.execute(v, DAY, "sol_b"))
    assert not np.array_equal(a, CostModel(slippage_sd_bps=5.0, seed=1).execute(v, DAY, "sol_a"))
    # slippage makes the fill differ from the estimate
    assert not np.allclose(a, c.estimate(v), rtol=1e-9, atol=0)


def test_slippage_draw_is_the_same_for_any_trade_values():
    # implied z = (simulated / |v| - rate(v)) / (sd / 1e4) depends on (seed, day, solution) only
    c = CostModel(commission_bps=50.0, half_spread_bps=50.0, impact_coefficient=0.0, slippage_sd_bps=1.0)

    def z(v):
        v = np.asarray(v, dtype=float)
        return (c.execute(v, DAY, "sol") / np.abs(v) - c.rate(v)) / 1e-4

    np.testing.assert_allclose(z([1e3, 2e3, 3e3]), z([-7e5, 4e4, 1.0]), rtol=0, atol=1e-8)


def test_slippage_is_standard_normal_times_sd():
    # rate 1 % and sd 1 bp: never clipped, so the implied z are N(0, 1) draws
    c = CostModel(commission_bps=50.0, half_spread_bps=50.0, impact_coefficient=0.0, slippage_sd_bps=1.0)
    v = np.full(20000, 1e5)
    z = (c.execute(v, DAY, "sol") / 1e5 - 0.01) / 1e-4
    assert abs(z.mean()) < 4 / math.sqrt(v.size)  # 0.028
    assert abs(z.std(ddof=1) - 1) < 0.03
    assert len(np.unique(z)) == v.size  # a draw per trade


def test_execute_never_negative_and_clips_at_zero():
    # rate 0.3 bp + sd 100 bp: about half of the fills would be negative before the floor at 0
    c = CostModel(commission_bps=0.1, half_spread_bps=0.2, impact_coefficient=0.0, slippage_sd_bps=100.0)
    v = np.linspace(-1e6, 1e6, 1001)
    s = c.execute(v, DAY, "sol")
    assert s.shape == v.shape
    assert np.all(s >= 0)
    assert 300 < int(np.sum(s == 0)) < 700
    assert np.all(s[v == 0] == 0)


def test_execute_empty():
    c = CostModel()
    assert c.execute(np.array([]), DAY, "sol").shape == (0,)
    assert c.estimate(np.array([])).shape == (0,)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"commission_bps": -0.1}, "commission_bps"),
        ({"half_spread_bps": -1.0}, "half_spread_bps"),
        ({"impact_coefficient": -1e-6}, "impact_coefficient"),
        ({"slippage_sd_bps": -1.0}, "slippage_sd_bps"),
        ({"commission_bps": float("nan")}, "commission_bps"),
        ({"capacity": 0.0}, "capacity"),
        ({"capacity": -1e6}, "capacity"),
        ({"capacity": float("nan")}, "capacity"),
    ],
)
def test_invalid_parameters_raise(kw, name):
    with pytest.raises(ValueError, match=name):
        CostModel(**kw)


def test_zero_parameters_are_valid():
    c = CostModel(commission_bps=0.0, half_spread_bps=0.0, impact_coefficient=0.0, slippage_sd_bps=0.0)
    np.testing.assert_array_equal(c.execute(np.array([1e6, -1e6]), DAY, "sol"), [0.0, 0.0])
