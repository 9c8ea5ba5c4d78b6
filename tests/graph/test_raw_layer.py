"""The raw layer as a graph: materialised into a DuckDB file under tmp_path, re-run,
run as a range, fed bad inputs, and kept at its last good state when a run fails."""

import polars as pl
import pytest

from tests.helpers.graph import day, failure_message, materialize_days, resources, stored, write_returns_file
from twin_assets.raw import RAW_ASSETS
from twin_model.contracts import TABLES

RETURNS = TABLES["raw.strategy_returns"]
PRICES = TABLES["raw.market_prices"]
POSITIONS = TABLES["raw.strategy_positions"]


# --- the bundled firm ------------------------------------------------------------------


def test_one_bundled_day_is_written_and_queried_back(warehouse):
    result = materialize_days(RAW_ASSETS, resources(warehouse), "2020-03-16")
    assert result.success
    returns = stored(warehouse, RETURNS)
    assert returns.get_column("date").unique().to_list() == [day("2020-03-16")]
    assert returns.height >= 13 and returns.get_column("available").all()

    prices = stored(warehouse, PRICES)
    benchmark = prices.filter(pl.col("is_benchmark"))
    assert benchmark.get_column("ticker").to_list() == ["SP500"]
    # 2020-03-16 was the S&P 500's worst day since 1987: it closed down about 12%.
    sp500 = _sp500_close(["2020-03-13", "2020-03-16"])
    assert sp500[1] / sp500[0] - 1 == pytest.approx(-0.1198, abs=5e-4)
    assert benchmark.get_column("close").item() == pytest.approx(sp500[1])
    assert prices.height == 20 + 5 + 1

    positions = stored(warehouse, POSITIONS)
    gross = positions.group_by("strategy_id").agg(pl.col("weight").abs().sum())
    assert (gross.get_column("weight") <= 1 + 1e-9).all()
    assert set(positions.get_column("strategy_id")) <= set(returns.get_column("strategy_id"))

    checks = {(c.asset_key.path[-1], c.check_name): c.passed for c in result.get_asset_check_evaluations()}
    assert len(checks) == 8 and all(checks.values())


def _sp500_close(dates: list[str]) -> list[float]:
    from skfolio.datasets import load_sp500_index

    index = load_sp500_index()
    return [float(index.loc[d, "SP500"]) for d in dates]


def test_rematerialising_gives_the_same_rows_and_no_duplicates(warehouse):
    res = resources(warehouse)
    materialize_days(RAW_ASSETS, res, "2020-03-16")
    first = {spec.name: stored(warehouse, spec) for spec in (RETURNS, PRICES, POSITIONS)}
    materialize_days(RAW_ASSETS, res, "2020-03-16")
    for spec in (RETURNS, PRICES, POSITIONS):
        again = stored(warehouse, spec)
        assert again.equals(first[spec.name]), spec.name
        assert again.select(list(spec.keys)).is_duplicated().sum() == 0


def test_a_five_day_range_runs_as_one_run_and_writes_exactly_those_days(warehouse):
    res = resources(warehouse)
    materialize_days(RAW_ASSETS, res, "2020-03-13")  # a day before the range, to keep
    result = materialize_days(RAW_ASSETS, res, "2020-03-16", "2020-03-20")
    assert result.success
    step_runs = [event.step_key for event in result.all_events if event.is_step_success]
    assert sorted(step_runs) == sorted({*step_runs}) and len(step_runs) == 5  # each asset ran once, for all 5 days
    days = stored(warehouse, RETURNS).get_column("date").unique().sort().to_list()
    assert days == [day("2020-03-13")] + [day(f"2020-03-{d}") for d in range(16, 21)]
    materialized = {(event.asset_key.path[-1], event.partition) for event in result.get_asset_materialization_events()}
    assert {p for name, p in materialized if name == "strategy_returns"} == {f"2020-03-{d}" for d in range(16, 21)}


@pytest.mark.slow
def test_a_range_equals_the_same_days_run_one_by_one(warehouse, tmp_path):
    from twin_resources.resources import WarehouseResource

    res = resources(warehouse)
    materialize_days(RAW_ASSETS, res, "2020-03-16", "2020-03-18")
    one_by_one = WarehouseResource(path=str(tmp_path / "one_by_one.duckdb"))
    for key in ("2020-03-16", "2020-03-17", "2020-03-18"):
        materialize_days(RAW_ASSETS, resources(one_by_one), key)
    for spec in (RETURNS, PRICES, POSITIONS):
        assert stored(warehouse, spec).equals(stored(one_by_one, spec)), spec.name


