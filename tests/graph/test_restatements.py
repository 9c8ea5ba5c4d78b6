"""Restated history and provenance.

Unit tests of the per-day digest and of which restatements are open; then a graph on a
returns file: raw and every layer above it for a few days, one day's return corrected in
the file and the raw layer re-run for that day. The restatement is recorded, the levels
after it report stale (metadata and a warning check naming the day), and ``replay`` brings
the alpha pool and the solution tables back to exactly what a warehouse built from
scratch on the corrected file holds; after it nothing is stale. Every partition's
metadata carries the config hash, the code version and the run id.
"""

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
import yaml

from tests.helpers.graph import RANGE_END, RANGE_START, day, materialize_days, resources
from twin_assets.alpha import alpha_pool
from twin_assets.definitions import defs
from twin_assets.jobs import MODELLING_JOB, modelling_job
from twin_assets.models import MODEL_ASSETS
from twin_assets.portfolio import solution_level
from twin_assets.raw import RAW_ASSETS
from twin_assets.reports import SNAPSHOT_KEY, warehouse_snapshot_asset
from twin_assets.shared.replay import replay_span_of, replay_tags, staleness_line
from twin_assets.shared.restatements import INPUTS_NOT_RESTATED
from twin_assets.stats import strategy_statistics
from twin_model.calendar import business_days
from twin_model.contracts import TABLES
from twin_model.restatements import (
    Resolution,
    day_digests,
    digest_rows,
    open_restatements,
    replay_span,
    restated_days,
    stale_from,
)
from twin_model.solution import PORTFOLIO_TABLES
from twin_resources.config import DEFAULT_CONFIG_DIR, config_hash
from twin_resources.provenance import code_version
from twin_resources.resources import WarehouseResource
from twin_resources.restatement_log import RestatementLog

RETURNS = TABLES["raw.strategy_returns"]
ROWS = {
    "date": [dt.date(2021, 3, 1), dt.date(2021, 3, 1), dt.date(2021, 3, 2)],
    "strategy_id": ["a", "b", "a"],
    "ret": [0.01, None, -0.02],
    "available": [True, False, True],
}


def _frame(**changes) -> pl.DataFrame:
    return pl.DataFrame({**ROWS, **changes}, schema=RETURNS.columns())


# --------------------------------------------------------------------------- digests


def test_digest_is_the_sha256_of_the_documented_encoding():
    one_day = _frame().filter(pl.col("date") == dt.date(2021, 3, 1))
    text = '["date","strategy_id","ret","available"]\n["2021-03-01","a","0.01",true]\n["2021-03-01","b",null,false]'
    assert digest_rows(one_day, RETURNS) == hashlib.sha256(text.encode()).hexdigest()


def test_digest_ignores_row_and_column_order():
    frame = _frame()
    shuffled = frame.reverse().select(list(reversed(frame.columns)))
    assert digest_rows(shuffled, RETURNS) == digest_rows(frame, RETURNS)


def test_digest_changes_with_a_value_in_its_last_digit_and_with_a_flipped_flag():
    base = digest_rows(_frame(), RETURNS)
    assert digest_rows(_frame(ret=[0.01, None, -0.020000000000000004]), RETURNS) != base
    assert digest_rows(_frame(available=[True, True, True], ret=[0.01, 0.0, -0.02]), RETURNS) != base
    assert digest_rows(_frame(available=[False, False, True]), RETURNS) != base


def test_digest_is_stable_across_processes():
    """A digest written by one run must equal the one the next run computes."""
    script = (
        "import datetime, polars as pl\n"
        "from twin_model.contracts import TABLES\n"
        "from twin_model.restatements import digest_rows\n"
        f"rows = {ROWS!r}\n"
        "print(digest_rows(pl.DataFrame(rows), TABLES['raw.strategy_returns']))\n"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}  # set and dict order differ between processes
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment)
    output = output.stdout.strip()
    assert output == digest_rows(_frame(), RETURNS)


