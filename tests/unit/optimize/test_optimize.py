"""Tests of twin_model.optimize.

Expected numbers come from independent derivations: the same problem written directly in
plain cvxpy (``quad_form`` on constant matrices, no Parameters), closed forms, or
hand-worked examples -- never from the engine's own output.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from twin_model.optimize import (
    InfeasibleRequestError,
    OptimizationRequest,
    OptimizationResponse,
    Optimizer,
    ledoit_wolf_covariance,
    optimize,
)

SECTORS = ("credit", "equity", "macro")
# the reference problems are unscaled (variances ~1e-3), so they get tight tolerances
REF = {"solver": "CLARABEL", "tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


# --------------------------------------------------------------------------- helpers


def random_problem(seed: int, n: int):
    """Well-conditioned covariance (annual vols 10-30 %) and distinct expected returns."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    corr_like = a @ a.T / n + np.eye(n)
    dd = 1.0 / np.sqrt(np.diag(corr_like))
    corr = corr_like * np.outer(dd, dd)
    vols = rng.uniform(0.10, 0.30, size=n)
    sigma = corr * np.outer(vols, vols)
    mu = np.sort(rng.uniform(0.02, 0.15, size=n))
    rng.shuffle(mu)
    assert len(set(np.round(mu, 10))) == n
    assert np.linalg.cond(sigma) < 1e3
    return mu, sigma


def request(
    mu, sigma, objective="MIN_VOLATILITY", sectors=None, constraints=None, risk_parameters=None, method="MEAN_VARIANCE"
):
    n = len(mu)
    sectors = sectors or [SECTORS[i % 3] for i in range(n)]
    return {
        "portfolio_id": "test",
        "objective": objective,
        "method": method,
        "strategies": [
            {"strategy_id": f"s{i}", "expected_return": float(mu[i]), "sector": sectors[i]} for i in range(n)
        ],
        "covariance": np.asarray(sigma).tolist(),
        "constraints": constraints or {},
        "risk_parameters": risk_parameters or {},
    }


def weights(resp: OptimizationResponse, n: int) -> np.ndarray:
    return np.array([resp.optimal_weights[f"s{i}"] for i in range(n)])


def plain_constraints(w, case: dict, n: int, kappa=None):
    """The case's constraints written directly (optionally homogenised by kappa)."""
    k = 1.0 if kappa is None else kappa
    cons = [cp.sum(w) == k, w >= case["min_weight"] * k, w <= case["max_weight"] * k]
    for name, cap in case.get("sector_limits", {}).items():
        idx = [i for i in range(n) if SECTORS[i % 3] == name]
        cons.append(cp.sum(w[idx]) <= cap * k)
    if "turnover_limit" in case:
        prev = np.array([case["previous_weights"].get(f"s{i}", 0.0) for i in range(n)])
        cons.append(0.5 * cp.norm1(w - prev * k) <= case["turnover_limit"] * k)
    if "leverage_limit" in case:
        cons.append(cp.norm1(w) <= case["leverage_limit"] * k)
    return cons


def make_case(kind: str, n: int, seed: int) -> dict:
    """Constraint sets for the differential tests; previous weights are a feasible vertex."""
    max_w = 0.4 if n == 5 else 0.15
    case: dict = {"min_weight": 0.0, "max_weight": max_w}
    if kind in ("sector", "all"):
        case["sector_limits"] = {"credit": 0.25, "equity": 0.6}
    if kind in ("leverage", "all"):
        case["min_weight"] = -0.1
        case["leverage_limit"] = 1.3
    if kind in ("turnover", "all"):
        rng = np.random.default_rng(1000 + seed)
        w = cp.Variable(n)
        cp.Problem(cp.Maximize(rng.normal(size=n) @ w), plain_constraints(w, case, n)).solve()
        prev = np.clip(w.value, case["min_weight"], case["max_weight"])
        case["previous_weights"] = {f"s{i}": float(prev[i]) for i in range(n)}
        case["turnover_limit"] = 0.1
    return case


CASES = ["box", "sector", "turnover", "leverage", "all"]


def plain_min_vol(sigma, case, n):
    w = cp.Variable(n)
    p = cp.Problem(cp.Minimize(cp.quad_form(w, sigma)), plain_constraints(w, case, n))
    p.solve(**REF)
    assert p.status == cp.OPTIMAL
    return w.value


