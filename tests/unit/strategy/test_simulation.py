"""Tests for the forecasts and calibration of twin_model.strategy.

Every expected number is derived independently of the module: closed forms worked out
next to the assertion, small cases computed by hand (the arithmetic is written out), or
Monte Carlo estimates compared with a closed form within a stated number of standard
errors (SE). Histories are built with exact sample moments (orthonormal columns from a QR
factorisation) so the bootstrap's population moments are known exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest
from scipy import stats

from twin_model.strategy import (
    RETURN_FLOOR,
    ParameterSet,
    SimulationSettings,
    fitted_parameter_set,
    forecast_calibration,
    forecast_calibration_days,
    forecast_summary,
    repair_correlation,
    residual_correlation,
    simulate_parameter_set,
    simulate_posterior_predictive,
)

INF = math.inf


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def make_draws(ids, alpha, beta, sigma, nu, bench_mean: float = 0.0) -> pl.DataFrame:
    """Long draws frame from ``[D, N]`` arrays (scalars broadcast)."""
    alpha = np.atleast_2d(np.asarray(alpha, dtype=float))
    n_draws = alpha.shape[0]
    shape = (n_draws, len(ids))
    alpha = np.broadcast_to(alpha, shape)
    beta, sigma, nu = (np.broadcast_to(np.asarray(x, dtype=float), shape) for x in (beta, sigma, nu))
    daily_mean = alpha + beta * bench_mean
    return pl.DataFrame(
        {
            "draw": np.repeat(np.arange(n_draws), len(ids)).astype(np.int64),
            "strategy_id": list(ids) * n_draws,
            "daily_mean": daily_mean.ravel(),
            "alpha": alpha.ravel(),
            "beta": beta.ravel(),
            "sigma": sigma.ravel(),
            "nu": nu.ravel(),
            "vol": sigma.ravel(),
            "sharpe": (daily_mean / sigma).ravel() * math.sqrt(252),
        }
    )


def orthonormal(n_rows: int, n_cols: int, seed: int) -> np.ndarray:
    """``[n_rows, n_cols]`` columns with sample mean exactly 0, population variance 1 and
    zero sample correlation with each other (QR of [1, noise])."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(np.column_stack([np.ones(n_rows), rng.standard_normal((n_rows, n_cols))]))
    return q[:, 1:] * math.sqrt(n_rows)


def corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x.ravel(), y.ravel())[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x.ravel())).astype(float)
    ry = np.argsort(np.argsort(y.ravel())).astype(float)
    return corr(rx, ry)


def summary_row(frame: pl.DataFrame, sid: str) -> dict:
    return frame.filter(pl.col("strategy_id") == sid).row(0, named=True)


# --------------------------------------------------------------------------------------
# posterior-predictive simulation
# --------------------------------------------------------------------------------------


def test_deterministic_constant_paths_give_closed_form_month():
    """One draw, history exactly on the regression line, constant benchmark: every
    residual is 0, so every path-day is alpha + beta*b."""
    ids = ["up", "down"]
    b = 0.002
    alpha = np.array([[0.001, -0.003]])
    beta = np.array([[0.5, 0.5]])
    daily = alpha[0] + beta[0] * b  # up: +0.002, down: -0.002
    history = np.tile(daily, (30, 1))
    draws = make_draws(ids, alpha, beta, 0.01, 5.0, bench_mean=b)
    settings = SimulationSettings(n_paths=50)
    scen = simulate_posterior_predictive(draws, history, np.full(30, b), ids, settings)
    assert scen.shape == (50, 21, 2)
    np.testing.assert_allclose(scen[:, :, 0], 0.002, rtol=0, atol=1e-15)
    np.testing.assert_allclose(scen[:, :, 1], -0.002, rtol=0, atol=1e-15)

    out = forecast_summary(scen, ids, settings)
    assert out["strategy_id"].to_list() == ids
    assert out.schema["horizon_days"] == pl.Int64 and out.schema["n_paths"] == pl.Int64
    up, down = summary_row(out, "up"), summary_row(out, "down")
    month_up = 1.002**21 - 1.0
    month_down = 0.998**21 - 1.0  # wealth falls every day: the trough is the month's end
    assert up["horizon_days"] == 21 and up["n_paths"] == 50
    for key in ("mean_return", "p05", "p50", "p95", "expected_shortfall_95"):
        assert up[key] == pytest.approx(month_up, rel=1e-12)
        assert down[key] == pytest.approx(month_down, rel=1e-12)
    assert up["prob_loss"] == 0.0 and down["prob_loss"] == 1.0
    assert up["monthly_valley"] == 0.0 and up["expected_trough"] == 0.0
    assert down["monthly_valley"] == pytest.approx(month_down, rel=1e-12)
    assert down["expected_trough"] == pytest.approx(month_down, rel=1e-12)