def test_every_asked_day_gets_a_digest_and_an_empty_day_is_digested_as_empty():
    days = [dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)]
    digests = day_digests(_frame(), RETURNS, days)
    assert digests.get_column("date").to_list() == days
    assert digests.get_column("rows").to_list() == [2, 1, 0]
    assert digests.row(2, named=True)["digest"] == digest_rows(RETURNS.empty_frame(), RETURNS)
    late = _frame(date=[dt.date(2021, 3, 1), dt.date(2021, 3, 1), dt.date(2021, 3, 3)])
    filled = day_digests(late, RETURNS, days)
    assert restated_days(digests, filled).get_column("date").to_list() == [dt.date(2021, 3, 2), dt.date(2021, 3, 3)]


def test_only_stored_days_whose_digest_changed_are_restated():
    stored = pl.DataFrame({"date": [day("2021-03-01"), day("2021-03-02")], "digest": ["x", "y"]})
    new = pl.DataFrame({"date": [day("2021-03-01"), day("2021-03-02"), day("2021-03-03")], "digest": ["x", "z", "w"]})
    restated = restated_days(stored, new)
    assert restated.rows() == [(day("2021-03-02"), "y", "z")]
    assert restated_days(stored, stored).height == 0


# --------------------------------------------------------------------------- open restatements


