"""The artefact store: one folder per warehouse file, and every read verified against the
hash its table row recorded."""

import datetime as dt
import hashlib

import polars as pl
import pytest

from twin_resources.artifacts import ArtifactError, ArtifactStore, artifacts_root
from twin_resources.resources import WarehouseResource

DAY = dt.date(2021, 3, 1)
TABLE = "models.strategy_posteriors"


def _row(stored) -> dict:
    return {"date": DAY, "strategy_id": "a", "draws_path": stored.path, "draws_sha256": stored.sha256}


def test_each_warehouse_file_has_its_own_folder(tmp_path):
    first, second = (WarehouseResource(path=str(tmp_path / name)).artifacts() for name in ("one.duckdb", "two.duckdb"))
    assert first.root == tmp_path / "one.artifacts" and second.root == tmp_path / "two.artifacts"
    a = first.write("strategy_posteriors", DAY, pl.DataFrame({"x": [1.0]}))
    b = second.write("strategy_posteriors", DAY, pl.DataFrame({"x": [2.0]}))
    assert a.path == b.path  # the same relative path, in two folders
    assert first.read(TABLE, _row(a))["x"].to_list() == [1.0]
    assert second.read(TABLE, _row(b))["x"].to_list() == [2.0]
    assert artifacts_root('/w/a"b; c.duckdb').as_posix() == '/w/a"b; c.artifacts'


def test_the_recorded_hash_is_the_sha256_of_the_file(tmp_path):
    store = ArtifactStore(tmp_path / "w.artifacts")
    stored = store.write("strategy_posteriors", DAY, pl.DataFrame({"x": [1.0, 2.0]}))
    assert stored.sha256 == hashlib.sha256((store.root / stored.path).read_bytes()).hexdigest()


def test_an_overwritten_artefact_fails_naming_the_file_the_row_and_what_to_rerun(tmp_path):
    store = ArtifactStore(tmp_path / "w.artifacts")
    stored = store.write("strategy_posteriors", DAY, pl.DataFrame({"x": [1.0]}))
    store.write("strategy_posteriors", DAY, pl.DataFrame({"x": [9.0]}))  # another writer, same day
    with pytest.raises(ArtifactError) as error:
        store.read(TABLE, _row(stored))
    message = str(error.value)
    assert str(store.root / stored.path) in message
    assert "models.strategy_posteriors row date=2021-03-01, strategy_id=a" in message
    assert "re-materialise models.strategy_posteriors for 2021-03-01" in message
    assert store.problem(TABLE, _row(stored)) == message


def test_a_missing_artefact_or_hash_fails_naming_them(tmp_path):
    store = ArtifactStore(tmp_path / "w.artifacts")
    stored = store.write("strategy_posteriors", DAY, pl.DataFrame({"x": [1.0]}))
    with pytest.raises(ArtifactError, match="no draws_sha256 to verify"):
        store.read(TABLE, {**_row(stored), "draws_sha256": None})
    (store.root / stored.path).unlink()
    with pytest.raises(ArtifactError, match="is missing: re-materialise models.strategy_posteriors for 2021-03-01"):
        store.read(TABLE, _row(stored))
