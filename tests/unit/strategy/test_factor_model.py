"""Alpha over several factors and residual risk shared by a sector block: the factor
design, the window's blocks, the conjugate fit with K regressors, forecasts with K
factors, and the recovery of synthetic truth (a factor's premium is not alpha)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from twin_model.contracts import decode_betas, draw_factor_ids, encode_draws
from twin_model.strategy import (
    FitSettings,
    ReturnWindow,
    SimulationSettings,
    StrategyModelFitter,
    factor_design,
    return_window,
    sector_blocks,
    simulate_posterior_predictive,
    spread_over_benchmark,
)

D = dt.date


def _dates(t: int) -> list[dt.date]:
    return np.busday_offset(np.datetime64("2021-01-04"), np.arange(t)).astype(dt.date).tolist()


def _long(dates, columns: dict[str, np.ndarray], benchmark: str | None) -> pl.DataFrame:
    return pl.concat(
        pl.DataFrame({"date": dates, "factor_id": name, "ret": values, "is_benchmark": name == benchmark})
        for name, values in columns.items()
    )


# --- the factor design ----------------------------------------------------------------------


def test_spread_design_leaves_alpha_unchanged_and_maps_the_betas():
    """OLS on [1, m, f1, f2] and on [1, m, f1 - m, f2 - m] span the same columns, so the
    intercept is identical and, with raw betas b = (b_m, b_1, b_2), the spread betas are
    (b_m + b_1 + b_2, b_1, b_2): m b_m + f1 b_1 + f2 b_2 = m (b_m + b_1 + b_2) + (f1 - m) b_1 + (f2 - m) b_2."""
    rng = np.random.default_rng(3)
    t = 300
    m = rng.normal(0.0004, 0.01, t)
    raw = np.column_stack([m, m + rng.normal(0.0002, 0.003, t), m + rng.normal(-0.0001, 0.004, t)])
    y = 0.0005 + raw @ np.array([0.3, 0.5, 0.4]) + rng.normal(0, 0.006, t)
    x, names = spread_over_benchmark(raw, ["SP500", "MTUM", "VLUE"], "SP500")
    assert names == ["SP500", "MTUM-SP500", "VLUE-SP500"]
    np.testing.assert_array_equal(x[:, 1], raw[:, 1] - raw[:, 0])
    on_raw = np.linalg.lstsq(np.column_stack([np.ones(t), raw]), y, rcond=None)[0]
    on_spread = np.linalg.lstsq(np.column_stack([np.ones(t), x]), y, rcond=None)[0]
    assert on_spread[0] == pytest.approx(on_raw[0], rel=1e-9)
    assert on_spread[1] == pytest.approx(on_raw[1:].sum(), rel=1e-9)
    np.testing.assert_allclose(on_spread[2:], on_raw[2:], rtol=1e-9)
    # and the spreads are far less collinear than the raw series
    assert np.linalg.cond(np.corrcoef(x, rowvar=False)) < np.linalg.cond(np.corrcoef(raw, rowvar=False)) / 10


def test_design_drops_an_absent_factor_masks_partial_days_and_says_so():
    dates = _dates(6)
    columns = {
        "SP500": np.array([0.01, 0.02, np.nan, 0.0, -0.01, 0.03]),
        "MTUM": np.array([np.nan, np.nan, 0.01, 0.02, 0.0, 0.01]),
    }
    frame = pl.concat([_long(dates, columns, "SP500"), _long(dates[:1], {"SIZE": np.array([0.01])}, None)])
    design = factor_design(frame, dates[2:])
    assert design.names == ("SP500", "MTUM-SP500") and design.benchmark_id == "SP500"
    # SIZE has no return in the window (only on dates[0]): dropped, and said
    assert any("SIZE" in note and "dropped" in note for note in design.notes)
    np.testing.assert_allclose(design.values[:, 1], [np.nan, 0.02, 0.01, -0.02], equal_nan=True)
    assert any("3 of 4 window days" in note for note in design.notes)

    returns = pl.DataFrame({"date": dates[2:], "strategy_id": "a", "ret": [0.01, 0.02, 0.03, 0.04]})
    window = return_window(returns, frame, dates[-1], 504)
    # the day without the benchmark is masked for every strategy
    assert window.n_obs.tolist() == [3] and window.notes == design.notes
    assert window.alpha_reference == "factors: SP500, MTUM-SP500"


def test_design_rejects_duplicates_and_two_benchmarks():
    dates = _dates(3)
    frame = _long(dates, {"SP500": np.zeros(3)}, "SP500")
    with pytest.raises(ValueError, match="duplicate factor return for SP500"):
        factor_design(pl.concat([frame, frame.head(1)]), dates)
    with pytest.raises(ValueError, match="more than one benchmark"):
        factor_design(pl.concat([frame, _long(dates, {"QQQ": np.zeros(3)}, "QQQ")]), dates)


def test_sector_blocks_share_only_classified_sectors_with_two_members():
    ids = ["a", "b", "c", "d", "e", "f"]
    sectors = {"a": "tech", "c": "tech", "d": "energy", "e": "unclassified", "f": "unclassified"}
    blocks, names = sector_blocks(ids, sectors)
    # a, c share tech; b unlisted, d alone in energy, e and f unclassified: blocks of one each
    assert blocks.tolist() == [0, 1, 0, 2, 3, 4]
    assert names == ("tech", "b", "energy", "e", "f")


# --- conjugate fit with K regressors ---------------------------------------------------------------


def _factor_window(rng, t: int = 260) -> ReturnWindow:
    x = rng.normal(0.0003, 0.01, (t, 3))
    returns = np.column_stack(
        [
            0.0004 + x @ np.array([0.9, 0.3, -0.2]) + rng.normal(0, 0.006, t),
            -0.0001 + x @ np.array([1.1, 0.0, 0.5]) + rng.normal(0, 0.004, t),
        ]
    )
    returns[rng.random((t, 2)) < 0.1] = np.nan
    x[[5, 40], 2] = np.nan  # a factor missing: masked for both
    return ReturnWindow(
        ("s_a", "s_b"),
        tuple(_dates(t)),
        returns,
        factors=x,
        factor_ids=("SP500", "MTUM-SP500", "QUAL-SP500"),
        blocks=np.array([0, 0]),
        block_names=("equity",),
        benchmark_id="SP500",
    )


def test_conjugate_with_k_regressors_is_the_closed_form():
    rng = np.random.default_rng(4)
    window = _factor_window(rng)
    settings = FitSettings(draws=3000, chains=2, method="conjugate")
    result = StrategyModelFitter(settings).fit(window, seed=2)
    total = 6000
    for i, sid in enumerate(window.strategy_ids):
        ok = np.isfinite(window.returns[:, i]) & np.isfinite(window.factors).all(axis=1)
        x = np.column_stack([np.ones(ok.sum()), window.factors[ok]])
        y = window.returns[ok, i]
        # textbook NIG: Lambda_n = Lambda_0 + X'X, m_n = Lambda_n^-1 X'y (m_0 = 0),
        # a_n = a_0 + n/2, b_n = b_0 + (y'y - m_n' Lambda_n m_n)/2
        lambda_n = np.diag([1.0, 1e-4, 1e-4, 1e-4]) + x.T @ x
        mn = np.linalg.solve(lambda_n, x.T @ y)
        vn = np.linalg.inv(lambda_n)
        an, bn = 2.0 + y.size / 2, 1e-4 + 0.5 * (y @ y - mn @ lambda_n @ mn)
        row = result.summary.filter(pl.col("strategy_id") == sid).row(0, named=True)
        assert row["n_obs"] == ok.sum()
        assert row["alpha_mean"] == pytest.approx(mn[0], rel=1e-8)
        assert row["alpha_sd"] == pytest.approx(math.sqrt(bn / (an - 1) * vn[0, 0]), rel=1e-8)
        assert row["beta_mean"] == pytest.approx(mn[1], rel=1e-8)  # the benchmark's beta
        assert row["method"] == "conjugate" and row["residual_loading_mean"] == 0.0
        assert row["residual_block"] == "equity" and row["block_size"] == 2
        betas = decode_betas(result.draws, [sid], window.factor_ids)[:, 0, :]
        beta_sd = np.sqrt(bn / (an - 1) * np.diag(vn)[1:])
        assert (np.abs(betas.mean(axis=0) - mn[1:]) < 4 * beta_sd / math.sqrt(total)).all()
    assert draw_factor_ids(result.draws) == window.factor_ids
    # derived: vol = sqrt(beta' S_x beta + sigma^2), S_x over the days with every factor
    one = result.draws.filter(pl.col("strategy_id") == "s_a")
    x_ok = window.factors[np.isfinite(window.factors).all(axis=1)]
    cov = np.cov(x_ok, rowvar=False, ddof=1)
    b = decode_betas(one, ["s_a"], window.factor_ids)[:, 0, :]
    vol = np.sqrt(np.einsum("dk,kl,dl->d", b, cov, b) + one["sigma"].to_numpy() ** 2)
    np.testing.assert_allclose(one["vol"].to_numpy(), vol, rtol=1e-10)
    np.testing.assert_allclose(one["daily_mean"].to_numpy(), one["alpha"].to_numpy() + b @ x_ok.mean(axis=0))


# --- forecasts with K factors ---------------------------------------------------------------------


def test_forecast_bootstraps_factors_and_residuals_jointly():
    """History exactly on the regression plane (zero residuals): every simulated day of both
    strategies is alpha + beta' x_s for one and the same history day s."""
    rng = np.random.default_rng(5)
    t, ids, factor_ids = 40, ["a", "b"], ("SP500", "MTUM-SP500")
    x = rng.normal(0.0, 0.01, (t, 2))
    alpha = np.array([0.001, -0.0005])
    beta = np.array([[1.0, 0.5], [0.2, -1.0]])  # [N, K]
    history = alpha + x @ beta.T
    draws = {
        "alpha": alpha[None, :],
        "sigma": np.full((1, 2), 0.01),
        "nu": np.full((1, 2), np.inf),
        "beta": beta[None, :, 0],
        "beta_SP500": beta[None, :, 0],
        "beta_MTUM-SP500": beta[None, :, 1],
        **{name: np.zeros((1, 2)) for name in ("daily_mean", "vol", "sharpe", "loading")},
    }
    frame = encode_draws(ids, draws, factor_ids)
    settings = SimulationSettings(n_paths=200, horizon=5, seed=1)
    scen = simulate_posterior_predictive(frame, history, x, ids, settings, factor_ids=factor_ids)
    flat = scen.reshape(-1, 2)
    distance = np.abs(flat[:, None, :] - history[None, :, :]).max(axis=2)  # [P*H, T]
    assert (distance.min(axis=1) < 1e-12).all()
    with pytest.raises(ValueError, match="factor_ids"):
        simulate_posterior_predictive(frame, history, x, ids, settings)


