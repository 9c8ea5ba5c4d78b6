"""The policy search's paths: the runner on a trivial policy and a hand-built scenario, and
the per-path random streams of the scenario sets."""

import math

import numpy as np
import polars as pl
import pytest

from tests.helpers.policy_search import base_inputs, month, rules
from twin_model.contracts import TABLES, validate
from twin_model.conventions import PolicyKind, ScenarioStream
from twin_model.errors import DataQualityError
from twin_model.parallel import worker_pool
from twin_model.portfolio import CostModel
from twin_model.solution import SolutionState
from twin_model.strategy import predictive_model, simulate_predictive
from twin_model.twin import run
from twin_model.twin.search import (
    CfaGrid,
    CfaPolicy,
    PfaGrid,
    PolicySearchSettings,
    ScenarioSet,
    SimulatedMonth,
    inert_limits,
    month_end_search,
    reference_returns,
    solution_level,
    vectorised_returns,
)

TEN_BPS = CostModel(commission_bps=10.0, half_spread_bps=0.0, impact_coefficient=0.0, slippage_sd_bps=0.0)


def test_the_runner_on_a_static_half_half_book_gives_the_hand_computed_contributions():
    """Two strategies, static 50/50 from a launch with AUM 100, 10 bps linear costs, no
    valley. Hand-worked:

    day 1 (launch): nothing held, so no P&L (its returns 5%, 5% do not count); buys
    50 + 50 = 100 -> cost 0.1, paid tomorrow. C_1 = 0.
    day 2 (returns 2%, -1%): C_2 = 50 x 0.02 + 50 x (-0.01) - 0.1 = 0.4; AUM 100.4; the
    held weights drift to 51/100.4 and 49.5/100.4 (drift 0.0080 < 0.05: no trade).
    day 3 (returns 1%, 3%): C_3 = 51 x 0.01 + 49.5 x 0.03 = 0.51 + 1.485 = 1.995.
    Net return (0.4 + 1.995) / 100 = 0.02395.
    """
    r = rules(initial_aum=100.0, policy_params={"weights": {"s00": 1.0, "s01": 1.0}})
    m = month(base_inputs(2), horizon=3, valley=None)
    path = np.array([[0.05, 0.05], [0.02, -0.01], [0.01, 0.03]])
    trajectory = run(solution_level(r, inert_limits(), TEN_BPS), SolutionState.launch(r), m.exogenous(path))
    assert trajectory.contributions == pytest.approx((0.0, 0.4, 1.995), abs=1e-12)
    assert trajectory.records[-1] == pytest.approx(102.395, abs=1e-12)
    for evaluator in (reference_returns, vectorised_returns):
        got = evaluator(r, SolutionState.launch(r), m, path[None], inert_limits(), TEN_BPS)
        assert got == pytest.approx([0.02395], abs=1e-12)


def test_a_day_sees_its_simulated_returns_after_the_real_history():
    base = base_inputs(3, rows=30)
    m = SimulatedMonth(base, month(base, 4).days, ("s02", "s00"), {})
    path = np.arange(8.0).reshape(4, 2) / 100
    w = m.exogenous(path)
    third = w[2].info
    assert third.day == m.days[2] and third.history_dates[-3:] == m.days[:3]
    np.testing.assert_array_equal(third.history[-3:, 0], [0.01, 0.03, 0.05])  # s00 = column 1 of the path
    np.testing.assert_array_equal(third.history[-3:, 2], [0.00, 0.02, 0.04])  # s02 = column 0
    assert np.isnan(third.history[-3:, 1]).all()  # s01 has no scenario: not observed
    np.testing.assert_array_equal(third.history[:-3], base.history)


def _draws(ids, alpha, sigma, n_draws=4):
    """A draws frame without regressors: ``n_draws`` equal draws of alpha, sigma (normal)."""
    d = len(ids)
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(n_draws), d).astype(np.int64),
            "strategy_id": list(ids) * n_draws,
            "daily_mean": np.tile(alpha, n_draws),
            "alpha": np.tile(alpha, n_draws),
            "sigma": np.tile(sigma, n_draws),
            "nu": np.full(n_draws * d, math.inf),
            "vol": np.tile(sigma, n_draws),
            "sharpe": np.tile(np.asarray(alpha) / np.asarray(sigma), n_draws),
        }
    )


def _model():
    ids = ["a", "b"]
    history = np.random.default_rng(5).normal(0.0, 0.01, size=(120, 2))
    return predictive_model(_draws(ids, [0.001, -0.0005], [0.01, 0.02]), history, None, ids)


