"""What the product adds around the metalabel core: the factor returns in the strategy
model's regressor design (so the posteriors' factor_betas apply), the model artefact both
ways, the matured outcomes, and the two tables' contracts."""

import datetime as dt
import json

import polars as pl
import pytest

from twin_model.contracts import TABLES, validate
from twin_model.conventions import MetalabelModelKind, MetalabelTarget
from twin_model.errors import DataQualityError
from twin_model.metalabel import (
    MetalabelModel,
    betas_from_posteriors,
    decode_model,
    encode_model,
    matured_outcomes,
    metalabel_labels,
    regressor_returns,
)

D = dt.date
DAYS = [D(2024, 1, d) for d in (2, 3, 4, 5)]
SP, MTUM = [0.01, -0.02, 0.03, 0.00], [0.02, -0.01, 0.01, 0.04]


def _factors() -> pl.DataFrame:
    rows = [(d, "SP500", s, True) for d, s in zip(DAYS, SP)] + [(d, "MTUM", m, False) for d, m in zip(DAYS, MTUM)]
    return pl.DataFrame(rows, schema=["date", "factor_id", "ret", "is_benchmark"], orient="row")


def test_regressors_are_the_benchmark_and_each_factors_spread_over_it():
    frame = regressor_returns(_factors())
    assert sorted(frame.get_column("factor_id").unique().to_list()) == ["MTUM-SP500", "SP500"]
    spread = frame.filter(pl.col("factor_id") == "MTUM-SP500").sort("date").get_column("ret").to_list()
    assert spread == pytest.approx([m - s for m, s in zip(MTUM, SP)])
    bench = frame.filter(pl.col("factor_id") == "SP500").sort("date").get_column("ret").to_list()
    assert bench == pytest.approx(SP)


def test_without_factors_there_is_no_regressor():
    empty = pl.DataFrame(
        schema={"date": pl.Date, "factor_id": pl.String, "ret": pl.Float64, "is_benchmark": pl.Boolean}
    )
    assert regressor_returns(empty).height == 0


def test_labels_apply_the_posteriors_regressor_betas_to_the_regressor_returns():
    """A strategy with betas 0.5 on SP500 and 2 on MTUM-SP500 (as factor_betas names them),
    horizon 2 from day 1: residuals u_s = r_s - 0.5 m_s - 2 (f_s - m_s) on days 2 and 3."""
    r = [0.0, 0.05, -0.01, 0.0]
    returns = pl.DataFrame({"date": DAYS, "strategy_id": ["a"] * 4, "ret": r, "available": [True] * 4})
    posteriors = pl.DataFrame(
        {"date": [DAYS[0]], "strategy_id": ["a"], "factor_betas": [json.dumps({"SP500": 0.5, "MTUM-SP500": 2.0})]}
    )
    labels = metalabel_labels(returns, regressor_returns(_factors()), betas_from_posteriors(posteriors), horizon=2)
    first = labels.filter(pl.col("date") == DAYS[0]).row(0, named=True)
    u = [r[s] - 0.5 * SP[s] - 2.0 * (MTUM[s] - SP[s]) for s in (1, 2)]
    assert first["residual_return"] == pytest.approx((1 + u[0]) * (1 + u[1]) - 1)
    assert first["window_end"] == DAYS[2]


def _model(**changes) -> MetalabelModel:
    return MetalabelModel(
        model=MetalabelModelKind.BASE_RATE,
        fitted_on=D(2024, 2, 1),
        n_train=40,
        effective_months=2,
        base_rate=0.3,
        cv_log_loss={},
        **changes,
    )


def test_a_model_round_trips_through_its_artefact_frame():
    model = decode_model(encode_model(_model()), "here")
    features = pl.DataFrame({"date": [DAYS[0]], "strategy_id": ["a"]})
    assert model.predict(features).get_column("p_profitable").to_list() == [0.3]
    assert (model.fitted_on, model.n_train) == (D(2024, 2, 1), 40)


