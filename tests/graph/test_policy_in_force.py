"""The month-end policy search as a graph, and online mode: the solution level runs the
policy a month-end search chose, read from ``twin.policy_evaluations`` through the
warehouse resource, and names it per day.

The stress scenario of ``test_solution_layer`` (pause 5 days, ramp 2): B falls below its
February valley on Thu 2 Feb and is paused. A search dated Tue 31 Jan that chose
``pause_days = 2`` takes effect from 1 Feb: B's pause counts 2, 1 on 2 and 3 Feb and it
re-enters on Mon 6 Feb at ramp 1/2, where the configured policy keeps it paused until
9 Feb. The 31 January partition itself still runs the configured policy (the search read
that day's close).

Batch mode: the back-test walks the same span in memory (``twin_assets.twin.batch``) and
computes exactly what the Dagster walk stores; it measures that walk.
"""

import dataclasses
import datetime as dt
import shutil
from itertools import groupby

import dagster as dg
import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from tests.graph.test_solution_layer import (  # noqa: F401
    DAYS,
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
from twin_assets.firm import firm_decisions
from twin_assets.portfolio import solution_level
from twin_assets.shared.solution_inputs import step_solutions
from twin_assets.twin import backtest_results, batch, policy_evaluations
from twin_assets.twin.pool_tuning import PoolReplay
from twin_model.contracts import DRAW_COLUMNS, TABLES, beta_column, encode_draws
from twin_model.conventions import StrategyStatus
from twin_model.strategy import alpha_pool_level, pool_exogenous, pool_table, return_window
from twin_model.twin import run
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


PFA_GRID = {"pause_days": [2, 5], "valley_multiple": [2.0], "ramp_days": [2, 4]}
INCUMBENT_ONLY = {
    "pause_days": [SOLUTION["pause"]["period_days"]],
    "valley_multiple": [SOLUTION["stop"]["valley_multiple"]],
    "ramp_days": [SOLUTION["pause"]["ramp_days"]],
}
"""The PFA grid of the configured rules alone: a candidate equal to the incumbent is the incumbent."""


def _small_search(config_dir, target, pfa: dict = PFA_GRID, new_solution: dict | None = None):
    """A copy of ``config_dir`` at ``target`` whose search is small (12 + 12 paths, the
    incumbent and the ``pfa`` grid), ``new_solution`` updated."""
    shutil.copytree(config_dir, target)
    settings = yaml.safe_load((target / "twin.yaml").read_text())
    settings["policy_search"].update(n_paths=12, holdout_paths=12, seed=5)
    settings["policy_search"]["pfa"] = pfa
    settings["policy_search"]["cfa"] = {"policies": [], "exposure": []}
    settings["policy_search"]["dla"] = {"fraction": []}
    (target / "twin.yaml").write_text(yaml.safe_dump(settings))
    if new_solution:
        firm = yaml.safe_load((target / "firm.yaml").read_text())
        firm["new_solution"].update(new_solution)
        (target / "firm.yaml").write_text(yaml.safe_dump(firm))
    return target


@pytest.mark.slow
def test_the_month_end_search_writes_its_choice_and_the_next_month_runs_it(stress_history, tmp_path):  # noqa: F811
    """February's search from 28 Feb (small: 12 + 12 paths, the incumbent and two PFA
    candidates under the stress risk limits, on the vectorised evaluator with the paths a
    rule could act on re-run by the step): one row per candidate, one incumbent and one
    choice, its checks pass, its month's metadata names
    the choice; and 1 March's solution row names the same choice as its policy in force."""
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "month_end")
    twin_yaml = _small_search(config_dir, tmp_path / "config")
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
LAST_WALK: dict[str, dict] = {}
WALK_KEYS = ("month_ends_searched", "choices_not_incumbent", "replaced_by_family", "decisions")


