"""The market regime, on closes built by hand."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.calendar import business_days
from twin_model.data.market import market_regime


def _closes(values):
    days = business_days(dt.date(2020, 1, 1), dt.date(2022, 12, 31))[: len(values)]
    return pl.DataFrame({"date": days, "close": np.asarray(values, dtype=float)})


def test_a_calm_uptrend_is_up_low_vol_at_full_risk():
    # Alternating +0.1% / -0.05% days drift up: 21-day std of returns, by hand, is the std
    # of a two-point series with equal weights (+/- half the gap), ddof=1 over 21 values.
    returns = np.tile([0.001, -0.0005], 150)
    closes = _closes(100 * np.cumprod(np.r_[1.0, 1 + returns]))
    last = closes.get_column("date")[-1]
    row = market_regime(closes, [last]).row(0, named=True)
    window = returns[-21:]
    expected_vol = np.sqrt(np.sum((window - window.mean()) ** 2) / 20) * np.sqrt(252)
    assert row["vol_21d"] == pytest.approx(expected_vol)
    assert row["regime"] == "up_low_vol" and row["risk_scale"] == 1.0
    assert row["drawdown_252d"] == pytest.approx(0.0, abs=0.0006)  # at most one down day below the peak


def test_a_volatile_crash_is_down_high_vol_at_reduced_risk():
    calm = np.full(250, 0.0005)
    crash = np.tile([-0.05, 0.03], 15)  # 3-5% daily moves: far above 25% annualised
    closes = _closes(100 * np.cumprod(np.r_[1.0, 1 + np.r_[calm, crash]]))
    row = market_regime(closes, [closes.get_column("date")[-1]]).row(0, named=True)
    assert row["trend"] == "down" and row["volatility_state"] == "high_vol"
    assert row["risk_scale"] == pytest.approx(0.5 * 0.75)
    peak = closes.get_column("close")[:-1].max()
    assert row["drawdown_252d"] == pytest.approx(closes.get_column("close")[-1] / peak - 1)


def test_too_little_history_is_unknown_at_full_risk():
    closes = _closes(100 + np.arange(50.0))
    row = market_regime(closes, [closes.get_column("date")[-1]]).row(0, named=True)
    assert row["regime"] == "unknown" and row["risk_scale"] == 1.0 and row["trend"] is None