# Three hand-made paths over three days (strategy "x"); strategy "y" is flat.
#   A: +10%, -20%, +5%  -> wealth 1.10, 0.88, 0.924  -> P&L  0.10, -0.12, -0.076  trough -0.12
#   B:  -5%,  -5%, +20% -> wealth 0.95, 0.9025, 1.083 -> P&L -0.05, -0.0975, 0.083 trough -0.0975
#   C:  +1%,  +2%, +3%  -> wealth 1.01, 1.0302, 1.061106 (never below 1)           trough 0
HAND = np.array(
    [
        [[0.10, 0.0], [-0.20, 0.0], [0.05, 0.0]],
        [[-0.05, 0.0], [-0.05, 0.0], [0.20, 0.0]],
        [[0.01, 0.0], [0.02, 0.0], [0.03, 0.0]],
    ]
)


def test_monthly_valley_on_hand_made_paths():
    out = forecast_summary(HAND, ["x", "y"], SimulationSettings())
    x, y = summary_row(out, "x"), summary_row(out, "y")
    # troughs sorted: -0.12, -0.0975, 0; 5th percentile at position 0.05 * (3 - 1) = 0.1
    assert x["monthly_valley"] == pytest.approx(-0.12 + 0.1 * (-0.0975 - -0.12), abs=1e-12)  # -0.11775
    assert x["expected_trough"] == pytest.approx((-0.12 - 0.0975 + 0.0) / 3, abs=1e-12)  # -0.0725
    assert y["monthly_valley"] == 0.0 and y["expected_trough"] == 0.0
    # another quantile: the median trough is B's
    half = forecast_summary(HAND, ["x", "y"], SimulationSettings(valley_quantile=0.5))
    assert summary_row(half, "x")["monthly_valley"] == pytest.approx(-0.0975, abs=1e-12)


def test_percentiles_prob_loss_and_shortfall_on_hand_made_paths():
    out = forecast_summary(HAND, ["x", "y"], SimulationSettings())
    x, y = summary_row(out, "x"), summary_row(out, "y")
    a, b, c = 0.924 - 1, 1.083 - 1, 1.061106 - 1  # compounded months: -0.076, 0.083, 0.061106
    assert x["mean_return"] == pytest.approx((a + b + c) / 3, abs=1e-12)
    # sorted a < c < b; positions 0.1, 1.0, 1.9
    assert x["p05"] == pytest.approx(a + 0.1 * (c - a), abs=1e-12)
    assert x["p50"] == pytest.approx(c, abs=1e-12)
    assert x["p95"] == pytest.approx(c + 0.9 * (b - c), abs=1e-12)
    assert x["prob_loss"] == pytest.approx(1 / 3)
    assert x["expected_shortfall_95"] == pytest.approx(a, abs=1e-12)  # only A is at or below p05
    assert y["prob_loss"] == 0.0  # a flat month is not a loss
    assert y["p05"] == y["p95"] == y["expected_shortfall_95"] == 0.0

    # 21 one-day paths: -0.10, -0.06, 0.01 .. 0.19. p05 sits at position 0.05*20 = 1 exactly
    values = np.array([-0.10, -0.06] + [0.01 * k for k in range(1, 20)])
    scen = np.random.default_rng(3).permutation(values).reshape(21, 1, 1)
    row = forecast_summary(scen, ["z"], SimulationSettings()).row(0, named=True)
    assert row["p05"] == pytest.approx(-0.06)
    assert row["expected_shortfall_95"] == pytest.approx((-0.10 - 0.06) / 2)
    assert row["p50"] == pytest.approx(0.09)  # sorted[10]
    assert row["p95"] == pytest.approx(0.18)  # position 19
    assert row["prob_loss"] == pytest.approx(2 / 21)
    assert row["mean_return"] == pytest.approx((-0.16 + 0.01 * 190) / 21)


