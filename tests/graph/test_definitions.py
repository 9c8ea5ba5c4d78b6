"""The code location: it loads, every asset is documented and in the DuckDB pool, and
the partitions come from the calendar alone."""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import dagster as dg
import numpy as np
import pytest

from twin_assets.definitions import business_day_schedule, defs, warehouse_snapshot
from twin_assets.jobs import BUSINESS_DAY_JOB, MODELLING_JOB, RAW_HISTORY_JOB, schedule_partition
from twin_assets.reports import DASHBOARD_KEY, SNAPSHOT_KEY
from twin_assets.shared.common import DUCKDB_POOL
from twin_assets.shared.partitions import business_day_partitions
from twin_assets.shared.restatements import INPUTS_NOT_RESTATED
from twin_resources.config import CalendarConfig


def _asset_defs():
    return [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]


def test_definitions_load_and_resolve_every_job():
    repository = defs.get_repository_def()
    assert repository.get_job("business_day_job") is not None
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw/market_prices", "raw/factor_returns", "raw/strategy_returns", "raw/strategy_positions"} <= keys
    assert {
        "models/strategy_posteriors",
        "models/strategy_forecasts",
        "models/forecast_calibration",
        "stats/strategy_statistics",
        "alpha/alpha_pool",
    } <= keys
    assert {
        "portfolio/solution_weights",
        "portfolio/solution_optimizations",
        "portfolio/solution_performance",
        "portfolio/strategy_attribution",
        "portfolio/risk_violations",
        "portfolio/rebalance_orders",
    } <= keys
    assert "firm/firm_pnl" in keys
    for job in ("raw_history_job", "modelling_job"):
        assert repository.get_job(job) is not None


def test_the_solution_level_is_one_multi_asset_that_depends_on_its_own_previous_day():
    graph = defs.resolve_asset_graph()
    performance = dg.AssetKey(["portfolio", "solution_performance"])
    level = next(a for a in _asset_defs() if performance in a.keys)
    assert len(level.keys) == 6 and not level.can_subset
    assert performance in graph.get(performance).parent_keys
    checked = {spec.asset_key for spec in level.check_specs}
    assert checked == set(level.keys)  # every table of the level has blocking checks


def test_the_alpha_pool_depends_on_its_own_previous_day():
    graph = defs.resolve_asset_graph()
    pool = dg.AssetKey(["alpha", "alpha_pool"])
    assert pool in graph.get(pool).parent_keys


def test_every_asset_has_description_group_kinds_owner_and_every_table_a_column_schema():
    tableless = set()
    for assets_def in _asset_defs():
        for key in assets_def.keys:
            spec = assets_def.specs_by_key[key]
            assert spec.description and len(spec.description) > 40, key
            assert spec.group_name == key.path[0], key
            assert "duckdb" in spec.kinds or key == DASHBOARD_KEY, key
            assert spec.owners, key
            if "dagster/table_name" in spec.metadata:
                assert isinstance(spec.metadata["dagster/column_schema"], dg.TableSchema), key
            else:
                tableless.add(key)
    assert tableless == {SNAPSHOT_KEY, DASHBOARD_KEY}


def _snapshot_step_and_the_rest(job_name: str) -> tuple[set[str], set[str]]:
    """The nodes the snapshot step waits for in ``job_name``, and every other node of it."""
    graph = defs.resolve_job_def(job_name).graph
    node = warehouse_snapshot.op.name
    waits_for = {output.node_name for output in graph.dependency_structure.all_upstream_outputs_from_node(node)}
    return waits_for, {other.name for other in graph.nodes} - {node}


def test_every_job_ends_with_the_snapshot_which_waits_for_every_other_step():
    """Its deps outside a job's selection (the raw job has no models) do not hold it back,
    and every step the job does run comes before it."""
    for job_name in (BUSINESS_DAY_JOB, RAW_HISTORY_JOB, MODELLING_JOB):
        waits_for, others = _snapshot_step_and_the_rest(job_name)
        assert others and waits_for == others, job_name
    raw_waits_for, _ = _snapshot_step_and_the_rest(RAW_HISTORY_JOB)
    assert raw_waits_for == {
        "raw__market_prices",
        "raw__factor_returns",
        "raw__strategy_returns",
        "raw__strategy_positions",
        "raw__market_regime",
    }


