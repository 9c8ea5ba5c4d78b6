"""The strategy layer as a graph on the synthetic source: raw -> posteriors, forecasts,
calibration, statistics -> alpha pool, day by day and as one range with identical
results; cold start, gap refusal and the blocking checks; artefacts kept per warehouse
and verified on read."""

import shutil

import dagster as dg
import polars as pl
import pytest

from tests.helpers.day_metadata import assert_each_day_counts_its_own_rows
from tests.helpers.graph import copy_warehouse, day, materialize_days, resources
from twin_assets.alpha import alpha_pool
from twin_assets.models import MODEL_ASSETS, strategy_forecasts, strategy_posteriors
from twin_assets.raw import RAW_ASSETS
from twin_assets.shared import day_chunks
from twin_assets.stats import strategy_statistics
from twin_resources.resources import WarehouseResource
from twin_resources.runtime import WORKERS_VARIABLE

STRATEGY_LAYER = [*MODEL_ASSETS, strategy_statistics, alpha_pool]
TABLE_NAMES = [
    "models.strategy_posteriors",
    "models.strategy_forecasts",
    "models.forecast_calibration",
    "stats.strategy_statistics",
    "alpha.alpha_pool",
]
DAYS = ["2017-01-03", "2017-01-04", "2017-01-05"]


def _small_synthetic_firm(config_dir):
    text = (config_dir / "strategies.yaml").read_text()
    for old, new in [
        ("kind: bundled", "kind: synthetic"),
        ("n_strategies: 20", "n_strategies: 6"),
        ("window_days: 504", "window_days: 250"),
        ("draws: 500", "draws: 200"),
        ("n_paths: 2000", "n_paths: 400"),
        ("min_history: 126", "min_history: 60"),
    ]:
        assert old in text, old  # a setting renamed in config must not leave the test on the default
        text = text.replace(old, new)
    (config_dir / "strategies.yaml").write_text(text)
    return config_dir


@pytest.fixture(scope="module")
def raw_history(tmp_path_factory):
    """A warehouse with a year of raw synthetic history up to the test days."""
    root = tmp_path_factory.mktemp("strategy_layer")
    config_dir = root / "config"
    from twin_resources.config import DEFAULT_CONFIG_DIR

    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    _small_synthetic_firm(config_dir)
    warehouse = WarehouseResource(path=str(root / "raw.duckdb"))
    assert materialize_days(RAW_ASSETS, resources(warehouse, config_dir), "2016-01-04", "2017-01-06").success
    return root, config_dir


def _copy(raw_history, name) -> WarehouseResource:
    return copy_warehouse(raw_history[0] / "raw.duckdb", name)


def _tables(warehouse):
    return {name: warehouse.read_history(name, None, None).drop("fit_seconds", strict=False) for name in TABLE_NAMES}


@pytest.fixture(scope="module")
def day_by_day(raw_history):
    _, config_dir = raw_history
    warehouse = _copy(raw_history, "day_by_day")
    results = [materialize_days(STRATEGY_LAYER, resources(warehouse, config_dir), key) for key in DAYS]
    return warehouse, results


@pytest.mark.slow(seconds=110)
def test_three_days_one_by_one_equal_the_same_days_as_one_range_in_two_workers(raw_history, day_by_day, monkeypatch):
    """The range spreads its forecasts over two spawned workers (a span
    that short would not be spread, so the threshold is lowered): every table equal."""
    _, config_dir = raw_history
    one_by_one, _ = day_by_day
    monkeypatch.setattr(day_chunks, "MIN_DAYS_PER_WORKER", 1)
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    ranged = _copy(raw_history, "range")
    assert materialize_days(STRATEGY_LAYER, resources(ranged, config_dir), DAYS[0], DAYS[-1]).success
    left, right = _tables(one_by_one), _tables(ranged)
    for name in TABLE_NAMES:
        assert left[name].height > 0 or name == "models.forecast_calibration", name
        assert left[name].equals(right[name]), name


@pytest.mark.slow
def test_every_table_holds_exactly_the_days_run(day_by_day):
    warehouse, results = day_by_day
    assert all(result.success for result in results)
    for name in ("models.strategy_posteriors", "models.strategy_forecasts", "alpha.alpha_pool"):
        dates = warehouse.read_history(name, None, None).get_column("date").unique().sort().to_list()
        assert dates == [day(d) for d in DAYS], name


@pytest.mark.slow
def test_posteriors_are_usable_and_draws_are_stored(day_by_day):
    warehouse, results = day_by_day
    posteriors = warehouse.read_history("models.strategy_posteriors", None, None)
    assert posteriors.height == 6 * 3
    assert posteriors.get_column("converged").all()
    for row in posteriors.unique("draws_path").iter_rows(named=True):
        draws = warehouse.artifacts().read("models.strategy_posteriors", row)
        assert draws.get_column("strategy_id").n_unique() == 6
    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    assert checks and all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]


