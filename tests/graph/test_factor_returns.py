"""raw.factor_returns as a graph: the bundled factors and the benchmark read from them, a
returns file without factors (alpha over cash), a factors file read back as written, and
every bad factors file failing the run naming file, row and rule while the warehouse
keeps its last good state (strategy returns included: the factors are written first)."""

import datetime as dt

import polars as pl
import pytest

from tests.helpers.day_metadata import day_events
from tests.helpers.graph import day, failure_message, materialize_days, resources, stored, write_returns_file
from twin_assets.raw import RAW_ASSETS
from twin_assets.shared import history
from twin_model.contracts import TABLES

FACTORS = TABLES["raw.factor_returns"]
RETURNS = TABLES["raw.strategy_returns"]
PRICES = TABLES["raw.market_prices"]


def test_a_bundled_day_stores_the_benchmark_as_a_total_return_beside_the_five_etfs(warehouse):
    result = materialize_days(RAW_ASSETS, resources(warehouse), "2020-03-13", "2020-03-16")
    assert result.success
    crash = day("2020-03-16")
    factors = stored(warehouse, FACTORS).filter(pl.col("date") == crash)
    assert factors.get_column("factor_id").to_list() == ["MTUM", "QUAL", "SIZE", "SP500", "USMV", "VLUE"]
    closes = stored(warehouse, PRICES).filter(pl.col("ticker") == "SP500").sort("date").get_column("close")
    price_return = closes[1] / closes[0] - 1
    benchmark = history.benchmark(warehouse, crash, crash)
    assert benchmark.columns == ["date", "ret"] and benchmark.get_column("date").to_list() == [crash]
    assert benchmark.get_column("ret").item() == pytest.approx(price_return + (1.018 ** (1 / 252) - 1), rel=1e-12)
    events = day_events(result, "raw.factor_returns")
    assert events["2020-03-16"]["factors"] == 6 and events["2020-03-16"]["benchmark"] == "SP500"
    assert events["2020-03-16"]["benchmark_return"] == "price + 1.80% dividend yield"
    assert events["2020-03-16"]["alpha_over"] == "factors"


# --- a firm's own files ------------------------------------------------------------------

DAYS = ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04", "2021-03-05", "2021-03-08"]
RETURN_ROWS = [(d, s, 0.001, True) for d in DAYS for s in ("alpha", "beta")]
FACTOR_ROWS = [(d, f, r) for d in DAYS for f, r in (("MKT", 0.004), ("HML", -0.001))]
"""Data row 2i + 1 is MKT on DAYS[i], 2i + 2 HML: 2021-03-03's HML is data row 6."""


def _benchmark_mkt(config_dir):
    path = config_dir / "strategies.yaml"
    path.write_text(path.read_text().replace("benchmark: SP500", "benchmark: MKT"))


def _write_factors(path, rows, columns=("date", "factor_id", "ret")):
    pl.DataFrame(rows, schema=list(columns), orient="row").write_csv(path)
    return path


def test_a_returns_file_without_factors_stores_none_and_says_alpha_is_over_cash(warehouse, tmp_path):
    path = write_returns_file(tmp_path / "returns.csv", RETURN_ROWS[:4])
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), "2021-03-01", "2021-03-02")
    assert result.success
    assert stored(warehouse, FACTORS).height == 0
    assert history.benchmark(warehouse, None, day("2021-03-02")).height == 0
    events = day_events(result, "raw.factor_returns")
    assert events["2021-03-02"]["alpha_over"] == "cash"  # a fact of the run: on its last day
    for metadata in events.values():
        assert metadata["factors"] == 0
        assert "alpha is measured over cash" in metadata["why_empty"]


