"""The solution level as a graph over consecutive days on the synthetic source, with
scripted shocks: pause, re-entry along the ramp, stop, drift rebalancing and every
violation severity happen on the days worked out below; the days run one by one equal
the same days run as one range; the blocking checks pass; a gap is refused.

The scenario (synthetic seed 32, four strategies A..D = syn_0000..syn_0003, no holidays).
Its one-year drawdowns stay above -7.5% through February and March 2017 without the
shocks (measured when the seed was picked), so only the shocks move the rules:

* One solution "stress": static weights 0.25 each, max weight 0.25, monthly rebalancing,
  drift threshold 0.05, pause 5 days, ramp 2 days, cooldown 5 days, stop at 2 x valley.
* Upstream tables are seeded so that only the raw returns drive events: every strategy in
  the pool with evidence 0.99 and the same posterior moments; monthly valleys (from the
  forecast made the day before each month) B -4% in February, C -8% in March, -50%
  otherwise (never reached).
* Risk limits: portfolio drawdown stop -15%; strategy max weight 0.30 and one-year
  drawdown stop -30%; everything else out of reach.
* No fees and no cash interest (firm.yaml), so every figure below is the book's alone
  (a performance fee written back would soften the drawdown of 14 March).

Shocks (a shock replaces the day's return) and what follows, by hand:

* B -2.5% on Wed 1 Feb and Thu 2 Feb (1 Feb is the month's first business day, so the
  month-to-date P&L is exact): 1 Feb -2.5% > -4%; 2 Feb 0.975^2 - 1 = -4.94% < -4% and
  > -8% -> B paused on 2 Feb for 5 days (left 5, 4, 3, 2, 1 on 2, 3, 6, 7, 8 Feb), back on
  9 Feb at ramp 1/2 (target 0.125), full (0.25) from 10 Feb.
* D +40% on Wed 15 Feb: held D = 0.25 x 1.4 / (1 + 0.10 + noise) ~ 0.318: drift 0.068 >
  0.05 -> rebalance with trigger "drift"; strategy weight 0.318 vs 0.30: excess ~6% < 10%
  -> a low alert, resolved on 16 Feb once D is back at 0.25.
* C -45% on Wed 1 Mar (first business day of March): P&L -45% < 2 x -8% -> C stopped on
  1 Mar, and it stays stopped. Its one-year drawdown is then at most -45%: excess over
  -30% >= 50% -> a high strategy_drawdown violation on 1 Mar, resolved on 2 Mar (C no
  longer held). The book loses ~0.25 x 45% ~ 11.6%: above the -15% stop.
* A +40% on Wed 8 Mar (A, B, D at 0.25, C's slot in cash): held A = 0.35 / (1 + 0.10 +
  noise) ~ 0.318 -> drift rebalance and a low alert; D +50% on Fri 10 Mar: held D =
  0.375 / (1 + 0.125 + noise) ~ 0.333 -> excess ~11% -> medium (reduce proportionally).
* A -25%, B -15%, D -25% on Tue 14 Mar: the book (0.75 invested) loses ~16.25% in a day
  from a peak set on 10 Mar -> drawdown < -15% -> critical, liquidate: every target 0 on 14 Mar,
  cash for 5 days (cooldown 5, 4, 3, 2, 1 on 14, 15, 16, 17, 20 Mar) and a "recovery"
  rebalance on 21 Mar.
"""

import datetime as dt
import shutil

import dagster as dg
import polars as pl
import pytest
import yaml

from tests.helpers.day_metadata import assert_each_day_counts_its_own_rows
from tests.helpers.faults import fail_on_insert
from tests.helpers.graph import copy_warehouse, day, materialize_days, resources
from tests.helpers.webhook import Webhook
from twin_assets.alerts import risk_alerts
from twin_assets.firm import firm_pnl
from twin_assets.portfolio import solution_level
from twin_assets.raw import RAW_ASSETS
from twin_model.calendar import business_days
from twin_model.contracts import TABLES
from twin_model.solution import PORTFOLIO_TABLES
from twin_resources.alerts import AlertWebhookResource
from twin_resources.config import DEFAULT_CONFIG_DIR
from twin_resources.resources import WarehouseResource