# --------------------------------------------------------------------------- differential


@pytest.mark.parametrize("n,seed", [(5, 0), (5, 1), (20, 2), (20, 3)])
@pytest.mark.parametrize("kind", CASES)
def test_min_volatility_matches_plain_cvxpy(n, seed, kind):
    mu, sigma = random_problem(seed, n)
    case = make_case(kind, n, seed)
    resp = optimize(request(mu, sigma, "MIN_VOLATILITY", constraints=case))
    expected = plain_min_vol(sigma, case, n)
    np.testing.assert_allclose(weights(resp, n), expected, atol=1e-5)
    assert resp.optimization_metadata.constraints_satisfied
    assert resp.optimization_metadata.solver == "CLARABEL"


@pytest.mark.parametrize("n,seed", [(5, 0), (5, 1), (20, 2), (20, 3)])
@pytest.mark.parametrize("kind", CASES)
def test_max_sharpe_matches_plain_cvxpy(n, seed, kind):
    mu, sigma = random_problem(seed, n)
    rf = 0.03
    case = make_case(kind, n, seed)
    resp = optimize(request(mu, sigma, "MAX_SHARPE", constraints=case, risk_parameters={"risk_free_rate": rf}))
    # plain homogenised max-Sharpe: min y'Sy s.t. (mu-rf)'y = 1, constraints x kappa
    y, kappa = cp.Variable(n), cp.Variable(nonneg=True)
    cons = plain_constraints(y, case, n, kappa) + [(mu - rf) @ y == 1]
    cp.Problem(cp.Minimize(cp.quad_form(y, sigma)), cons).solve(**REF)
    expected = y.value / kappa.value
    w = weights(resp, n)
    np.testing.assert_allclose(w, expected, atol=1e-5)
    sharpe = lambda v: (mu @ v - rf) / np.sqrt(v @ sigma @ v)  # noqa: E731
    assert resp.sharpe_ratio == pytest.approx(sharpe(expected), rel=1e-7)
    assert resp.optimization_metadata.objective_value == pytest.approx(sharpe(w))
    assert resp.optimization_metadata.constraints_satisfied


@pytest.mark.parametrize("n,seed", [(5, 0), (5, 1), (20, 2), (20, 3)])
@pytest.mark.parametrize("kind", CASES)
def test_max_return_matches_plain_cvxpy(n, seed, kind):
    mu, sigma = random_problem(seed, n)
    case = make_case(kind, n, seed)
    w_min = plain_min_vol(sigma, case, n)
    max_vol = 1.15 * float(np.sqrt(w_min @ sigma @ w_min))
    resp = optimize(request(mu, sigma, "MAX_RETURN", constraints=case, risk_parameters={"max_volatility": max_vol}))
    w = cp.Variable(n)
    cons = plain_constraints(w, case, n) + [cp.quad_form(w, sigma) <= max_vol**2]
    cp.Problem(cp.Maximize(mu @ w), cons).solve(solver="CLARABEL")
    # The objective is linear, so only the volatility constraint's curvature pins the
    # optimum: a tangent move d costs ~ d' S d / (2 vol) ~ 0.05 d^2 of return, and an
    # interior-point answer accurate to ~1e-10 in return fixes weights to ~1e-5 only.
    # Hence return to 1e-8 and weights to 1e-4 here (measured gaps: ~1e-5 both ways).
    assert resp.expected_return == pytest.approx(mu @ w.value, abs=1e-8)
    np.testing.assert_allclose(weights(resp, n), w.value, atol=1e-4)
    assert resp.expected_volatility <= max_vol + 1e-7
    assert resp.optimization_metadata.constraints_satisfied


@pytest.mark.parametrize("n,seed", [(5, 0), (20, 2)])
@pytest.mark.parametrize("kind", ["box", "all"])
def test_multi_objective_matches_plain_cvxpy(n, seed, kind):
    mu, sigma = random_problem(seed, n)
    case = make_case(kind, n, seed)
    ra, tp, l2 = 3.0, 0.02, 0.05
    resp = optimize(
        request(
            mu,
            sigma,
            "MULTI_OBJECTIVE",
            constraints=case,
            risk_parameters={"risk_aversion": ra, "turnover_penalty": tp, "l2_penalty": l2},
        )
    )
    prev = np.array([case.get("previous_weights", {}).get(f"s{i}", 0.0) for i in range(n)])
    w = cp.Variable(n)
    util = mu @ w - ra * cp.quad_form(w, sigma) - tp * cp.norm1(w - prev) - l2 * cp.sum_squares(w)
    cp.Problem(cp.Maximize(util), plain_constraints(w, case, n)).solve(**REF)
    np.testing.assert_allclose(weights(resp, n), w.value, atol=1e-5)
    assert resp.optimization_metadata.constraints_satisfied


