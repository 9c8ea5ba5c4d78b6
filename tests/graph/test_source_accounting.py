"""A source accounts for every business day it is asked for (issue 8, failures 2 and 10).

An empty file, a file that ends before the range or a weekday without rows that is not a
holiday fails the run naming the file or the day, and the warehouse keeps its rows; a
holiday of the firm's calendar is stored empty and says why. Weekend rows and padded or
blank ids are refused, and every message names the file's own data row.
"""

import datetime as dt

import pytest

from tests.helpers.graph import day, failure_message, materialize_days, resources, stored, write_returns_file
from twin_assets.raw import RAW_ASSETS
from twin_model.calendar import HolidayCalendar, business_days
from twin_model.contracts import TABLES

RETURNS = TABLES["raw.strategy_returns"]

XNYS_HOLIDAYS_EARLY_2021 = {day("2021-01-01"), day("2021-01-18"), day("2021-02-15")}
"""New Year's Day, Martin Luther King Jr. Day and Presidents' Day: the NYSE was closed."""
JANUARY = [d for d in business_days(day("2021-01-04"), day("2021-01-29")) if d not in XNYS_HOLIDAYS_EARLY_2021]
FEBRUARY = [d for d in business_days(day("2021-02-01"), day("2021-02-26")) if d not in XNYS_HOLIDAYS_EARLY_2021]


def _rows(days: list[dt.date], strategies=("alpha", "beta")) -> list[tuple]:
    return [(str(d), s, 0.001 * (i + 1), True) for d in days for i, s in enumerate(strategies)]


@pytest.fixture
def january_and_february(warehouse, tmp_path):
    """Both months stored from a returns file; the test then replaces the file."""
    path = write_returns_file(tmp_path / "returns.csv", _rows(JANUARY + FEBRUARY))
    res = resources(warehouse, returns_file=path)
    assert materialize_days(RAW_ASSETS, res, "2021-01-04", "2021-02-26").success
    before = stored(warehouse, RETURNS)
    assert before.height == 2 * (19 + 19)  # 20 weekdays each, less MLK day and Presidents' Day
    return path, res, before


def _refused(res, warehouse, before, start="2021-01-04", end="2021-02-26") -> str:
    """Run the range, expect it to fail, check the warehouse kept its rows; the message."""
    result = materialize_days(RAW_ASSETS, res, start, end, raise_on_error=False)
    message = failure_message(result)
    after = stored(warehouse, RETURNS)
    assert after.height == before.height and after.equals(before)
    return message


# --- files that hold nothing ---------------------------------------------------------------


def test_an_empty_parquet_file_is_refused_as_no_rows(january_and_february, warehouse, tmp_path):
    _, _, before = january_and_february
    path = tmp_path / "empty.parquet"
    RETURNS.empty_frame().write_parquet(path)
    message = _refused(resources(warehouse, returns_file=path), warehouse, before)
    assert f"{path}: no rows" in message


@pytest.mark.parametrize("header", ["date,strategy_id,ret", "date,strategy_id,ret,available"])
def test_a_header_only_csv_is_refused_as_no_rows(header, january_and_february, warehouse):
    path, res, before = january_and_february
    path.write_text(header + "\n")
    message = _refused(res, warehouse, before)
    assert f"{path}: no rows" in message
    assert "has type String" not in message


# --- days the file does not cover ----------------------------------------------------------


def test_a_file_that_ends_in_january_fails_naming_the_february_days(january_and_february, warehouse):
    path, res, before = january_and_february
    write_returns_file(path, _rows(JANUARY))
    message = _refused(res, warehouse, before)
    # Presidents' Day is an exchange holiday, but beyond the file's last day it is missing too.
    assert (
        "days 2021-02-01 to 2021-02-26 (20 business days): missing: after the source's data, "
        "which runs from 2021-01-04 to 2021-01-29" in message
    )
    assert "2021-01-" not in message.split("missing")[0]


def test_a_weekday_dropped_from_the_file_is_not_emptied(january_and_february, warehouse):
    path, res, before = january_and_february
    write_returns_file(path, _rows([d for d in JANUARY + FEBRUARY if d != day("2021-02-10")]))
    message = _refused(res, warehouse, before)
    assert "day 2021-02-10: missing: no rows on this Wednesday" in message and "XNYS holidays" in message
    assert message.count("missing") == 1


# --- holidays --------------------------------------------------------------------------------


def test_an_exchange_holiday_is_stored_empty_and_says_why(warehouse, tmp_path):
    days = [day("2022-01-14"), day("2022-01-18")]  # around Martin Luther King Jr. Day, 2022-01-17
    path = write_returns_file(tmp_path / "returns.csv", _rows(days))
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), "2022-01-14", "2022-01-18")
    assert result.success
    assert stored(warehouse, RETURNS).get_column("date").unique().sort().to_list() == days
    metadata = _returns_metadata(result)
    assert metadata["empty_days"].value == ["2022-01-17"]
    assert metadata["empty_reason"].value == "2022-01-17: XNYS holiday (Dr. Martin Luther King Jr. Day)"


