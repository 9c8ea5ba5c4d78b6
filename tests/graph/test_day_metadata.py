"""Each partition of a range run of the raw layer describes its own day: its rows, its
strategies, why it is empty; the run's empty days are a count and the first ten, on the
run's last day alone; every day carries the run's provenance."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.helpers.day_metadata import assert_each_day_counts_its_own_rows, day_events
from tests.helpers.graph import materialize_days, resources, write_returns_file
from twin_assets.raw import RAW_ASSETS
from twin_resources.resources import WarehouseResource

RAW_TABLES = [
    "raw.market_prices",
    "raw.factor_returns",
    "raw.strategy_returns",
    "raw.strategy_positions",
    "raw.market_regime",
]
HOLIDAY = "2018-07-04"


def _weekdays(first: str, last: str) -> list[str]:
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    return [str(day) for day in days[np.is_busday(days)]]


@pytest.fixture(scope="module")
def around_a_holiday(tmp_path_factory):
    """The bundled source over the week of Independence Day 2018, as one run."""
    warehouse = WarehouseResource(path=str(tmp_path_factory.mktemp("day_metadata") / "twin.duckdb"))
    result = materialize_days(RAW_ASSETS, resources(warehouse), "2018-06-28", "2018-07-06")
    assert result.success
    return warehouse, result, _weekdays("2018-06-28", "2018-07-06")


def test_each_raw_partition_counts_its_own_rows(around_a_holiday):
    warehouse, result, keys = around_a_holiday
    for table in RAW_TABLES:
        events = assert_each_day_counts_its_own_rows(result, warehouse, table, keys)
        assert events[HOLIDAY]["dagster/row_count"] == 0, table
        assert all(events[key]["dagster/row_count"] > 0 for key in keys if key != HOLIDAY), table


def test_each_day_counts_its_own_strategies_and_unavailable_rows(around_a_holiday):
    warehouse, result, keys = around_a_holiday
    events = assert_each_day_counts_its_own_rows(result, warehouse, "raw.strategy_returns", keys)
    stored = warehouse.read_history("raw.strategy_returns", None, None)
    for key, metadata in events.items():
        rows = stored.filter(pl.col("date") == dt.date.fromisoformat(key))
        assert metadata["strategy_ids"] == rows.get_column("strategy_id").n_unique(), key
        assert metadata["unavailable_rows"] == rows.filter(~pl.col("available")).height, key


def test_only_the_holiday_says_why_it_is_empty(around_a_holiday):
    warehouse, result, keys = around_a_holiday
    for table in RAW_TABLES:
        events = assert_each_day_counts_its_own_rows(result, warehouse, table, keys)
        assert "holiday" in events[HOLIDAY]["why_empty"], table
        assert [key for key, metadata in events.items() if "why_empty" in metadata] == [HOLIDAY], table


def test_a_run_with_many_empty_days_counts_them_and_names_the_first_ten(warehouse, config_dir, tmp_path):
    march = _weekdays("2021-03-01", "2021-03-31")  # no exchange holiday in March 2021
    listed = march[1::2]  # every other weekday declared without data: 11 of them
    delivered = [key for key in march if key not in listed]
    path = write_returns_file(
        tmp_path / "returns.csv", [(key, s, 0.001, True) for key in delivered for s in ("a", "b")]
    )
    calendar = config_dir / "calendar.yaml"
    calendar.write_text(calendar.read_text().replace("no_data_days: []", f"no_data_days: [{', '.join(listed)}]"))
    result = materialize_days(RAW_ASSETS, resources(warehouse, config_dir, returns_file=path), march[0], march[-1])
    assert result.success and len(listed) == 11
    events = assert_each_day_counts_its_own_rows(result, warehouse, "raw.strategy_returns", march)
    last = events[march[-1]]  # the run's facts are on its last day's event
    assert last["empty_day_count"] == 11
    assert last["empty_days"] == listed[:10]
    assert (last["first_day"], last["last_day"]) == ("2021-03-01", "2021-03-31")
    assert last["warehouse"] == warehouse.path
    for key, metadata in events.items():
        assert metadata["dagster/row_count"] == (0 if key in listed else 2)
        assert ("listed as a no-data day" in metadata["why_empty"]) if key in listed else "why_empty" not in metadata


def test_the_run_s_facts_are_on_its_last_day_alone_and_provenance_on_every_day(around_a_holiday):
    """Dagster copies an output's metadata into every partition's event: a 2,084-day
    history would store the run's facts 2,084 times (RESULTS.md measures the event log)."""
    warehouse, result, keys = around_a_holiday
    for table in RAW_TABLES:
        events = day_events(result, table)
        run_facts = ("first_day", "last_day", "days", "days_with_data", "empty_day_count", "warehouse")
        assert [key for key, metadata in events.items() if "first_day" in metadata] == [keys[-1]], table
        assert all(fact in events[keys[-1]] for fact in run_facts), table
        assert events[keys[-1]]["warehouse"] == warehouse.path
        for key in keys[:-1]:
            assert not set(run_facts) & set(events[key]), (table, key)
        for metadata in events.values():
            assert {"config_hash", "code_version", "run_id"} <= set(metadata), table
            assert "dagster/table_name" not in metadata
