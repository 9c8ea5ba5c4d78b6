"""Solution-level allocation policies, checked against hand-worked cases and closed forms."""

import numpy as np
import pytest

from twin_model.optimize import InfeasibleRequestError
from twin_model.portfolio import (
    POLICY_KINDS,
    AllocationInputs,
    allocate,
    apply_bounds,
    equal_risk_contribution,
    fractional_kelly,
    hierarchical_risk_budget,
    inverse_volatility,
    optimizer_policy,
    performance_based,
    static,
)


def _inputs(cov, mu=None, sharpe=None, sectors=None, **kw):
    cov = np.asarray(cov, dtype=float)
    n = cov.shape[0]
    ids = tuple(f"s{i}" for i in range(n))
    mu = np.full(n, 0.05) if mu is None else np.asarray(mu, dtype=float)
    sharpe = mu / np.sqrt(np.diag(cov)) if sharpe is None else np.asarray(sharpe, dtype=float)
    return AllocationInputs(
        strategy_ids=ids,
        sectors=tuple(sectors) if sectors is not None else tuple("X" for _ in range(n)),
        expected_return=mu,
        expected_return_sd=np.full(n, 0.02),
        covariance=cov,
        sharpe=sharpe,
        **kw,
    )


def _w(alloc, n):
    return np.array([alloc.weights[f"s{i}"] for i in range(n)])


def _relative_rc(cov, w):
    rc = w * (np.asarray(cov) @ w)
    return rc / rc.sum()


# --------------------------------------------------------------------------- apply_bounds


def test_apply_bounds_binding_max_redistributes_proportionally():
    # raw 0.6/0.3/0.1 with max 0.5: first is clipped to 0.5, the excess 0.1 goes to the
    # others in proportion 3:1 -> 0.3 + 0.075 = 0.375 and 0.1 + 0.025 = 0.125.
    out = apply_bounds({"a": 0.6, "b": 0.3, "c": 0.1}, 0.0, 0.5, 1.0)
    assert out == pytest.approx({"a": 0.5, "b": 0.375, "c": 0.125}, abs=1e-12)


def test_apply_bounds_cascading_clip_and_min():
    # raw 8/1/1 (sum 10), total 1, bounds [0.2, 0.45]: a -> 0.45, then b, c share 0.55
    # equally (0.275 each, within bounds).
    out = apply_bounds(np.array([8.0, 1.0, 1.0]), 0.2, 0.45, 1.0)
    np.testing.assert_allclose(out, [0.45, 0.275, 0.275], atol=1e-12)
    # raw 0.9/0.05/0.05 with min 0.1, max 0.5: first capped at 0.5, the others share 0.5 (0.25 each)
    out = apply_bounds(np.array([0.9, 0.05, 0.05]), 0.1, 0.5, 1.0)
    np.testing.assert_allclose(out, [0.5, 0.25, 0.25], atol=1e-12)
    # a zero raw weight receives the shortfall when the positive one is capped
    out = apply_bounds(np.array([1.0, 0.0]), 0.0, 0.6, 1.0)
    np.testing.assert_allclose(out, [0.6, 0.4], atol=1e-12)
    # scaling to a total below 1
    out = apply_bounds(np.array([2.0, 1.0, 1.0]), 0.0, 1.0, 0.8)
    np.testing.assert_allclose(out, [0.4, 0.2, 0.2], atol=1e-12)


def test_apply_bounds_infeasible_names_bounds():
    with pytest.raises(ValueError, match="max_weight 0.3"):
        apply_bounds([1.0, 1.0, 1.0], 0.0, 0.3, 1.0)
    with pytest.raises(ValueError, match="min_weight 0.4"):
        apply_bounds([1.0, 1.0, 1.0], 0.4, 1.0, 1.0)


# --------------------------------------------------------------------------- heuristics


def test_static_renormalises_and_drops_unknown_ids():
    inp = _inputs(np.diag([0.04, 0.04, 0.04]), max_weight=0.6)
    a = static(inp, {"s0": 2.0, "s1": 2.0, "zz": 5.0})  # s2 missing -> 0
    np.testing.assert_allclose(_w(a, 3), [0.5, 0.5, 0.0], atol=1e-12)
    assert a.details["ignored_ids"] == ["zz"] and a.details["missing_ids"] == ["s2"]
    # binding max: 0.8/0.2 with max 0.6 -> 0.6/0.4
    a = static(inp, {"s0": 0.8, "s1": 0.2})
    np.testing.assert_allclose(_w(a, 3), [0.6, 0.4, 0.0], atol=1e-12)


def test_inverse_volatility_by_hand():
    # sigma = 0.1, 0.2, 0.4 -> 1/sigma = 10, 5, 2.5 (sum 17.5) -> 4/7, 2/7, 1/7
    inp = _inputs(np.diag([0.01, 0.04, 0.16]))
    a = inverse_volatility(inp)
    np.testing.assert_allclose(_w(a, 3), [4 / 7, 2 / 7, 1 / 7], atol=1e-12)
    # with max 0.5: 0.5 and the remaining 0.5 split 2:1 -> 1/3, 1/6
    a = inverse_volatility(_inputs(np.diag([0.01, 0.04, 0.16]), max_weight=0.5))
    np.testing.assert_allclose(_w(a, 3), [0.5, 1 / 3, 1 / 6], atol=1e-12)