def test_a_factors_file_reads_back_as_written_with_the_configured_benchmark(warehouse, config_dir, tmp_path):
    _benchmark_mkt(config_dir)
    returns = write_returns_file(tmp_path / "returns.csv", RETURN_ROWS)
    factors = _write_factors(tmp_path / "factors.csv", FACTOR_ROWS)
    res = resources(warehouse, config_dir, returns_file=returns, factors_file=factors)
    result = materialize_days(RAW_ASSETS, res, DAYS[0], DAYS[-1])
    assert result.success
    expected = [(day(d), f, r, f == "MKT") for d, f, r in FACTOR_ROWS]
    assert sorted(stored(warehouse, FACTORS).rows()) == sorted(expected)
    assert history.benchmark(warehouse, day(DAYS[1]), day(DAYS[2])).rows() == [
        (day(DAYS[1]), 0.004),
        (day(DAYS[2]), 0.004),
    ]
    assert history.factor_returns(warehouse, None, day(DAYS[0])).height == 2
    events = day_events(result, "raw.factor_returns")
    assert events[DAYS[0]]["benchmark"] == "MKT" and str(factors) in events[DAYS[0]]["benchmark_return"]
    assert str(factors) in events[DAYS[-1]]["factors_from"]  # a fact of the run: on its last day


def test_the_environment_s_factors_file_wins_over_the_configured_one(warehouse, config_dir, tmp_path):
    _benchmark_mkt(config_dir)
    configured = _write_factors(config_dir / "configured.csv", [(d, "MKT", 0.5) for d in DAYS])
    strategies = config_dir / "strategies.yaml"
    strategies.write_text(strategies.read_text().replace("factors_file: null", f"factors_file: {configured.name}"))
    returns = write_returns_file(tmp_path / "returns.csv", RETURN_ROWS)
    assert materialize_days(RAW_ASSETS, resources(warehouse, config_dir, returns_file=returns), DAYS[0]).success
    assert stored(warehouse, FACTORS).get_column("ret").to_list() == [0.5]  # relative to the config directory
    factors = _write_factors(tmp_path / "factors.csv", FACTOR_ROWS)
    res = resources(warehouse, config_dir, returns_file=returns, factors_file=factors)
    assert materialize_days(RAW_ASSETS, res, DAYS[0]).success
    assert sorted(stored(warehouse, FACTORS).get_column("ret").to_list()) == [-0.001, 0.004]


@pytest.fixture
def good_history(warehouse, config_dir, tmp_path):
    """The first two days stored from a returns file and a factors file; the test then spoils the factors."""
    _benchmark_mkt(config_dir)
    returns = write_returns_file(tmp_path / "returns.csv", RETURN_ROWS)
    factors = _write_factors(tmp_path / "factors.csv", FACTOR_ROWS)
    res = resources(warehouse, config_dir, returns_file=returns, factors_file=factors)
    assert materialize_days(RAW_ASSETS, res, DAYS[0], DAYS[1]).success
    return factors, res, stored(warehouse, FACTORS), stored(warehouse, RETURNS)


def _replaced(row_number: int, row: tuple) -> list[tuple]:
    """FACTOR_ROWS with data row ``row_number`` replaced by ``row``."""
    return [row if i == row_number else r for i, r in enumerate(FACTOR_ROWS, start=1)]