# --------------------------------------------------------------------------- closed forms


def test_min_variance_closed_form():
    mu, sigma = random_problem(7, 6)
    resp = optimize(request(mu, sigma, "MIN_VOLATILITY", constraints={"min_weight": -5.0, "max_weight": 5.0}))
    inv1 = np.linalg.solve(sigma, np.ones(6))
    np.testing.assert_allclose(weights(resp, 6), inv1 / inv1.sum(), atol=1e-6)


def test_max_sharpe_closed_form():
    mu, sigma = random_problem(8, 6)
    rf = 0.01
    resp = optimize(
        request(
            mu,
            sigma,
            "MAX_SHARPE",
            risk_parameters={"risk_free_rate": rf},
            constraints={"min_weight": -5.0, "max_weight": 5.0},
        )
    )
    z = np.linalg.solve(sigma, mu - rf)
    assert z.sum() > 0
    expected = z / z.sum()
    assert np.all(np.abs(expected) < 5)
    np.testing.assert_allclose(weights(resp, 6), expected, atol=1e-6)
    assert resp.sharpe_ratio == pytest.approx(np.sqrt((mu - rf) @ z), rel=1e-8)


@pytest.mark.parametrize("objective", ["MIN_VOLATILITY", "MAX_SHARPE", "MAX_RETURN", "MULTI_OBJECTIVE", "RISK_PARITY"])
def test_reported_figures_recomputed_from_weights(objective):
    mu, sigma = random_problem(11, 8)
    rf = 0.02
    resp = optimize(
        request(
            mu,
            sigma,
            objective,
            constraints={"max_weight": 0.3},
            risk_parameters={"risk_free_rate": rf, "max_volatility": 0.15},
        )
    )
    w = weights(resp, 8)
    ret, vol = mu @ w, np.sqrt(w @ sigma @ w)
    assert resp.expected_return == pytest.approx(ret, rel=1e-12)
    assert resp.expected_volatility == pytest.approx(vol, rel=1e-12)
    assert resp.sharpe_ratio == pytest.approx((ret - rf) / vol, rel=1e-12)
    assert w.sum() == pytest.approx(1.0, abs=1e-8)
    assert resp.optimization_metadata.constraints_satisfied
    assert resp.optimization_metadata.violations == []


# --------------------------------------------------------------------------- HRP


def hrp_four_assets():
    # two tight pairs: A,B (rho 0.9) and C,D (rho 0.8); 0.1 across pairs
    vols = np.array([0.2, 0.3, 0.1, 0.2])
    corr = np.array([[1.0, 0.9, 0.1, 0.1], [0.9, 1.0, 0.1, 0.1], [0.1, 0.1, 1.0, 0.8], [0.1, 0.1, 0.8, 1.0]])
    return corr * np.outer(vols, vols)


# Hand-worked HRP weights.  Single linkage joins (A,B) at d = sqrt(0.05), (C,D) at
# sqrt(0.1), then the pairs; the quasi-diagonal order is the two pairs, and bisection
# splits {A,B} | {C,D}, then each pair into singletons.
# {A,B}: inverse variances 1/0.04 = 25 and 1/0.09 = 100/9 -> 9/13, 4/13;
#   V1 = (9/13)^2 0.04 + (4/13)^2 0.09 + 2 (9/13)(4/13)(0.9*0.2*0.3) = 8.568/169
# {C,D}: inverse variances 100 and 25 -> 0.8, 0.2;
#   V2 = 0.64*0.01 + 0.04*0.04 + 2*0.16*(0.8*0.1*0.2) = 0.01312
# alpha({A,B}) = 1 - V1/(V1+V2) = V2/(V1+V2); inside a pair the singleton split
# 1 - V_A/(V_A+V_B) equals the inverse-variance split.
V1 = 8.568 / 169
V2 = 0.01312
ALPHA = 1 - V1 / (V1 + V2)
HRP_EXPECTED = np.array([ALPHA * 9 / 13, ALPHA * 4 / 13, (1 - ALPHA) * 0.8, (1 - ALPHA) * 0.2])