def test_a_model_pickled_under_another_scikit_learn_is_refused_naming_it():
    frame = encode_model(_model()).with_columns(sklearn_version=pl.lit("0.1"))
    with pytest.raises(ValueError, match=r"models/x: model pickled under scikit-learn 0.1"):
        decode_model(frame, "models/x")


def test_matured_outcomes_are_the_predictions_whose_window_ends_that_day():
    predictions = pl.DataFrame(
        {
            "date": [DAYS[0], DAYS[0], DAYS[1]],
            "strategy_id": ["a", "b", "a"],
            "p_profitable": [0.6, 0.4, 0.7],
            "model": ["logistic"] * 3,
        }
    )
    labels = pl.DataFrame(
        {
            "date": [DAYS[0], DAYS[0], DAYS[1]],
            "strategy_id": ["a", "b", "a"],
            "window_end": [DAYS[2], DAYS[2], DAYS[3]],
            "residual_return": [0.02, None, -0.01],
            "total_return": [0.03, -0.02, 0.01],
            "label": [True, None, False],
            "label_total": [True, False, True],
        }
    )
    residual = matured_outcomes(predictions, labels, [DAYS[2]])
    assert residual.select("strategy_id", "prediction_date", "realised_return", "realised").rows() == [
        ("a", DAYS[0], 0.02, True)
    ]  # b's residual label is null (no betas): left out
    total = matured_outcomes(predictions, labels, [DAYS[2]], MetalabelTarget.TOTAL)
    assert total.select("strategy_id", "realised").rows() == [("a", True), ("b", False)]
    validate(total, TABLES["models.metalabel_scores"])
    both = matured_outcomes(predictions, labels, [DAYS[2], DAYS[3]])  # a's second window ends on DAYS[3]
    assert both.select("date", "strategy_id", "prediction_date", "realised").rows() == [
        (DAYS[2], "a", DAYS[0], True),
        (DAYS[3], "a", DAYS[1], False),
    ]
    assert matured_outcomes(predictions, labels, [DAYS[1]]).height == 0  # no window ended that day


def _metalabel_row(**changes) -> pl.DataFrame:
    row = dict(
        date=D(2024, 3, 4),
        strategy_id="a",
        p_profitable=0.6,
        model="logistic",
        fitted_on=D(2024, 3, 1),
        n_train=100,
        effective_months=14,
        horizon_days=21,
        model_path="metalabels/2024-03-01.parquet",
        model_sha256="a" * 64,
        n_scored=0,
        brier=None,
        log_loss=None,
        auc=None,
        base_rate=None,
    )
    row.update(changes)
    return pl.DataFrame([row], schema=TABLES["models.metalabels"].columns())


def test_a_metalabel_row_with_nothing_scored_yet_is_valid():
    assert validate(_metalabel_row(), TABLES["models.metalabels"]).height == 1


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"p_profitable": 1.2}, "p_profitable"),
        ({"model": "oracle"}, "model"),
        ({"model_sha256": "xyz"}, "model_sha256"),
        ({"fitted_on": D(2024, 3, 5)}, "fitted_before_use"),
        ({"auc": 1.5}, "auc"),
    ],
)
def test_a_bad_metalabel_row_is_refused_naming_the_column(changes, column):
    with pytest.raises(DataQualityError, match=column):
        validate(_metalabel_row(**changes), TABLES["models.metalabels"])


def test_an_outcome_must_mature_on_its_date():
    row = {
        "date": D(2024, 3, 4),
        "strategy_id": "a",
        "prediction_date": D(2024, 2, 1),
        "p_profitable": 0.5,
        "model": "base_rate",
        "realised_return": 0.01,
        "realised": True,
        "window_end": D(2024, 3, 1),
    }
    with pytest.raises(DataQualityError, match="matured_on_date"):
        validate(
            pl.DataFrame([row], schema=TABLES["models.metalabel_scores"].columns()), TABLES["models.metalabel_scores"]
        )