BAD_FILES = {
    "nan": (_replaced(6, ("2021-03-03", "HML", "nan")), ["data row 6", "factor_id=HML", "finite"]),
    "inf": (_replaced(6, ("2021-03-03", "HML", "inf")), ["data row 6", "factor_id=HML", "finite"]),
    "empty_return": (_replaced(6, ("2021-03-03", "HML", None)), ["data row 6", "not_nullable"]),
    "duplicate": (FACTOR_ROWS + [("2021-03-03", "HML", 0.002)], ["factor_id=HML", "duplicate key"]),
    "blank_id": (_replaced(6, ("2021-03-03", " ", 0.0)), ["data row 6", "not_blank_or_padded", "' '"]),
    "padded_id": (_replaced(6, ("2021-03-03", "HML ", 0.0)), ["data row 6", "not_blank_or_padded", "'HML '"]),
    "weekend": (FACTOR_ROWS + [("2021-03-06", "HML", 0.0)], ["data row 13", "business_day"]),
    "not_iso": (_replaced(6, ("03/03/2021", "HML", 0.0)), ["data row 6", "'03/03/2021' is not a YYYY-MM-DD date"]),
    "mistyped": (_replaced(6, ("2021-03-03", "HML", "1.5%")), ["data row 6", "has type String, expected Float64"]),
    "missing_day": (
        [r for r in FACTOR_ROWS if r[:2] != ("2021-03-04", "HML")],
        ["day 2021-03-04, factor HML: missing", "from its first day, 2021-03-01"],
    ),
    "unknown_benchmark": (
        [(d, "MARKET" if f == "MKT" else f, r) for d, f, r in FACTOR_ROWS],
        ["unknown benchmark id 'MKT'", "factors.benchmark", "['HML', 'MARKET']"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_factors_file_fails_naming_file_row_and_rule_and_changes_nothing(case, good_history, warehouse):
    path, res, factors_before, returns_before = good_history
    rows, fragments = BAD_FILES[case]
    _write_factors(path, [tuple(str(v) if isinstance(v, float) else v for v in r) for r in rows])
    result = materialize_days(RAW_ASSETS, res, DAYS[2], DAYS[-1], raise_on_error=False)
    message = failure_message(result)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert stored(warehouse, FACTORS).equals(factors_before)
    assert stored(warehouse, RETURNS).equals(returns_before)


@pytest.mark.parametrize(
    "columns, fragment",
    [
        (("date", "factor_id"), "missing column 'ret'"),
        (("date", "factor_id", "ret", "currency"), "unexpected column 'currency'"),
        (("date", "factor_id", "ret", "is_benchmark"), "unexpected column 'is_benchmark'"),
    ],
)
def test_missing_and_extra_columns_are_named(columns, fragment, good_history, warehouse):
    path, res, factors_before, returns_before = good_history
    rows = [(*r, "x", "y")[: len(columns)] for r in FACTOR_ROWS]
    _write_factors(path, rows, columns)
    message = failure_message(materialize_days(RAW_ASSETS, res, DAYS[2], DAYS[-1], raise_on_error=False))
    assert str(path) in message and fragment in message, message
    assert stored(warehouse, FACTORS).equals(factors_before)
    assert stored(warehouse, RETURNS).equals(returns_before)


def test_a_synthetic_run_stores_its_market_as_the_benchmark(warehouse, config_dir):
    from twin_model.data import SyntheticConfig, synthetic

    path = config_dir / "strategies.yaml"
    path.write_text(path.read_text().replace("kind: bundled", "kind: synthetic"))
    assert materialize_days(RAW_ASSETS, resources(warehouse, config_dir), "2016-06-01", "2016-06-03").success
    days = [dt.date(2016, 6, d) for d in (1, 2, 3)]
    market = synthetic.generate(SyntheticConfig(n_strategies=20, seed=7, anchor=dt.date(2015, 1, 2)), days)[1]
    assert (
        history.benchmark(warehouse, days[0], days[-1]).get_column("ret").to_list()
        == market.get_column("market_return").to_list()
    )


def test_a_corrected_factor_return_is_recorded_as_a_restatement(good_history, warehouse):
    from twin_resources.restatement_log import RestatementLog

    path, res, _, _ = good_history
    assert materialize_days(RAW_ASSETS, res, DAYS[1]).success  # unchanged: nothing restated
    assert RestatementLog(warehouse.warehouse()).restatements().height == 0
    _write_factors(path, _replaced(4, ("2021-03-02", "HML", "-0.0015")))
    assert materialize_days(RAW_ASSETS, res, DAYS[1]).success
    log = RestatementLog(warehouse.warehouse()).restatements()
    assert log.select("date", "table").rows() == [(day(DAYS[1]), "raw.factor_returns")]