A, B, C, D = "syn_0000", "syn_0001", "syn_0002", "syn_0003"
FIRST, LAST = "2017-01-31", "2017-03-24"
DAYS = [d.isoformat() for d in business_days(day(FIRST), day(LAST))]
FEBRUARY_VALLEYS = {A: -0.5, B: -0.04, C: -0.5, D: -0.5}
MARCH_VALLEYS = {A: -0.5, B: -0.5, C: -0.08, D: -0.5}
SHOCKS = [
    {"strategy_id": B, "start": "2017-02-01", "days": 2, "daily_return": -0.025},
    {"strategy_id": D, "start": "2017-02-15", "days": 1, "daily_return": 0.40},
    {"strategy_id": C, "start": "2017-03-01", "days": 1, "daily_return": -0.45},
    {"strategy_id": A, "start": "2017-03-08", "days": 1, "daily_return": 0.40},
    {"strategy_id": D, "start": "2017-03-10", "days": 1, "daily_return": 0.50},
    {"strategy_id": A, "start": "2017-03-14", "days": 1, "daily_return": -0.25},
    {"strategy_id": B, "start": "2017-03-14", "days": 1, "daily_return": -0.15},
    {"strategy_id": D, "start": "2017-03-14", "days": 1, "daily_return": -0.25},
]
SOLUTION = {
    "solution_id": "stress",
    "launch_date": "2017-01-02",
    "initial_aum": 10_000_000,
    "policy": {"kind": "static", "static_weights": {A: 0.25, B: 0.25, C: 0.25, D: 0.25}},
    "constraints": {"min_weight": 0.0, "max_weight": 0.25, "leverage_limit": 1.0},
    "rebalance": {"drift_threshold": 0.05, "monthly": True},
    "pause": {"period_days": 5, "ramp_days": 2, "cooldown_days": 5},
    "stop": {"valley_multiple": 2.0, "max_pauses": 3},
}
RISK_LIMITS = {
    "portfolio": {
        "max_gross_leverage": 1.5,
        "drawdown_stop": -0.15,
        "volatility_target": 5.0,
        "max_pairwise_correlation": 1.0,
        "min_diversification_ratio": 1.0,
        "var_95": -0.9,
        "cvar_95": -0.9,
        "var_99": -0.9,
        "cvar_99": -0.9,
    },
    "strategy": {"max_weight": 0.30, "drawdown_stop": -0.30, "max_volatility": 50.0},
    "position": {"max_net_exposure_per_ticker": 0.10},
}


def _stress_firm(config_dir):
    strategies = yaml.safe_load((config_dir / "strategies.yaml").read_text())
    strategies["source"]["kind"] = "synthetic"
    strategies["source"]["synthetic"] = {"n_strategies": 4, "seed": 32, "shocks": SHOCKS}
    (config_dir / "strategies.yaml").write_text(yaml.safe_dump(strategies))
    (config_dir / "solutions.yaml").write_text(yaml.safe_dump({"solutions": [SOLUTION]}))
    (config_dir / "risk_limits.yaml").write_text(yaml.safe_dump(RISK_LIMITS))
    firm = yaml.safe_load((config_dir / "firm.yaml").read_text())
    firm.update(management_fee=0.0, performance_fee=0.0, cash_rate=[])
    firm["new_solution"].update(template=SOLUTION["solution_id"], min_unused_pool_strategies=2)
    (config_dir / "firm.yaml").write_text(yaml.safe_dump(firm))