def test_shortfall_matches_normal_closed_form():
    """One-day normal returns: ES_95 = -sd * phi(z_.95) / 0.05, p05 = -sd * z_.95."""
    sd, n = 0.01, 200_000
    scen = np.random.default_rng(11).normal(0.0, sd, size=(n, 1, 1))
    row = forecast_summary(scen, ["n"], SimulationSettings()).row(0, named=True)
    z = NormalDist().inv_cdf(0.95)
    es = -sd * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / 0.05
    assert row["p05"] == pytest.approx(-sd * z, abs=0.02 * sd)  # SE ~ 0.006 sd
    assert row["expected_shortfall_95"] == pytest.approx(es, abs=0.03 * sd)  # SE ~ 0.006 sd


def test_perfectly_correlated_residuals_give_identical_paths():
    ids = ["a", "b"]
    t = 200
    z = orthonormal(t, 1, seed=1)[:, 0]
    bench = 0.0003 + 0.01 * orthonormal(t, 1, seed=2)[:, 0]
    history = np.column_stack([0.0002 + 0.8 * bench + 0.01 * z] * 2)
    rng = np.random.default_rng(5)
    per_draw = lambda mean, sd: np.repeat(rng.normal(mean, sd, (40, 1)), 2, axis=1)  # noqa: E731
    draws = make_draws(ids, per_draw(0.0002, 1e-4), per_draw(0.8, 0.05), np.abs(per_draw(0.01, 5e-4)), 6.0)
    scen = simulate_posterior_predictive(draws, history, bench, ids, SimulationSettings(n_paths=500))
    np.testing.assert_array_equal(scen[:, :, 0], scen[:, :, 1])
    assert corr(scen[:, :, 0], scen[:, :, 1]) > 1 - 1e-12


@pytest.mark.parametrize("rho", [0.0, 0.6, -0.4])
def test_residual_correlation_is_preserved(rho):
    """History residuals with sample correlation exactly rho, one draw, no benchmark:
    the bootstrap's population correlation is rho; SE ~ (1 - rho^2) / sqrt(P*H)."""
    ids = ["a", "b"]
    u = orthonormal(1000, 2, seed=7)
    z1, z2 = u[:, 0], rho * u[:, 0] + math.sqrt(1 - rho**2) * u[:, 1]
    history = np.column_stack([0.0003 + 0.01 * z1, -0.0001 + 0.02 * z2])
    draws = make_draws(ids, [[0.0003, -0.0001]], 0.0, [[0.01, 0.02]], INF)
    settings = SimulationSettings(n_paths=2000)
    scen = simulate_posterior_predictive(draws, history, None, ids, settings)
    n = settings.n_paths * settings.horizon
    assert corr(scen[:, :, 0], scen[:, :, 1]) == pytest.approx(rho, abs=5 * (1 - rho**2) / math.sqrt(n))
    # the fitted-parameter-set helper recovers the same residual correlation from history
    assert residual_correlation(draws, history, None, ids)[0, 1] == pytest.approx(rho, abs=1e-10)


def test_market_co_movement_through_beta():
    """Residuals orthogonal to each other and to the benchmark: the only link is beta.
    cov = b1 b2 var(b) = 1 * 0.5 * 1e-4; var1 = 1e-4 + 1e-4, var2 = 0.25e-4 + 1e-4."""
    ids = ["a", "b"]
    u = orthonormal(1000, 3, seed=9)
    bench = 0.0004 + 0.01 * u[:, 0]
    history = np.column_stack([1.0 * bench + 0.01 * u[:, 1], 0.5 * bench + 0.01 * u[:, 2]])
    draws = make_draws(ids, 0.0, [[1.0, 0.5]], 0.01, INF, bench_mean=0.0004)
    settings = SimulationSettings(n_paths=2000)
    scen = simulate_posterior_predictive(draws, history, bench, ids, settings)
    expected = 0.5e-4 / math.sqrt(2e-4 * 1.25e-4)
    n = settings.n_paths * settings.horizon
    assert corr(scen[:, :, 0], scen[:, :, 1]) == pytest.approx(expected, abs=5 * (1 - expected**2) / math.sqrt(n))