@pytest.mark.slow
def test_the_first_day_is_fitted_and_later_days_reweight_its_draws(day_by_day):
    warehouse, results = day_by_day
    posteriors = warehouse.read_history("models.strategy_posteriors", None, None).sort("date", "strategy_id")
    by_day = {d: posteriors.filter(pl.col("date") == day(d)) for d in DAYS}
    assert set(by_day[DAYS[0]].get_column("method")) == {"nuts"}
    assert by_day[DAYS[0]].get_column("refit_reason")[0].startswith("first_day")
    for since, key in enumerate(DAYS[1:], start=1):
        rows = by_day[key]
        assert set(rows.get_column("method")) == {"reweighted"}
        assert set(rows.get_column("anchor_date")) == {day(DAYS[0])}
        assert set(rows.get_column("days_since_anchor")) == {since}
        assert rows.get_column("refit_reason").is_null().all()
        assert (rows.get_column("pareto_k") < 0.7).all() and (rows.get_column("ess_weighted") >= 100).all()
        draws = warehouse.artifacts().read("models.strategy_posteriors", rows.row(0, named=True))
        anchor = warehouse.artifacts().read("models.strategy_posteriors", by_day[DAYS[0]].row(0, named=True))
        assert draws.select("draw", "strategy_id", "alpha", "sigma").equals(
            anchor.select("draw", "strategy_id", "alpha", "sigma")
        )
        sums = draws.group_by("strategy_id").agg(pl.col("weight").sum()).get_column("weight")
        assert ((sums - 1.0).abs() < 1e-9).all()
    figures = [
        event.materialization.metadata
        for result in results
        for event in result.get_asset_materialization_events()
        if event.asset_key.path == ["models", "strategy_posteriors"]
    ]
    assert [f["method_reweighted"].value for f in figures] == [0, 6, 6]
    assert [f["method_nuts"].value for f in figures] == [6, 0, 0]


@pytest.mark.slow
def test_forecasts_carry_the_model_and_the_expert_view(day_by_day):
    warehouse, _ = day_by_day
    forecasts = warehouse.read_history("models.strategy_forecasts", None, None)
    assert set(forecasts.get_column("parameter_set")) == {"posterior"}  # no synthetic id has an expert view
    assert (forecasts.get_column("monthly_valley") <= 0).all()
    assert (forecasts.get_column("p05") <= forecasts.get_column("p95")).all()


@pytest.mark.slow
def test_the_first_day_is_a_cold_start_and_later_days_are_not(day_by_day):
    _, results = day_by_day
    cold = [
        event.materialization.metadata["cold_start"].value
        for result in results
        for event in result.get_asset_materialization_events()
        if event.asset_key.path == ["alpha", "alpha_pool"]
    ]
    assert cold == [True, False, False]