def _filled(spec, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every other column of ``spec`` at a neutral value of its type."""
    defaults = {pl.Float64: 1.0, pl.Int64: 1, pl.String: "seeded", pl.Boolean: True}
    columns = []
    for name, dtype in spec.columns().items():
        if name in frame.columns:
            columns.append(pl.col(name).cast(dtype))
        elif dtype == pl.Date:
            columns.append(pl.col("date").alias(name))
        else:
            columns.append(pl.lit(defaults[dtype], dtype=dtype).alias(name))
    return frame.select(columns)


def _seed_upstream(warehouse: WarehouseResource):
    """Pool, posteriors and forecasts for every day from late December to the end."""
    days = business_days(dt.date(2016, 12, 20), day(LAST))
    grid = pl.DataFrame({"date": days}).join(pl.DataFrame({"strategy_id": [A, B, C, D]}), how="cross")
    store = warehouse.warehouse()
    pool = grid.with_columns(
        in_pool=pl.lit(True), evidence=pl.lit(0.99), days_in_state=pl.lit(10), changed=pl.lit(False)
    )
    store.replace_partitions(TABLES["alpha.alpha_pool"], _filled(TABLES["alpha.alpha_pool"], pool), days)
    posteriors = grid.with_columns(
        converged=pl.lit(True), daily_mean_mean=pl.lit(0.0004), daily_mean_sd=pl.lit(0.0001), sharpe_mean=pl.lit(0.8)
    )
    store.replace_partitions(
        TABLES["models.strategy_posteriors"], _filled(TABLES["models.strategy_posteriors"], posteriors), days
    )
    forecasts = grid.with_columns(
        parameter_set=pl.lit("posterior"),
        monthly_valley=pl.when(pl.col("date") < dt.date(2017, 2, 1))
        .then(pl.col("strategy_id").replace_strict(FEBRUARY_VALLEYS, return_dtype=pl.Float64))
        .otherwise(pl.col("strategy_id").replace_strict(MARCH_VALLEYS, return_dtype=pl.Float64)),
    )
    store.replace_partitions(
        TABLES["models.strategy_forecasts"], _filled(TABLES["models.strategy_forecasts"], forecasts), days
    )


@pytest.fixture(scope="module")
def stress_history(tmp_path_factory):
    """Raw synthetic history with the shocks, and the seeded upstream tables."""
    root = tmp_path_factory.mktemp("solution_layer")
    config_dir = root / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config_dir)
    _stress_firm(config_dir)
    warehouse = WarehouseResource(path=str(root / "base.duckdb"))
    assert materialize_days(RAW_ASSETS, resources(warehouse, config_dir), "2015-12-01", LAST).success
    _seed_upstream(warehouse)
    return root, config_dir


def _copy(stress_history, name) -> WarehouseResource:
    return copy_warehouse(stress_history[0] / "base.duckdb", name)


@pytest.fixture(scope="module")
def range_instance():
    """A persistent Dagster instance holding the range run's event log (the alert sensor reads it)."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture(scope="module")
def as_range(stress_history, range_instance):
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "range")
    result = materialize_days([solution_level], resources(warehouse, config_dir), FIRST, LAST, instance=range_instance)
    return warehouse, result


def _tables(warehouse: WarehouseResource) -> dict[str, pl.DataFrame]:
    return {name: warehouse.read_history(name, None, None) for name in PORTFOLIO_TABLES.values()}


def _on(frame: pl.DataFrame, date: str, **keys) -> pl.DataFrame:
    out = frame.filter(pl.col("date") == day(date))
    for column, value in keys.items():
        out = out.filter(pl.col(column) == value)
    return out


def _weights(warehouse, strategy_id: str) -> pl.DataFrame:
    return (
        warehouse.read_history("portfolio.solution_weights", None, None)
        .filter(pl.col("strategy_id") == strategy_id)
        .sort("date")
    )


@pytest.mark.slow
def test_every_check_passes_and_every_day_is_written(as_range):
    warehouse, result = as_range
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 14  # 13 blocking checks and the restatement warning
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    performance = warehouse.read_history("portfolio.solution_performance", None, None)
    assert performance.get_column("date").to_list() == [day(d) for d in DAYS]
    assert performance.get_column("cold_start").to_list() == [True] + [False] * (len(DAYS) - 1)


@pytest.mark.slow
def test_pause_on_the_monthly_valley_then_re_entry_along_the_ramp(as_range):
    warehouse, _ = as_range
    b = _weights(warehouse, B)
    status = dict(zip(b["date"].cast(pl.String), b["status"]))
    assert status["2017-02-01"] == "active"
    assert [status[d] for d in ["2017-02-02", "2017-02-03", "2017-02-06", "2017-02-07", "2017-02-08"]] == ["paused"] * 5
    left = dict(zip(b["date"].cast(pl.String), b["pause_days_left"]))
    assert [left[d] for d in ["2017-02-02", "2017-02-03", "2017-02-06", "2017-02-07", "2017-02-08"]] == [5, 4, 3, 2, 1]
    pnl = dict(zip(b["date"].cast(pl.String), b["pnl_watched"]))
    assert pnl["2017-02-02"] == pytest.approx(0.975**2 - 1, abs=1e-12)
    target = dict(zip(b["date"].cast(pl.String), b["weight_target"]))
    assert target["2017-02-02"] == 0.0
    assert status["2017-02-09"] == "active" and target["2017-02-09"] == pytest.approx(0.125, abs=1e-12)
    assert target["2017-02-10"] == pytest.approx(0.25, abs=1e-12)
    orders = warehouse.read_history("portfolio.rebalance_orders", None, None)
    exit_order = _on(orders, "2017-02-02", strategy_id=B)
    assert exit_order["reason"].to_list() == ["forced_exit"] and exit_order["weight_target"].to_list() == [0.0]
    optimization = warehouse.read_history("portfolio.solution_optimizations", None, None)
    assert _on(optimization, "2017-02-02")["cash_pauses"].item() == pytest.approx(0.25, abs=1e-12)