def test_the_snapshot_depends_on_every_warehouse_asset():
    graph = defs.resolve_asset_graph()
    assert graph.get(SNAPSHOT_KEY).parent_keys == graph.get_all_asset_keys() - {SNAPSHOT_KEY}


def test_every_duckdb_asset_and_check_declares_the_pool():
    """Checks ride inside their asset's op, so the op's pool covers them too."""
    checks_seen = 0
    for assets_def in _asset_defs():
        assert assets_def.op.pool == DUCKDB_POOL, assets_def.keys
        checks_seen += len(list(assets_def.check_specs))
    standalone = [c for c in (defs.asset_checks or [])]
    for check_def in standalone:
        assert check_def.op.pool == DUCKDB_POOL
    assert checks_seen >= 5


def test_every_check_is_blocking_but_the_restatement_warnings():
    """Restated input makes a level stale, not wrong for what it read: a warning on the
    self-dependent levels only."""
    warnings = set()
    for assets_def in _asset_defs():
        for spec in assets_def.check_specs:
            if spec.name == INPUTS_NOT_RESTATED:
                assert not spec.blocking, spec.key
                warnings.add(spec.asset_key.to_user_string())
            else:
                assert spec.blocking, spec.key
    assert warnings == {"alpha/alpha_pool", "portfolio/solution_performance"}


def test_every_daily_asset_backfills_in_a_single_run():
    for assets_def in _asset_defs():
        if assets_def.partitions_def is not None:
            assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), assets_def.keys


def test_only_the_snapshot_the_api_events_and_the_backtest_are_unpartitioned():
    """One snapshot file, published once per run whatever its range of days; the API's
    events are dated by the wall clock, not by business days, and ingested whole; a
    back-test is one span, given as run config."""
    unpartitioned = {key for a in _asset_defs() if a.partitions_def is None for key in a.keys}
    backtest = dg.AssetKey(["twin", "backtest_results"])
    assert unpartitioned == {SNAPSHOT_KEY, dg.AssetKey(["events", "portfolio_optimized"]), backtest}


def test_instance_config_caps_every_pool_at_one():
    import yaml

    from twin_resources.config import PROJECT_ROOT

    instance = yaml.safe_load((PROJECT_ROOT / ".dagster" / "dagster.yaml").read_text())
    assert instance["concurrency"]["pools"]["default_limit"] == 1


def test_partitions_are_the_bundled_calendar():
    keys = defs.resolve_asset_graph().get(dg.AssetKey(["raw", "strategy_returns"])).partitions_def.get_partition_keys()
    assert keys[0] == "2015-01-02" and keys[-1] == "2022-12-28"
    # Monday-Friday only, counted independently by numpy's business-day calendar.
    assert len(keys) == np.busday_count("2015-01-02", "2022-12-29")
    assert all(dt.date.fromisoformat(k).weekday() < 5 for k in keys)


def test_open_ended_calendar_includes_the_day_in_progress():
    calendar = CalendarConfig(first_business_day=dt.date(2026, 11, 2))
    partitions = business_day_partitions(calendar)
    now = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)  # a Saturday
    assert partitions.get_partition_keys(current_time=now)[-1] == "2026-11-20"


def test_schedule_runs_the_previous_business_day_and_is_off_for_a_closed_calendar():
    assert business_day_schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule_partition(dt.datetime(2020, 3, 17, 6)) == "2020-03-16"  # Tue -> Mon
    assert schedule_partition(dt.datetime(2020, 3, 21, 6)) == "2020-03-20"  # Sat -> Fri
    assert schedule_partition(dt.datetime(2014, 6, 3, 6)) is None  # before the firm opened
    assert schedule_partition(dt.datetime(2023, 1, 3, 6)) is None  # after the bundled data


def _load_in_subprocess(env_overrides: dict) -> dict:
    script = textwrap.dedent(
        """
        import json, warnings
        warnings.simplefilter("ignore")
        from twin_assets.definitions import business_day_schedule, defs, warehouse_snapshot
        import dagster as dg
        keys = defs.resolve_asset_graph().get(dg.AssetKey(["raw", "strategy_returns"])).partitions_def.get_partition_keys()
        print(json.dumps({"first": keys[0], "last": keys[-1], "n": len(keys),
                          "schedule": business_day_schedule.default_status.value}))
        """
    )
    env = {**os.environ, **env_overrides}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_partitions_do_not_read_a_data_file(config_dir, tmp_path):
    """With the returns file missing and strategies.yaml broken, the code location still
    loads and its partitions are the calendar's: only calendar.yaml is read at load."""
    (config_dir / "strategies.yaml").write_text("source: [unclosed\n")
    (config_dir / "calendar.yaml").write_text("first_business_day: 2021-03-01\nlast_business_day: 2021-03-12\n")
    loaded = _load_in_subprocess(
        {"TWIN_CONFIG_DIR": str(config_dir), "TWIN_RETURNS_FILE": str(tmp_path / "does_not_exist.csv")}
    )
    assert loaded == {"first": "2021-03-01", "last": "2021-03-12", "n": 10, "schedule": "STOPPED"}


