"""The warehouse: partition replacement is atomic and idempotent (for several tables at
once too), tables follow their schema (even empty, even grown), a locked file is waited
for, not failed on, and a file name is never SQL."""

import datetime as dt
import subprocess
import sys
import textwrap
import time

import duckdb
import polars as pl
import pytest

from tests.helpers.faults import fail_on_insert
from tests.helpers.graph import materialize_days, resources
from twin_assets.raw import RAW_ASSETS
from twin_model.contracts import TABLES, validate
from twin_model.errors import DataQualityError
from twin_resources.resources import WarehouseResource
from twin_resources.warehouse import PartitionWrite, Warehouse, quote_identifier

RETURNS = TABLES["raw.strategy_returns"]
D1, D2, D3 = dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)


def _returns(rows):
    return pl.DataFrame(rows, schema=RETURNS.columns(), orient="row")


@pytest.fixture
def store(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "w.duckdb", lock_timeout_s=3.0)


def test_replace_is_idempotent_and_touches_only_its_days(store):
    store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True), (D2, "a", 0.02, True)]), [D1, D2])
    for _ in range(2):
        store.replace_partitions(RETURNS, _returns([(D2, "a", 0.05, True), (D2, "b", None, False)]), [D2])
    stored = store.read(RETURNS)
    assert stored.rows() == [(D1, "a", 0.01, True), (D2, "a", 0.05, True), (D2, "b", None, False)]


def test_an_empty_first_output_creates_the_table_from_the_schema(store):
    store.replace_partitions(RETURNS, RETURNS.empty_frame(), [D1])
    with duckdb.connect(str(store.path), read_only=True) as connection:
        columns = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema='raw' AND table_name='strategy_returns' ORDER BY ordinal_position"
        ).fetchall()
    assert columns == [("date", "DATE"), ("strategy_id", "VARCHAR"), ("ret", "DOUBLE"), ("available", "BOOLEAN")]


def test_a_file_named_after_a_layer_is_not_ambiguous(tmp_path):
    store = Warehouse(tmp_path / "raw.duckdb")
    store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1])
    assert store.read(RETURNS).height == 1 and store.last_date_before(RETURNS, D2) == D1
    assert store.row_counts() == {"raw.strategy_returns": 1}


def test_insert_is_by_column_name(store):
    shuffled = _returns([(D1, "a", 0.01, True)]).select("available", "ret", "date", "strategy_id")
    store.replace_partitions(RETURNS, shuffled, [D1])
    assert store.read(RETURNS).rows() == [(D1, "a", 0.01, True)]


def test_a_failure_after_the_delete_leaves_the_old_partition(store, monkeypatch):
    old = _returns([(D1, "a", 0.01, True), (D1, "b", -0.02, True)])
    store.replace_partitions(RETURNS, old, [D1])
    deleted = {}

    def fail_after_delete(connection, spec, frame):
        deleted["rows_left_inside_transaction"] = connection.execute(
            "SELECT count(*) FROM raw.strategy_returns"
        ).fetchone()[0]
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(Warehouse, "insert_rows", staticmethod(fail_after_delete))
    with pytest.raises(RuntimeError, match="injected"):
        store.replace_partitions(RETURNS, _returns([(D1, "a", 0.5, True)]), [D1])
    assert deleted["rows_left_inside_transaction"] == 0  # the DELETE had run
    monkeypatch.undo()
    assert store.read(RETURNS).rows() == old.rows()


def test_rows_outside_the_partition_are_refused(store):
    with pytest.raises(ValueError, match="2021-03-02.*outside"):
        store.replace_partitions(RETURNS, _returns([(D2, "a", 0.01, True)]), [D1])
    assert not store.path.exists() or store.read(RETURNS).height == 0


def test_reads_only_the_requested_days(store):
    rows = [(d, "a", 0.01 * i, True) for i, d in enumerate([D1, D2, D3], start=1)]
    store.replace_partitions(RETURNS, _returns(rows), [D1, D2, D3])
    assert store.read(RETURNS, D2, D2).get_column("date").to_list() == [D2]
    assert store.last_date_before(RETURNS, D3) == D2


