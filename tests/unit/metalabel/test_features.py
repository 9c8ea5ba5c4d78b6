"""metalabel_features on hand-made frames (expected values derived in the comments)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from twin_model.metalabel import FEATURE_COLUMNS, metalabel_features

D = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(7)]  # d0 .. d6
A_RETS = [0.01, 0.02, 0.5, 0.01, -0.01, 0.02, 0.03]  # d2 unavailable


def _returns() -> pl.DataFrame:
    rows = [(d, "a", r, i != 2) for i, (d, r) in enumerate(zip(D, A_RETS))]
    rows += [(d, sid, 0.0, True) for sid in ("b", "c") for d in D]
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


POSTERIORS = pl.DataFrame(
    {
        "date": [D[1], D[1], D[2]],
        "strategy_id": ["a", "b", "c"],
        "p_alpha_positive": [0.9, 0.5, 0.7],
        "alpha_sd": [0.001, 0.002, 0.003],
        "sharpe_mean": [1.5, 0.0, 0.8],
    }
)
STATISTICS = pl.DataFrame(
    {
        "date": [D[1], D[1], D[2]],
        "strategy_id": ["a", "a", "a"],
        "window": ["21d", "63d", "21d"],
        "sharpe": [1.1, 0.7, 1.2],
        "annual_volatility": [0.10, 0.12, 0.11],
        "max_drawdown": [-0.05, -0.08, -0.06],
        "hit_rate": [0.55, 0.52, 0.56],
        "mtd_pnl": [0.02, 0.02, -0.02],
    }
)
FORECASTS = pl.DataFrame(
    {
        "date": [D[1], D[1]],
        "strategy_id": ["a", "a"],
        "parameter_set": ["posterior", "expert"],
        "monthly_valley": [-0.04, -0.10],
    }
)
REGIME = pl.DataFrame(
    {
        "date": [D[1], D[2], D[3]],
        "regime": ["up_low_vol", "down_high_vol", "unknown"],
        "trend": ["up", "down", None],
        "volatility_state": ["low_vol", "high_vol", None],
        "vol_21d": [0.08, 0.30, None],
        "risk_scale": [1.0, 0.375, 1.0],
    }
)


def _value(features: pl.DataFrame, sid: str, day: dt.date, column: str):
    return features.filter((pl.col("strategy_id") == sid) & (pl.col("date") == day))[column].item()


def test_columns_and_rows():
    features = metalabel_features(_returns(), POSTERIORS, STATISTICS, FORECASTS, REGIME)
    assert features.columns == ["date", "strategy_id", *FEATURE_COLUMNS]
    assert features.height == 21  # every (date, strategy) of the returns
    assert all(features.schema[c] == pl.Float64 for c in FEATURE_COLUMNS)


def test_hand_worked_values():
    f = metalabel_features(_returns(), POSTERIORS, STATISTICS, FORECASTS, REGIME)
    # ret_5d over a's observed returns (d2 skipped): d5 holds d0 d1 d3 d4 d5, d6 holds d1 d3 d4 d5 d6
    assert _value(f, "a", D[5], "ret_5d") == pytest.approx(1.01 * 1.02 * 1.01 * 0.99 * 1.02 - 1)
    assert _value(f, "a", D[6], "ret_5d") == pytest.approx(1.02 * 1.01 * 0.99 * 1.02 * 1.03 - 1)
    assert _value(f, "a", D[4], "ret_5d") is None  # four observed returns only
    # posterior: a's row of d1 still in force on d2; rank on d1 among a (0.9), b (0.5): a 2/2, b 1/2
    assert _value(f, "a", D[2], "p_alpha_positive") == 0.9
    assert _value(f, "a", D[1], "p_alpha_rank") == pytest.approx(1.0)
    assert _value(f, "b", D[1], "p_alpha_rank") == pytest.approx(0.5)
    assert _value(f, "c", D[1], "p_alpha_rank") is None  # c's posterior arrives on d2
    # d2: a 0.9, b 0.5, c 0.7 -> ranks 3/3, 1/3, 2/3
    assert [_value(f, s, D[2], "p_alpha_rank") for s in "abc"] == pytest.approx([1.0, 1 / 3, 2 / 3])
    assert _value(f, "c", D[2], "alpha_sd") == 0.003
    # statistics of the same date, per window; 252d and inception absent -> null
    assert _value(f, "a", D[1], "sharpe_21d") == 1.1 and _value(f, "a", D[1], "volatility_63d") == 0.12
    assert _value(f, "a", D[1], "max_drawdown_63d") == -0.08 and _value(f, "a", D[1], "hit_rate_21d") == 0.55
    assert _value(f, "a", D[1], "sharpe_252d") is None
    assert _value(f, "a", D[3], "sharpe_21d") is None  # no stats row on d3: not carried
    # month to date vs the posterior valley (-0.04, not the expert's): 0.02 / 0.04, then -0.02 / 0.04 on d2
    assert _value(f, "a", D[1], "mtd_vs_valley") == pytest.approx(0.5)
    assert _value(f, "a", D[2], "mtd_vs_valley") == pytest.approx(-0.5)
    assert _value(f, "a", D[0], "monthly_valley") is None  # no forecast yet
    # regime: up/low -> 1, 0; down/high -> 0, 2; unknown -> null
    assert (_value(f, "b", D[1], "trend_up"), _value(f, "b", D[1], "vol_state")) == (1.0, 0.0)
    assert (_value(f, "b", D[2], "trend_up"), _value(f, "b", D[2], "vol_state")) == (0.0, 2.0)
    assert _value(f, "b", D[2], "risk_scale") == 0.375 and _value(f, "b", D[2], "market_vol_21d") == 0.30
    assert _value(f, "b", D[3], "trend_up") is None


def test_missing_inputs_give_null_features():
    f = metalabel_features(_returns(), None, None, None, None)
    assert f.columns == ["date", "strategy_id", *FEATURE_COLUMNS]
    assert f.select(pl.exclude("date", "strategy_id", "ret_5d").is_null().all()).row(0) == (True,) * (
        len(FEATURE_COLUMNS) - 1
    )


def test_non_finite_inputs_become_null():
    stats = STATISTICS.with_columns(pl.Series("sharpe", [float("inf"), float("nan"), 1.2]))
    f = metalabel_features(_returns(), None, stats, None, None)
    assert _value(f, "a", D[1], "sharpe_21d") is None and _value(f, "a", D[1], "sharpe_63d") is None
    assert _value(f, "a", D[2], "sharpe_21d") == 1.2


def test_unconverged_posterior_rows_are_skipped():
    # a's d2 row did not converge: the d1 row (0.9) stays in force
    posteriors = pl.concat(
        [
            POSTERIORS.with_columns(pl.lit(True).alias("converged")),
            pl.DataFrame(
                {
                    "date": [D[2]],
                    "strategy_id": ["a"],
                    "p_alpha_positive": [0.1],
                    "alpha_sd": [0.5],
                    "sharpe_mean": [-3.0],
                    "converged": [False],
                }
            ),
        ]
    )
    f = metalabel_features(_returns(), posteriors, None, None, None)
    assert _value(f, "a", D[2], "p_alpha_positive") == 0.9 and _value(f, "a", D[3], "alpha_sd") == 0.001
