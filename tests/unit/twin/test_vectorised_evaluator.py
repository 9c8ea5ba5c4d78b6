"""The vectorised evaluator equals the reference (the solution step through the runner) on
shared paths, to 1e-9, across launches, month-end books, pauses, ramps, stops, drift
rebalances and incubation; and it refuses what it does not model."""

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from tests.helpers.policy_search import BASE_DAY, base_inputs, month, rules
from twin_model.conventions import CrystallisationFrequency, HurdleKind, Severity, StrategyStatus
from twin_model.firm import CashRate, FeeTerms
from twin_model.portfolio import CostModel
from twin_model.solution import ManualAction, SolutionState
from twin_model.twin import run
from twin_model.twin.search import (
    inert_limits,
    reference_returns,
    screened_returns,
    solution_level,
    vectorised_obstacles,
    vectorised_returns,
)
from twin_resources.config import DEFAULT_CONFIG_DIR, load_config

COSTS = CostModel()
WEIGHTS = {"s00": 1.0, "s01": 2.0, "s02": 3.0, "s03": 1.0, "s04": 1.0, "s05": 2.0}


def _paths(n_paths: int, horizon: int, n: int, seed: int, sd: float = 0.012) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, size=(n_paths, horizon, n))


def _coverage(r, state, m, paths) -> set[str]:
    """What happened on the reference's paths: statuses seen, ramps, mid-month rebalances."""
    seen = set()
    level = solution_level(r, inert_limits(), COSTS)
    for path in paths:
        trajectory = run(level, state, m.exogenous(path))
        for s in trajectory.states:
            seen |= {str(st.status) for st in s.strategies.values()}
            seen |= {"ramp" for st in s.strategies.values() if st.ramp_day}
            if s.last_rebalance and s.last_rebalance > m.days[0]:
                seen.add("mid-month rebalance")
    return seen


def _january_state(r, n: int) -> SolutionState:
    """A book at the close of 2024-01-30 after 21 days from a launch (a month-end state
    with holdings, pauses and targets)."""
    december = base_inputs(n, day=dt.date(2023, 12, 29))
    m = month(december, horizon=21)
    return run(
        solution_level(r, inert_limits(), COSTS), SolutionState.launch(r), m.exogenous(_paths(1, 21, n, 9)[0])
    ).final