def test_a_holiday_is_an_empty_partition_that_says_why(warehouse):
    result = materialize_days(RAW_ASSETS, resources(warehouse), "2020-07-03")  # Independence Day observed
    assert result.success
    assert stored(warehouse, RETURNS).height == 0
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        assert metadata["days_with_data"].value == 0
        assert metadata["empty_days"].value == ["2020-07-03"]
        assert "holiday" in metadata["empty_reason"].value


# --- a firm's own returns file ---------------------------------------------------------

GOOD_ROWS = [
    ("2021-03-01", "alpha", 0.010, True),
    ("2021-03-01", "beta", -0.020, True),
    ("2021-03-02", "alpha", 0.003, True),
    ("2021-03-02", "beta", None, False),
]


def test_a_returns_file_becomes_the_universe_without_config_edits(warehouse, tmp_path):
    path = write_returns_file(tmp_path / "returns.csv", [r[:3] for r in GOOD_ROWS if r[2] is not None])
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), "2021-03-01")
    assert result.success
    assert stored(warehouse, RETURNS).rows() == [
        (day("2021-03-01"), "alpha", 0.010, True),
        (day("2021-03-01"), "beta", -0.020, True),
    ]
    assert stored(warehouse, PRICES).height == 0 and stored(warehouse, POSITIONS).height == 0


def test_a_parquet_file_with_unavailable_days(warehouse, tmp_path):
    path = tmp_path / "returns.parquet"
    pl.DataFrame(GOOD_ROWS, schema=["date", "strategy_id", "ret", "available"], orient="row").with_columns(
        pl.col("date").str.to_date()
    ).write_parquet(path)
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), "2021-03-01", "2021-03-02")
    assert result.success
    assert stored(warehouse, RETURNS).filter(~pl.col("available")).rows() == [(day("2021-03-02"), "beta", None, False)]


BAD_INPUTS = {
    "nan": (("2021-03-02", "alpha", "nan", True), ["strategy_id=alpha", "finite"]),
    "inf": (("2021-03-02", "alpha", "inf", True), ["alpha", "finite"]),
    "minus_100pct": (("2021-03-02", "alpha", -1.0, True), ["alpha", "greater_than(-1.0)"]),
    "below_minus_100pct": (("2021-03-02", "alpha", -1.3, True), ["alpha", "greater_than(-1.0)"]),
    "above_50pct": (("2021-03-02", "alpha", 0.75, True), ["alpha", "less_than_or_equal_to(0.5)"]),
    "null_when_available": (("2021-03-02", "alpha", None, True), ["alpha", "ret_present_when_available"]),
}


@pytest.fixture
def good_history(warehouse, tmp_path):
    """Two good days in the warehouse from a returns file; the test then spoils the file."""
    path = tmp_path / "returns.csv"
    write_returns_file(path, GOOD_ROWS)
    res = resources(warehouse, returns_file=path)
    assert materialize_days(RAW_ASSETS, res, "2021-03-01", "2021-03-02").success
    return path, res, stored(warehouse, RETURNS)


def _spoil(path, rows):
    frame = pl.DataFrame(
        [tuple(map(_cell, r)) for r in rows], schema=["date", "strategy_id", "ret", "available"], orient="row"
    )
    frame.write_csv(path)