@pytest.mark.parametrize("center", [True, False])
def test_residual_centring_keeps_the_posterior_mean(center):
    """History mean 0.001 but a shrunk posterior alpha of 0.0002. Centred residuals have
    mean 0, so the simulated daily mean is alpha = 0.0002; raw residuals have mean
    (0.001 - 0.0002) / sigma and give back the sample mean 0.001. SE = 0.01 / sqrt(n)."""
    z = orthonormal(500, 1, seed=21)[:, 0]
    history = (0.001 + 0.01 * z)[:, None]
    draws = make_draws(["s"], [[0.0002]], 0.0, 0.01, INF)
    settings = SimulationSettings(n_paths=2000, center_residuals=center)
    scen = simulate_posterior_predictive(draws, history, None, ["s"], settings)
    n = settings.n_paths * settings.horizon
    expected = 0.0002 if center else 0.001
    assert scen.mean() == pytest.approx(expected, abs=5 * 0.01 / math.sqrt(n))
    assert scen.std() == pytest.approx(0.01, rel=5 * math.sqrt(2 / n))  # centring keeps the spread


def test_parameter_uncertainty_widens_the_month():
    """Month sum S = H*alpha_d + sigma * sum_k z_k with d and the days independent:
    Var(S) = H^2 Var(alpha_d) + H sigma^2 Var(z) = H^2 s_a^2 + H sigma^2 (both variances
    are population variances of the draws / history, made exactly s_a^2 and 1)."""
    ids = ["s"]
    h, sigma, a0, s_a = 21, 0.01, 0.0004, 0.002
    z = orthonormal(500, 1, seed=4)[:, 0]
    history = (a0 + sigma * z)[:, None]
    v = orthonormal(400, 1, seed=6)[:, 0]
    many = make_draws(ids, (a0 + s_a * v)[:, None], 0.0, sigma, INF)
    one = make_draws(ids, [[a0]], 0.0, sigma, INF)
    settings = SimulationSettings(n_paths=20_000, horizon=h)
    wide = simulate_posterior_predictive(many, history, None, ids, settings)
    narrow = simulate_posterior_predictive(one, history, None, ids, settings)

    def check(scen, expected):
        var = float(scen.sum(axis=1)[:, 0].var())
        se = expected * math.sqrt(2 / (settings.n_paths - 1))
        assert var == pytest.approx(expected, abs=5 * se)

    check(narrow, h * sigma**2)
    check(wide, h**2 * s_a**2 + h * sigma**2)
    f_wide, f_narrow = (forecast_summary(s, ids, settings).row(0, named=True) for s in (wide, narrow))
    assert f_wide["p95"] - f_wide["p05"] > 1.2 * (f_narrow["p95"] - f_narrow["p05"])
    # same seed: the two runs bootstrap the same days, so they differ by H * (alpha_d - a0)
    diff = (wide.sum(axis=1) - narrow.sum(axis=1))[:, 0] / h
    np.testing.assert_allclose(np.min(np.abs(diff[:, None] - s_a * v[None, :]), axis=1), 0.0, atol=1e-12)


def test_masked_cells_are_filled_with_unit_variance_student_t():
    """'gap8' and 'gapn' have no history at all, 'half' misses every other day. Every masked
    cell is sigma * (unit-variance t_nu). Var SE = sigma^2 sqrt((kurtosis - 1) / n); the
    share beyond 3 sd is 2 * P(|t_nu| > 3 / sqrt((nu-2)/nu)) (0.0027 when normal)."""
    ids = ["full", "gap8", "gapn", "half"]
    t = 400
    z = orthonormal(t, 1, seed=12)
    history = np.full((t, 4), np.nan)
    history[:, 0] = 0.01 * z[:, 0]
    history[::2, 3] = 0.02 * orthonormal(t // 2, 1, seed=13)[:, 0]
    sigma = np.array([[0.01, 0.02, 0.02, 0.02]])
    nu = np.array([[INF, 8.0, np.nan, 8.0]])  # NaN nu reads as normal
    draws = make_draws(ids, 0.0, 0.0, sigma, nu)
    settings = SimulationSettings(n_paths=2000)
    scen = simulate_posterior_predictive(draws, history, None, ids, settings)
    assert np.isfinite(scen).all()
    n = settings.n_paths * settings.horizon
    for k, kurt in ((1, 3 + 6 / (8 - 4)), (2, 3.0)):
        x = scen[:, :, k].ravel() / 0.02
        assert x.var() == pytest.approx(1.0, abs=5 * math.sqrt((kurt - 1) / n))
    p8 = 2 * stats.t.sf(3 / math.sqrt(6 / 8), 8)  # ~ 0.0085
    pn = 2 * stats.norm.sf(3)  # ~ 0.0027
    for k, p in ((1, p8), (2, pn)):
        share = float((np.abs(scen[:, :, k]) > 3 * 0.02).mean())
        assert share == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))
    assert scen[:, :, 3].var() == pytest.approx(0.02**2, rel=0.05)