def _restatements(rows: list[tuple[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [day(d) for d, _ in rows],
            "table": ["raw.strategy_returns"] * len(rows),
            "resolved_by_run": [r for _, r in rows],
        },
        schema={"date": pl.Date, "table": pl.String, "resolved_by_run": pl.String},
    )


def test_the_earliest_unresolved_restatement_is_where_staleness_starts():
    log = _restatements([("2021-03-05", None), ("2021-03-02", "run-1"), ("2021-03-04", None)])
    assert open_restatements(log).get_column("date").to_list() == [day("2021-03-04"), day("2021-03-05")]
    assert stale_from(log) == day("2021-03-04")
    assert stale_from(_restatements([("2021-03-02", "run-1")])) is None
    assert stale_from(_restatements([])) is None


def test_a_replay_in_progress_does_not_count_what_it_resolves():
    log = _restatements([("2021-03-02", None), ("2021-03-04", None)])
    assert stale_from(log, replaying_from=day("2021-03-04")) == day("2021-03-02")
    assert stale_from(log, replaying_from=day("2021-03-02")) is None


def test_a_replay_runs_from_the_day_or_the_first_stored_day_to_the_last():
    spans = [(day("2021-03-01"), day("2021-03-10")), (day("2021-03-03"), day("2021-03-12"))]
    assert replay_span(day("2021-03-05"), spans) == (day("2021-03-05"), day("2021-03-12"))
    assert replay_span(day("2020-01-02"), spans) == (day("2021-03-01"), day("2021-03-12"))
    assert replay_span(day("2021-03-15"), spans) is None
    assert replay_span(day("2021-03-05"), []) is None


# --------------------------------------------------------------------------- provenance units


def test_every_asset_declares_the_code_version_of_its_layer_module():
    for assets_def in defs.assets:
        for key, version in assets_def.code_versions_by_key.items():
            module = "twin_assets.reports.snapshot" if key == SNAPSHOT_KEY else f"twin_assets.{key.path[0]}"
            assert version == code_version(module), key
            assert len(version) == 12, key


# --------------------------------------------------------------------------- the graph

STRATEGIES = ["s1", "s2", "s3", "s4"]
HISTORY_START, MODEL_FIRST, MODEL_LAST, NEXT_DAY, RAW_LAST = (
    "2016-03-01",
    "2017-01-04",
    "2017-01-09",
    "2017-01-10",
    "2017-01-12",
)
RESTATED = "2017-01-05"
LEVEL_TABLES = ["alpha.alpha_pool", *PORTFOLIO_TABLES.values()]
ABOVE_RAW = [*MODEL_ASSETS, strategy_statistics, alpha_pool, solution_level]


def _returns(corrected: bool) -> pl.DataFrame:
    days = business_days(day(HISTORY_START), day(RAW_LAST))
    rng = np.random.default_rng(8)
    rets = rng.normal(0.0012, 0.01, size=(len(days), len(STRATEGIES)))
    frame = pl.DataFrame(
        {
            "date": pl.Series([d for d in days for _ in STRATEGIES], dtype=pl.Date),
            "strategy_id": STRATEGIES * len(days),
            "ret": rets.ravel(),
        }
    )
    if corrected:  # the corrected file: s2's return on the restated day was -6%, not what was first sent
        frame = frame.with_columns(
            ret=pl.when((pl.col("date") == day(RESTATED)) & (pl.col("strategy_id") == "s2"))
            .then(-0.06)
            .otherwise("ret")
        )
    return frame


def _firm(config_dir):
    strategies = yaml.safe_load((config_dir / "strategies.yaml").read_text())
    strategies["model"].update(method="conjugate", window_days=200)
    strategies["forecast"]["n_paths"] = 200
    strategies["pool_policy"]["min_history"] = 60
    (config_dir / "strategies.yaml").write_text(yaml.safe_dump(strategies))
    return config_dir


def _tables(warehouse: WarehouseResource) -> dict[str, pl.DataFrame]:
    return {name: warehouse.read_history(name, None, None) for name in LEVEL_TABLES}


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    root = tmp_path_factory.mktemp("restatements")
    shutil.copytree(DEFAULT_CONFIG_DIR, root / "config")
    return root, _firm(root / "config")


def _build(root, config_dir, name: str, corrected: bool) -> tuple[WarehouseResource, dict, str]:
    returns_file = root / f"{name}.csv"
    _returns(corrected).write_csv(returns_file)
    warehouse = WarehouseResource(path=str(root / name / "twin.duckdb"))
    res = resources(warehouse, config_dir, returns_file)
    assert materialize_days(RAW_ASSETS, res, HISTORY_START, RAW_LAST).success
    return warehouse, res, str(returns_file)


@pytest.fixture(scope="module")
def clean(firm):
    """From scratch on the corrected file: raw, then the layers above it as one range."""
    root, config_dir = firm
    warehouse, res, _ = _build(root, config_dir, "clean", corrected=True)
    assert materialize_days(ABOVE_RAW, res, MODEL_FIRST, NEXT_DAY).success
    return warehouse


@pytest.fixture(scope="module")
def restated(firm):
    """The first file, modelled; an unchanged re-run of a raw day; then the corrected file
    re-read for the restated day only, and the next business day modelled on top."""
    root, config_dir = firm
    warehouse, res, path = _build(root, config_dir, "restated", corrected=False)
    first = materialize_days(ABOVE_RAW, res, MODEL_FIRST, MODEL_LAST)
    log = RestatementLog(warehouse.warehouse())
    digests_before = warehouse.read_history("raw.input_digests", None, None)
    raw_rerun = materialize_days(RAW_ASSETS, res, RESTATED)
    unchanged = (log.restatements(), warehouse.read_history("raw.input_digests", None, None), digests_before)
    _returns(corrected=True).write_csv(path)
    assert materialize_days(RAW_ASSETS, res, RESTATED).success
    next_day = materialize_days(ABOVE_RAW, res, NEXT_DAY)
    return warehouse, res, first, unchanged, next_day, raw_rerun


@pytest.mark.slow
def test_re_running_an_unchanged_day_records_nothing(restated):
    _, _, first, (restatements, digests_after, digests_before), _, raw_rerun = restated
    assert first.success and raw_rerun.success
    assert restatements.height == 0
    assert digests_after.equals(digests_before)
    assert digests_before.height == 4 * len(business_days(day(HISTORY_START), day(RAW_LAST)))


@pytest.mark.slow
def test_a_corrected_return_is_recorded_as_one_open_restatement(restated):
    warehouse, *_ = restated
    log = RestatementLog(warehouse.warehouse()).restatements()
    assert log.select("date", "table").rows() == [(day(RESTATED), "raw.strategy_returns")]
    assert log.get_column("resolved_by_run").to_list() == [None]
    digest = warehouse.read_history("raw.input_digests", day(RESTATED), day(RESTATED)).filter(
        pl.col("table") == "raw.strategy_returns"
    )
    stored_rows = warehouse.read_history("raw.strategy_returns", day(RESTATED), day(RESTATED))
    assert (
        digest.get_column("digest").to_list()
        == log.get_column("new_digest").to_list()
        == [digest_rows(stored_rows, RETURNS)]
    )


@pytest.mark.slow
def test_the_levels_after_a_restated_day_say_they_are_stale_naming_it(restated):
    warehouse, _, _, _, next_day, _ = restated
    assert next_day.success  # a warning, not a blocking failure
    checks = {
        e.asset_key.to_user_string(): e
        for e in next_day.get_asset_check_evaluations()
        if e.check_name == INPUTS_NOT_RESTATED
    }
    assert set(checks) == {"alpha/alpha_pool", "portfolio/solution_performance"}
    for evaluation in checks.values():
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.metadata["stale_from"].value == RESTATED
        assert f"twin replay --from {RESTATED}" in evaluation.description
    for key in LEVEL_KEYS:
        (metadata,) = _materialization_metadata(next_day, key)
        assert metadata["stale_from"].value == RESTATED, key
    assert staleness_line(warehouse.warehouse()).endswith(f"stale from {RESTATED}: run `twin replay --from {RESTATED}`")


@pytest.mark.slow
def test_replay_brings_the_levels_back_to_a_clean_run_over_the_corrected_data(restated, clean):
    warehouse, res, *_ = restated
    snapshot = warehouse_snapshot_asset([*RAW_ASSETS, *ABOVE_RAW])
    definitions = dg.Definitions(assets=[*RAW_ASSETS, *ABOVE_RAW, snapshot], jobs=[modelling_job], resources=res)
    stale, expected = _tables(warehouse), _tables(clean)
    assert not stale["portfolio.solution_performance"].equals(expected["portfolio.solution_performance"])

    # what `twin replay --from DAY` runs: the modelling job over the replay span, tagged with the day
    first, last = replay_span_of(warehouse.warehouse(), day(RESTATED))
    assert (first, last) == (day(RESTATED), day(NEXT_DAY))
    tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), **replay_tags(day(RESTATED))}
    run = definitions.resolve_job_def(MODELLING_JOB).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), tags=tags
    )
    assert run.success

    replayed = _tables(warehouse)
    for name in LEVEL_TABLES:
        assert replayed[name].height > 0 or name == "portfolio.risk_violations", name
        assert replayed[name].equals(expected[name]), name
    log = RestatementLog(warehouse.warehouse()).restatements()
    assert log.get_column("resolution").to_list() == [Resolution.REPLAYED.value]
    assert stale_from(log) is None
    assert "none open" in staleness_line(warehouse.warehouse())