@pytest.mark.parametrize("warm", [False, True])
def test_static_policy_with_pauses_ramps_stops_and_drift_equals_the_step(warm):
    r = rules(policy_params={"weights": WEIGHTS}, drift_threshold=0.02, max_pauses=2, pause_days=3, ramp_days=2)
    state = _january_state(r, 6) if warm else SolutionState.launch(r)
    m = month(base_inputs(6), horizon=21, valley=-0.02)
    paths = _paths(30, 21, 6, 1)
    assert vectorised_obstacles(r, state, m, inert_limits()) == []
    want = reference_returns(r, state, m, paths, inert_limits(), COSTS)
    got, by_reference = screened_returns(r, state, m, paths, inert_limits(), COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert not by_reference.any()
    assert {StrategyStatus.PAUSED, StrategyStatus.STOPPED, "ramp", "mid-month rebalance"} <= _coverage(
        r, state, m, paths
    )


def test_fees_cash_interest_and_flows_equal_the_step():
    """A month-end book charged a management fee, a performance fee over a hard hurdle
    crystallised monthly (so inside the month), with 30% of the book in cash at 4% and a
    subscription and a redemption on the month's days: the vectorised evaluator's net
    returns (flows taken out) equal the step's."""
    m = month(base_inputs(6), horizon=21, valley=-0.02)
    flows = {m.days[4]: 2.5e7, m.days[12]: -1.0e7}
    r = rules(policy_params={"weights": WEIGHTS}, target_exposure=0.7, pause_days=3, ramp_days=2, flows=flows)
    fees = FeeTerms(
        management_fee=0.02,
        performance_fee=0.2,
        hurdle=HurdleKind.HARD,
        hurdle_rate=0.01,
        crystallisation=CrystallisationFrequency.MONTHLY,
        cash_rate=CashRate.of([(dt.date(2020, 1, 1), 0.04)]),
    )
    state = _january_state(r, 6)
    paths = _paths(30, 21, 6, 3)
    want = reference_returns(r, state, m, paths, inert_limits(), COSTS, fees=fees)
    got = vectorised_returns(r, state, m, paths, inert_limits(), COSTS, fees)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    cash_only = FeeTerms(cash_rate=fees.cash_rate)
    no_fees = vectorised_returns(r, state, m, paths, inert_limits(), COSTS, cash_only)
    # the fees cost at least the management fee, 2% a year over the month's 30 calendar days
    assert np.all(no_fees - got > 0.02 * 30 / 365 * 0.99)


def test_performance_policy_with_incubation_and_a_month_boundary_equals_the_step():
    """Half the strategies outside the pool, one with evidence enough for incubation (and
    one only inside the exit band, not enough to enter); 25 days run into March (a second
    monthly rebalance); no ramp."""
    base = base_inputs(6, sharpe=[0.1, 0.9, -0.3, 1.2, 0.5, 0.7])
    pool = {s: i % 2 == 0 for i, s in enumerate(base.strategy_ids)}
    base = replace(base, in_pool=pool, evidence={"s01": 0.9, "s03": 0.82, "s05": 0.5})
    r = rules(
        policy_kind="performance",
        policy_params={"floor": 0.05},
        incubation_evidence=0.85,
        incubation_exit_evidence=0.8,
        incubation_scale=0.5,
        ramp_days=0,
        pause_days=2,
        max_pauses=3,
        max_weight=0.6,
    )
    m = month(base, horizon=25, valley=-0.015)
    paths = _paths(30, 25, 6, 2)
    want = reference_returns(r, SolutionState.launch(r), m, paths, inert_limits(), COSTS)
    got = vectorised_returns(r, SolutionState.launch(r), m, paths, inert_limits(), COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert m.days[-1].month == 3


FIRM = load_config(DEFAULT_CONFIG_DIR).risk_limits
"""The bundled firm's config/risk_limits.yaml."""


def test_the_fast_path_refuses_what_it_does_not_model():
    """A manual action in the month, and under risk limits a day in the history rows the
    risk screen reads when one strategy reports and the others do not; neither matters to
    a candidate without them (nor a holiday, when none reports)."""
    r = rules(policy_kind="inverse_volatility", manual=(ManualAction(dt.date(2024, 2, 5), "rebalance"),))
    state = SolutionState.launch(r)
    base = base_inputs(4)
    gappy = np.array(base.history)
    gappy[-5, 2] = np.nan
    m = month(replace(base, history=gappy))
    reasons = vectorised_obstacles(r, state, m, FIRM)
    assert any("manual" in x for x in reasons) and any("some strategies report" in x for x in reasons)
    assert vectorised_obstacles(rules(policy_kind="inverse_volatility"), state, m, inert_limits()) == []
    assert vectorised_obstacles(rules(policy_kind="inverse_volatility"), state, month(base), FIRM) == []
    gappy[-5, :] = np.nan
    assert vectorised_obstacles(rules(policy_kind="inverse_volatility"), state, m, FIRM) == []
    with pytest.raises(ValueError, match="vectorised evaluator"):
        vectorised_returns(r, state, m, _paths(2, 21, 4, 0), FIRM, COSTS)


def test_regime_scaling_sector_caps_and_metalabel_sizing_equal_the_step():
    """The sizes the step applies at a rebalance: exposure x the regime's risk scale 0.6, a
    sector cap of 0.3, metalabel bet sizes (one strategy without a metalabel: size 0)."""
    base = replace(
        base_inputs(6),
        risk_scale=0.6,
        p_profitable={"s00": 0.9, "s01": 0.55, "s02": 0.7, "s03": 0.4, "s04": 0.8},
    )
    r = rules(
        policy_params={"weights": WEIGHTS},
        use_market_regime=True,
        sector_limits={"equity_a": 0.3},
        metalabel_sizing=True,
        drift_threshold=0.01,
        pause_days=2,
    )
    m = month(base, horizon=21, valley=-0.02)
    paths = _paths(30, 21, 6, 3)
    want = reference_returns(r, SolutionState.launch(r), m, paths, inert_limits(), COSTS)
    got = vectorised_returns(r, SolutionState.launch(r), m, paths, inert_limits(), COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("kind", "params", "turnover"),
    [
        ("inverse_volatility", {}, None),
        ("equal_risk_contribution", {}, None),
        ("optimizer", {"objective": "MAX_SHARPE", "method": "MEAN_VARIANCE"}, 0.3),
    ],
)
def test_covariance_policies_allocate_on_each_paths_own_day_as_the_step(kind, params, turnover):
    """Policies that read the covariance (of the history up to the rebalance day, simulated
    rows included) or the held weights (a turnover limit) allocate per path on the path's
    own day: equal to the step, from a month-end book with holdings, pauses and ramps."""
    r = rules(
        policy_kind=kind,
        policy_params=params,
        turnover_limit=turnover,
        max_weight=0.35,
        drift_threshold=0.03,
        pause_days=3,
        ramp_days=2,
    )
    state = _january_state(r, 6)
    m = month(base_inputs(6), horizon=21, valley=-0.02)
    paths = _paths(12, 21, 6, 5)
    want = reference_returns(r, state, m, paths, inert_limits(), COSTS)
    got, by_reference = screened_returns(r, state, m, paths, inert_limits(), COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert not by_reference.any()
    assert "mid-month rebalance" in _coverage(r, state, m, paths)


def _breaches(r, state, m, path, limits) -> set[Severity]:
    """The severities of the violations the step opened on ``path``."""
    trajectory = run(solution_level(r, limits, COSTS), state, m.exogenous(path))
    return {v.breach.severity for s in trajectory.states for v in s.violations.values()}


def test_under_the_firms_limits_the_screen_sends_exactly_the_paths_a_rule_acts_on_to_the_reference():
    """Under the bundled firm's risk limits (three holidays in the history), paths three
    times as volatile as the history:
    on some no rule breaches, on some only low breaches (alerts, which change nothing in
    the book), on the rest a medium one (a reduction or a pause). The fast path flags
    exactly the paths where the step graded a breach medium or worse; the returns, the
    flagged paths re-run by the reference, equal the step's on every path, and on the
    paths not flagged they equal the step's without any risk limit (no rule acted)."""
    r = rules(policy_kind="inverse_volatility", max_weight=0.4, pause_days=3, ramp_days=2)
    state = _january_state(r, 6)
    base = base_inputs(6)
    holidays = np.array(base.history)
    holidays[[-40, -22, -3], :] = np.nan  # days no strategy reports: the risk rules skip them
    m = month(replace(base, history=holidays), horizon=21, valley=-0.05)
    paths = _paths(16, 21, 6, 11, sd=0.024)
    severities = [_breaches(r, state, m, path, FIRM) for path in paths]
    acted = np.array([bool(s - {Severity.LOW}) for s in severities])
    assert 0 < acted.sum() < len(paths)
    assert any(s == {Severity.LOW} for s in severities) and any(not s for s in severities)
    got, by_reference = screened_returns(r, state, m, paths, FIRM, COSTS)
    np.testing.assert_array_equal(by_reference, acted)
    want = reference_returns(r, state, m, paths, FIRM, COSTS)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    calm = reference_returns(r, state, m, paths[~acted], inert_limits(), COSTS)
    np.testing.assert_allclose(got[~acted], calm, rtol=0, atol=1e-9)


def test_candidates_on_the_same_paths_share_each_days_screen_window():
    """Under the firm's limits, a second candidate (other weights, pauses and exposure)
    screened with the first's ``shared`` dict measures no window again (one per day of
    the month) and flags and returns exactly what it does alone; both equal the step."""
    r = rules(policy_kind="inverse_volatility", max_weight=0.4, pause_days=3, ramp_days=2)
    other = replace(r, max_weight=0.3, pause_days=5, target_exposure=0.8)
    state = _january_state(r, 6)
    m = month(base_inputs(6), horizon=21, valley=-0.05)
    paths = _paths(16, 21, 6, 11, sd=0.024)
    shared = {}
    screened_returns(r, state, m, paths, FIRM, COSTS, shared=shared)
    windows = [key for key in shared if key[0] == "screen window"]
    assert len(windows) == 21
    got, flagged = screened_returns(other, state, m, paths, FIRM, COSTS, shared=shared)
    assert [key for key in shared if key[0] == "screen window"] == windows
    alone, flagged_alone = screened_returns(other, state, m, paths, FIRM, COSTS)
    np.testing.assert_array_equal(flagged, flagged_alone)
    np.testing.assert_array_equal(got, alone)
    assert 0 < flagged.sum() < len(paths)
    np.testing.assert_allclose(got, reference_returns(other, state, m, paths, FIRM, COSTS), rtol=0, atol=1e-9)


def test_flows_move_the_risk_peak_by_the_units_and_a_crash_liquidates_through_the_reference():
    """Under the firm's limits, a redemption of a fifth of the book on the month's fifth
    day is not a drawdown (the risk peak follows the units, as the step's does; without
    that the AUM would sit 20% below its peak, past the 15% stop): calm paths are never
    flagged. A path losing 1.5% a day in every strategy crosses the 15% drawdown stop
    (the step liquidates, a critical breach): flagged, and re-run by the reference."""
    m = month(base_inputs(6), horizon=21, valley=-0.5)
    r = rules(policy_kind="equal_risk_contribution", max_weight=0.4, flows={m.days[4]: -2.0e7}, pause_days=3)
    state = _january_state(r, 6)
    paths = _paths(8, 21, 6, 13, sd=0.004)
    paths[0] = -0.015
    severities = [_breaches(r, state, m, path, FIRM) for path in paths]
    assert Severity.CRITICAL in severities[0] and not any(severities[1:])
    got, by_reference = screened_returns(r, state, m, paths, FIRM, COSTS)
    np.testing.assert_array_equal(by_reference, [True] + [False] * 7)
    np.testing.assert_allclose(got, reference_returns(r, state, m, paths, FIRM, COSTS), rtol=0, atol=1e-9)


def test_candidates_that_differ_only_in_pause_and_stop_rules_share_their_allocations():
    """ERC candidates with different pause, stop and drift rules reach the same books on
    the month's first day, so the second reuses the first's allocations there (one shared
    dict over the same paths); a different ramp is a different allocation. Each equals its
    own run of the step. (Counted: the shared allocations of the first day.)"""
    m = month(base_inputs(6), horizon=21, valley=-0.015)
    first = rules(policy_kind="equal_risk_contribution", max_weight=0.4, pause_days=3, ramp_days=2)
    state = _january_state(first, 6)
    paths = _paths(10, 21, 6, 17)
    shared = {}
    after = []
    for r in (
        first,
        replace(first, pause_days=6, stop_valley_multiple=1.5, drift_threshold=0.1),
        replace(first, ramp_days=4),
    ):
        got, _ = screened_returns(r, state, m, paths, inert_limits(), COSTS, shared=shared)
        np.testing.assert_allclose(got, reference_returns(r, state, m, paths, inert_limits(), COSTS), atol=1e-9)
        after.append(sum(1 for key in shared if key[0] != "screen window" and key[2] == 0))  # (rules, path, day, ...)
    assert after == [len(paths), len(paths), 2 * len(paths)]


@pytest.mark.parametrize("kind", ["static", "equal_risk_contribution"])
def test_a_solution_with_nothing_to_hold_earns_the_cash_rate_as_the_step(kind):
    """No pool rows and nothing held (a firm's first month end): the universe is empty,
    every path earns the cash rate less the fees, as the step's does."""

    def empty(day: dt.date):
        return replace(base_inputs(4, day=day), in_pool={})

    params = {"weights": {"s00": 1.0}} if kind == "static" else {}
    r = rules(policy_kind=kind, policy_params=params)
    fees = FeeTerms(management_fee=0.02, cash_rate=CashRate.of([(dt.date(2020, 1, 1), 0.04)]))
    december = month(empty(dt.date(2023, 12, 29)), horizon=21)
    state = run(
        solution_level(r, FIRM, COSTS, fees=fees), SolutionState.launch(r), december.exogenous(_paths(1, 21, 4, 9)[0])
    ).final
    m = month(empty(BASE_DAY), horizon=21, valley=-0.02)
    paths = _paths(5, 21, 4, 19)
    got, by_reference = screened_returns(r, state, m, paths, FIRM, COSTS, fees)
    assert not by_reference.any()
    np.testing.assert_allclose(got, reference_returns(r, state, m, paths, FIRM, COSTS, fees=fees), atol=1e-12)
    assert np.ptp(got) == 0 and 0 < got[0] < 0.04 * 31 / 365