@pytest.mark.slow
def test_stop_below_twice_the_valley_is_final(as_range):
    warehouse, _ = as_range
    c = _weights(warehouse, C)
    before = c.filter(pl.col("date") < day("2017-03-01"))
    after = c.filter(pl.col("date") >= day("2017-03-01"))
    assert set(before["status"]) == {"active"}
    assert set(after["status"]) == {"stopped"} and set(after["weight_target"]) == {0.0}
    assert after["pnl_watched"][0] == pytest.approx(-0.45, abs=1e-12)


@pytest.mark.slow
def test_drift_rebalances_on_the_shock_days_only(as_range):
    warehouse, _ = as_range
    optimization = warehouse.read_history("portfolio.solution_optimizations", None, None)
    drift_days = optimization.filter(pl.col("triggers").str.contains("drift"))["date"].cast(pl.String).to_list()
    assert drift_days == ["2017-02-15", "2017-03-08", "2017-03-10"]
    monthly = optimization.filter(pl.col("triggers").str.contains("monthly"))["date"].cast(pl.String).to_list()
    assert monthly == ["2017-02-01", "2017-03-01"]
    weights = warehouse.read_history("portfolio.solution_weights", None, None)
    d = _on(weights, "2017-02-15", strategy_id=D)
    assert d["weight_held"].item() == pytest.approx(0.35 / 1.10, abs=0.01)
    assert d["weight_target"].item() == pytest.approx(0.25, abs=1e-12)


@pytest.mark.slow
def test_each_violation_severity_opens_and_resolves_on_the_expected_day(as_range):
    warehouse, _ = as_range
    violations = warehouse.read_history("portfolio.risk_violations", None, None)
    opened = violations.filter(pl.col("status") == "open").group_by("rule", "subject", "severity", "opened_date").agg()
    seen = {(r["rule"], r["subject"], r["severity"], str(r["opened_date"])) for r in opened.iter_rows(named=True)}
    assert ("strategy_weight", D, "low", "2017-02-15") in seen
    assert ("strategy_drawdown", C, "high", "2017-03-01") in seen
    assert ("strategy_weight", A, "low", "2017-03-08") in seen
    assert ("strategy_weight", D, "medium", "2017-03-10") in seen
    assert ("drawdown_stop", "stress", "critical", "2017-03-14") in seen
    resolved = violations.filter(pl.col("status") == "resolved")
    assert _on(resolved, "2017-02-16", rule="strategy_weight", subject=D).height == 1
    assert _on(resolved, "2017-03-02", rule="strategy_drawdown", subject=C).height == 1
    first_critical = violations.filter(pl.col("severity") == "critical")["date"].min()
    assert first_critical == day("2017-03-14")


@pytest.mark.slow
def test_the_alert_sensor_posts_the_high_and_critical_openings_once(stress_history, as_range, range_instance):
    """From the run's event log: C's high strategy drawdown of 1 March and the book's
    critical drawdown stop of 14 March (worked out above; the liquidation keeps the stop
    open under its first opened date), each posted once; every check passed, so no other."""
    warehouse, _ = as_range
    defs = dg.Definitions(assets=[solution_level], resources=resources(warehouse, stress_history[1]))
    with Webhook() as hook:
        cursor = None
        for _ in range(2):
            context = dg.build_sensor_context(
                instance=range_instance,
                cursor=cursor,
                definitions=defs,
                resources={"alert_webhook": AlertWebhookResource(url=hook.url)},
            )
            risk_alerts(context)
            cursor = context.cursor
    posted = [(a["rule"], a["subject"], a["severity"], a["opened_date"]) for a in hook.delivered]
    assert sorted(posted) == [
        ("drawdown_stop", "stress", "critical", "2017-03-14"),
        ("strategy_drawdown", C, "high", "2017-03-01"),
    ]
    assert len(hook.received) == 2


