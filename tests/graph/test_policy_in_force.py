"""The month-end policy search as a graph, and online mode: the solution level runs the
policy a month-end search chose, read from ``twin.policy_evaluations`` through the
warehouse resource, and names it per day.

The stress scenario of ``test_solution_layer`` (pause 5 days, ramp 2): B falls below its
February valley on Thu 2 Feb and is paused. A search dated Tue 31 Jan that chose
``pause_days = 2`` takes effect from 1 Feb: B's pause counts 2, 1 on 2 and 3 Feb and it
re-enters on Mon 6 Feb at ramp 1/2, where the configured policy keeps it paused until
9 Feb. The 31 January partition itself still runs the configured policy (the search read
that day's close).
"""

import datetime as dt
import shutil

import dagster as dg
import numpy as np
import polars as pl
import pytest
import yaml

from tests.graph.test_solution_layer import (  # noqa: F401
    FIRST,
    LAST,
    SOLUTION,
    _copy,
    _filled,
    _weights,
    stress_history,
)
from tests.helpers.day_metadata import day_events
from tests.helpers.graph import day, materialize_days, resources
from twin_assets.portfolio import solution_level
from twin_assets.twin import backtest_results, policy_evaluations
from twin_model.contracts import DRAW_COLUMNS, TABLES, beta_column, encode_draws
from twin_model.conventions import StrategyStatus
from twin_model.strategy import return_window
from twin_model.twin.search import parameters_json, with_parameters
from twin_resources.config import load_config

EVALUATIONS = TABLES["twin.policy_evaluations"]
DECISIONS = TABLES["firm.firm_decisions"]


def _choose_two_day_pauses(warehouse, config_dir) -> str:
    configured = load_config(config_dir).solutions.solutions[0].rules()
    chosen = with_parameters(configured, {"pause_days": 2})
    rows = pl.DataFrame(
        {
            "date": [dt.date(2017, 1, 31)] * 2,
            "solution_id": ["stress"] * 2,
            "candidate_id": ["incumbent", "pfa:pause_days=2"],
            "family": ["incumbent", "pfa"],
            "parameters": [parameters_json(configured), parameters_json(chosen)],
            "incumbent": [True, False],
            "evaluator": ["reference"] * 2,
            "best_in_sample": [False, True],
            "chosen": [False, True],
            "score_kind": ["mean_variance"] * 2,
            "holdout_score": [0.0, 0.001],
        }
    )
    frame = _filled(EVALUATIONS, rows)
    warehouse.warehouse().replace_partitions(EVALUATIONS, frame, [dt.date(2017, 1, 31)])
    return "policy_search 2017-01-31: pfa:pause_days=2"


@pytest.mark.slow
def test_the_level_runs_the_chosen_pause_rule_from_the_day_after_the_search(stress_history):  # noqa: F811
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "in_force")
    source = _choose_two_day_pauses(warehouse, config_dir)
    result = materialize_days([solution_level], resources(warehouse, config_dir), FIRST, LAST)
    assert result.success
    b = _weights(warehouse, "syn_0001")
    status = dict(zip(b.get_column("date").to_list(), b.get_column("status").to_list()))
    assert [status[day(d)] for d in ("2017-02-02", "2017-02-03", "2017-02-06")] == ["paused", "paused", "active"]
    ramp = b.filter(pl.col("date") == day("2017-02-06")).get_column("ramp_day").item()
    assert ramp == 1
    events = day_events(result, "portfolio.solution_weights")
    assert events["2017-01-31"]["policy_in_force"] == "stress: configured"
    assert events["2017-02-01"]["policy_in_force"] == f"stress: {source}"
    assert events[LAST]["policy_in_force"] == f"stress: {source}"
    _assert_day_figures_plot(warehouse, result)


