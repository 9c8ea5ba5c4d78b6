"""The policy search's direct-lookahead family: fractional Kelly over the day's simulated
next month, generated from the DLA grid and chosen when the lookahead knows better."""

import dataclasses

import numpy as np
import pytest

from tests.helpers.policy_search import base_inputs, month, rules
from twin_model.conventions import CandidateFamily, PolicyKind
from twin_model.portfolio import CostModel
from twin_model.solution import SolutionState
from twin_model.twin.search import (
    CfaGrid,
    DlaGrid,
    PfaGrid,
    PolicySearchSettings,
    candidates,
    inert_limits,
    reference_returns,
    search,
    vectorised_returns,
)

NO_COSTS = CostModel(commission_bps=0.0, half_spread_bps=0.0, impact_coefficient=0.0, slippage_sd_bps=0.0)
GOOD, BAD = (0.002, 0.01), (-0.001, 0.01)  # daily mean and sd of s00 and s01


def _settings(**dla) -> PolicySearchSettings:
    return PolicySearchSettings(
        risk_aversion=2.0,
        pfa=PfaGrid(pause_days=(10,), valley_multiple=(2.0,), ramp_days=(5,)),
        cfa=CfaGrid(policies=(), exposure=()),
        dla=DlaGrid(**dla),
    )


def _paths(rng, n: int, horizon: int) -> np.ndarray:
    return np.stack([rng.normal(m, s, size=(n, horizon)) for m, s in (GOOD, BAD)], axis=-1)


def test_the_dla_grid_makes_one_fractional_kelly_candidate_per_fraction_and_exposure():
    incumbent = rules(pause_days=10, stop_valley_multiple=2.0, ramp_days=5)
    pool = candidates(incumbent, _settings(fraction=(0.25, 0.5), exposure=(0.5, 1.0)))
    dla = [c for c in pool if c.family == CandidateFamily.DLA]
    assert len(pool) == 1 + 4 and len(dla) == 4
    assert {(c.rules.policy_params["fraction"], c.rules.target_exposure) for c in dla} == {
        (0.25, 0.5),
        (0.25, 1.0),
        (0.5, 0.5),
        (0.5, 1.0),
    }
    assert all(c.rules.policy_kind == PolicyKind.FRACTIONAL_KELLY for c in dla)
    assert [c for c in candidates(incumbent, _settings()) if c.family == CandidateFamily.DLA] == []
    with pytest.raises(ValueError, match="fraction"):
        DlaGrid(fraction=(1.5,))


def test_the_lookahead_puts_its_fraction_in_the_strategy_the_simulated_month_favours_and_wins():
    """s00 earns 0.2% a day, s01 loses 0.1% (sd 1% each). The incumbent holds s01 alone;
    the day's simulated month shows the lookahead that s00 grows and s01 shrinks, so
    full Kelly is s00 at its cap (log-growth optimum m / s^2 = 20 >> 1) and half Kelly
    holds 0.5 in s00, the rest in cash: a monthly return of about 0.5 x 21 x 0.002 = 2.1%
    against the incumbent's -2.1%."""
    rng = np.random.default_rng(4)
    lookahead = _paths(rng, 500, 21)
    base = dataclasses.replace(base_inputs(2), scenarios=lambda ids: lookahead[:, :, [int(s[1:]) for s in ids]])
    incumbent = rules(policy_params={"weights": {"s01": 1.0}}, max_weight=1.0)
    settings = _settings(fraction=(0.5,))
    pool = candidates(incumbent, settings)
    paths, holdout = _paths(rng, 60, 21), _paths(rng, 60, 21)
    result = search(
        pool,
        SolutionState.launch(incumbent),
        month(base, valley=None),
        paths,
        holdout,
        settings,
        inert_limits(),
        NO_COSTS,
    )

    assert result.winner.family == CandidateFamily.DLA and result.chosen is result.winner
    row = result.table.filter(result.table["chosen"]).row(0, named=True)
    assert row["evaluator"] == "vectorised"
    # the fast path allocated by the lookahead on each path's own day, as the step does
    state, m = SolutionState.launch(incumbent), month(base, valley=None)
    want = reference_returns(result.winner.rules, state, m, paths[:6], inert_limits(), NO_COSTS)
    got = vectorised_returns(result.winner.rules, state, m, paths[:6], inert_limits(), NO_COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert row["mean_return"] == pytest.approx(0.5 * 21 * GOOD[0], abs=4 * 0.5 * GOOD[1] * np.sqrt(21 / 60))
    assert row["holdout_diff_vs_incumbent"] > 0
