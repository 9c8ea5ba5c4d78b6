"""The policy search: candidates from its settings, scores, the known-best policy, and the
selection bias of the in-sample best that the hold-out paths correct."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats

from tests.helpers.policy_search import base_inputs, month, rules
from twin_model.conventions import CandidateFamily, PolicyKind, ScoreKind
from twin_model.portfolio import CostModel
from twin_model.solution import SolutionPolicy, SolutionState, contribution, transition
from twin_model.twin import Level, run
from twin_model.twin.search import (
    CONFIGURED,
    CfaGrid,
    CfaPolicy,
    PfaGrid,
    PolicySchedule,
    PolicySearchSettings,
    candidates,
    inert_limits,
    parameters_json,
    parameters_of,
    policies_in_force,
    policy_in_force,
    search,
    utilities,
    with_parameters,
)
from twin_model.twin.search._search import beats_incumbent

NO_COSTS = CostModel(commission_bps=0.0, half_spread_bps=0.0, impact_coefficient=0.0, slippage_sd_bps=0.0)


def expected_max_of_normals(k: int) -> float:
    """E[max of k iid N(0, 1)] = integral of x k phi(x) Phi(x)^(k-1) dx."""
    value, _ = integrate.quad(lambda x: x * k * stats.norm.pdf(x) * stats.norm.cdf(x) ** (k - 1), -np.inf, np.inf)
    return value


def test_the_grid_holds_the_incumbent_first_then_each_family_without_repeats():
    incumbent = rules(pause_days=10, stop_valley_multiple=2.0, ramp_days=5)
    settings = PolicySearchSettings(
        pfa=PfaGrid(pause_days=(5, 10), valley_multiple=(2.0, 3.0), ramp_days=(5,)),
        cfa=CfaGrid(
            policies=(CfaPolicy(PolicyKind.OPTIMIZER, {"objective": "MULTI_OBJECTIVE", "risk_aversion": [1.0, 4.0]}),),
            exposure=(0.5, 1.0),
            turnover_limit=(0.2,),
        ),
    )
    pool = candidates(incumbent, settings)
    assert pool[0].family == CandidateFamily.INCUMBENT and pool[0].rules == incumbent
    pfa = [c for c in pool if c.family == CandidateFamily.PFA]
    cfa = [c for c in pool if c.family == CandidateFamily.CFA]
    assert len(pfa) == 2 * 2 - 1  # (10, 2.0, 5) is the incumbent
    assert len(cfa) == 2 * 2 * 1
    assert {(c.rules.pause_days, c.rules.stop_valley_multiple) for c in pfa} == {(5, 2.0), (5, 3.0), (10, 3.0)}
    assert {(c.rules.policy_params["risk_aversion"], c.rules.target_exposure) for c in cfa} == {
        (1.0, 0.5),
        (1.0, 1.0),
        (4.0, 0.5),
        (4.0, 1.0),
    }
    assert all(c.rules.turnover_limit == 0.2 and c.rules.pause_days == 10 for c in cfa)
    assert len({c.candidate_id for c in pool}) == len(pool)
    assert with_parameters(incumbent, parameters_of(cfa[0].rules)) == cfa[0].rules


def test_scores_are_mean_minus_lambda_variance_or_log_growth():
    r = np.array([0.02, -0.01, 0.05, 0.0])
    assert utilities(r, ScoreKind.MEAN_VARIANCE, 3.0).mean() == pytest.approx(r.mean() - 3.0 * np.var(r), abs=1e-15)
    assert utilities(r, ScoreKind.LOG_GROWTH, 3.0).mean() == pytest.approx(np.mean(np.log(1 + r)), abs=1e-15)


def test_the_search_picks_the_known_best_exposure():
    """One strategy of daily returns N(0.001, 0.01), fully invested at exposure E, earns
    about E x m over the month with variance E^2 v (m = 21 x 0.001, v = 21 x 0.01^2), so
    mean - 10 var is best at E* = m / (2 x 10 x v) = 0.5; the grid 0.25 .. 1.0 (the
    incumbent) holds it and the neighbours are 0.0013 worse."""
    incumbent = rules(policy_params={"weights": {"s00": 1.0}}, max_weight=1.0)
    settings = PolicySearchSettings(
        risk_aversion=10.0,
        pfa=PfaGrid(pause_days=(10,), valley_multiple=(2.0,), ramp_days=(5,)),
        cfa=CfaGrid(
            policies=(CfaPolicy(PolicyKind.STATIC, {"weights": {"s00": 1.0}}),), exposure=(0.25, 0.5, 0.75, 1.0)
        ),
    )
    pool = candidates(incumbent, settings)
    assert len(pool) == 4
    m = month(base_inputs(1), horizon=21, valley=None)
    rng = np.random.default_rng(8)
    paths, holdout = (rng.normal(0.001, 0.01, size=(400, 21, 1)) for _ in range(2))
    result = search(pool, SolutionState.launch(incumbent), m, paths, holdout, settings, inert_limits(), NO_COSTS)
    assert result.winner.rules.target_exposure == 0.5 and result.chosen is result.winner
    row = result.table.filter(result.table["chosen"]).row(0, named=True)
    assert row["evaluator"] == "vectorised" and row["holdout_diff_vs_incumbent"] > 0
    incumbent_row = result.table.row(0, named=True)
    assert incumbent_row["incumbent"] and incumbent_row["diff_vs_incumbent"] == 0.0


def test_the_in_sample_best_of_equal_candidates_overstates_by_e_max_times_its_se():
    """K = 20 candidates each fully in its own strategy, all strategies N(0.0005, 0.01)
    i.i.d.: equal true values, independent estimates. The best in-sample score exceeds its
    hold-out re-measurement by E[max of 20 N(0,1)] (1.867, by quadrature) standard errors
    on average: 40 seeded replications, each gap in units of the winner's SE, whose mean
    has an SE of about sqrt(1 + var(max)) / sqrt(40) = 0.18 (0.2 with the SEs themselves
    estimated from 60 paths)."""
    k, replications = 20, 40
    ids = [f"s{i:02d}" for i in range(k)]
    incumbent = rules(policy_params={"weights": {ids[0]: 1.0}}, max_weight=1.0)
    settings = PolicySearchSettings(
        risk_aversion=0.0,
        pfa=PfaGrid(pause_days=(10,), valley_multiple=(2.0,), ramp_days=(5,)),
        cfa=CfaGrid(policies=tuple(CfaPolicy(PolicyKind.STATIC, {"weights": {s: 1.0}}) for s in ids), exposure=()),
    )
    pool = candidates(incumbent, settings)
    assert len(pool) == k
    m = month(base_inputs(k), horizon=5, valley=None)
    state = SolutionState.launch(incumbent)
    gaps = []
    for seed in range(replications):
        rng = np.random.default_rng(seed)
        paths, holdout = (rng.normal(0.0005, 0.01, size=(60, 5, k)) for _ in range(2))
        table = search(pool, state, m, paths, holdout, settings, inert_limits(), NO_COSTS).table
        best = table.filter(table["best_in_sample"]).row(0, named=True)
        gaps.append((best["score"] - best["holdout_score"]) / best["score_se"])
    e_max = expected_max_of_normals(k)
    assert e_max == pytest.approx(1.8675, abs=1e-3)
    assert np.mean(gaps) == pytest.approx(e_max, abs=3 * 0.2)


def test_the_policy_in_force_is_the_latest_choice_before_the_day():
    configured = rules(pause_days=10)
    january = rules(pause_days=5, target_exposure=0.5)

    def row(date, solution_id, candidate_id, incumbent, chosen, given):
        return {
            "date": date,
            "solution_id": solution_id,
            "candidate_id": candidate_id,
            "incumbent": incumbent,
            "chosen": chosen,
            "parameters": parameters_json(given),
        }

    rows = pl.DataFrame(
        [
            row(dt.date(2024, 1, 31), "test", "pfa:a", False, True, january),
            row(dt.date(2024, 1, 31), "test", "incumbent", True, False, configured),
            row(dt.date(2024, 1, 31), "other", "pfa:b", False, True, rules(pause_days=20)),
            row(dt.date(2024, 2, 29), "test", "incumbent", True, True, rules(pause_days=99)),
        ]
    )
    assert policy_in_force(rows, configured, dt.date(2024, 1, 31)).source == CONFIGURED  # the search is after the close
    february = policy_in_force(rows, configured, dt.date(2024, 2, 1))
    assert (february.rules.pause_days, february.rules.target_exposure) == (5, 0.5)
    assert february.source == "policy_search 2024-01-31: pfa:a" and february.searched_on == dt.date(2024, 1, 31)
    march = policy_in_force(rows, configured, dt.date(2024, 3, 1))
    assert march.rules == configured and "configured policy kept" in march.source
    assert policy_in_force(rows.clear(), configured, dt.date(2024, 3, 1)).rules == configured


def test_a_schedule_hands_each_day_to_the_policy_in_force():
    """A choice dated 2024-02-29 (exposure 0.5) takes effect on 1 March: the book set at
    the February launch runs at exposure 1, March's monthly rebalance at 0.5."""
    configured = rules(policy_params={"weights": {"s00": 1.0, "s01": 1.0}})
    chosen = with_parameters(configured, {"target_exposure": 0.5})
    table = pl.DataFrame(
        {
            "date": [dt.date(2024, 2, 29)],
            "solution_id": ["test"],
            "candidate_id": ["cfa:target_exposure=0.5"],
            "incumbent": [False],
            "chosen": [True],
            "parameters": [parameters_json(chosen)],
        }
    )
    m = month(base_inputs(2), horizon=25, valley=None)
    segments = policies_in_force(table, [configured], m.days)
    assert [(start, [p.rules for p in now]) for start, now in segments] == [
        (m.days[0], [configured]),
        (dt.date(2024, 3, 1), [chosen]),
    ]
    schedule = PolicySchedule(
        tuple(start for start, _ in segments),
        tuple(SolutionPolicy(now[0].rules, inert_limits(), NO_COSTS) for _, now in segments),
    )
    level = Level(schedule, transition, contribution, lambda s, x, w: x.rules.target_exposure)
    paths = np.random.default_rng(1).normal(0.0, 0.01, size=(25, 2))
    trajectory = run(level, SolutionState.launch(configured), m.exogenous(paths))
    exposure = {d: s.exposure for d, s in zip(trajectory.days, trajectory.states)}
    assert exposure[dt.date(2024, 2, 29)] == 1.0 and exposure[dt.date(2024, 3, 1)] == 0.5
    assert trajectory.records == tuple(0.5 if d.month == 3 else 1.0 for d in m.days)


def test_a_hold_out_difference_at_rounding_keeps_the_incumbent():
    """Two candidates holding the same book (both at their bounds) differ by rounding:
    the bundled main job's October 2022 search measured a hold-out difference of
    2.4e-15 +- 4.9e-15 between risk parity and a mean-variance candidate. That is a tie,
    and a tie keeps the incumbent; a real difference, however small against its SE, is
    positive evidence the rule acts on."""
    assert not beats_incumbent(2.4e-15) and not beats_incumbent(0.0) and not beats_incumbent(-1e-6)
    assert beats_incumbent(1e-6) and beats_incumbent(4.1e-4)