def _assert_day_figures_plot(warehouse, result) -> None:
    """Each day's numbers are that day's (so they plot over partitions): the strategies
    by status from the day's weight rows, NAV per unit and drawdown from its performance
    row, and a markdown preview of the weights."""
    weights = warehouse.read_history("portfolio.solution_weights", day(FIRST), day(LAST))
    performance = warehouse.read_history("portfolio.solution_performance", day(FIRST), day(LAST))
    perf_events = day_events(result, "portfolio.solution_performance")
    for key, metadata in day_events(result, "portfolio.solution_weights").items():
        rows = weights.filter(pl.col("date") == day(key))
        for status in StrategyStatus:
            assert metadata[f"strategies_{status.value}"] == int((rows.get_column("status") == status).sum())
        assert metadata["weights"].startswith("| solution_id | strategy_id | status |")
        perf = performance.filter(pl.col("date") == day(key)).row(0, named=True)
        assert perf_events[key]["nav_stress"] == pytest.approx(perf["nav_per_unit"])
        assert perf_events[key]["drawdown_stress"] == pytest.approx(perf["drawdown"])
    assert len({m["nav_stress"] for m in perf_events.values()}) > 1  # not one value repeated on every day


def _seed_draws(warehouse, config_dir, t: dt.date) -> None:
    """A posterior draws artefact for ``t`` (the seeded posteriors have none): 40 draws of
    alpha 0.0004 (sd 0.0001), sigma 0.01, normal tails, zero factor betas, referenced from
    the day's rows."""
    window_days = load_config(config_dir).strategies.model.window_days
    start = t - dt.timedelta(days=2 * window_days)
    returns = warehouse.read_history("raw.strategy_returns", start, t)
    factors = warehouse.read_history("raw.factor_returns", start, t)
    window = return_window(returns, factors if factors.height else None, t, window_days)
    ids = list(window.strategy_ids)
    rng = np.random.default_rng(0)
    shape = (40, len(ids))
    alpha = 0.0004 + 0.0001 * rng.standard_normal(shape)
    draws = {name: np.zeros(shape) for name in DRAW_COLUMNS}
    draws.update(alpha=alpha, daily_mean=alpha, sigma=np.full(shape, 0.01), vol=np.full(shape, 0.01))
    draws.update(nu=np.full(shape, np.inf), sharpe=alpha / 0.01 * np.sqrt(252))
    draws.update({beta_column(f): np.zeros(shape) for f in window.factor_ids})
    stored = warehouse.artifacts().write("strategy_posteriors", t, encode_draws(ids, draws, window.factor_ids))
    posteriors = warehouse.read_history("models.strategy_posteriors", t, t).with_columns(
        draws_path=pl.lit(stored.path), draws_sha256=pl.lit(stored.sha256)
    )
    warehouse.warehouse().replace_partitions(TABLES["models.strategy_posteriors"], posteriors, [t])


@pytest.mark.slow
def test_the_month_end_search_writes_its_choice_and_the_next_month_runs_it(stress_history, tmp_path):  # noqa: F811
    """February's search from 28 Feb (small: 12 + 12 paths, the incumbent and two PFA
    candidates under the stress risk limits, on the vectorised evaluator with the paths a
    rule could act on re-run by the step): one row per candidate, one incumbent and one
    choice, its checks pass, its month's metadata names
    the choice; and 1 March's solution row names the same choice as its policy in force."""
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "month_end")
    twin_yaml = config_dir.parent / "twin_small" / "config"
    shutil.copytree(config_dir, twin_yaml)
    settings = yaml.safe_load((twin_yaml / "twin.yaml").read_text())
    settings["policy_search"].update(n_paths=12, holdout_paths=12, seed=5)
    settings["policy_search"]["pfa"] = {"pause_days": [2, 5], "valley_multiple": [2.0], "ramp_days": [2, 4]}
    settings["policy_search"]["cfa"] = {"policies": [], "exposure": []}
    settings["policy_search"]["dla"] = {"fraction": []}
    (twin_yaml / "twin.yaml").write_text(yaml.safe_dump(settings))
    res = resources(warehouse, twin_yaml)
    assert materialize_days([solution_level], res, FIRST, "2017-02-28").success
    _seed_draws(warehouse, twin_yaml, dt.date(2017, 2, 28))

    result = materialize_days([policy_evaluations], res, "2017-02-01")
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    rows = warehouse.read_history("twin.policy_evaluations", None, None)
    assert rows.height == 4 and set(rows.get_column("date").to_list()) == {dt.date(2017, 2, 28)}
    assert set(rows.get_column("evaluator").to_list()) <= {"vectorised", "mixed"}
    chosen = rows.filter(pl.col("chosen")).get_column("candidate_id").item()
    metadata = day_events(result, "twin.policy_evaluations")["2017-02-01"]
    assert metadata["month_end"] == "2017-02-28" and metadata["chosen"] == f"stress: {chosen}"

    march = materialize_days([solution_level], res, "2017-03-01")
    in_force = day_events(march, "portfolio.solution_weights")["2017-03-01"]["policy_in_force"]
    assert in_force.startswith(f"stress: policy_search 2017-02-28: {chosen}")