# --- recovery: a factor's premium is not alpha ---------------------------------------------------------


def _orthogonal_noise(rng, design: np.ndarray, sd: float) -> np.ndarray:
    """Normal noise made exactly orthogonal to the columns of ``design`` (zero mean, zero
    covariance with every factor), so the in-sample OLS truth is the generator's."""
    noise = rng.normal(0.0, sd, design.shape[0])
    return noise - design @ np.linalg.lstsq(design, noise, rcond=None)[0]


@pytest.mark.slow(seconds=150)
def test_a_factor_premium_is_not_alpha_when_the_factor_is_in_the_model():
    """Strategy ``alpha``: true alpha 0.0012 a day over the market. Strategy ``harvest``: no
    alpha, loading 1.0 on a factor ETF f = m + g whose spread g earns 0.001 a day. Both
    residuals are exactly orthogonal to [1, m, g], so in-sample OLS gives exactly the
    truth: over [m, f - m] harvest's alpha is 0 (P(alpha > 0) near 0.5, certainly below
    0.975), while over the market alone its alpha is mean(g) = 0.001 with a residual sd of
    about sqrt(0.004^2 + 0.003^2) = 0.005: a t-statistic of 0.001 / 0.005 * sqrt(252) = 3.2,
    P(alpha > 0) about 0.999 > 0.975 -- the benchmark-only model calls the premium alpha.
    Two more strategies (pure market beta, noise) give the pool its hierarchy."""
    rng = np.random.default_rng(11)
    t = 252
    m = rng.normal(0.0003, 0.01, t)
    g = rng.normal(0.0, 0.004, t)
    g = g - g.mean() + 0.001
    design = np.column_stack([np.ones(t), m, g])
    returns = {
        "alpha": 0.0012 + 0.5 * m + _orthogonal_noise(rng, design, 0.004),
        "harvest": m + g + _orthogonal_noise(rng, design, 0.003),
        "market": m + _orthogonal_noise(rng, design, 0.004),
        "noise": _orthogonal_noise(rng, design, 0.006),
    }
    dates = _dates(t)
    long = pl.concat(pl.DataFrame({"date": dates, "strategy_id": sid, "ret": r}) for sid, r in returns.items())
    factors = _long(dates, {"SP500": m, "MTUM": m + g}, "SP500")
    settings = FitSettings(window_days=t, draws=300, tune=300)
    fitter = StrategyModelFitter(settings)

    with_factor = fitter.fit(return_window(long, factors, dates[-1], t))
    bench_only = fitter.fit(return_window(long, factors.filter(pl.col("factor_id") == "SP500"), dates[-1], t))
    p_factor = dict(zip(with_factor.summary["strategy_id"], with_factor.summary["p_alpha_positive"]))
    p_bench = dict(zip(bench_only.summary["strategy_id"], bench_only.summary["p_alpha_positive"]))
    assert with_factor.summary["alpha_reference"][0] == "factors: SP500, MTUM-SP500"
    assert p_bench["harvest"] > 0.975, p_bench
    assert p_factor["harvest"] < 0.975, p_factor
    # the true alpha is kept: 0.0012 / 0.004 * sqrt(252) = 4.8 standard errors; the pooled,
    # sceptical prior on the information ratio (tau_ir ~ HalfNormal(0.05) against an IR of
    # 0.3) shrinks it, but shrinking it by half still leaves 2.4 se, P(alpha > 0) = 0.99
    assert p_factor["alpha"] > 0.975, p_factor
    # and harvest's loading on the factor spread is found (truth 1.0; se ~0.003/(0.004 sqrt 252) = 0.05)
    betas = decode_betas(with_factor.draws, ["harvest"], ("SP500", "MTUM-SP500"))[:, 0, :].mean(axis=0)
    np.testing.assert_allclose(betas, [1.0, 1.0], atol=0.2)