def test_hrp_hand_worked_four_assets():
    sigma = hrp_four_assets()
    resp = optimize(
        request(np.array([0.05, 0.06, 0.07, 0.08]), sigma, method="HIERARCHICAL_RISK_PARITY", sectors=["x"] * 4)
    )
    np.testing.assert_allclose(weights(resp, 4), HRP_EXPECTED, atol=1e-12)
    assert resp.optimization_metadata.solver == "hrp"


def test_hrp_max_weight_clips_and_redistributes():
    sigma = hrp_four_assets()
    assert HRP_EXPECTED[2] > 0.5  # C is the big one; cap it at 0.5
    resp = optimize(
        request(
            np.array([0.05, 0.06, 0.07, 0.08]),
            sigma,
            method="HIERARCHICAL_RISK_PARITY",
            sectors=["x"] * 4,
            constraints={"max_weight": 0.5},
        )
    )
    # the excess of C goes to A, B, D pro rata; none of them reaches 0.5 afterwards
    others = HRP_EXPECTED[[0, 1, 3]] * 0.5 / (1 - HRP_EXPECTED[2])
    expected = np.array([others[0], others[1], 0.5, others[2]])
    assert expected.max() <= 0.5
    np.testing.assert_allclose(weights(resp, 4), expected, atol=1e-12)


def test_hrp_reports_sector_violation_it_cannot_honour():
    sigma = hrp_four_assets()
    resp = optimize(
        request(
            np.full(4, 0.05),
            sigma,
            method="HIERARCHICAL_RISK_PARITY",
            sectors=["p", "p", "q", "q"],
            constraints={"sector_limits": {"q": 0.5}},
        )
    )
    meta = resp.optimization_metadata
    assert not meta.constraints_satisfied
    assert any("sector_limits['q']" in v for v in meta.violations)


# --------------------------------------------------------------------------- risk parity


def risk_contributions(w, sigma):
    rc = w * (sigma @ w)
    return rc / rc.sum()


