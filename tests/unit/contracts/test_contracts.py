"""twin_model.contracts: the artefact encodings both ways, the calibration table's columns,
the portfolio rules and the named errors."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from twin_model import errors, optimize
from twin_model.contracts import (
    DRAW_COLUMNS,
    DRAWS_SCHEMA,
    TABLES,
    constraint_problems,
    decode_draws,
    decode_scenarios,
    encode_draws,
    encode_scenarios,
    selection_problems,
    validate,
)
from twin_model.strategy import forecast_calibration
from twin_resources.warehouse import Warehouse

D = dt.date
CALIBRATION = TABLES["models.forecast_calibration"]


def _draws(total: int, n: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=(total, n)) for name in DRAW_COLUMNS}


def test_draws_round_trip_through_the_artefact_frame():
    ids, flat = ("beta_1", "alpha_1"), _draws(total=5, n=2)
    frame = encode_draws(ids, flat)
    assert frame.schema == pl.Schema(DRAWS_SCHEMA)
    # long, ordered by strategy then draw: alpha_1's five draws first
    assert frame.get_column("strategy_id").to_list() == ["alpha_1"] * 5 + ["beta_1"] * 5
    assert frame.get_column("draw").to_list() == [0, 1, 2, 3, 4] * 2
    assert (
        frame.filter((pl.col("strategy_id") == "beta_1") & (pl.col("draw") == 3))["sigma"].item() == flat["sigma"][3, 0]
    )
    decoded = decode_draws(frame, ids)
    assert set(decoded) == set(DRAW_COLUMNS)
    for name in DRAW_COLUMNS:
        np.testing.assert_array_equal(decoded[name], flat[name])
    # asked in another order, the columns follow the order asked for
    swapped = decode_draws(frame, ["alpha_1", "beta_1"], ("alpha",))
    np.testing.assert_array_equal(swapped["alpha"], flat["alpha"][:, ::-1])


def test_decoding_draws_names_what_is_broken():
    frame = encode_draws(("a", "b"), _draws(total=3, n=2))
    with pytest.raises(ValueError, match=r"no rows for strategies \['c'\]"):
        decode_draws(frame, ["a", "c"])
    with pytest.raises(ValueError, match=r"exactly one row per \(draw, strategy\); broken for \['b'\]"):
        decode_draws(pl.concat([frame, frame.filter(pl.col("strategy_id") == "b").head(1)]), ["a", "b"])
    with pytest.raises(ValueError, match=r"lack columns \['sigma'\]"):
        decode_draws(frame.drop("sigma"), ["a", "b"])


def test_scenarios_round_trip_per_parameter_set():
    # multiples of 1/64 are exact in float32, so the round trip is exact
    posterior = np.arange(3 * 4 * 2, dtype=float).reshape(3, 4, 2) / 64 - 0.1875
    expert = -np.arange(3 * 4, dtype=float).reshape(3, 4, 1) / 64
    frame = encode_scenarios({"posterior": posterior, "expert": expert}, {"posterior": ["a", "b"], "expert": ["b"]})
    assert frame.columns == ["parameter_set", "path", "day", "a", "b"]
    assert frame.schema["a"] == pl.Float32 and frame.schema["day"] == pl.Int16
    cell = frame.filter((pl.col("parameter_set") == "posterior") & (pl.col("path") == 2) & (pl.col("day") == 3))
    assert cell["b"].item() == posterior[2, 2, 1]  # day is 1-based
    assert frame.filter(pl.col("parameter_set") == "expert")["a"].null_count() == 12
    np.testing.assert_array_equal(decode_scenarios(frame, ["a", "b"]), posterior)
    np.testing.assert_array_equal(decode_scenarios(frame, ["b", "a"]), posterior[:, :, ::-1])
    np.testing.assert_array_equal(decode_scenarios(frame, ["b"], "expert"), expert)
    assert decode_scenarios(frame, ["a", "c"]) is None
    assert decode_scenarios(frame.filter(pl.col("parameter_set") == "expert"), ["b"]) is None


def _calibration_row() -> pl.DataFrame:
    """Strategy a observed on four days; the band forecast on the first covers the next two:
    1.02 x 0.99 - 1 = 0.0098, inside [-0.1, 0.1]."""
    days = [D(2024, 3, 4), D(2024, 3, 5), D(2024, 3, 6), D(2024, 3, 7)]
    returns = pl.DataFrame(
        {"date": days, "strategy_id": ["a"] * 4, "ret": [0.01, 0.02, -0.01, 0.03], "available": [True] * 4}
    )
    forecasts = pl.DataFrame({"date": [days[0]], "strategy_id": ["a"], "p05": [-0.1], "p95": [0.1]})
    return forecast_calibration(forecasts, returns, days[2], horizon=2)


def test_the_calibration_table_stores_the_horizon_its_frame_carries():
    stored = validate(_calibration_row(), CALIBRATION)
    assert stored.columns == list(CALIBRATION.columns())
    row = stored.row(0, named=True)
    assert row["horizon_days"] == 2 and row["forecast_date"] == D(2024, 3, 4)
    assert row["realised_return"] == pytest.approx(1.02 * 0.99 - 1, abs=1e-15)


def test_an_older_calibration_table_gains_the_horizon_as_null(tmp_path):
    path = tmp_path / "old.duckdb"
    old = {name: dtype for name, dtype in CALIBRATION.columns().items() if name != "horizon_days"}
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA models")
        types = {pl.Date: "DATE", pl.String: "VARCHAR", pl.Float64: "DOUBLE", pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN"}
        connection.execute(
            f"CREATE TABLE models.forecast_calibration ({', '.join(f'{n} {types[t]}' for n, t in old.items())})"
        )
        connection.execute(
            "INSERT INTO models.forecast_calibration VALUES ('2024-03-01', 'a', '2024-02-01', 0.01, -0.1, 0.1, true, 1, 1.0)"
        )
    warehouse = Warehouse(path)
    new = _calibration_row()
    warehouse.replace_partitions(CALIBRATION, validate(new, CALIBRATION), [D(2024, 3, 6)])
    stored = warehouse.read(CALIBRATION)
    assert stored.get_column("date").to_list() == [D(2024, 3, 1), D(2024, 3, 6)]
    assert stored.get_column("horizon_days").to_list() == [None, 2]


def test_constraint_and_selection_rules_name_the_row():
    optimizations = pl.DataFrame(
        {
            "date": [D(2024, 3, 4)] * 2,
            "solution_id": ["s1", "s2"],
            "constraints_satisfied": [True, False],
            "violations": ["", "max_weight"],
        }
    )
    assert constraint_problems(optimizations) == ["date=2024-03-04, solution_id=s2: max_weight"]
    weights = pl.DataFrame(
        {
            "date": [D(2024, 3, 4)] * 3,
            "solution_id": ["s1"] * 3,
            "strategy_id": ["a", "b", "c"],
            "weight_target": [0.5, 0.2, 0.0],
            "status": ["active", "paused", "stopped"],
            "tier": ["core", "core", "none"],
        }
    )
    assert selection_problems(weights) == [
        "date=2024-03-04, solution_id=s1, strategy_id=b: target 0.2 on a strategy with status paused (tier core)"
    ]


@pytest.mark.parametrize(
    "error", [errors.DataQualityError, errors.InfeasibleRequestError, errors.StateMismatchError, errors.StateGapError]
)
def test_every_named_error_is_a_twin_error_and_a_value_error(error):
    assert issubclass(error, errors.TwinError) and issubclass(error, ValueError)


def test_the_optimiser_raises_the_domain_error():
    assert optimize.InfeasibleRequestError is errors.InfeasibleRequestError


def _factor_rows(rows):
    return pl.DataFrame(rows, schema=["date", "factor_id", "ret", "is_benchmark"], orient="row")


def test_factor_returns_hold_exactly_one_benchmark_each_day():
    from twin_model.contracts import TABLES, validate

    spec = TABLES["raw.factor_returns"]
    d1, d2 = dt.date(2021, 3, 1), dt.date(2021, 3, 2)
    good = _factor_rows([(d1, "MKT", 0.01, True), (d1, "HML", -0.002, False), (d2, "MKT", 0.0, True)])
    assert validate(good, spec).height == 3
    for bad, day in (
        (_factor_rows([(d1, "MKT", 0.01, True), (d1, "HML", 0.0, True)]), d1),  # two benchmarks
        (_factor_rows([(d1, "MKT", 0.01, True), (d2, "HML", 0.0, False)]), d2),  # none on d2
    ):
        with pytest.raises(errors.DataQualityError) as error:
            validate(bad, spec)
        assert f"date={day}" in str(error.value) and "one_benchmark_per_day" in str(error.value)
    described = {name: column.description for name, column in spec.model.to_schema().columns.items()}
    assert all(described.values()), described