LAST_BARS: dict[str, str] = {}


def _backtest(warehouse, config_dir) -> pl.DataFrame:
    run_config = {"ops": {"twin__backtest_results": {"config": {"start": FIRST, "end": LAST}}}}
    result = dg.materialize([backtest_results], resources=resources(warehouse, config_dir), run_config=run_config)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("twin__backtest_results")
    LAST_BARS[warehouse.path] = materialization.metadata["pool_entry_bars"].value
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.metadata for c in checks if not c.passed]
    return warehouse.read_history("twin.backtest_results", day(LAST), day(LAST))


def _bars(warehouse) -> list[float]:
    """The entry bar each month of the back-test ran, from its latest materialisation."""
    return [float(part.split(": ")[1]) for part in LAST_BARS[warehouse.path].split("; ")]


def _row(rows: pl.DataFrame, kind: str, portfolio: str) -> dict:
    return rows.filter((pl.col("kind") == kind) & (pl.col("portfolio_id") == portfolio)).row(0, named=True)


MEASURES = ["days", "total_return", "annual_volatility", "max_drawdown", "turnover", "trading_costs", "fees"]


@pytest.mark.slow
def test_the_backtest_static_baseline_is_the_daily_step_without_the_search(stress_history):  # noqa: F811
    """Without a month-end choice the twin ran its configured policy: the static baseline,
    stepped in memory from the same state and stored inputs, measures exactly the same; with
    the two-day pause chosen the twin's row differs from it. Equal weight covers every day;
    a second back-test of the span replaces its rows."""
    _, config_dir = stress_history
    plain = _copy(stress_history, "backtest_plain")
    assert materialize_days([solution_level], resources(plain, config_dir), FIRST, LAST).success
    rows = _backtest(plain, config_dir)
    twin, static = _row(rows, "twin", "stress"), _row(rows, "static", "stress")
    assert [twin[m] for m in MEASURES] == pytest.approx([static[m] for m in MEASURES], rel=1e-12, abs=1e-15)
    stored = plain.read_history("portfolio.solution_performance", day(FIRST), day(LAST))
    assert twin["total_return"] == pytest.approx(float((1 + stored.get_column("net_return")).product() - 1))
    assert _row(rows, "equal_weight", "equal_weight")["days"] == stored.height
    assert _backtest(plain, config_dir).height == rows.height  # replaced, not appended
    # the pool replayed in memory at the configured bar is the stored pool: where every
    # month ran the configured bar, the tuned row is the static one
    tuned = _row(rows, "pool_tuned", "stress")
    bars = _bars(plain)
    configured = load_config(config_dir).strategies.pool_policy.enter_probability
    assert bars[0] == configured  # the first month runs the configured bar, nothing realised yet
    if all(bar == configured for bar in bars):
        assert [tuned[m] for m in MEASURES] == pytest.approx([static[m] for m in MEASURES], rel=1e-12, abs=1e-15)
    assert len(bars) == 3  # January (one day), February, March

    chosen = _copy(stress_history, "backtest_chosen")
    _choose_two_day_pauses(chosen, config_dir)
    assert materialize_days([solution_level], resources(chosen, config_dir), FIRST, LAST).success
    searched = _backtest(chosen, config_dir)
    assert _row(searched, "static", "stress")["total_return"] == pytest.approx(static["total_return"], rel=1e-12)
    assert _row(searched, "twin", "stress")["total_return"] != pytest.approx(static["total_return"], rel=1e-9)