def test_seeded_reproducibility_and_floor():
    ids = ["a", "b"]
    rng = np.random.default_rng(0)
    history = rng.normal(0, 0.01, (100, 2))
    history[rng.random((100, 2)) < 0.2] = np.nan
    bench = rng.normal(0, 0.01, 100)
    bench[::10] = np.nan
    draws = make_draws(ids, rng.normal(0, 1e-3, (30, 2)), 0.5, np.abs(rng.normal(0.01, 1e-3, (30, 2))), 5.0)
    s1 = simulate_posterior_predictive(draws, history, bench, ids, SimulationSettings(n_paths=300, seed=1))
    s2 = simulate_posterior_predictive(draws, history, bench, ids, SimulationSettings(n_paths=300, seed=1))
    s3 = simulate_posterior_predictive(draws, history, bench, ids, SimulationSettings(n_paths=300, seed=2))
    np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(s1, s3)
    # a shuffled draws frame is the same posterior
    s4 = simulate_posterior_predictive(
        draws.sample(fraction=1.0, shuffle=True, seed=3), history, bench, ids, SimulationSettings(n_paths=300, seed=1)
    )
    np.testing.assert_array_equal(s1, s4)

    wild = make_draws(ids, 0.0, 0.0, 2.0, INF)  # daily sd 200%: many draws below -100%
    scen = simulate_posterior_predictive(wild, history, None, ids, SimulationSettings(n_paths=300))
    assert scen.min() == RETURN_FLOOR and (scen > -1).all()
    assert (np.prod(1 + scen, axis=1) > 0).all()


def test_bad_inputs_raise():
    ids = ["a", "b"]
    draws = make_draws(["a"], 0.0, 0.0, 0.01, INF)
    with pytest.raises(ValueError, match="no rows for strategies \\['b'\\]"):
        simulate_posterior_predictive(draws, np.zeros((5, 2)), None, ids)
    good = make_draws(ids, 0.0, 0.0, 0.01, INF)
    with pytest.raises(ValueError, match="no day has every factor observed"):
        simulate_posterior_predictive(good, np.zeros((5, 2)), np.full(5, np.nan), ids)
    with pytest.raises(ValueError, match="exactly one row"):
        simulate_posterior_predictive(pl.concat([good, good]), np.zeros((5, 2)), None, ids)


# --------------------------------------------------------------------------------------
# parameter sets
# --------------------------------------------------------------------------------------


def test_parameter_set_moments_and_independence():
    ids = ["a", "b", "c"]
    params = ParameterSet(
        name="expert",
        annual_return={"a": 0.10, "b": -0.05, "c": 0.20},
        annual_volatility={"a": 0.20, "b": 0.10, "c": 0.30},
        tail_df={"a": INF, "b": 5.0, "c": 8.0},
    )
    settings = SimulationSettings(n_paths=4000)
    scen = simulate_parameter_set(params, ids, settings)
    assert scen.shape == (4000, 21, 3)
    n = settings.n_paths * settings.horizon
    for k, sid in enumerate(ids):
        x = scen[:, :, k].ravel()
        mu, sd = params.annual_return[sid] / 252, params.annual_volatility[sid] / math.sqrt(252)
        df = params.tail_df[sid]
        kurt = 3.0 if df == INF else 3 + 6 / (df - 4)
        assert x.mean() == pytest.approx(mu, abs=5 * sd / math.sqrt(n))
        assert x.std() == pytest.approx(sd, abs=5 * sd * math.sqrt((kurt - 1) / (4 * n)))
    for i in range(3):
        for j in range(i + 1, 3):
            assert abs(corr(scen[:, :, i], scen[:, :, j])) < 5 / math.sqrt(n)
    # the t marginal of 'b' has its tail: share beyond 3 sd = 2 P(|t5| > 3 / sqrt(3/5))
    sd_b = 0.10 / math.sqrt(252)
    p = 2 * stats.t.sf(3 / math.sqrt(3 / 5), 5)
    share = float((np.abs(scen[:, :, 1] - (-0.05 / 252)) > 3 * sd_b).mean())
    assert share == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))
    # seeded
    np.testing.assert_array_equal(scen, simulate_parameter_set(params, ids, settings))
    assert not np.array_equal(scen, simulate_parameter_set(params, ids, SimulationSettings(n_paths=4000, seed=9)))


C3 = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])