@pytest.mark.slow
def test_drawdown_stop_liquidates_then_recovers_after_the_cooldown(as_range):
    warehouse, _ = as_range
    performance = warehouse.read_history("portfolio.solution_performance", None, None)
    cooldown = dict(zip(performance["date"].cast(pl.String), performance["cooldown_days_left"]))
    assert [
        cooldown[d]
        for d in ["2017-03-13", "2017-03-14", "2017-03-15", "2017-03-16", "2017-03-17", "2017-03-20", "2017-03-21"]
    ] == [0, 5, 4, 3, 2, 1, 0]
    leverage = dict(zip(performance["date"].cast(pl.String), performance["leverage"]))
    assert all(leverage[d] == 0.0 for d in ["2017-03-14", "2017-03-15", "2017-03-16", "2017-03-17", "2017-03-20"])
    assert leverage["2017-03-21"] > 0
    orders = warehouse.read_history("portfolio.rebalance_orders", None, None)
    assert set(_on(orders, "2017-03-14")["reason"]) == {"liquidation"}
    optimization = warehouse.read_history("portfolio.solution_optimizations", None, None)
    assert "recovery" in _on(optimization, "2017-03-21")["triggers"].item()
    assert _on(performance, "2017-03-14")["risk_peak"].item() == _on(performance, "2017-03-14")["aum"].item()


@pytest.mark.slow(seconds=90)
def test_days_one_by_one_equal_the_same_days_as_one_range(stress_history, as_range):
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "one_by_one")
    for key in DAYS:
        assert materialize_days([solution_level], resources(warehouse, config_dir), key).success
    expected, got = _tables(as_range[0]), _tables(warehouse)
    for name in PORTFOLIO_TABLES.values():
        assert got[name].height > 0 or name == "portfolio.risk_violations"
        assert got[name].equals(expected[name]), name


@pytest.mark.slow
def test_a_gap_is_refused(stress_history, as_range):
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "gap")
    assert materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-01", "2017-02-03").success
    result = materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-07", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "materialise 2017-02-06 first" in failure.step_failure_data.error.message


@pytest.mark.slow
def test_a_broken_solutions_file_fails_naming_it_and_keeps_the_stored_days(stress_history, tmp_path):
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "broken")
    assert materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-01", "2017-02-03").success
    before = _tables(warehouse)
    broken = tmp_path / "config"
    shutil.copytree(config_dir, broken)
    (broken / "solutions.yaml").write_text(
        "solutions:\n  - {solution_id: stress, launch_date: 2017-01-02, initial_aum: -1, policy: {kind: static}}\n"
    )
    result = materialize_days([solution_level], resources(warehouse, broken), "2017-02-03", raise_on_error=False)
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()
    assert "solutions.yaml" in message and "solutions.0.initial_aum" in message
    after = _tables(warehouse)
    assert all(after[name].equals(before[name]) for name in PORTFOLIO_TABLES.values())


@pytest.mark.slow
def test_a_day_whose_tables_disagree_is_refused_as_the_next_days_state(stress_history):
    """As if a write stopped after solution_weights: the next day fails and names the day."""
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "interrupted")
    assert materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-01", "2017-02-03").success
    store = warehouse.warehouse()
    optimizations = TABLES["portfolio.solution_optimizations"]
    store.replace_partitions(optimizations, optimizations.empty_frame(), [day("2017-02-03")])
    result = materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-06", raise_on_error=False)
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()
    assert "disagree on 2017-02-03" in message and "materialise 2017-02-03 again" in message


# --- one transaction, and solutions that come and go ------------------------------------

CALM = {**SOLUTION, "solution_id": "calm", "initial_aum": 5_000_000}


def _firm_with(stress_history, tmp_path, name: str, solutions: list[dict]):
    """A copy of the stress firm's config whose solutions.yaml lists ``solutions``."""
    target = tmp_path / name
    shutil.copytree(stress_history[1], target)
    (target / "solutions.yaml").write_text(yaml.safe_dump({"solutions": solutions}))
    return target