def test_an_older_schema_is_read_and_then_grown(store):
    """A warehouse written before ``available`` existed: reads give typed nulls for the new
    column, and the next write adds it as a nullable column without losing old rows."""
    with duckdb.connect(str(store.path)) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute("CREATE TABLE raw.strategy_returns (date DATE, strategy_id VARCHAR, ret DOUBLE)")
        connection.execute("INSERT INTO raw.strategy_returns VALUES ('2021-03-01', 'a', 0.01)")
    old = store.read(RETURNS)
    assert old.schema == pl.Schema(RETURNS.columns())
    assert old.rows() == [(D1, "a", 0.01, None)]

    store.replace_partitions(RETURNS, _returns([(D2, "a", 0.02, True)]), [D2])
    assert store.read(RETURNS).rows() == [(D1, "a", 0.01, None), (D2, "a", 0.02, True)]


def test_reading_a_missing_warehouse_gives_an_empty_frame_of_the_schema(store):
    frame = store.read(RETURNS)
    assert frame.height == 0 and frame.schema == pl.Schema(RETURNS.columns())
    assert not store.path.exists()


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    script = textwrap.dedent(
        f"""
        import duckdb, sys, time
        connection = duckdb.connect({str(path)!r})
        connection.execute("CREATE TABLE IF NOT EXISTS held (x INT)")
        print("locked", flush=True)
        time.sleep({seconds})
        connection.close()
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_lock_held_by_another_process_is_waited_for(store):
    holder = _hold_lock(store.path, 1.5)
    started = time.monotonic()
    store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1])
    waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert store.read(RETURNS).height == 1
    assert waited > 0.5  # it did have to wait for the other writer


def test_a_lock_held_past_the_timeout_fails_with_the_lock_error(tmp_path):
    store = Warehouse(tmp_path / "w.duckdb", lock_timeout_s=0.5)
    holder = _hold_lock(store.path, 5)
    try:
        with pytest.raises(duckdb.IOException, match="(?i)lock"):
            store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1])
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    "row, expected",
    [
        ((D1, "a", float("nan"), True), "column 'ret': rule finite"),
        ((D1, "a", float("inf"), True), "column 'ret': rule finite"),
        ((D1, "a", -1.0, True), "column 'ret': rule greater_than(-1.0)"),
        ((D1, "a", -1.7, True), "column 'ret': rule greater_than(-1.0)"),
        ((D1, "a", 0.51, True), "column 'ret': rule less_than_or_equal_to(0.5)"),
        ((D1, "a", None, True), "rule ret_present_when_available"),
        ((D1, "", 0.01, True), "column 'strategy_id'"),
    ],
)
def test_schema_names_the_row_column_and_rule(row, expected):
    with pytest.raises(DataQualityError) as error:
        validate(_returns([(D1, "ok", 0.0, True), row]), RETURNS)
    message = str(error.value)
    assert expected in message
    assert f"row 1 (date=2021-03-01, strategy_id={row[1]})" in message


def test_schema_names_duplicates_and_structure_problems():
    with pytest.raises(DataQualityError, match="duplicate key"):
        validate(_returns([(D1, "a", 0.0, True), (D1, "a", 0.1, True)]), RETURNS)
    with pytest.raises(DataQualityError, match="missing column 'available'"):
        validate(_returns([(D1, "a", 0.0, True)]).drop("available"), RETURNS)
    mistyped = _returns([(D1, "a", 0.0, True)]).with_columns(pl.col("ret").cast(pl.String))
    with pytest.raises(DataQualityError, match="column 'ret' has type String, expected Float64"):
        validate(mistyped, RETURNS)
    with pytest.raises(DataQualityError, match="unexpected column 'note'"):
        validate(_returns([(D1, "a", 0.0, True)]).with_columns(note=pl.lit("x")), RETURNS)


# --- several tables in one transaction ---------------------------------------------------

PRICES = TABLES["raw.market_prices"]


def _prices(day: dt.date, close: float) -> pl.DataFrame:
    return pl.DataFrame([(day, "SP500", close, "equity", True)], schema=PRICES.columns(), orient="row")


def _two_tables(store) -> tuple[list, list]:
    return store.read(RETURNS).rows(), store.read(PRICES).rows()


@pytest.mark.parametrize("failing_insert", [1, 2], ids=["after the first DELETE", "after the first table's INSERT"])
def test_a_failure_inside_a_write_of_several_tables_leaves_every_table_old(store, monkeypatch, failing_insert):
    store.replace_partitions_together(
        [
            PartitionWrite(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1]),
            PartitionWrite(PRICES, _prices(D1, 100.0), [D1]),
        ]
    )
    before = _two_tables(store)
    calls = fail_on_insert(monkeypatch, failing_insert)
    new = [
        PartitionWrite(RETURNS, _returns([(D1, "a", 0.5, True)]), [D1]),
        PartitionWrite(PRICES, _prices(D1, 200.0), [D1]),
    ]
    with pytest.raises(RuntimeError, match="injected"):
        store.replace_partitions_together(new)
    monkeypatch.undo()
    assert calls == ["raw.strategy_returns", "raw.market_prices"][:failing_insert]
    assert _two_tables(store) == before
    store.replace_partitions_together(new)  # and without the failure both change
    assert _two_tables(store) == ([(D1, "a", 0.5, True)], _prices(D1, 200.0).rows())


def test_a_write_of_several_tables_validates_every_frame_before_writing_any(store):
    store.replace_partitions_together([PartitionWrite(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1])])
    bad = _prices(D1, 100.0).with_columns(close=pl.lit(-1.0))
    with pytest.raises(DataQualityError, match="raw.market_prices"):
        store.replace_partitions_together(
            [PartitionWrite(RETURNS, _returns([(D1, "a", 0.3, True)]), [D1]), PartitionWrite(PRICES, bad, [D1])]
        )
    assert store.read(RETURNS).rows() == [(D1, "a", 0.01, True)]


def test_an_entity_scoped_write_replaces_only_the_named_entities(store):
    rows = [(D1, "a", 0.01, True), (D1, "b", 0.02, True), (D2, "b", 0.03, True)]
    store.replace_partitions(RETURNS, _returns(rows), [D1, D2])
    store.replace_partitions_together(
        [PartitionWrite(RETURNS, _returns([(D2, "a", 0.04, True)]), [D1, D2], "strategy_id", ("a",))]
    )
    assert store.read(RETURNS).rows() == [(D1, "b", 0.02, True), (D2, "a", 0.04, True), (D2, "b", 0.03, True)]
    assert store.last_dates_before(RETURNS, D3, "strategy_id") == {"a": D2, "b": D2}
    with pytest.raises(ValueError, match="strategy_id b are not among the strategy_ids being written \\(a\\)"):
        store.replace_partitions_together(
            [PartitionWrite(RETURNS, _returns([(D2, "b", 0.0, True)]), [D2], "strategy_id", ("a",))]
        )


# --- hostile file names --------------------------------------------------------------------

HOSTILE_NAMES = ['x"; CREATE TABLE pwned AS SELECT 42 AS v; --.duckdb', 'a"b.duckdb', "with space; and 'quote'.duckdb"]


def _all_tables(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            f"{s}.{t}"
            for s, t in connection.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_warehouse_file_name_is_a_name_and_not_sql(tmp_path, name):
    store = Warehouse(tmp_path / name)
    store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True), (D2, "a", 0.02, True)]), [D1, D2])
    store.replace_partitions_together(
        [PartitionWrite(RETURNS, _returns([(D2, "b", 0.03, True)]), [D2], "strategy_id", ("b",))]
    )
    assert store.read(RETURNS, D2, D2).rows() == [(D2, "a", 0.02, True), (D2, "b", 0.03, True)]
    assert store.last_date_before(RETURNS, D2) == D1
    assert store.table_summaries() == {"raw.strategy_returns": (3, D1, D2)}
    assert _all_tables(store.path) == {"raw.strategy_returns"}  # no pwned


def test_an_identifier_with_a_double_quote_is_escaped():
    assert quote_identifier('a"b') == '"a""b"'
    with duckdb.connect() as connection:
        name = quote_identifier('t"; --')
        connection.execute(f"CREATE TABLE {name} (v INT)")
        assert connection.execute("SELECT table_name FROM information_schema.tables").fetchall() == [('t"; --',)]


@pytest.mark.parametrize("name", HOSTILE_NAMES[:2])
def test_a_raw_day_materialises_into_a_hostile_file_name_and_reads_back(tmp_path, name):
    warehouse = WarehouseResource(path=str(tmp_path / name))
    assert materialize_days(RAW_ASSETS, resources(warehouse), "2020-03-16").success
    returns = warehouse.read_history("raw.strategy_returns", None, None)
    assert returns.get_column("date").unique().to_list() == [dt.date(2020, 3, 16)]
    assert returns.height >= 13
    assert _all_tables(warehouse.path) == {
        "raw.market_prices",
        "raw.factor_returns",
        "raw.strategy_returns",
        "raw.strategy_positions",
        "raw.market_regime",
        "raw.input_digests",
        "raw.restatements",
    }


def test_a_kill_9_inside_a_write_of_several_tables_leaves_every_table_old(store, tmp_path):
    """A real kill: the writer is killed with SIGKILL after the first table's INSERT; the
    file, reopened, holds the old rows of both tables."""
    store.replace_partitions_together(
        [
            PartitionWrite(RETURNS, _returns([(D1, "a", 0.01, True)]), [D1]),
            PartitionWrite(PRICES, _prices(D1, 100.0), [D1]),
        ]
    )
    before = _two_tables(store)
    script = textwrap.dedent(
        f"""
        import datetime as dt, time
        import polars as pl
        from twin_model.contracts import TABLES
        from twin_resources.warehouse import PartitionWrite, Warehouse
        returns, prices, day = TABLES["raw.strategy_returns"], TABLES["raw.market_prices"], dt.date(2021, 3, 1)
        original = Warehouse.insert_rows
        def insert_then_wait(connection, spec, frame):
            original(connection, spec, frame)
            print("inserted", spec.qualified_name, flush=True)
            time.sleep(60)
        Warehouse.insert_rows = staticmethod(insert_then_wait)
        Warehouse({str(store.path)!r}).replace_partitions_together([
            PartitionWrite(returns, pl.DataFrame([(day, "a", 0.5, True)], schema=returns.columns(), orient="row"), [day]),
            PartitionWrite(prices, pl.DataFrame([(day, "SP500", 200.0, "equity", True)], schema=prices.columns(), orient="row"), [day]),
        ])
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "inserted raw.strategy_returns"
    writer.kill()
    writer.wait()
    assert _two_tables(store) == before


def test_a_corrupt_file_is_named_with_how_to_restore_it_from_the_snapshot(store):
    """Blocks that fail DuckDB's checksums: the error names the file and the snapshot to
    restore from (the adversarial round's corrupt-file case)."""
    from twin_resources.snapshot import publish, snapshot_path
    from twin_resources.warehouse import WarehouseCorruptError

    store.replace_partitions(RETURNS, _returns([(D1, "a", 0.01, True), (D2, "a", 0.02, True)]), [D1, D2])
    publish(store, run_id="before-the-damage")
    data = bytearray(store.path.read_bytes())
    data[100:4096] = bytes((b + 1) % 256 for b in data[100:4096])
    store.path.write_bytes(bytes(data))
    with pytest.raises(WarehouseCorruptError) as error:
        store.read(RETURNS)
    message = str(error.value)
    assert str(store.path) in message and f"cp {snapshot_path(store.path)} {store.path}" in message