def test_parameter_set_correlation_normal_and_t_marginals():
    ids = ["a", "b", "c"]
    assert np.linalg.eigvalsh(C3).min() > 0
    same = {"a": 0.0, "b": 0.0, "c": 0.0}
    vol = {"a": 0.1, "b": 0.2, "c": 0.3}
    settings = SimulationSettings(n_paths=4000)
    n = settings.n_paths * settings.horizon
    normal = simulate_parameter_set(ParameterSet("n", same, vol, {s: INF for s in ids}, C3), ids, settings)
    fat = simulate_parameter_set(ParameterSet("t", same, vol, {"a": 4.0, "b": 6.0, "c": INF}, C3), ids, settings)
    for i in range(3):
        for j in range(i + 1, 3):
            rho = C3[i, j]
            # normal marginals: Pearson = rho, SE ~ (1 - rho^2)/sqrt(n)
            assert corr(normal[:, :, i], normal[:, :, j]) == pytest.approx(rho, abs=5 * (1 - rho**2) / math.sqrt(n))
            # Gaussian copula: Spearman = 6/pi asin(rho/2) whatever the marginals
            rho_s = 6 / math.pi * math.asin(rho / 2)
            assert spearman(fat[:, :, i], fat[:, :, j]) == pytest.approx(rho_s, abs=5 / math.sqrt(n))

    # the correlation may be given in its own order, named by correlation_ids
    order = ["c", "a", "b"]
    pick = [ids.index(s) for s in order]
    shuffled = ParameterSet("n", same, vol, {s: INF for s in ids}, C3[np.ix_(pick, pick)], tuple(order))
    np.testing.assert_array_equal(simulate_parameter_set(shuffled, ids, settings), normal)


def test_non_positive_definite_correlation_is_repaired():
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < 0
    fixed = repair_correlation(bad)
    np.testing.assert_allclose(np.diag(fixed), 1.0, atol=1e-12)
    np.testing.assert_allclose(fixed, fixed.T, atol=0)
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.linalg.cholesky(fixed)
    # the repair keeps the signs and does not move entries further than needed to be PSD
    assert np.all(np.sign(fixed) == np.sign(bad)) and np.abs(fixed - bad).max() < 0.5
    np.testing.assert_array_equal(repair_correlation(C3), C3)  # PD input is untouched
    ids = ["a", "b", "c"]
    params = ParameterSet("x", dict.fromkeys(ids, 0.0), dict.fromkeys(ids, 0.2), dict.fromkeys(ids, INF), bad)
    scen = simulate_parameter_set(params, ids, SimulationSettings(n_paths=200))
    assert np.isfinite(scen).all()
    with pytest.raises(ValueError, match="tail_df must be > 2"):
        simulate_parameter_set(
            ParameterSet("x", params.annual_return, params.annual_volatility, dict.fromkeys(ids, 2.0)),
            ids,
            SimulationSettings(n_paths=10),
        )
    with pytest.raises(ValueError, match="no annual_return for strategies \\['d'\\]"):
        simulate_parameter_set(params, ids + ["d"], SimulationSettings(n_paths=10))


def test_fitted_parameter_set_is_the_posterior_mean():
    frame = pl.DataFrame(
        {
            "draw": [0, 1, 2] * 3,
            "strategy_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "daily_mean": [0.001, 0.002, 0.003, -0.001, 0.0, 0.004, 0.0, 0.0, 0.0],
            "alpha": [0.0] * 9,
            "beta": [0.0] * 9,
            "sigma": [0.01] * 9,
            "nu": [5.0, 7.0, INF, INF, INF, 10.0, 4.0, None, 6.0],
            "vol": [0.01, 0.02, 0.03, 0.01, 0.01, 0.04, 0.02, 0.02, 0.02],
            "sharpe": [0.0] * 9,
        }
    )
    p = fitted_parameter_set(frame)
    assert p.name == "fitted" and p.correlation is None
    assert p.annual_return["a"] == pytest.approx(252 * 0.002)
    assert p.annual_return["b"] == pytest.approx(252 * 0.001)
    assert p.annual_volatility["a"] == pytest.approx(math.sqrt(252) * 0.02)
    assert p.annual_volatility["b"] == pytest.approx(math.sqrt(252) * 0.02)
    assert p.tail_df == {"a": 7.0, "b": INF, "c": 6.0}  # null nu counts as inf
    # and it simulates
    scen = simulate_parameter_set(p, ["a", "b", "c"], SimulationSettings(n_paths=100))
    assert scen.shape == (100, 21, 3)