def _solution_rows(tables: dict[str, pl.DataFrame], solution_id: str) -> dict[str, pl.DataFrame]:
    return {name: frame.filter(pl.col("solution_id") == solution_id) for name, frame in tables.items()}


def _performance(warehouse, date: str, solution_id: str) -> dict:
    rows = _on(warehouse.read_history("portfolio.solution_performance", None, None), date, solution_id=solution_id)
    assert rows.height == 1, (date, solution_id)
    return rows.row(0, named=True)


def _assert_carried_on(warehouse, solution_id: str, date: str, previous: str) -> None:
    """``solution_id`` continued on ``date`` from its state of ``previous`` (no cold start)."""
    today = _performance(warehouse, date, solution_id)
    assert not today["cold_start"] and today["aum_start"] == _performance(warehouse, previous, solution_id)["aum"]


def _started(stress_history, name: str, config_dir, first: str, last: str) -> WarehouseResource:
    """A copy of the stress warehouse with the level run from ``first`` to ``last``."""
    warehouse = _copy(stress_history, name)
    assert materialize_days([solution_level], resources(warehouse, config_dir), first, last).success
    return warehouse


def _failure_text(result) -> str:
    assert not result.success
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()


@pytest.mark.parametrize("failing_insert", [1, 2], ids=["after the first DELETE", "after the first table's INSERT"])
@pytest.mark.slow
def test_a_failure_between_the_tables_leaves_all_six_old(stress_history, tmp_path, monkeypatch, failing_insert):
    """As if the run were killed inside the level's write: every table keeps the old run's
    rows (none the new run's), and the next day carries on from them."""
    _, config_dir = stress_history
    warehouse = _started(stress_history, f"killed_{failing_insert}", config_dir, "2017-02-01", "2017-02-03")
    before = _tables(warehouse)
    half = _firm_with(stress_history, tmp_path, "half", [{**SOLUTION, "target_exposure": 0.5}])
    calls = fail_on_insert(monkeypatch, failing_insert)
    result = materialize_days(
        [solution_level], resources(warehouse, half), "2017-02-01", "2017-02-03", raise_on_error=False
    )
    monkeypatch.undo()
    assert "injected" in _failure_text(result) and len(calls) == failing_insert
    after = _tables(warehouse)
    assert all(after[name].equals(before[name]) for name in PORTFOLIO_TABLES.values())
    assert materialize_days([solution_level], resources(warehouse, config_dir), "2017-02-06").success
    _assert_carried_on(warehouse, "stress", "2017-02-06", "2017-02-03")
    # the interrupted run would have changed the tables: run whole, it does
    assert materialize_days([solution_level], resources(warehouse, half), "2017-02-01", "2017-02-03").success
    rewritten = {name: frame.filter(pl.col("date") <= day("2017-02-03")) for name, frame in _tables(warehouse).items()}
    changed = [name for name in PORTFOLIO_TABLES.values() if not rewritten[name].equals(before[name])]
    assert {"portfolio.solution_weights", "portfolio.solution_performance", "portfolio.rebalance_orders"} <= set(
        changed
    )


@pytest.mark.slow
def test_a_removed_solution_keeps_its_history_and_catches_up_to_come_back(stress_history, tmp_path):
    _, config_dir = stress_history
    both = _firm_with(stress_history, tmp_path, "both", [SOLUTION, CALM])
    warehouse = _started(stress_history, "removed", both, "2017-02-01", "2017-02-03")
    calm_before = _solution_rows(_tables(warehouse), "calm")
    assert calm_before["portfolio.solution_performance"].height == 3

    for key in ("2017-02-03", "2017-02-06"):  # calm left out: a re-run of its last day, then a new day
        assert materialize_days([solution_level], resources(warehouse, config_dir), key).success
    calm_after = _solution_rows(_tables(warehouse), "calm")
    assert all(calm_after[name].equals(calm_before[name]) for name in PORTFOLIO_TABLES.values())
    _assert_carried_on(warehouse, "stress", "2017-02-06", "2017-02-03")

    back = _unchanged_by(
        warehouse,
        lambda: materialize_days([solution_level], resources(warehouse, both), "2017-02-07", raise_on_error=False),
    )
    assert "solution calm: materialise 2017-02-06 first" in _failure_text(back)
    assert materialize_days([solution_level], resources(warehouse, both), "2017-02-06", "2017-02-07").success
    _assert_carried_on(warehouse, "calm", "2017-02-06", "2017-02-03")