def test_risk_parity_equal_contributions():
    mu, sigma = random_problem(5, 8)
    resp = optimize(request(mu, sigma, "RISK_PARITY"))
    w = weights(resp, 8)
    np.testing.assert_allclose(risk_contributions(w, sigma), np.full(8, 1 / 8), atol=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(w > 0)


def test_risk_parity_two_uncorrelated_assets_inverse_vol():
    # uncorrelated: equal risk contributions means w_i proportional to 1/sigma_i
    sigma = np.diag([0.1**2, 0.3**2])
    resp = optimize(request([0.05, 0.05], sigma, method="RISK_PARITY"))
    np.testing.assert_allclose(weights(resp, 2), [0.75, 0.25], atol=1e-10)


def test_risk_parity_budgets():
    mu, sigma = random_problem(6, 4)
    budgets = {"s0": 1.0, "s1": 2.0, "s2": 3.0, "s3": 4.0}
    resp = optimize(request(mu, sigma, "RISK_PARITY", risk_parameters={"risk_budgets": budgets}))
    np.testing.assert_allclose(risk_contributions(weights(resp, 4), sigma), [0.1, 0.2, 0.3, 0.4], atol=1e-6)


def test_risk_parity_binding_bound_is_honoured_and_reported():
    sigma = np.diag([0.05**2, 0.3**2, 0.3**2])  # unbounded ERC puts 0.6 on s0
    resp = optimize(request([0.05] * 3, sigma, "RISK_PARITY", constraints={"max_weight": 0.4}))
    w = weights(resp, 3)
    assert w.max() <= 0.4 + 1e-7
    assert resp.optimization_metadata.constraints_satisfied
    assert any("not equal" in note for note in resp.optimization_metadata.notes)
    # s1 and s2 are identical, so they share the remainder
    np.testing.assert_allclose(w, [0.4, 0.3, 0.3], atol=1e-6)


# --------------------------------------------------------------------------- impossible


def simple(n=5, **kw):
    mu, sigma = random_problem(0, n)
    return request(mu, sigma, **kw)


@pytest.mark.parametrize(
    "req,words",
    [
        (simple(constraints={"min_weight": 0.25}), ["min_weight", "sum of minimums"]),
        (simple(constraints={"max_weight": 0.15}), ["max_weight", "cannot be fully invested"]),
        (simple(constraints={"min_weight": 0.3, "max_weight": 0.2}), ["min_weight", "max_weight"]),
        (
            simple(constraints={"sector_limits": {"credit": 0.3, "equity": 0.3, "macro": 0.3}}),
            ["sector_limits", "cannot be fully invested"],
        ),
        (
            simple(constraints={"min_weight": 0.1, "sector_limits": {"credit": 0.15}}),
            ["sector_limits['credit']", "min_weight"],
        ),
        (simple(constraints={"leverage_limit": 0.9}), ["leverage_limit"]),
        (simple(objective="MAX_SHARPE", risk_parameters={"risk_free_rate": 0.5}), ["MAX_SHARPE", "risk_free_rate"]),
        (simple(objective="MAX_RETURN"), ["max_volatility"]),
    ],
)
def test_impossible_requests_are_named(req, words):
    with pytest.raises(InfeasibleRequestError) as err:
        optimize(req)
    for word in words:
        assert word in str(err.value)


def test_not_psd_covariance():
    sigma = np.array([[0.04, 0.05], [0.05, 0.04]])  # eigenvalues 0.09, -0.01
    with pytest.raises(InfeasibleRequestError, match="positive semi-definite"):
        optimize(request([0.05, 0.06], sigma))


def test_asymmetric_covariance():
    sigma = np.array([[0.04, 0.01], [0.0, 0.04]])
    with pytest.raises(InfeasibleRequestError, match="symmetric"):
        optimize(request([0.05, 0.06], sigma))


def test_shape_mismatch():
    req = simple()
    req["covariance"] = np.eye(4).tolist()
    with pytest.raises(InfeasibleRequestError, match="shape"):
        optimize(req)


def test_returns_with_fewer_observations_than_strategies():
    req = simple()
    req.pop("covariance")
    req["returns"] = np.random.default_rng(0).normal(0, 0.01, size=(3, 5)).tolist()
    with pytest.raises(InfeasibleRequestError, match=r"T=3 .*N=5"):
        optimize(req)


def test_max_volatility_below_minimum_is_diagnosed():
    mu, sigma = random_problem(0, 5)
    w_min = plain_min_vol(sigma, {"min_weight": 0.0, "max_weight": 1.0}, 5)
    too_low = 0.9 * np.sqrt(w_min @ sigma @ w_min)
    with pytest.raises(InfeasibleRequestError, match="max_volatility"):
        optimize(request(mu, sigma, "MAX_RETURN", risk_parameters={"max_volatility": too_low}))


def test_sector_and_turnover_conflict_is_diagnosed():
    # previous book is all credit (s0, s3); capping credit at 0.2 needs turnover >= 0.8
    mu, sigma = random_problem(0, 5)
    case = {"sector_limits": {"credit": 0.2}, "turnover_limit": 0.3, "previous_weights": {"s0": 0.5, "s3": 0.5}}
    with pytest.raises(InfeasibleRequestError) as err:
        optimize(request(mu, sigma, "MIN_VOLATILITY", constraints=case))
    assert "sector_limits" in str(err.value) and "turnover_limit" in str(err.value)


def test_max_sharpe_with_no_positive_excess_portfolio():
    # only s0 beats rf, but max_weight 0.4 forces 0.6 into the losers
    sigma = np.diag([0.04, 0.04, 0.04])
    with pytest.raises(InfeasibleRequestError, match="risk_free_rate"):
        optimize(
            request(
                [0.10, 0.01, 0.01],
                sigma,
                "MAX_SHARPE",
                constraints={"max_weight": 0.4},
                risk_parameters={"risk_free_rate": 0.05},
            )
        )


def test_unknown_sector_is_ignored_and_noted():
    mu, sigma = random_problem(0, 5)
    resp = optimize(request(mu, sigma, constraints={"sector_limits": {"nonexistent": 0.1}}))
    assert resp.optimization_metadata.constraints_satisfied
    assert any("nonexistent" in note for note in resp.optimization_metadata.notes)


# --------------------------------------------------------------------------- re-use


def test_problem_built_once_and_reused():
    opt = Optimizer()
    answers = []
    for seed in (21, 22):
        mu, sigma = random_problem(seed, 6)
        resp = optimize(request(mu, sigma, "MIN_VOLATILITY", constraints={"min_weight": -5.0, "max_weight": 5.0}), opt)
        inv1 = np.linalg.solve(sigma, np.ones(6))
        np.testing.assert_allclose(weights(resp, 6), inv1 / inv1.sum(), atol=1e-6)
        answers.append(weights(resp, 6))
    assert opt.problems_built == 1
    assert not np.allclose(answers[0], answers[1])
    # a second, bounded request of the same structure: still one problem, right answer
    mu, sigma = random_problem(23, 6)
    case = {"min_weight": 0.0, "max_weight": 0.25}
    resp = opt.optimize(request(mu, sigma, "MIN_VOLATILITY", constraints=case))
    np.testing.assert_allclose(weights(resp, 6), plain_min_vol(sigma, case, 6), atol=1e-5)
    assert opt.problems_built == 1
    optimize(request(mu, sigma, "MAX_SHARPE"), opt)
    assert opt.problems_built == 2


def test_built_problems_are_dpp():
    opt = Optimizer()
    mu, sigma = random_problem(0, 5)
    case = make_case("all", 5, 0)
    for obj in ("MIN_VOLATILITY", "MAX_SHARPE", "MULTI_OBJECTIVE"):
        opt.optimize(request(mu, sigma, obj, constraints=case))
    opt.optimize(request(mu, sigma, "MAX_RETURN", constraints=case, risk_parameters={"max_volatility": 0.3}))
    assert opt.problems_built == 4
    assert all(b.problem.is_dcp(dpp=True) for b in opt._cache.values())


# --------------------------------------------------------------------------- returns


@pytest.mark.parametrize(
    ("rows", "columns", "common"),
    [(300, 4, 0.005), (40, 60, 0.0), (504, 13, 0.01), (200, 1, 0.0), (63, 5, 0.02)],
    ids=["4 strategies", "more strategies than days", "bundled size", "one strategy", "strongly correlated"],
)
def test_ledoit_wolf_equals_scikit_learn(rows, columns, common):
    """The numpy Ledoit-Wolf estimate is scikit-learn's, including more columns than rows
    (shrinkage near 1) and one column (the sample variance)."""
    rng = np.random.default_rng(rows + columns)
    r = rng.normal(0.0004, 0.01, size=(rows, columns)) + rng.normal(0, common, size=(rows, 1))
    np.testing.assert_allclose(ledoit_wolf_covariance(r), LedoitWolf().fit(r).covariance_ * 252, rtol=1e-12)


def test_ledoit_wolf_of_a_scaled_identity_sample_does_not_shrink():
    """Columns of equal variance and no co-movement (S = m I exactly): nothing to shrink
    towards, the estimate is S, as scikit-learn's is."""
    r = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) * 0.01
    np.testing.assert_allclose(ledoit_wolf_covariance(r), np.eye(2) * 0.01**2 / 2 * 252, rtol=1e-12)
    np.testing.assert_allclose(LedoitWolf().fit(r).covariance_ * 252, np.eye(2) * 0.01**2 / 2 * 252, rtol=1e-12)


