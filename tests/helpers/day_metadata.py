"""What each partition's materialisation of a range run must say about its own day: its
day, its own row count (the rows stored for that day) and no list longer than ten."""

import datetime as dt

from twin_resources.resources import WarehouseResource

LONGEST_LIST = 10


def day_events(result, table: str) -> dict[str, dict]:
    """The metadata values of each partition's materialisation of ``table`` (layer.name)."""
    events = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if ".".join(materialization.asset_key.path) == table:
            events[materialization.partition] = {key: value.value for key, value in materialization.metadata.items()}
    return events


def assert_each_day_counts_its_own_rows(
    result, warehouse: WarehouseResource, table: str, keys: list[str]
) -> dict[str, dict]:
    """Every partition in ``keys`` has an event naming its day, whose row count is the
    number of rows the warehouse holds for that day, and no list longer than ten."""
    events = day_events(result, table)
    assert sorted(events) == sorted(keys), table
    for key, metadata in events.items():
        stored = warehouse.read_history(table, dt.date.fromisoformat(key), dt.date.fromisoformat(key))
        assert metadata["day"] == key, (table, key)
        assert metadata["dagster/row_count"] == stored.height, (table, key)
        assert_no_long_list(metadata)
    return events


def assert_no_long_list(metadata: dict) -> None:
    long = {
        key: len(value)
        for key, value in metadata.items()
        if isinstance(value, list | dict) and len(value) > LONGEST_LIST
    }
    assert not long, long