def _unchanged_by(warehouse, run):
    """Run ``run`` (a run expected to fail) and assert it left every table as it was."""
    before = _tables(warehouse)
    result = run()
    after = _tables(warehouse)
    assert all(after[name].equals(before[name]) for name in PORTFOLIO_TABLES.values())
    return result


@pytest.mark.slow
def test_a_solution_new_to_the_warehouse_cold_starts_beside_the_running_ones(stress_history, tmp_path):
    _, config_dir = stress_history
    warehouse = _started(stress_history, "added", config_dir, "2017-02-01", "2017-02-03")
    both = _firm_with(stress_history, tmp_path, "both", [SOLUTION, CALM])
    result = materialize_days([solution_level], resources(warehouse, both), "2017-02-06")
    calm = _performance(warehouse, "2017-02-06", "calm")
    assert calm["cold_start"] and calm["aum_start"] == CALM["initial_aum"]
    _assert_carried_on(warehouse, "stress", "2017-02-06", "2017-02-03")
    performance = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "solution_performance"
    )
    assert performance.materialization.metadata["cold_started"].value == ["calm"]


@pytest.mark.slow
def test_a_retired_solution_is_not_stepped_from_its_date_and_keeps_its_rows(stress_history, tmp_path):
    both = _firm_with(stress_history, tmp_path, "both", [SOLUTION, CALM])
    warehouse = _started(stress_history, "retired", both, "2017-02-01", "2017-02-07")
    before = _solution_rows(_tables(warehouse), "calm")
    retired = _firm_with(stress_history, tmp_path, "retired", [SOLUTION, {**CALM, "retired": "2017-02-06"}])
    assert materialize_days([solution_level], resources(warehouse, retired), "2017-02-06", "2017-02-08").success
    after = _solution_rows(_tables(warehouse), "calm")
    for name in PORTFOLIO_TABLES.values():
        assert after[name].equals(before[name].filter(pl.col("date") < day("2017-02-06"))), name
    assert after["portfolio.solution_performance"]["date"].max() == day("2017-02-03")
    _assert_carried_on(warehouse, "stress", "2017-02-08", "2017-02-07")


@pytest.mark.slow
def test_an_empty_solution_list_is_refused_naming_the_file_and_key(stress_history, tmp_path):
    _, config_dir = stress_history
    warehouse = _started(stress_history, "empty", config_dir, "2017-02-01", "2017-02-01")
    empty = _firm_with(stress_history, tmp_path, "empty", [])
    result = _unchanged_by(
        warehouse,
        lambda: materialize_days([solution_level], resources(warehouse, empty), "2017-02-01", raise_on_error=False),
    )
    message = _failure_text(result)
    assert "solutions.yaml" in message and "key 'solutions'" in message and "retired" in message


@pytest.mark.slow
def test_each_day_of_the_range_carries_its_own_metadata(as_range):
    """Every table's partition counts that day's stored rows; only the first day is the
    cold start; AUM, rebalances and open violations are that day's."""
    warehouse, result = as_range
    tables = _tables(warehouse)
    events = {
        name: assert_each_day_counts_its_own_rows(result, warehouse, name, DAYS) for name in PORTFOLIO_TABLES.values()
    }
    for metadata in events.values():
        assert [metadata[key]["cold_start"] for key in DAYS] == [True] + [False] * (len(DAYS) - 1)
        assert metadata[FIRST]["cold_started"] == ["stress"] and metadata[DAYS[1]]["cold_started"] == []
    for key in DAYS:
        assert (
            events["portfolio.solution_performance"][key]["aum_stress"] == _performance(warehouse, key, "stress")["aum"]
        )
        rebalanced = _on(tables["portfolio.solution_optimizations"], key).get_column("rebalanced").sum()
        assert events["portfolio.solution_optimizations"][key]["rebalances"] == rebalanced
        still_open = _on(tables["portfolio.risk_violations"], key, status="open").height
        assert events["portfolio.risk_violations"][key]["open_violations"] == still_open
    assert events["portfolio.risk_violations"]["2017-03-14"]["open_violations"] > 0  # the liquidation day
    assert sum(events["portfolio.solution_optimizations"][key]["rebalances"] for key in DAYS) > 3


# --------------------------------------------------------------------------- fees and the firm P&L