def test_returns_input_uses_ledoit_wolf():
    rng = np.random.default_rng(3)
    r = rng.normal(0.0004, 0.01, size=(300, 4)) + rng.normal(0, 0.005, size=(300, 1))
    expected = LedoitWolf().fit(r).covariance_ * 252
    np.testing.assert_allclose(ledoit_wolf_covariance(r), expected, rtol=1e-12)
    strategies = [{"strategy_id": f"s{i}", "sector": "x"} for i in range(4)]
    via_returns = optimize({"objective": "MAX_SHARPE", "strategies": strategies, "returns": r.tolist()})
    mu = r.mean(axis=0) * 252
    via_moments = optimize(request(mu, expected, "MAX_SHARPE", sectors=["x"] * 4))
    np.testing.assert_allclose(weights(via_returns, 4), weights(via_moments, 4), atol=1e-8)
    assert via_returns.expected_return == pytest.approx(mu @ weights(via_returns, 4))


def test_request_model_round_trip():
    mu, sigma = random_problem(0, 3)
    req = OptimizationRequest.model_validate(request(mu, sigma, "MAX_SHARPE"))
    resp = optimize(req)
    again = OptimizationResponse.model_validate_json(resp.model_dump_json())
    assert again == resp
    assert set(resp.optimization_metadata.model_dump()) >= {
        "convergence_status",
        "iterations",
        "optimization_time_ms",
        "objective_value",
        "constraints_satisfied",
        "solver",
        "violations",
    }