@pytest.mark.slow
def test_a_restated_day_no_level_has_reached_is_resolved_at_once(restated, tmp_path):
    """The layers above raw end on NEXT_DAY: a correction of a later raw day stales nothing."""
    warehouse, res, *_ = restated
    returns_file = tmp_path / "later.csv"
    later = (pl.col("date") == day(RAW_LAST)) & (pl.col("strategy_id") == "s4")
    _returns(corrected=True).with_columns(ret=pl.when(later).then(0.03).otherwise("ret")).write_csv(returns_file)
    assert materialize_days(
        RAW_ASSETS, resources(warehouse, res["twin_config"].config_dir, returns_file), RAW_LAST
    ).success
    log = RestatementLog(warehouse.warehouse()).restatements()
    later_day = log.filter(pl.col("date") == day(RAW_LAST))
    assert later_day.select("table", "resolution").rows() == [
        ("raw.strategy_returns", Resolution.NOT_YET_MODELLED.value)
    ]
    assert stale_from(log) is None


@pytest.mark.slow
def test_every_partition_records_config_hash_code_version_and_run_id(restated, firm):
    _, config_dir = firm
    *_, first, _, _, raw_rerun = restated
    for result, keys in ((first, 11), (raw_rerun, 5)):
        events = [e.materialization for e in result.get_asset_materialization_events()]
        assert len({e.asset_key for e in events}) == keys
        for event in events:
            layer = event.asset_key.path[0]
            assert event.metadata["config_hash"].value == config_hash(Path(config_dir)), event.asset_key
            assert event.metadata["code_version"].value == code_version(f"twin_assets.{layer}"), event.asset_key
            assert event.metadata["run_id"].value == result.run_id, event.asset_key


LEVEL_KEYS = [["alpha", "alpha_pool"], *(name.split(".") for name in PORTFOLIO_TABLES.values())]


def _materialization_metadata(result, key: list[str]) -> list[dict]:
    return [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(key)
    ]