@pytest.mark.slow
def test_a_live_calendar_turns_the_schedule_on(config_dir):
    (config_dir / "calendar.yaml").write_text("first_business_day: 2026-11-02\n")
    loaded = _load_in_subprocess({"TWIN_CONFIG_DIR": str(config_dir)})
    assert loaded["first"] == "2026-11-02" and loaded["schedule"] == "RUNNING"


def test_a_broken_calendar_names_the_file(config_dir):
    (config_dir / "calendar.yaml").write_text("first_business_day: 2021-03-06\n")
    script = "from twin_assets.definitions import defs"
    env = {**os.environ, "TWIN_CONFIG_DIR": str(config_dir)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "calendar.yaml" in out.stderr and "first_business_day" in out.stderr and "Saturday" in out.stderr


def test_the_firm_month_end_assets_run_in_the_month_end_job_only():
    """firm_projections and firm_decisions (monthly partitions) are in month_end_job beside
    the policy search, and in neither daily job."""
    repository = defs.get_repository_def()
    month_end = {"firm/firm_projections", "firm/firm_decisions", "twin/policy_evaluations"}

    def keys(job):
        return {k.to_user_string() for k in repository.get_job(job).asset_layer.executable_asset_keys}

    assert month_end <= keys("month_end_job")
    for daily in (BUSINESS_DAY_JOB, MODELLING_JOB):
        assert not month_end & keys(daily)


def test_the_walk_forward_jobs_split_the_layers_above_raw_and_the_backtest_runs_alone():
    """strategy_job, solution_job and dashboard_job together are the modelling job (the
    walk-forward runs the first once over a span, the second month by month, the last once at
    its end); the back-test is in its own job only."""
    repository = defs.get_repository_def()

    def keys(job):
        return {k.to_user_string() for k in repository.get_job(job).asset_layer.executable_asset_keys}

    strategy, solution, dashboard = keys("strategy_job"), keys("solution_job"), keys("dashboard_job")
    assert strategy & solution == solution & dashboard == {SNAPSHOT_KEY.to_user_string()}
    assert dashboard == {DASHBOARD_KEY.to_user_string(), SNAPSHOT_KEY.to_user_string()}
    assert strategy | solution | dashboard == keys(MODELLING_JOB)
    assert {"alpha/alpha_pool", "models/strategy_posteriors"} <= strategy
    assert {"portfolio/solution_performance", "firm/firm_pnl"} <= solution
    named = [job.name for job in repository.get_all_jobs() if not job.name.startswith("__")]  # not the implicit job
    assert [job for job in named if "twin/backtest_results" in keys(job)] == ["backtest_job"]


def test_the_dashboard_is_drawn_by_the_daily_jobs_and_not_by_the_raw_history_job():
    """The business-day, modelling and dashboard jobs draw it (before the snapshot, which
    waits for it); the raw history, strategy, walk-forward solution (a month's drawing would
    be overwritten by the next month's), month-end, back-test and events jobs do not."""
    repository = defs.get_repository_def()

    def keys(job):
        return set(repository.get_job(job).asset_layer.executable_asset_keys)

    for daily in (BUSINESS_DAY_JOB, MODELLING_JOB, "dashboard_job"):
        assert DASHBOARD_KEY in keys(daily), daily
    for other in (RAW_HISTORY_JOB, "strategy_job", "solution_job", "month_end_job", "backtest_job", "events_job"):
        assert DASHBOARD_KEY not in keys(other), other
    spec = defs.resolve_asset_graph().get(DASHBOARD_KEY)
    assert (
        spec.kinds == {"html", "plotly"} and DASHBOARD_KEY in defs.resolve_asset_graph().get(SNAPSHOT_KEY).parent_keys
    )
