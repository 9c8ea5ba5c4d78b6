"""Each source's factors: the bundled benchmark as a total return and the five factor ETFs,
checked against the closes skfolio ships; the synthetic market; a factors file read back
as written, refused when its benchmark id is unknown; a returns file without one: none."""

import datetime as dt

import polars as pl
import pytest

from twin_model.data import SyntheticConfig, synthetic
from twin_model.data.factors import FactorSettings
from twin_resources.sources import BundledSource, FactorsFile, FileSource, SourceError, SyntheticSource

DAYS = ["2015-01-05", "2020-03-16", "2022-12-28"]
ETFS = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]


def _by_hand(prices, ticker: str, day: str) -> float:
    """close on ``day`` over the close of the row before it, minus one."""
    series = prices[ticker].dropna()
    at = series.index.get_loc(day)
    return float(series.iloc[at] / series.iloc[at - 1] - 1)


def test_bundled_factors_are_the_shipped_closes_returns_with_the_index_made_a_total_return():
    from skfolio.datasets import load_factors_dataset, load_sp500_index

    index, etfs = load_sp500_index(), load_factors_dataset()
    source = BundledSource(factors=FactorSettings(dividend_yield=0.02))
    add_on = 1.02 ** (1 / 252) - 1
    for text in DAYS:
        day = dt.date.fromisoformat(text)
        frame = source.factor_returns(day, day)
        got = dict(zip(frame.get_column("factor_id"), frame.get_column("ret"), strict=True))
        assert sorted(got) == sorted(["SP500", *ETFS]), text
        assert got["SP500"] == pytest.approx(_by_hand(index, "SP500", text) + add_on, rel=1e-12, abs=1e-15)
        for etf in ETFS:
            assert got[etf] == pytest.approx(_by_hand(etfs, etf, text), rel=1e-12, abs=1e-15), (text, etf)
        assert frame.filter(pl.col("is_benchmark")).get_column("factor_id").to_list() == ["SP500"]
    crash = source.factor_returns(dt.date(2020, 3, 16), dt.date(2020, 3, 16)).filter(pl.col("factor_id") == "SP500")
    assert crash.get_column("ret").item() == pytest.approx(-0.1198 + add_on, abs=5e-4)  # the 2020-03-16 close
    assert source.benchmark_return() == "price + 2.00% dividend yield"


def test_every_bundled_factor_exists_from_the_firm_calendar_start():
    starts = BundledSource().factor_starts()
    assert starts["SP500"] < dt.date(2015, 1, 2)
    assert {starts[etf] for etf in ETFS} == {dt.date(2014, 1, 3)}  # the day after their first close, 2014-01-02


def test_the_synthetic_market_is_its_benchmark_factor_as_generated():
    config = SyntheticConfig(n_strategies=3, seed=11, anchor=dt.date(2021, 3, 1))
    source = SyntheticSource(config)
    frame = source.factor_returns(dt.date(2021, 3, 1), dt.date(2021, 3, 5))
    market = synthetic.generate(config, [dt.date(2021, 3, d) for d in range(1, 6)])[1]
    assert frame.get_column("ret").to_list() == market.get_column("market_return").to_list()
    assert frame.get_column("is_benchmark").all() and set(frame.get_column("factor_id")) == {"SYN_MARKET"}


def test_a_factors_file_reads_back_as_written_with_the_configured_benchmark(tmp_path):
    rows = [("2021-03-01", "MKT", 0.01), ("2021-03-01", "HML", -0.002), ("2021-03-02", "MKT", 0.0)]
    path = tmp_path / "factors.parquet"
    pl.DataFrame(rows, schema=["date", "factor_id", "ret"], orient="row").with_columns(
        pl.col("date").str.to_date()
    ).write_parquet(path)
    source = FileSource(tmp_path / "returns.csv", FactorsFile(path, "MKT"))
    frame = source.factor_returns(dt.date(2021, 3, 1), dt.date(2021, 3, 1)).drop("source_row")
    assert frame.rows() == [(dt.date(2021, 3, 1), "MKT", 0.01, True), (dt.date(2021, 3, 1), "HML", -0.002, False)]
    assert source.factor_starts() == {"MKT": dt.date(2021, 3, 1), "HML": dt.date(2021, 3, 1)}
    assert str(path) in source.factor_origin()


def test_an_unknown_benchmark_id_names_the_file_the_config_key_and_the_ids(tmp_path):
    path = tmp_path / "factors.csv"
    pl.DataFrame({"date": ["2021-03-01"] * 2, "factor_id": ["MKT", "HML"], "ret": [0.01, 0.0]}).write_csv(path)
    with pytest.raises(SourceError) as error:
        FileSource(tmp_path / "returns.csv", FactorsFile(path, "SP500")).factor_returns(
            dt.date(2021, 3, 1), dt.date(2021, 3, 1)
        )
    message = str(error.value)
    assert str(path) in message and "unknown benchmark id 'SP500'" in message
    assert "factors.benchmark" in message and "['HML', 'MKT']" in message
    with pytest.raises(SourceError, match="unknown benchmark id 'QQQ'.*factors.benchmark.*SP500"):
        BundledSource(factors=FactorSettings(benchmark="QQQ")).factor_returns(dt.date(2021, 3, 1), dt.date(2021, 3, 1))


def test_a_returns_file_without_a_factors_file_has_no_factors(tmp_path):
    source = FileSource(tmp_path / "returns.csv")
    assert source.factor_returns(dt.date(2021, 3, 1), dt.date(2021, 3, 5)).height == 0
    assert source.factor_starts() == {} and source.benchmark_return() is None