# --------------------------------------------------------------------------------------
# forecast calibration
# --------------------------------------------------------------------------------------

# business days 2024-01-01 (Mon) .. 2024-01-15 (Mon), d0 .. d10
D = [
    dt.date(2024, 1, 1) + dt.timedelta(days=k)
    for k in range(15)
    if (dt.date(2024, 1, 1) + dt.timedelta(days=k)).weekday() < 5
]


def _returns_frame() -> pl.DataFrame:
    rows = []
    # strategy a: d3 unavailable (its 0.5 must be skipped), d6 null, d10 after as_of
    a = [0.01, 0.02, -0.01, 0.5, 0.03, -0.02, None, 0.01, 0.02, -0.03, 0.40]
    for k, r in enumerate(a):
        rows.append((D[k], "a", r, k != 3))
    # strategy b: as_of (d9) unavailable
    for k in range(11):
        rows.append((D[k], "b", 0.01, k != 9))
    # strategy c: too short a history (observed d7, d8, d9 only)
    for k in (7, 8, 9):
        rows.append((D[k], "c", 0.01, True))
    # strategy d: long enough, but no forecast on its o_{J-h}
    for k in range(11):
        rows.append((D[k], "d", 0.0, True))
    # strategy e: flat (every realised month is 0), forecasts partly missing or null
    for k in range(11):
        rows.append((D[k], "e", 0.0, True))
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


BANDS_A = {  # forecast date index -> (p05, p95)
    0: (-0.05, 0.03),
    1: (-0.05, 0.05),
    2: (0.0, 0.05),
    3: (-1.0, 1.0),
    4: (0.01, 0.05),
    5: (-0.01, 0.01),
    6: (-1.0, 1.0),
    7: (-1.0, 1.0),
    8: (-1.0, 1.0),
    9: (-1.0, 1.0),
    10: (-1.0, 1.0),
}


def _forecasts_frame() -> pl.DataFrame:
    rows = [(D[k], "a", lo, hi) for k, (lo, hi) in BANDS_A.items()]
    rows += [(D[k], "b", -1.0, 1.0) for k in range(11)]
    rows += [(D[k], "c", -1.0, 1.0) for k in range(11)]
    rows += [(D[k], "d", -1.0, 1.0) for k in range(11) if k != 6]  # d's o_{J-h} for as_of=d9 is d6
    # e: d0 missing, d1 null band (neither scored), d2 band excludes 0 (out), d3 .. d10 in
    rows += [(D[1], "e", None, 0.1), (D[2], "e", 0.01, 0.02)] + [(D[k], "e", -1.0, 1.0) for k in range(3, 11)]
    return pl.DataFrame(
        rows, schema={"date": pl.Date, "strategy_id": pl.String, "p05": pl.Float64, "p95": pl.Float64}, orient="row"
    )


# strategy a's observed days: d0 d1 d2 d4 d5 d7 d8 d9 (d10 is after as_of), horizon 3:
#   forecast d0 -> d1 d2 d4: 1.02*0.99*1.03 - 1 =  0.040094   band [-0.05, 0.03] out
#   forecast d1 -> d2 d4 d5: 0.99*1.03*0.98 - 1 = -0.000694   band [-0.05, 0.05] in
#   forecast d2 -> d4 d5 d7: 1.03*0.98*1.01 - 1 =  0.019494   band [ 0.00, 0.05] in
#   forecast d4 -> d5 d7 d8: 0.98*1.01*1.02 - 1 =  0.009596   band [ 0.01, 0.05] out
#   forecast d5 -> d7 d8 d9: 1.01*1.02*0.97 - 1 = -0.000706   band [-0.01, 0.01] in
REALISED_A = {0: 0.040094, 1: -0.000694, 2: 0.019494, 4: 0.009596, 5: -0.000706}