def _backtest(warehouse, config_dir) -> pl.DataFrame:
    run_config = {"ops": {"twin__backtest_results": {"config": {"start": FIRST, "end": LAST}}}}
    result = dg.materialize([backtest_results], resources=resources(warehouse, config_dir), run_config=run_config)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("twin__backtest_results")
    LAST_BARS[warehouse.path] = materialization.metadata["pool_entry_bars"].value
    LAST_WALK[warehouse.path] = {k: v.value for k, v in materialization.metadata.items() if k.startswith(WALK_KEYS)}
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.metadata for c in checks if not c.passed]
    return warehouse.read_history("twin.backtest_results", day(LAST), day(LAST))


def _bars(warehouse) -> list[float]:
    """The entry bar each month of the back-test ran, from its latest materialisation."""
    return [float(part.split(": ")[1]) for part in LAST_BARS[warehouse.path].split("; ")]


def _row(rows: pl.DataFrame, kind: str, portfolio: str) -> dict:
    return rows.filter((pl.col("kind") == kind) & (pl.col("portfolio_id") == portfolio)).row(0, named=True)


MEASURES = ["days", "total_return", "annual_volatility", "max_drawdown", "turnover", "trading_costs", "fees"]


def _month_ends_modelled(warehouse, config_dir) -> None:
    """Posterior draws for the span's two month ends (the searches and decisions draw paths)."""
    for t in (dt.date(2017, 1, 31), dt.date(2017, 2, 28)):
        _seed_draws(warehouse, config_dir, t)


