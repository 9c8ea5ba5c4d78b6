"""metalabel_labels on a hand-worked panel (every expected number derived in the comments)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from twin_model.metalabel import LABEL_SCHEMA, betas_from_posteriors, metalabel_labels

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(6)]  # d0 .. d5
NAN = float("nan")


def _returns() -> pl.DataFrame:
    rows = [
        # A: d2 unavailable, so its observed days are d0 d1 d3 d4 d5
        ("A", [0.01, 0.02, 0.05, -0.01, 0.03, 0.00], [True, True, False, True, True, True]),
        # B: no betas at all; C: a fit with no factor (one row, null factor_id). Same returns.
        ("B", [0.00, -0.02, 0.01, 0.005, NAN, NAN], [True] * 6),
        ("C", [0.00, -0.02, 0.01, 0.005, NAN, NAN], [True] * 6),
    ]
    return pl.DataFrame(
        [(d, sid, r, a) for sid, rets, avail in rows for d, r, a in zip(D, rets, avail)],
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


FACTORS = pl.DataFrame(
    {"date": D, "factor_id": ["mkt"] * 6, "ret": [0.0, 0.01, 0.0, 0.02, -0.01, 0.05]},
    schema={"date": pl.Date, "factor_id": pl.String, "ret": pl.Float64},
)
# A's fits: beta 0.5 on d0, beta 1.0 on d3; C's fit on d0 has no factor.
BETAS = pl.DataFrame(
    {
        "date": [D[0], D[3], D[0]],
        "strategy_id": ["A", "A", "C"],
        "factor_id": ["mkt", "mkt", None],
        "beta": [0.5, 1.0, None],
    },
    schema={"date": pl.Date, "strategy_id": pl.String, "factor_id": pl.String, "beta": pl.Float64},
)


def _row(labels: pl.DataFrame, sid: str, day: dt.date) -> dict:
    rows = labels.filter((pl.col("strategy_id") == sid) & (pl.col("date") == day)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_hand_worked_labels():
    labels = metalabel_labels(_returns(), FACTORS, BETAS, horizon=2)
    assert labels.schema == pl.Schema(LABEL_SCHEMA)
    # A has labels on d0, d1, d3 (d2 unobserved; d4 and d5 lack two later observed returns)
    assert labels.filter(pl.col("strategy_id") == "A")["date"].to_list() == [D[0], D[1], D[3]]

    # A at d0: window d1, d3 (d2 skipped), beta 0.5 (fit of d0).
    # u1 = 0.02 - 0.5*0.01 = 0.015, u3 = -0.01 - 0.5*0.02 = -0.02; 1.015*0.98 - 1 = -0.0053
    # total 1.02*0.99 - 1 = 0.0098
    a0 = _row(labels, "A", D[0])
    assert a0["window_end"] == D[3]
    assert a0["residual_return"] == pytest.approx(-0.0053)
    assert a0["total_return"] == pytest.approx(0.0098)
    assert a0["label"] is False and a0["label_total"] is True

    # A at d1: window d3, d4, beta still 0.5 (the d3 fit is not known at d1).
    # u3 = -0.02, u4 = 0.03 - 0.5*(-0.01) = 0.035; 0.98*1.035 - 1 = 0.0143; total 0.99*1.03 - 1 = 0.0197
    a1 = _row(labels, "A", D[1])
    assert a1["window_end"] == D[4]
    assert a1["residual_return"] == pytest.approx(0.0143)
    assert a1["total_return"] == pytest.approx(0.0197)
    assert a1["label"] is True

    # A at d3: window d4, d5, beta 1.0 (fit of d3). u4 = 0.03 + 0.01 = 0.04, u5 = 0 - 0.05;
    # 1.04*0.95 - 1 = -0.012; total 1.03*1.0 - 1 = 0.03
    a3 = _row(labels, "A", D[3])
    assert a3["window_end"] == D[5]
    assert a3["residual_return"] == pytest.approx(-0.012)
    assert a3["label"] is False and a3["label_total"] is True

    # B: no fit known, so no residual label; total at d0 = 0.98*1.01 - 1 = -0.0102, at d1 = 1.01*1.005 - 1
    b0, b1 = _row(labels, "B", D[0]), _row(labels, "B", D[1])
    assert b0["label"] is None and b0["residual_return"] is None
    assert b0["total_return"] == pytest.approx(-0.0102) and b0["label_total"] is False
    assert b1["total_return"] == pytest.approx(1.01 * 1.005 - 1) and b1["window_end"] == D[3]
    # C: a fit with no factor, so the residual is the total return
    c0 = _row(labels, "C", D[0])
    assert c0["residual_return"] == pytest.approx(-0.0102) and c0["label"] is False
    assert labels.filter(pl.col("strategy_id") == "B").height == 2  # d0, d1 (d2, d3 lack two later returns)


def test_missing_factor_return_nulls_the_residual_label():
    factors = FACTORS.with_columns(pl.when(pl.col("date") == D[4]).then(None).otherwise(pl.col("ret")).alias("ret"))
    labels = metalabel_labels(_returns(), factors, BETAS, horizon=2)
    assert _row(labels, "A", D[0])["label"] is False  # window d1, d3: untouched
    assert _row(labels, "A", D[1])["label"] is None  # window d3, d4: x on d4 missing
    assert math.isclose(_row(labels, "A", D[1])["total_return"], 0.0197)


def test_unknown_factor_is_a_clear_error():
    betas = BETAS.with_columns(pl.lit("value").alias("factor_id"))
    with pytest.raises(ValueError, match="factor_id.*value"):
        metalabel_labels(_returns(), FACTORS, betas, horizon=2)


def test_label_does_not_see_past_its_window():
    # changing A's return on d5 moves only the label whose window holds d5 (the d3 one)
    returns = _returns().with_columns(
        pl.when((pl.col("strategy_id") == "A") & (pl.col("date") == D[5]))
        .then(0.5)
        .otherwise(pl.col("ret"))
        .alias("ret")
    )
    before = metalabel_labels(_returns(), FACTORS, BETAS, horizon=2)
    after = metalabel_labels(returns, FACTORS, BETAS, horizon=2)
    changed = before.join(after, on=["date", "strategy_id"]).filter(
        pl.col("total_return") != pl.col("total_return_right")
    )
    assert changed.select("strategy_id", "date").rows() == [("A", D[3])]


def test_betas_from_posterior_rows():
    posteriors = pl.DataFrame(
        {
            "date": [D[0], D[3], D[0]],
            "strategy_id": ["A", "A", "C"],
            "factor_betas": ['{"mkt": 0.5}', '{"mkt": 1.0}', "{}"],
        }
    )
    betas = betas_from_posteriors(posteriors)
    assert betas.equals(BETAS.cast(betas.schema))  # the hand-written frame of the labels above
    bad = posteriors.with_columns(pl.Series("factor_betas", ['{"mkt": 0.5}', "[1]", "{}"]))
    with pytest.raises(ValueError, match=r"posteriors row 1 \(A, 2024-01-04\), column factor_betas"):
        betas_from_posteriors(bad)