def test_performance_based_with_floor_by_hand():
    # sharpe 1.0, 0.5, -0.2 -> positive parts 1, 0.5, 0 -> raw 2/3, 1/3, 0.
    # floor 0.1 lifts s2 to 0.1; the remaining 0.9 is split 2:1 -> 0.6, 0.3.
    inp = _inputs(np.diag([0.04] * 3), sharpe=[1.0, 0.5, -0.2])
    a = performance_based(inp, floor=0.1)
    np.testing.assert_allclose(_w(a, 3), [0.6, 0.3, 0.1], atol=1e-12)
    # floor 0 keeps the plain proportional rule
    a = performance_based(inp, floor=0.0)
    np.testing.assert_allclose(_w(a, 3), [2 / 3, 1 / 3, 0.0], atol=1e-12)


def test_performance_based_all_non_positive_is_equal_weight():
    inp = _inputs(np.diag([0.04] * 4), sharpe=[-1.0, 0.0, -0.3, -0.1])
    a = performance_based(inp)
    np.testing.assert_allclose(_w(a, 4), [0.25] * 4, atol=1e-12)
    assert "equal weights" in a.details["note"]


# --------------------------------------------------------------------------- risk budgeting

COV3 = np.array(
    [
        [0.040, 0.012, 0.006],
        [0.012, 0.090, 0.018],
        [0.006, 0.018, 0.160],
    ]
)


def test_equal_risk_contribution_equal_contributions():
    a = equal_risk_contribution(_inputs(COV3, target_exposure=0.8))
    w = _w(a, 3)
    assert w.sum() == pytest.approx(0.8, abs=1e-12)
    np.testing.assert_allclose(_relative_rc(COV3, w), [1 / 3] * 3, atol=1e-6)


def test_hierarchical_risk_budget_two_sectors():
    # sector A (1 strategy) and B (2 strategies), budgets 0.5/0.5 ->
    # strategy budgets 0.5, 0.25, 0.25
    inp = _inputs(COV3, sectors=["A", "B", "B"])
    a = hierarchical_risk_budget(inp, sector_budgets={"A": 0.5, "B": 0.5})
    w = _w(a, 3)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(_relative_rc(COV3, w), [0.5, 0.25, 0.25], atol=1e-6)
    # default budgets are equal across the sectors present: the same answer
    b = hierarchical_risk_budget(inp)
    np.testing.assert_allclose(_w(b, 3), w, atol=1e-9)
    with pytest.raises(ValueError, match="miss sectors"):
        hierarchical_risk_budget(inp, sector_budgets={"A": 1.0})


# --------------------------------------------------------------------------- Kelly


def test_fractional_kelly_two_outcome_closed_form():
    # One asset, two equally likely month outcomes +a and -b.
    # d/dw [0.5 log(1 + w a) + 0.5 log(1 - w b)] = 0.5 a/(1+wa) - 0.5 b/(1-wb) = 0
    # -> a (1 - w b) = b (1 + w a) -> w* = (a - b) / (2 a b).
    a_, b_ = 0.10, 0.09
    w_star = (a_ - b_) / (2 * a_ * b_)  # 0.5556, inside [0, 1]
    horizon = 21
    up = (1 + a_) ** (1 / horizon) - 1
    down = (1 - b_) ** (1 / horizon) - 1
    scen = np.array([np.full((horizon, 1), up), np.full((horizon, 1), down)])
    np.testing.assert_allclose(np.prod(1 + scen, axis=1)[:, 0] - 1, [a_, -b_], atol=1e-14)
    inp = _inputs([[0.04]], scenarios=scen)
    for frac in (0.5, 1.0):
        alloc = fractional_kelly(inp, fraction=frac)
        assert alloc.weights["s0"] == pytest.approx(frac * w_star, abs=1e-5)
        assert alloc.details["method"] == "scenario"
        assert alloc.details["cash"] == pytest.approx(1 - frac * w_star, abs=1e-5)


def test_fractional_kelly_binding_max_weight():
    # a = 0.2, b = 0.05 -> w* = 0.15/0.02 = 7.5 > max; with max 0.8 the concave objective is
    # increasing on [0, 0.8], so the bound binds: 0.5 x 0.8 = 0.4.
    scen = np.array([[[0.2]], [[-0.05]]])
    alloc = fractional_kelly(_inputs([[0.04]], scenarios=scen, max_weight=0.8), fraction=0.5)
    assert alloc.weights["s0"] == pytest.approx(0.4, abs=1e-6)