def _sorted(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.sort(list(TABLES[table].keys))


@pytest.mark.slow
def test_the_backtest_walk_in_memory_is_the_dagster_walk_forward(stress_history, tmp_path):  # noqa: F811
    """Batch mode against online mode on the same span: the Dagster walk (January 31's
    solution level, its search, February's days reading its choice, February's search,
    March's days) stores what ``batch.walk`` computes in memory, every ``portfolio.*``
    and decision row and every search row exactly; and the back-test's ``twin`` row
    measures those rows."""
    _, config_dir = stress_history
    small = _small_search(config_dir, tmp_path / "config")
    warehouse = _copy(stress_history, "walk_dagster")
    _month_ends_modelled(warehouse, small)
    res = resources(warehouse, small)
    for first, last, month in (
        (FIRST, FIRST, "2017-01-01"),
        ("2017-02-01", "2017-02-28", "2017-02-01"),
        ("2017-03-01", LAST, None),
    ):
        assert materialize_days([solution_level], res, first, last).success
        if month is not None:
            assert materialize_days([policy_evaluations, firm_decisions], res, month).success

    walked = batch.walk(warehouse, load_config(small), [day(d) for d in DAYS])
    for table, frame in {**walked.frames, "firm.firm_decisions": walked.decisions}.items():
        stored = warehouse.read_history(table, day(FIRST), day(LAST)).select(frame.columns)
        assert_frame_equal(_sorted(frame, table), _sorted(stored, table), check_dtypes=False, check_exact=True)
    searched = warehouse.read_history("twin.policy_evaluations", None, None).select(walked.searches.columns)
    table = "twin.policy_evaluations"
    assert_frame_equal(_sorted(walked.searches, table), _sorted(searched, table), check_dtypes=False)
    assert walked.searches.get_column("date").unique().sort().to_list() == [dt.date(2017, 1, 31), dt.date(2017, 2, 28)]

    rows = _backtest(warehouse, small)
    replaced = walked.searches.filter(pl.col("chosen") & ~pl.col("incumbent"))
    said = LAST_WALK[warehouse.path]
    assert said["month_ends_searched"] == 2 and said["choices_not_incumbent"] == replaced.height
    assert sum(int(part.split(": ")[1]) for part in said["decisions"].split(", ")) == 2  # one a month end
    performance = walked.frames["portfolio.solution_performance"]
    expected = float((1 + performance.get_column("net_return")).product() - 1)
    assert _row(rows, "twin", "stress")["total_return"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_with_the_incumbent_alone_searched_the_twin_is_the_static_baseline(stress_history, tmp_path):  # noqa: F811
    """Every month end can only keep the configured policy: the twin walked in memory
    and the static baseline, stepped from the same state and stored inputs, measure
    exactly the same. Equal weight covers every day; a second back-test of the span
    replaces its rows; the tuned pool's first month runs the configured bar."""
    _, config_dir = stress_history
    alone = _small_search(config_dir, tmp_path / "config", pfa=INCUMBENT_ONLY)
    plain = _copy(stress_history, "backtest_plain")
    _month_ends_modelled(plain, alone)
    rows = _backtest(plain, alone)
    twin, static = _row(rows, "twin", "stress"), _row(rows, "static", "stress")
    assert [twin[m] for m in MEASURES] == pytest.approx([static[m] for m in MEASURES], rel=1e-12, abs=1e-15)
    assert _row(rows, "equal_weight", "equal_weight")["days"] == len(DAYS)
    assert twin["days"] == len(DAYS)
    assert _backtest(plain, alone).height == rows.height  # replaced, not appended
    # the pool replayed in memory at the configured bar is the stored pool: where every
    # month ran the configured bar, the tuned row is the static one
    tuned = _row(rows, "pool_tuned", "stress")
    bars = _bars(plain)
    configured = load_config(alone).strategies.pool_policy.enter_probability
    assert bars[0] == configured  # the first month runs the configured bar, nothing realised yet
    if all(bar == configured for bar in bars):
        assert [tuned[m] for m in MEASURES] == pytest.approx([static[m] for m in MEASURES], rel=1e-12, abs=1e-15)
    assert len(bars) == 3  # January (one day), February, March


@pytest.mark.slow
def test_a_launch_decision_starts_a_copy_of_its_template_in_the_backtest(stress_history, tmp_path):  # noqa: F811
    """A policy that launches whatever the pool and the outlook (at least 0 unused
    strategies, no positive profit required) launches at the walk's first month end, 31
    January: the back-test manages a copy of ``stress`` from 1 February with
    ``launch_aum``, and measures what the daily graph stores when the same copy is
    written into solutions.yaml by hand."""
    _, config_dir = stress_history
    eager = {"min_unused_pool_strategies": 0, "require_positive_profit": False}
    launching = _small_search(config_dir, tmp_path / "config", pfa=INCUMBENT_ONLY, new_solution=eager)
    launch_aum = load_config(launching).firm.new_solution.launch_aum
    warehouse = _copy(stress_history, "backtest_launch")
    _month_ends_modelled(warehouse, launching)
    rows = _backtest(warehouse, launching)
    launched = _row(rows, "launched", "stress_launch_2017-01-31")
    assert rows.filter(pl.col("kind") == "launched").height == 1

    by_hand = tmp_path / "by_hand"
    shutil.copytree(launching, by_hand)
    copy = {**SOLUTION, "solution_id": "stress_launch_2017-01-31", "launch_date": "2017-02-01"}
    copy["initial_aum"] = launch_aum
    (by_hand / "solutions.yaml").write_text(yaml.safe_dump({"solutions": [SOLUTION, copy]}))
    stored_copy = _copy(stress_history, "launch_by_hand")
    assert materialize_days([solution_level], resources(stored_copy, by_hand), FIRST, LAST).success
    performance = stored_copy.read_history("portfolio.solution_performance", None, None).filter(
        pl.col("solution_id") == copy["solution_id"]
    )
    assert performance.get_column("date").min() == dt.date(2017, 2, 1)
    assert performance.row(0, named=True)["aum_start"] == launch_aum
    assert launched["days"] == performance.height == len(DAYS) - 1  # 1 February - 24 March
    expected = float((1 + performance.get_column("net_return")).product() - 1)
    assert launched["total_return"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.slow
def test_the_backtest_names_the_strategy_layers_it_lacks_and_keeps_the_rows(stress_history, tmp_path):  # noqa: F811
    """A span reaching past the stored alpha pool fails naming the first day without it
    and what to run; the last back-test's rows stay."""
    _, config_dir = stress_history
    alone = _small_search(config_dir, tmp_path / "config", pfa=INCUMBENT_ONLY)
    warehouse = _copy(stress_history, "backtest_short")
    _month_ends_modelled(warehouse, alone)
    before = _backtest(warehouse, alone)
    warehouse.warehouse().replace_partitions(
        TABLES["alpha.alpha_pool"], TABLES["alpha.alpha_pool"].empty_frame(), [day("2017-03-01")]
    )
    run_config = {"ops": {"twin__backtest_results": {"config": {"start": FIRST, "end": LAST}}}}
    result = dg.materialize(
        [backtest_results], resources=resources(warehouse, alone), run_config=run_config, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "no alpha.alpha_pool rows on 2017-03-01" in failure and f"twin backtest --start {FIRST}" in failure
    assert warehouse.read_history("twin.backtest_results", day(LAST), day(LAST)).equals(before)


@pytest.mark.slow
def test_the_tuned_pool_walked_once_is_the_month_by_month_walk_and_each_pool_is_walked_once(stress_history):  # noqa: F811
    """The solutions never feed back into the pool: stepping them once over the span on a
    pool replayed month by month, the bar switching each month, gives exactly the rows of
    stepping each month on the pool so far with the state carried (how the tuned run
    stepped before). A pool already walked, or one that differs only in columns the step
    does not read, is not walked again; the static run, walked on the columns the step
    reads, is the step over the whole stored pool."""
    _, config_dir = stress_history
    warehouse = _copy(stress_history, "pool_replay")
    config = load_config(config_dir)
    days = [day(d) for d in DAYS]
    replay = PoolReplay(warehouse, config, days)
    configured = replay.policy
    loose = dataclasses.replace(configured, enter_probability=(configured.exit_probability + 1) / 2)
    months = [list(month) for _, month in groupby(days, key=lambda d: (d.year, d.month))]
    plan = [(month, loose if k % 2 == 0 else configured) for k, month in enumerate(months)]
    assert len(months) == 3

    once = replay.solutions(replay.pool(plan))
    pool_state, pools, start, pieces = replay.start_pool, [replay.before], None, []
    for month, policy in plan:
        path = pool_exogenous(replay.posteriors, replay.statistics, month, policy.signal, None)
        trajectory = run(alpha_pool_level(policy), pool_state, path)
        pool_state = trajectory.final
        pools.append(pool_table(trajectory, policy).select(replay.before.columns))
        stepped = step_solutions(warehouse, config, month, configured_only=True, pool=pl.concat(pools), start=start)
        start = stepped.final
        pieces.append(stepped.frames)
    for table, frame in once.items():
        assert frame.height > 0, table
        assert_frame_equal(frame, pl.concat([piece[table] for piece in pieces]), check_exact=True)

    configured_pool = replay.pool([(days, configured)])
    frames = replay.solutions(configured_pool)
    walks = len(replay.walks)
    assert replay.solutions(replay.pool([(days, configured)])) is frames and len(replay.walks) == walks
    # a pool that differs only in what the step does not read (the reason, the policy's name)
    relabelled = configured_pool.with_columns(reason=pl.lit("another reason"), policy=pl.lit("another policy"))
    assert replay.solutions(relabelled) is frames and len(replay.walks) == walks
    # the static run: the stored pool (this scenario's is seeded by hand, so not the
    # replay's, and walked on its own) gives what the step gives reading the stored pool
    assert not replay.stored_pool().equals(configured_pool)
    static = replay.solutions(replay.stored_pool())
    assert len(replay.walks) == walks + 1
    for table, frame in step_solutions(warehouse, config, days, configured_only=True).frames.items():
        assert_frame_equal(static[table], frame, check_exact=True)
