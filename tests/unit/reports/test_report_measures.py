"""The dashboard's return measures, each against numbers worked by hand (or numpy)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from twin_model.reports import drawdown, monthly_returns, rolling_metrics, tail_risk, tail_risk_table

D = dt.date


START = D(2024, 1, 1)


def _series(values, start=START, key="s") -> pl.DataFrame:
    days = [start + dt.timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame(
        {"date": days, "series": [key] * len(values), "ret": values}, schema_overrides={"ret": pl.Float64}
    )


def test_drawdown_of_a_hand_path():
    # wealth 1.1, 0.88, 0.924, 1.1088; peak 1.1, 1.1, 1.1, 1.1088
    path = drawdown(_series([0.10, -0.20, 0.05, 0.20]), "series")
    assert path.get_column("wealth").to_list() == pytest.approx([1.1, 0.88, 0.924, 1.1088])
    assert path.get_column("drawdown").to_list() == pytest.approx([0.0, -0.2, -0.16, 0.0])


def test_drawdown_counts_from_wealth_one_before_the_first_return():
    path = drawdown(_series([-0.10, 0.05]), "series")
    assert path.get_column("drawdown").to_list() == pytest.approx([-0.10, 0.945 - 1.0])


def test_historical_var_and_cvar_of_a_hand_list():
    # sorted: -0.05, -0.03, ...; the 5% quantile sits 0.45 of the way from -0.05 to -0.03
    returns = [0.06, -0.03, 0.0, 0.01, -0.05, 0.02, 0.03, -0.01, 0.04, 0.05]
    risk = tail_risk(returns)
    assert risk.var == pytest.approx(-0.05 + 0.45 * 0.02)
    assert risk.cvar == pytest.approx(-0.05)  # only -0.05 lies at or below -0.041
    assert (risk.n_obs, risk.confidence) == (10, 0.95)


def test_tail_risk_drops_missing_days_and_is_nan_without_data():
    assert tail_risk([None, 0.01, -0.01]).n_obs == 2
    empty = tail_risk([])
    assert np.isnan(empty.var) and empty.n_obs == 0
    table = tail_risk_table(_series([0.01, -0.02, 0.03]), "series")
    assert table.get_column("n_obs").to_list() == [3]


def test_monthly_returns_compound_each_month_by_hand():
    frame = pl.DataFrame(
        {
            "date": [D(2024, 1, 2), D(2024, 1, 3), D(2024, 2, 1), D(2024, 2, 2), D(2024, 2, 5)],
            "series": ["s"] * 5,
            "ret": [0.01, 0.02, -0.01, None, 0.03],
        }
    )
    months = monthly_returns(frame, "series")
    assert months.select("year", "month").rows() == [(2024, 1), (2024, 2)]
    assert months.get_column("ret").to_list() == pytest.approx([1.01 * 1.02 - 1, 0.99 * 1.03 - 1])
    assert months.get_column("n_obs").to_list() == [2, 2]


def test_rolling_sharpe_volatility_and_beta_match_numpy():
    rng = np.random.default_rng(3)
    bench = rng.normal(0.0004, 0.01, 100)
    own = 0.8 * bench + rng.normal(0.0002, 0.005, 100)
    got = rolling_metrics(_series(own.tolist()), _series(bench.tolist()).drop("series"), "series", window=63)
    assert got.height == 100 - 63 + 1
    last_own, last_bench = own[-63:], bench[-63:]
    assert got.get_column("sharpe")[-1] == pytest.approx(last_own.mean() / last_own.std(ddof=1) * np.sqrt(252))
    assert got.get_column("volatility")[-1] == pytest.approx(last_own.std(ddof=1) * np.sqrt(252))
    beta = np.cov(last_own, last_bench, ddof=1)[0, 1] / last_bench.var(ddof=1)
    assert got.get_column("beta")[-1] == pytest.approx(beta, rel=1e-9)
    first_own = own[:63]
    assert got.get_column("volatility")[0] == pytest.approx(first_own.std(ddof=1) * np.sqrt(252))