# --------------------------------------------------------------------------- fallback


def test_solver_fallback_is_recorded(monkeypatch):
    real_solve = cp.Problem.solve

    def broken_clarabel(self, *args, **kwargs):
        if kwargs.get("solver") == "CLARABEL":
            raise cp.error.SolverError("simulated Clarabel failure")
        return real_solve(self, *args, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", broken_clarabel)
    mu, sigma = random_problem(7, 6)
    resp = optimize(request(mu, sigma, "MIN_VOLATILITY", constraints={"min_weight": -5.0, "max_weight": 5.0}))
    meta = resp.optimization_metadata
    assert meta.solver == "SCS"
    assert any("CLARABEL" in note and "simulated" in note for note in meta.notes)
    inv1 = np.linalg.solve(sigma, np.ones(6))
    np.testing.assert_allclose(weights(resp, 6), inv1 / inv1.sum(), atol=1e-4)


# --------------------------------------------------------------------------- BL, robust


def test_black_litterman_without_views_returns_market_weights():
    # pi = delta S w_mkt, so unconstrained max Sharpe (rf 0) gives S^-1 pi ~ w_mkt
    mu, sigma = random_problem(9, 5)
    w_mkt = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    req = request(
        mu,
        sigma,
        "MAX_SHARPE",
        method="BLACK_LITTERMAN",
        constraints={
            "min_weight": -5.0,
            "max_weight": 5.0,
            "previous_weights": {f"s{i}": float(w_mkt[i]) for i in range(5)},
        },
        risk_parameters={"risk_aversion": 2.5},
    )
    resp = optimize(req)
    np.testing.assert_allclose(weights(resp, 5), w_mkt, atol=1e-6)
    assert resp.expected_return == pytest.approx(2.5 * w_mkt @ sigma @ w_mkt, rel=1e-6)


def test_black_litterman_single_view_posterior():
    mu, sigma = random_problem(10, 4)
    tau, delta, conf, q = 0.05, 3.0, 0.5, 0.20
    req = request(
        mu,
        sigma,
        "MAX_SHARPE",
        method="BLACK_LITTERMAN",
        constraints={"min_weight": -5.0, "max_weight": 5.0},
        risk_parameters={"risk_aversion": delta, "tau": tau},
    )
    req["views"] = [{"strategy_id": "s2", "expected_return": q, "confidence": conf}]
    # one view on s2: omega = tau S_22 / conf; mu_BL = pi + tau S e2 (q - pi_2)/(tau S_22 + omega)
    pi = delta * sigma @ np.full(4, 0.25)
    omega = tau * sigma[2, 2] / conf
    mu_bl = pi + tau * sigma[:, 2] * (q - pi[2]) / (tau * sigma[2, 2] + omega)
    z = np.linalg.solve(sigma, mu_bl)
    resp = optimize(req)
    np.testing.assert_allclose(weights(resp, 4), z / z.sum(), atol=1e-6)
    assert resp.expected_return == pytest.approx(mu_bl @ (z / z.sum()), rel=1e-6)


def test_robust_max_return_matches_plain_cvxpy():
    mu, sigma = random_problem(12, 6)
    sd = np.linspace(0.01, 0.06, 6)
    k, max_vol = 1.5, 0.2
    req = request(
        mu,
        sigma,
        "MAX_RETURN",
        method="ROBUST_OPTIMIZATION",
        constraints={"max_weight": 0.5},
        risk_parameters={"max_volatility": max_vol, "uncertainty": k},
    )
    for i, s in enumerate(req["strategies"]):
        s["expected_return_sd"] = float(sd[i])
    resp = optimize(req)
    w = cp.Variable(6)
    cons = [cp.sum(w) == 1, w >= 0, w <= 0.5, cp.quad_form(w, sigma) <= max_vol**2]
    p = cp.Problem(cp.Maximize(mu @ w - k * cp.norm(cp.multiply(sd, w), 2)), cons)
    p.solve(solver="CLARABEL")
    assert resp.optimization_metadata.objective_value == pytest.approx(p.value, abs=1e-8)
    np.testing.assert_allclose(weights(resp, 6), w.value, atol=1e-4)
    # without uncertainty it is the nominal problem
    nominal = optimize(
        request(mu, sigma, "MAX_RETURN", constraints={"max_weight": 0.5}, risk_parameters={"max_volatility": max_vol})
    )
    assert nominal.expected_return >= resp.expected_return - 1e-9


# --------------------------------------------------------------------------- speed-ups


def plain_risk_parity(sigma, case, n):
    """Constrained log-barrier risk parity written directly (constant matrices)."""
    y = cp.Variable(n, pos=True)
    t = cp.sum(y)
    cons = [y >= case["min_weight"] * t, y <= case["max_weight"] * t]
    for name, cap in case.get("sector_limits", {}).items():
        idx = [i for i in range(n) if SECTORS[i % 3] == name]
        cons.append(cp.sum(y[idx]) <= cap * t)
    b = np.full(n, 1.0 / n)
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(y, sigma) - b @ cp.log(y)), cons).solve(**REF)
    return y.value / y.value.sum()