def _returns_metadata(result) -> dict:
    """The strategy_returns metadata of a range run's last day, which carries the range's."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.path == RETURNS.path]
    return max(events, key=lambda e: e.materialization.partition).materialization.metadata


def test_a_listed_no_data_day_is_stored_empty_and_without_a_calendar_a_holiday_fails(
    january_and_february, warehouse, config_dir
):
    path, _, before = january_and_february
    write_returns_file(path, _rows([d for d in JANUARY + FEBRUARY if d != day("2021-02-10")]))
    calendar = config_dir / "calendar.yaml"
    calendar.write_text(
        calendar.read_text().replace("holidays: XNYS\n", "").replace("no_data_days: []", "no_data_days: [2021-02-10]")
    )
    res = resources(warehouse, config_dir, returns_file=path)
    # Without the exchange calendar, MLK day and Presidents' Day are unaccounted for.
    message = _refused(res, warehouse, before)
    assert "day 2021-01-18: missing: no rows on this Monday" in message and "day 2021-02-15: missing" in message
    assert "2021-02-10" not in message and "1 listed no-data day(s)" in message

    calendar.write_text(
        calendar.read_text().replace("no_data_days: [2021-02-10]", "no_data_days: [2021-01-18, 2021-02-10, 2021-02-15]")
    )
    result = materialize_days(RAW_ASSETS, res, "2021-01-04", "2021-02-26")
    assert result.success
    assert stored(warehouse, RETURNS).height == before.height - 2
    assert "2021-02-10: listed as a no-data day" in _returns_metadata(result)["empty_reason"].value


def test_every_weekday_without_bundled_data_is_a_new_york_stock_exchange_holiday():
    from twin_resources.sources import BundledSource

    start, end = day("2015-01-02"), day("2022-12-28")
    with_rows = set(BundledSource().strategy_returns(start, end).get_column("date").unique().to_list())
    empty = {d for d in business_days(start, end) if d not in with_rows}
    holidays = HolidayCalendar("XNYS").no_data_days(start, end)
    assert empty == set(holidays)
    # Spot checks: the closures for President Bush's funeral and the first Juneteenth.
    assert {day("2018-12-05"), day("2022-06-20"), day("2020-07-03")} <= empty
    assert 8 * 9 <= len(empty) <= 8 * 10  # nine or ten weekday holidays a year


def test_the_synthetic_source_delivers_holidays_too(warehouse, config_dir):
    strategies = config_dir / "strategies.yaml"
    strategies.write_text(
        strategies.read_text()
        .replace("kind: bundled", "kind: synthetic")
        .replace("n_strategies: 20", "n_strategies: 3")
    )
    result = materialize_days(RAW_ASSETS, resources(warehouse, config_dir), "2016-07-01", "2016-07-05")
    assert result.success  # 2016-07-04 is an XNYS holiday, but the synthetic firm trades it
    assert stored(warehouse, RETURNS).height == 3 * 3


# --- rows a file must not hold, named by the file's own row -----------------------------------


def test_a_saturday_row_is_refused_naming_its_data_row(warehouse, tmp_path):
    path = write_returns_file(
        tmp_path / "returns.csv", _rows([day("2021-03-05"), day("2021-03-06"), day("2021-03-08")])
    )
    result = materialize_days(
        RAW_ASSETS, resources(warehouse, returns_file=path), "2021-03-05", "2021-03-08", raise_on_error=False
    )
    message = failure_message(result)
    assert "data row 3 (date=2021-03-06, strategy_id=alpha): column 'date': rule business_day failed" in message
    assert "data row 4 (date=2021-03-06, strategy_id=beta)" in message
    assert str(path) in message and stored(warehouse, RETURNS).height == 0


def test_a_message_names_the_files_own_data_row(warehouse, tmp_path):
    early = _rows(business_days(day("2021-01-04"), day("2021-03-05"))[:45])  # data rows 1-90
    bad_day = day("2021-03-15")
    rows = early + [(str(bad_day), "alpha", 0.75, True), (str(bad_day), "beta", 0.001, True)]
    path = write_returns_file(tmp_path / "returns.csv", rows)
    assert len(early) == 90
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), str(bad_day), raise_on_error=False)
    message = failure_message(result)
    assert "data row 91 (date=2021-03-15, strategy_id=alpha): column 'ret': rule less_than_or_equal_to(0.5)" in message
    assert "row 0 " not in message


@pytest.mark.parametrize("bad_id", ["   ", "alpha_a ", " alpha_a"])
def test_a_padded_or_blank_id_is_refused_quoted(bad_id, warehouse, tmp_path):
    rows = _rows([day("2021-03-01")]) + [("2021-03-01", bad_id, 0.002, True)]
    path = write_returns_file(tmp_path / "returns.csv", rows)
    result = materialize_days(RAW_ASSETS, resources(warehouse, returns_file=path), "2021-03-01", raise_on_error=False)
    message = failure_message(result)
    assert f"data row 3 (date=2021-03-01, strategy_id={bad_id}): column 'strategy_id'" in message
    assert f"rule not_blank_or_padded failed (value: {bad_id!r})" in message
    assert stored(warehouse, RETURNS).height == 0