def _decide(warehouse, decisions: dict[str, str], template: str = "stress") -> None:
    """Store ``firm.firm_decisions`` rows: decision by month end, of ``template``."""
    rows = pl.DataFrame({"date": [day(t) for t in decisions], "decision": list(decisions.values())})
    frame = _filled(DECISIONS, rows.with_columns(template=pl.lit(template), projected_profit_p50=pl.lit(None)))
    warehouse.warehouse().replace_partitions(DECISIONS, frame, [day(t) for t in decisions])


@pytest.mark.slow
def test_a_launch_decision_starts_a_copy_of_its_template_in_the_backtest(stress_history, tmp_path):  # noqa: F811
    """The back-test acts on the span's first launch (31 January holds, 28 February
    launches): a copy of ``stress`` managed from 1 March with ``launch_aum``. It measures
    what the daily graph stores when the same copy is written into solutions.yaml by hand."""
    _, config_dir = stress_history
    launch_aum = load_config(config_dir).firm.new_solution.launch_aum
    warehouse = _copy(stress_history, "backtest_launch")
    assert materialize_days([solution_level], resources(warehouse, config_dir), FIRST, LAST).success
    _decide(warehouse, {"2017-01-31": "hold", "2017-02-28": "launch"})
    rows = _backtest(warehouse, config_dir)
    launched = _row(rows, "launched", "stress_launch_2017-02-28")
    assert rows.filter(pl.col("kind") == "launched").height == 1

    by_hand = tmp_path / "by_hand"
    shutil.copytree(config_dir, by_hand)
    copy = {**SOLUTION, "solution_id": "stress_launch_2017-02-28", "launch_date": "2017-03-01"}
    copy["initial_aum"] = launch_aum
    (by_hand / "solutions.yaml").write_text(yaml.safe_dump({"solutions": [SOLUTION, copy]}))
    stored_copy = _copy(stress_history, "launch_by_hand")
    assert materialize_days([solution_level], resources(stored_copy, by_hand), FIRST, LAST).success
    performance = stored_copy.read_history("portfolio.solution_performance", None, None).filter(
        pl.col("solution_id") == copy["solution_id"]
    )
    assert performance.get_column("date").min() == dt.date(2017, 3, 1)
    assert performance.row(0, named=True)["aum_start"] == launch_aum
    assert launched["days"] == performance.height == 18  # 1-24 March 2017: 18 business days
    expected = float((1 + performance.get_column("net_return")).product() - 1)
    assert launched["total_return"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.slow
def test_a_launch_of_a_template_no_longer_configured_fails_naming_it_and_keeps_the_rows(stress_history):  # noqa: F811
    """A stored launch whose template has since left solutions.yaml: the back-test fails
    naming the decision day and the template, and the last back-test's rows stay."""
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "backtest_gone_template")
    assert materialize_days([solution_level], resources(warehouse, config_dir), FIRST, LAST).success
    before = _backtest(warehouse, config_dir)
    _decide(warehouse, {"2017-02-28": "launch"}, template="gone")
    run_config = {"ops": {"twin__backtest_results": {"config": {"start": FIRST, "end": LAST}}}}
    result = dg.materialize(
        [backtest_results], resources=resources(warehouse, config_dir), run_config=run_config, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "firm.firm_decisions 2017-02-28" in failure and "'gone'" in failure
    assert warehouse.read_history("twin.backtest_results", day(LAST), day(LAST)).equals(before)