def test_constrained_risk_parity_is_cached_and_matches_plain_cvxpy():
    opt = Optimizer()
    for seed in (31, 32):
        mu, sigma = random_problem(seed, 8)
        erc = weights(optimize(request(mu, sigma, "RISK_PARITY")), 8)
        case = {"min_weight": 0.0, "max_weight": round(0.9 * erc.max(), 4), "sector_limits": {"credit": 0.3}}
        resp = opt.optimize(request(mu, sigma, "RISK_PARITY", constraints=case))
        assert resp.optimization_metadata.solver == "CLARABEL"
        assert resp.optimization_metadata.constraints_satisfied
        np.testing.assert_allclose(weights(resp, 8), plain_risk_parity(sigma, case, 8), atol=1e-5)
    assert opt.problems_built == 1


def test_risk_parity_newton_converges_without_stalling():
    # the decrement's stopping level is below f's rounding: backtracking on f there stalled
    # at the iteration cap (200), e.g. on these seeds at N=30, and on about 1 request in 10
    # of the benchmark
    for seed in (53, 70, 82, 88):
        mu, sigma = random_problem(seed, 30)
        resp = optimize(request(mu, sigma, "RISK_PARITY"))
        assert resp.optimization_metadata.iterations < 50
        np.testing.assert_allclose(risk_contributions(weights(resp, 30), sigma), np.full(30, 1 / 30), atol=1e-10)


def test_singular_covariance_factor_is_triangular():
    from twin_model.optimize._moments import psd_factor as _psd_factor

    sigma = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.0]])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(sigma)
    L = _psd_factor(sigma, 1e-12)
    assert np.all(np.triu(L, 1) == 0)
    np.testing.assert_allclose(L @ L.T, sigma, atol=1e-15)


def test_singular_covariance_min_volatility_matches_plain_cvxpy():
    # s2 = s0 + s1 exactly: rank 2; the null direction (1, 1, -1, 0, 0) has sum 1, so
    # the fully invested minimum is still unique
    mu, sigma = random_problem(33, 5)
    T = np.eye(5)
    T[2] = [1.0, 1.0, 0.0, 0.0, 0.0]
    sing = T @ sigma @ T.T
    assert np.linalg.matrix_rank(sing) == 4
    case = {"min_weight": 0.0, "max_weight": 0.6}
    resp = optimize(request(mu, sing, "MIN_VOLATILITY", constraints=case))
    np.testing.assert_allclose(weights(resp, 5), plain_min_vol(sing, case, 5), atol=1e-5)


def test_leverage_limit_left_out_when_long_only():
    # with w >= 0, sum|w| = sum(w) = 1: the limit cannot bind, so the same problem serves
    opt = Optimizer()
    mu, sigma = random_problem(34, 6)
    case = {"min_weight": 0.0, "max_weight": 0.4}
    plain = opt.optimize(request(mu, sigma, "MAX_SHARPE", constraints=case))
    limited = opt.optimize(request(mu, sigma, "MAX_SHARPE", constraints={**case, "leverage_limit": 1.0}))
    assert opt.problems_built == 1
    np.testing.assert_allclose(weights(limited, 6), weights(plain, 6), atol=1e-12)
    assert limited.optimization_metadata.constraints_satisfied
    shorts = opt.optimize(
        request(mu, sigma, "MAX_SHARPE", constraints={**case, "min_weight": -0.2, "leverage_limit": 1.2})
    )
    assert opt.problems_built == 2
    assert np.abs(weights(shorts, 6)).sum() <= 1.2 + 1e-7