def test_fractional_kelly_gaussian_fallback_by_hand():
    # Sigma = diag(0.04, 0.09), mu = (0.02, 0.018): Sigma^-1 mu = (0.5, 0.2); x 0.5 -> 0.25, 0.1
    inp = _inputs(np.diag([0.04, 0.09]), mu=[0.02, 0.018])
    a = fractional_kelly(inp, fraction=0.5)
    np.testing.assert_allclose(_w(a, 2), [0.25, 0.1], atol=1e-12)
    assert a.details["method"] == "gaussian"
    assert a.details["cash"] == pytest.approx(0.65, abs=1e-12)
    # mu = (0.08, 0.09): Kelly (2, 1) -> clipped to max 1 -> (1, 1), gross 2 > leverage 1
    # -> scaled by 1/2 -> (0.5, 0.5) -> x 0.5 -> (0.25, 0.25)
    inp = _inputs(np.diag([0.04, 0.09]), mu=[0.08, 0.09])
    a = fractional_kelly(inp, fraction=0.5)
    np.testing.assert_allclose(_w(a, 2), [0.25, 0.25], atol=1e-12)
    assert a.details["cap_scale"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- optimizer


def test_optimizer_policy_honours_binding_max_weight_and_sector_limit():
    # s0 has by far the best Sharpe: unconstrained MAX_SHARPE puts > 0.4 on it
    mu = [0.20, 0.04, 0.04]
    free = optimizer_policy(_inputs(COV3, mu=mu), "MAX_SHARPE", "MEAN_VARIANCE")
    assert _w(free, 3)[0] > 0.45
    inp = _inputs(COV3, mu=mu, max_weight=0.4, target_exposure=1.0)
    a = optimizer_policy(inp, "MAX_SHARPE", "MEAN_VARIANCE")
    w = _w(a, 3)
    assert w[0] == pytest.approx(0.4, abs=1e-6)
    assert w.max() <= 0.4 + 1e-6 and w.sum() == pytest.approx(1.0, abs=1e-9)
    # sector cap on s1+s2, and a target exposure below 1 (caps are in final weights)
    inp = _inputs(COV3, mu=[0.02, 0.10, 0.10], sectors=["A", "B", "B"], sector_limits={"B": 0.3}, target_exposure=0.6)
    w = _w(optimizer_policy(inp, "MAX_SHARPE", "MEAN_VARIANCE"), 3)
    assert w.sum() == pytest.approx(0.6, abs=1e-9)
    assert w[1] + w[2] == pytest.approx(0.3, abs=1e-6)


def test_optimizer_policy_infeasible_propagates():
    inp = _inputs(COV3, sectors=["A", "B", "B"], sector_limits={"A": 0.1, "B": 0.1})
    with pytest.raises(InfeasibleRequestError):
        optimizer_policy(inp, "MIN_VOLATILITY", "MEAN_VARIANCE")


# --------------------------------------------------------------------------- dispatcher


def test_allocate_unknown_kind():
    with pytest.raises(ValueError, match="unknown allocation policy kind 'magic'"):
        allocate(_inputs(COV3), "magic")


COV4 = np.array(
    [
        [0.040, 0.010, 0.004, 0.002],
        [0.010, 0.060, 0.012, 0.006],
        [0.004, 0.012, 0.090, 0.015],
        [0.002, 0.006, 0.015, 0.120],
    ]
)


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_every_policy_sums_to_target_and_respects_bounds(kind):
    rng = np.random.default_rng(7)
    mu = np.array([0.08, 0.06, 0.10, 0.04])
    chol = np.linalg.cholesky(COV4 / 252)
    scen = (mu / 252) + rng.standard_normal((200, 21, 4)) @ chol.T
    lo, hi, T = 0.05, 0.35, 0.9
    inp = _inputs(
        COV4,
        mu=mu,
        sharpe=[0.8, 0.3, -0.1, 0.5],
        sectors=["A", "A", "B", "B"],
        scenarios=scen,
        min_weight=lo,
        max_weight=hi,
        target_exposure=T,
        previous_weights={"s0": 0.25, "s1": 0.25, "s2": 0.2, "s3": 0.2},
        sector_limits={"A": 0.6},
        turnover_limit=0.5,
        leverage_limit=1.0,
    )
    params = {
        "static": {"static_weights": {"s0": 0.7, "s1": 0.1, "s2": 0.1, "s3": 0.1}},
        "optimizer": {"objective": "MAX_SHARPE", "method": "ROBUST_OPTIMIZATION"},
        "hierarchical_risk_budget": {"sector_budgets": {"A": 0.6, "B": 0.4}},
    }.get(kind, {})
    a = allocate(inp, kind, **params)
    w = np.array([a.weights[i] for i in inp.strategy_ids])
    assert set(a.weights) == set(inp.strategy_ids)
    assert np.all(w >= lo - 1e-6) and np.all(w <= hi + 1e-6)
    assert w.sum() + a.details["cash"] == pytest.approx(T, abs=1e-12)
    if kind == "fractional_kelly":
        assert w.sum() <= T + 1e-6 and a.details["method"] == "scenario"
    else:
        assert w.sum() == pytest.approx(T, abs=1e-6)