FEES = {
    **CALM,
    "target_exposure": 0.8,
    "fees": {"crystallisation": "monthly", "management_fee": 0.02, "performance_fee": 0.1},
    "flows": [{"date": "2017-02-15", "amount": 2_000_000.0}, {"date": "2017-03-01", "amount": -1_000_000.0}],
}


def _firm_tables(warehouse) -> dict[str, pl.DataFrame]:
    names = ("portfolio.solution_performance", "firm.firm_pnl")
    return {name: warehouse.read_history(name, None, None).sort("date", "solution_id") for name in names}


@pytest.mark.slow(seconds=50)
def test_fees_flows_and_the_firm_pnl_through_the_graph_range_equals_days_one_by_one(stress_history, tmp_path):
    """Two solutions, one 80% invested with its own fee terms (2% and 10%, monthly), a
    subscription and a redemption, cash at 1%: every blocking check passes (AUM continuity with fees and flows, the firm
    P&L's revenue and profit); the fee period turns on 28 February (a Tuesday, the month's
    last business day); the days one by one equal the range."""
    config_dir = _firm_with(stress_history, tmp_path, "fees", [SOLUTION, FEES])
    firm = yaml.safe_load((config_dir / "firm.yaml").read_text())
    firm["cash_rate"] = [{"from": "2015-01-01", "rate": 0.01}]
    (config_dir / "firm.yaml").write_text(yaml.safe_dump(firm))
    assets = [solution_level, firm_pnl]
    warehouse = _copy(stress_history, "fees_range")
    result = materialize_days(assets, resources(warehouse, config_dir), "2017-02-13", "2017-03-03")
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} >= {
        "aum_continuity",
        "revenue_matches_fees",
        "profit_is_revenue_less_costs",
    }
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    tables = _firm_tables(warehouse)
    fees = tables["portfolio.solution_performance"].filter(pl.col("solution_id") == "calm")
    by_day = {str(r["date"]): r for r in fees.iter_rows(named=True)}
    assert by_day["2017-02-15"]["flows"] == 2_000_000.0 and by_day["2017-03-01"]["flows"] == -1_000_000.0
    assert by_day["2017-02-27"]["fee_period_start"] == day("2017-02-13")  # its first day in the warehouse
    assert by_day["2017-02-28"]["fee_period_start"] == day("2017-03-01")
    assert by_day["2017-02-28"]["performance_fee_balance"] == 0.0
    assert by_day["2017-02-28"]["crystallised_fee"] == pytest.approx(
        by_day["2017-02-27"]["performance_fee_balance"] + by_day["2017-02-28"]["performance_fee_charge"], rel=1e-9
    )
    assert all(r["management_fee"] > 0 for key, r in by_day.items() if key > "2017-02-13")
    # the 20% held in cash earns 1% a year, ACT/365: Friday 24 to Monday 27 February accrues 3 days
    monday = by_day["2017-02-27"]
    cash = monday["gav_start"] * (1.0 - by_day["2017-02-24"]["net_exposure"])
    assert cash == pytest.approx(0.2 * monday["gav_start"], rel=0.05)
    assert monday["cash_interest"] == pytest.approx(cash * 0.01 * 3 / 365, rel=1e-9)
    pnl = tables["firm.firm_pnl"]
    firm = pnl.filter(pl.col("solution_id") == "FIRM")
    assert firm.height == len(business_days(day("2017-02-13"), day("2017-03-03")))
    # the year to date runs from the first business day of 2017 (the solutions' rows start on 13 February)
    solutions_ytd = tables["portfolio.solution_performance"].filter(pl.col("date") <= day("2017-03-03"))
    revenue = solutions_ytd.select(pl.col("management_fee").sum() + pl.col("crystallised_fee").sum()).item()
    assert firm.filter(pl.col("date") == day("2017-03-03"))["revenue_ytd"].item() == pytest.approx(revenue, rel=1e-9)

    one_by_one = _copy(stress_history, "fees_days")
    assert materialize_days(assets, resources(one_by_one, config_dir), "2017-02-13", "2017-02-23").success
    for key in [d.isoformat() for d in business_days(day("2017-02-24"), day("2017-03-03"))]:
        assert materialize_days(assets, resources(one_by_one, config_dir), key).success
    got = _firm_tables(one_by_one)
    for name, frame in tables.items():
        assert got[name].equals(frame), name