def _cell(value):
    return str(value) if isinstance(value, float) else value


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_bad_return_fails_the_run_and_keeps_the_last_good_state(case, good_history, warehouse):
    path, res, before = good_history
    bad_row, expected = BAD_INPUTS[case]
    rows = [r for r in GOOD_ROWS if not (r[0] == bad_row[0] and r[1] == bad_row[1])] + [bad_row]
    _spoil(path, rows)
    result = materialize_days(RAW_ASSETS, res, "2021-03-02", raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "2021-03-02" in message and str(path) in message
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert stored(warehouse, RETURNS).equals(before)


def test_a_duplicate_key_is_named(good_history, warehouse):
    path, res, before = good_history
    _spoil(path, GOOD_ROWS + [("2021-03-02", "alpha", 0.004, True)])
    result = materialize_days(RAW_ASSETS, res, "2021-03-02", raise_on_error=False)
    message = failure_message(result)
    assert "duplicate key" in message and "strategy_id=alpha" in message
    assert stored(warehouse, RETURNS).equals(before)


def test_a_missing_column_is_named(good_history, warehouse):
    path, res, before = good_history
    pl.DataFrame({"date": ["2021-03-02"], "strategy_id": ["alpha"], "available": [True]}).write_csv(path)
    message = failure_message(materialize_days(RAW_ASSETS, res, "2021-03-02", raise_on_error=False))
    assert "missing column 'ret'" in message
    assert stored(warehouse, RETURNS).equals(before)


def test_a_mistyped_column_is_named(good_history, warehouse):
    path, res, before = good_history
    _spoil(path, [("2021-03-02", "alpha", "1.5%", True), ("2021-03-02", "beta", "0.01", True)])
    message = failure_message(materialize_days(RAW_ASSETS, res, "2021-03-02", raise_on_error=False))
    assert "column 'ret' has type String, expected Float64" in message and "'1.5%'" in message
    assert stored(warehouse, RETURNS).equals(before)


def test_an_unparsable_date_is_named(good_history, warehouse):
    path, res, before = good_history
    _spoil(path, [("02/03/2021", "alpha", 0.01, True)])
    message = failure_message(materialize_days(RAW_ASSETS, res, "2021-03-02", raise_on_error=False))
    assert "column 'date'" in message and "02/03/2021" in message
    assert stored(warehouse, RETURNS).equals(before)


def test_a_strategy_that_vanishes_unmarked_is_named(good_history, warehouse):
    path, res, before = good_history
    _spoil(path, GOOD_ROWS + [("2021-03-03", "alpha", 0.001, True)])  # beta missing on 03-03
    result = materialize_days(RAW_ASSETS, res, "2021-03-03", raise_on_error=False)
    message = failure_message(result)
    assert "day 2021-03-03, strategy beta: delivered on 2021-03-02 but missing" in message
    assert stored(warehouse, RETURNS).equals(before)


def test_a_strategy_marked_unavailable_is_not_vanishing(good_history, warehouse):
    path, res, before = good_history
    _spoil(path, GOOD_ROWS + [("2021-03-03", "alpha", 0.001, True), ("2021-03-03", "beta", None, False)])
    assert materialize_days(RAW_ASSETS, res, "2021-03-03").success
    assert stored(warehouse, RETURNS).height == before.height + 2


def test_a_missing_returns_file_is_named(warehouse, tmp_path):
    res = resources(warehouse, returns_file=tmp_path / "nowhere.csv")
    message = failure_message(materialize_days(RAW_ASSETS, res, "2021-03-01", raise_on_error=False))
    assert "nowhere.csv" in message and "not found" in message


def test_a_broken_strategies_yaml_fails_the_assets_naming_the_file(warehouse, config_dir):
    res = resources(warehouse, config_dir)
    assert materialize_days(RAW_ASSETS, res, "2020-03-16").success
    before = stored(warehouse, RETURNS)
    (config_dir / "strategies.yaml").write_text("source:\n  kind: bundled\n  cost_bps: [5\n")
    message = failure_message(materialize_days(RAW_ASSETS, res, "2020-03-16", raise_on_error=False))
    assert "strategies.yaml" in message and "malformed YAML" in message
    assert stored(warehouse, RETURNS).equals(before)


# --- the synthetic source ----------------------------------------------------------------


def test_the_synthetic_source_writes_its_universe_and_market(warehouse, config_dir):
    text = (config_dir / "strategies.yaml").read_text().replace("kind: bundled", "kind: synthetic")
    (config_dir / "strategies.yaml").write_text(text.replace("n_strategies: 20", "n_strategies: 30"))
    result = materialize_days(RAW_ASSETS, resources(warehouse, config_dir), "2016-06-01", "2016-06-07")
    assert result.success
    returns = stored(warehouse, RETURNS)
    assert returns.height == 30 * 5
    benchmark = stored(warehouse, PRICES)
    assert benchmark.get_column("is_benchmark").all() and benchmark.height == 5