def test_forecast_calibration_hand_case():
    out = forecast_calibration(_forecasts_frame(), _returns_frame(), D[9], horizon=3)
    # b: as_of unavailable; c: too short; d: no forecast on its o_{J-h}
    assert sorted(out["strategy_id"].to_list()) == ["a", "e"]
    row = summary_row(out, "a")
    assert row["date"] == D[9] and row["forecast_date"] == D[5] and row["horizon_days"] == 3
    assert row["realised_return"] == pytest.approx(REALISED_A[5], abs=1e-12)
    assert (row["p05"], row["p95"]) == BANDS_A[5]
    assert row["inside_band"] is True
    assert row["n_evaluated"] == 5 and row["coverage_rate"] == pytest.approx(3 / 5)
    assert out.schema["n_evaluated"] == pl.Int64 and out.schema["inside_band"] == pl.Boolean
    # e: observed d0 .. d9, matured forecast dates d0 .. d6; scored d2 .. d6 (d0 missing, d1 null)
    e = summary_row(out, "e")
    assert e["forecast_date"] == D[6] and e["realised_return"] == 0.0 and e["inside_band"] is True
    assert e["n_evaluated"] == 5 and e["coverage_rate"] == pytest.approx(4 / 5)

    # a day earlier only four forecasts have matured (d0 d1 d2 d4); today's is d4, outside
    earlier = summary_row(forecast_calibration(_forecasts_frame(), _returns_frame(), D[8], horizon=3), "a")
    assert earlier["forecast_date"] == D[4]
    assert earlier["realised_return"] == pytest.approx(REALISED_A[4], abs=1e-12)
    assert earlier["inside_band"] is False
    assert earlier["n_evaluated"] == 4 and earlier["coverage_rate"] == pytest.approx(2 / 4)

    # as_of on a's unavailable day: no row; d6 (null ret) likewise
    assert (
        forecast_calibration(_forecasts_frame(), _returns_frame(), D[3], horizon=3)
        .filter(pl.col("strategy_id") == "a")
        .height
        == 0
    )
    assert (
        forecast_calibration(_forecasts_frame(), _returns_frame(), D[6], horizon=3)
        .filter(pl.col("strategy_id") == "a")
        .height
        == 0
    )


def test_forecast_calibration_over_many_days_is_each_day_alone_and_reads_nothing_later():
    """One pass over d0 .. d10 (the asset's way) gives, day by day, the rows of the day
    scored alone, which reads no return after it: a's d8 and d9 rows are the hand-worked
    ones above although d10's 0.40 is in the returns, and changing d10's return changes no
    earlier row."""
    f, r = _forecasts_frame(), _returns_frame()
    every = forecast_calibration_days(f, r, D, horizon=3)
    for day in D:
        alone = forecast_calibration(f, r.filter(pl.col("date") <= day), day, horizon=3)
        assert every.filter(pl.col("date") == day).equals(alone), day
    # a's observed days d0 d1 d2 d4 d5 d7 d8 d9 d10: a row on each from the fourth, its
    # forecast three observations back; d10's forecast d7 -> d8 d9 d10: 1.02*0.97*1.40 - 1
    # = 0.38516, inside [-1, 1]; running coverage 0/1, 1/2, 2/3, 2/4, 3/5, 4/6
    a = every.filter(pl.col("strategy_id") == "a")
    assert a.get_column("date").to_list() == [D[4], D[5], D[7], D[8], D[9], D[10]]
    assert a.get_column("forecast_date").to_list() == [D[0], D[1], D[2], D[4], D[5], D[7]]
    assert a.get_column("realised_return").to_list() == pytest.approx([*REALISED_A.values(), 0.38516], abs=1e-12)
    assert a.get_column("coverage_rate").to_list() == pytest.approx([0, 1 / 2, 2 / 3, 2 / 4, 3 / 5, 4 / 6])
    shocked = r.with_columns(ret=pl.when(pl.col("date") == D[10]).then(-0.9).otherwise(pl.col("ret")))
    before = forecast_calibration_days(f, shocked, D, horizon=3).filter(pl.col("date") < D[10])
    assert before.equals(every.filter(pl.col("date") < D[10]))


def test_forecast_calibration_is_idempotent_and_order_free():
    f, r = _forecasts_frame(), _returns_frame()
    first = forecast_calibration(f, r, D[9], horizon=3)
    again = forecast_calibration(
        f.sample(fraction=1.0, shuffle=True, seed=1), r.sample(fraction=1.0, shuffle=True, seed=2), D[9], horizon=3
    )
    assert first.equals(again)
    # no 'available' column means available: strategy b's d9 then counts and b gets a row
    no_avail = forecast_calibration(f, r.drop("available"), D[9], horizon=3)
    assert "b" in no_avail["strategy_id"].to_list()
    # a date with nothing matured yet -> empty frame with the full schema
    empty = forecast_calibration(f, r, D[2], horizon=3)
    assert empty.height == 0 and "coverage_rate" in empty.columns