def test_each_path_has_its_own_stream_and_regenerates_alone():
    """Path p of the family f is the forecast machinery's draw from the spawned child
    (f, p) of SeedSequence(seed): built here through numpy's own spawn."""
    model = _model()
    search = ScenarioSet(seed=11, stream=ScenarioStream.SEARCH, n_paths=6, horizon=5)
    holdout = ScenarioSet(seed=11, stream=ScenarioStream.HOLDOUT, n_paths=6, horizon=5)
    paths = search.simulate(model)
    for family, scenario_set in ((0, search), (1, holdout)):
        child = np.random.SeedSequence(11).spawn(2)[family].spawn(4)[3]
        np.testing.assert_array_equal(scenario_set.path(model, 3), simulate_predictive(model, 1, 5, child)[0])
    np.testing.assert_array_equal(paths[3], search.path(model, 3))
    assert not np.allclose(paths, holdout.simulate(model))
    assert len({paths[p].tobytes() for p in range(6)}) == 6


def test_the_paths_keep_the_posterior_mean():
    """Centred residuals: the mean daily return over many paths is alpha (0.001, -0.0005)
    within 4 standard errors. A simulated day is alpha + sigma z with z a bootstrapped
    history residual (r - alpha_hat) / sigma_hat of N(0, 0.01) history: its sd is about
    0.01 in both columns, so SE = 0.01 / sqrt(P x H)."""
    model = _model()
    paths = ScenarioSet(seed=3, stream=ScenarioStream.SEARCH, n_paths=400, horizon=10).simulate(model)
    mean = paths.reshape(-1, 2).mean(axis=0)
    se = 0.01 / math.sqrt(400 * 10)
    assert np.all(np.abs(mean - [0.001, -0.0005]) < 4 * se)


def _two_solutions():
    """A month end of two strategies and two solutions (a static book, a performance
    allocation): ``(base, model, valley, solutions, settings)``."""
    ids = ("s00", "s01")
    history = np.random.default_rng(5).normal(0.0, 0.01, size=(120, 2))
    model = predictive_model(_draws(list(ids), [0.001, -0.0005], [0.01, 0.02]), history, None, list(ids))
    settings = PolicySearchSettings(
        n_paths=12,
        holdout_paths=10,
        horizon=6,
        seed=4,
        pfa=PfaGrid(pause_days=(2, 10), valley_multiple=(2.0,), ramp_days=(5,)),
        cfa=CfaGrid(policies=(CfaPolicy(PolicyKind.PERFORMANCE),), exposure=(0.5,)),
    )
    one = rules(solution_id="one", policy_params={"weights": {"s00": 1.0, "s01": 1.0}})
    two = rules(solution_id="two", policy_kind="performance", policy_params={})
    solutions = [(r, SolutionState.launch(r)) for r in (one, two)]
    return base_inputs(2), model, {"s00": -0.01, "s01": -0.01}, solutions, settings


def test_a_month_end_search_shares_one_path_set_and_writes_valid_rows():
    """Two solutions searched on the same paths: the incumbent's mean return is the
    reference evaluator's on ScenarioSet's search paths (rebuilt here), the rows pass
    twin.policy_evaluations' schema, and a second run gives the same rows."""
    base, model, valley, solutions, settings = _two_solutions()
    table, results = month_end_search(base, model, valley, solutions, settings, inert_limits(), TEN_BPS)
    validate(table, TABLES["twin.policy_evaluations"])
    with pytest.raises(DataQualityError, match="one_incumbent_best_and_choice_per_search"):
        validate(table.with_columns(chosen=pl.lit(True)), TABLES["twin.policy_evaluations"])
    assert table.height == 2 * 3 and set(results) == {"one", "two"}
    paths = ScenarioSet(4, ScenarioStream.SEARCH, 12, 6).simulate(model)
    m = SimulatedMonth(base, month(base, 6).days, model.strategy_ids, valley)
    one, state = solutions[0]
    incumbent = table.filter((pl.col("solution_id") == "one") & pl.col("incumbent")).row(0, named=True)
    assert incumbent["mean_return"] == pytest.approx(
        reference_returns(one, state, m, paths, inert_limits(), TEN_BPS).mean(), abs=1e-12
    )
    again, _ = month_end_search(base, model, valley, solutions, settings, inert_limits(), TEN_BPS)
    assert again.equals(table)


def test_the_solutions_searched_in_worker_processes_give_the_rows_of_one_process():
    """``TWIN_WORKERS``: the two solutions searched in two spawned processes give
    every row exactly as searched in this one (each solution has its own optimiser, and
    the inputs pickle whole), and the results keep the solutions' order."""
    base, model, valley, solutions, settings = _two_solutions()
    here, _ = month_end_search(base, model, valley, solutions, settings, inert_limits(), TEN_BPS)
    with worker_pool(2) as executor:
        assert executor is not None
        there, results = month_end_search(
            base, model, valley, solutions, settings, inert_limits(), TEN_BPS, executor=executor
        )
    assert there.equals(here)
    assert list(results) == ["one", "two"]
    with worker_pool(1) as executor:
        assert executor is None