@pytest.mark.slow(seconds=55)
def test_a_gap_in_the_state_is_refused_naming_the_day(raw_history):
    _, config_dir = raw_history
    warehouse = _copy(raw_history, "gap")
    res = resources(warehouse, config_dir)
    assert materialize_days(STRATEGY_LAYER, res, DAYS[0]).success
    before = {name: warehouse.read_history(name, None, None) for name in TABLE_NAMES}
    # the posteriors (rolling from the previous day's anchor) refuse first ...
    result = materialize_days(STRATEGY_LAYER, res, DAYS[2], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "strategy_posteriors" in failure.step_key
    assert "materialise 2017-01-04 first" in failure.step_failure_data.error.message
    assert warehouse.read_history("models.strategy_posteriors", None, None).equals(before["models.strategy_posteriors"])
    # ... and with the posteriors of the missing day in place, the alpha pool refuses
    assert materialize_days([strategy_posteriors], res, DAYS[1]).success
    result = materialize_days(STRATEGY_LAYER, res, DAYS[2], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure and "alpha_pool" in e.step_key)
    assert "materialise 2017-01-04 first" in failure.step_failure_data.error.message
    assert warehouse.read_history("alpha.alpha_pool", None, None).equals(before["alpha.alpha_pool"])


# --- artefacts: one folder per warehouse, verified on read ------------------------------


def _failure_text(result) -> str:
    assert not result.success
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()


@pytest.mark.slow
def test_two_warehouses_in_one_folder_keep_separate_verified_artefacts(raw_history, tmp_path):
    """NUTS in one, the conjugate model in the other, one folder: neither's draws replace
    the other's, and each row's draws read back verified as its own."""
    root, config_dir = raw_history
    conjugate = tmp_path / "conjugate"
    shutil.copytree(config_dir, conjugate)
    text = (conjugate / "strategies.yaml").read_text()
    (conjugate / "strategies.yaml").write_text(text.replace("method: nuts", "method: conjugate"))
    folder = tmp_path / "shared"
    folder.mkdir()
    draws = {}
    for name, config in (("nuts", config_dir), ("conjugate", conjugate)):
        shutil.copy(root / "raw.duckdb", folder / f"{name}.duckdb")
        warehouse = WarehouseResource(path=str(folder / f"{name}.duckdb"))
        assert materialize_days([strategy_posteriors], resources(warehouse, config), DAYS[0]).success
        rows = warehouse.read_history("models.strategy_posteriors", None, None)
        assert set(rows.get_column("method")) == {name}
        assert warehouse.artifacts().root == folder / f"{name}.artifacts"
        draws[name] = warehouse.artifacts().read("models.strategy_posteriors", rows.row(0, named=True))
    assert not draws["nuts"].equals(draws["conjugate"])


def _tampered_copy(source: WarehouseResource, tmp_path):
    """A copy of ``source`` (file and artefacts) to tamper with, and its first two days'
    posterior draws files."""
    target = tmp_path / "tampered" / "twin.duckdb"
    target.parent.mkdir()
    shutil.copy(source.path, target)
    shutil.copytree(source.artifacts().root, target.parent / "twin.artifacts")
    warehouse = WarehouseResource(path=str(target))
    first, second = (warehouse.artifacts().root / "strategy_posteriors" / f"{key}.parquet" for key in DAYS[:2])
    return warehouse, first, second


@pytest.mark.slow
def test_an_overwritten_artefact_fails_the_reader_naming_file_row_and_rerun(raw_history, day_by_day, tmp_path):
    source, _ = day_by_day
    warehouse, first, second = _tampered_copy(source, tmp_path)
    shutil.copy(second, first)  # another day's draws where this day's were
    res = resources(warehouse, raw_history[1])
    result = dg.materialize(
        [strategy_posteriors, strategy_forecasts],
        selection=[strategy_forecasts],
        resources=res,
        partition_key=DAYS[0],
        raise_on_error=False,
    )
    message = _failure_text(result)
    assert str(first) in message and "models.strategy_posteriors row date=2017-01-03" in message
    assert "re-materialise models.strategy_posteriors for 2017-01-03" in message
    assert warehouse.read_history("models.strategy_forecasts", None, None).equals(
        source.read_history("models.strategy_forecasts", None, None)
    )


@pytest.mark.slow
def test_a_rolling_day_reads_the_previous_days_draws_verified(raw_history, day_by_day, tmp_path):
    """The anchor a single day starts from is the previous day's draws artefact, read
    through the store's hash check: a replaced file fails the day, naming it."""
    source, _ = day_by_day
    warehouse, first, second = _tampered_copy(source, tmp_path)
    shutil.copy(second, first)
    result = materialize_days(
        [strategy_posteriors], resources(warehouse, raw_history[1]), DAYS[1], raise_on_error=False
    )
    message = _failure_text(result)
    assert str(first) in message and "re-materialise models.strategy_posteriors for 2017-01-03" in message


@pytest.mark.slow
def test_each_day_of_a_range_run_carries_its_own_metadata(raw_history, tmp_path):
    """A cold range of three days: each partition's event counts that day's stored rows and
    figures; only the first day is a cold start (conjugate fits keep it fast)."""
    _, config_dir = raw_history
    conjugate = tmp_path / "conjugate"
    shutil.copytree(config_dir, conjugate)
    strategies = conjugate / "strategies.yaml"
    strategies.write_text(strategies.read_text().replace("method: nuts", "method: conjugate"))
    warehouse = _copy(raw_history, "metadata_range")
    result = materialize_days(STRATEGY_LAYER, resources(warehouse, conjugate), DAYS[0], DAYS[-1])
    assert result.success
    for name in TABLE_NAMES:
        assert_each_day_counts_its_own_rows(result, warehouse, name, DAYS)
    pool = assert_each_day_counts_its_own_rows(result, warehouse, "alpha.alpha_pool", DAYS)
    assert [pool[key]["cold_start"] for key in DAYS] == [True, False, False]
    stored_pool = warehouse.read_history("alpha.alpha_pool", None, None)
    fits = assert_each_day_counts_its_own_rows(result, warehouse, "models.strategy_posteriors", DAYS)
    stored_fits = warehouse.read_history("models.strategy_posteriors", None, None)
    for key in DAYS:
        today = stored_pool.filter(pl.col("date") == day(key))
        assert pool[key]["in_pool"] == today.get_column("in_pool").sum()
        assert pool[key]["changes"] == today.get_column("changed").sum()
        assert pool[key]["strategy_ids"] == today.height == 6
        fitted = stored_fits.filter(pl.col("date") == day(key))
        assert fits[key]["strategy_ids"] == 6
        assert fits[key]["converged"] == fitted.get_column("converged").sum()
        assert fits[key]["fallbacks"] == (fitted.get_column("method") == "conjugate").sum() == 6
