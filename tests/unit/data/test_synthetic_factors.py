"""Tests of the synthetic universe's style factors and residual-risk truth
(twin_model.data.synthetic with twin_model.data._synthetic_factors).

Every expected number is derived here from the model's formulas (the factor's market
beta g = rho sigma_f / sigma_m and own risk sigma_u = sigma_f sqrt(1 - rho^2) are worked
from the config, not read from the code), and every statistical tolerance is Z = 4
standard errors derived from the model:

- sample mean:   SE = sd / sqrt(n)
- sample sd:     SE(s) / sigma ~ sqrt(2 + kappa) / (2 sqrt n), kappa the excess kurtosis of
                 the sum of independent parts: kappa = sum_c a_c^4 kappa_c / sd^4
- OLS coefficient: the residual is independent of the regressors X with variance s^2, so
                 Var(b_hat | X) = s^2 (X'X)^-1 whatever the residual's distribution
- correlation:   for X = sum a_c Z_c, Y = sum b_c Z_c (standardised, independent unit-variance
                 Z_c with excess kurtosis kappa_c), n Var(r) ~ mu22 + rho^2/4 (mu40 + mu04 +
                 2 mu22) - rho (mu31 + mu13), mu22 = 1 + 2 rho^2 + sum a^2 b^2 kappa,
                 mu31 = 3 rho + sum a^3 b kappa, mu40 = 3 + sum a^4 kappa
"""

from __future__ import annotations

import dataclasses
import datetime
import math

import numpy as np
import polars as pl
import pytest

from twin_model.data.synthetic import (
    SyntheticConfig,
    alpha_over_market,
    factor_returns,
    factor_table,
    generate,
    residual_correlation,
    residual_truth,
    true_daily_mean,
    truth_table,
)

ANCHOR = datetime.date(2015, 1, 2)
Z = 4.0
N_DAYS = 20_000


def weekdays_from(start: datetime.date, count: int) -> list[datetime.date]:
    """``count`` Monday-Friday dates from ``start``, built without the module under test."""
    out: list[datetime.date] = []
    day = start
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += datetime.timedelta(days=1)
    return out


def kurtosis_t(nu: float) -> float:
    """Excess kurtosis of a Student-t with nu > 4 dof."""
    return 6.0 / (nu - 4.0)


def correlation_se(a: np.ndarray, b: np.ndarray, kappa: np.ndarray, n: int) -> tuple[float, float]:
    """Correlation of X = sum a_c Z_c and Y = sum b_c Z_c and the SE of its sample estimate
    (module docstring); a and b are rescaled to unit variance here."""
    a = a / math.sqrt(a @ a)
    b = b / math.sqrt(b @ b)
    rho = float(a @ b)
    mu22 = 1 + 2 * rho**2 + np.sum(a**2 * b**2 * kappa)
    mu31 = 3 * rho + np.sum(a**3 * b * kappa)
    mu13 = 3 * rho + np.sum(a * b**3 * kappa)
    mu40 = 3 + np.sum(a**4 * kappa)
    mu04 = 3 + np.sum(b**4 * kappa)
    n_var = mu22 + rho**2 / 4 * (mu40 + mu04 + 2 * mu22) - rho * (mu31 + mu13)
    return rho, math.sqrt(n_var / n)


def ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of y on [1, x] and (X'X)^-1 (intercept first)."""
    design = np.column_stack([np.ones(y.size), x])
    inverse = np.linalg.inv(design.T @ design)
    return inverse @ design.T @ y, inverse


CONFIG = SyntheticConfig(
    n_strategies=12,
    seed=5,
    n_sectors=3,
    share_alpha=0.25,
    share_beta=0.25,
    share_decay=0.0,
    share_noise=0.25,
    share_factor=0.25,
    n_factors=2,
    factor_premium=(0.0004, 0.0002),
    factor_vol=(0.011, 0.009),
    factor_corr=(0.9, 0.85),
)


def hand_factor(config: SyntheticConfig, j: int) -> dict[str, float]:
    """Factor j's (1-based) premium, vol, corr, market beta g and own risk sigma_u, by hand."""
    a, vol, rho = config.factor_premium[j - 1], config.factor_vol[j - 1], config.factor_corr[j - 1]
    return {"a": a, "vol": vol, "rho": rho, "g": rho * vol / config.sigma_m, "u": vol * math.sqrt(1 - rho**2)}


@pytest.fixture(scope="module")
def sample():
    truth = truth_table(CONFIG)
    dates = weekdays_from(ANCHOR, N_DAYS)
    returns, benchmark = generate(CONFIG, dates, truth)
    ret = returns.pivot(on="strategy_id", index="date", values="ret").sort("date")
    ret = ret.select(truth["strategy_id"].to_list()).to_numpy()
    factors = factor_returns(CONFIG, dates).pivot(on="factor_id", index="date", values="ret").sort("date")
    return truth, ret, factors, benchmark


# --------------------------------------------------------------------------- truth


def test_factor_archetype_truth():
    truth = truth_table(CONFIG)
    assert truth.columns[:7] == [
        "strategy_id",
        "archetype",
        "sector",
        "alpha0",
        "beta",
        "beta_factor_1",
        "beta_factor_2",
    ]
    # 12 * (0.25, 0.25, 0, 0.25, 0.25): boundaries 3, 6, 6, 9 -> 3 alpha, 3 beta, 0 decay, 3 noise, 3 factor
    assert truth["archetype"].to_list() == ["alpha"] * 3 + ["beta"] * 3 + ["noise"] * 3 + ["factor"] * 3
    loadings = truth.select("beta_factor_1", "beta_factor_2").to_numpy()
    for q, row in enumerate(truth.filter(pl.col("archetype") == "factor").iter_rows(named=True)):
        assert row["alpha0"] == 0.0
        assert 0.002 <= row["sigma_idio"] <= 0.006 and -0.1 <= row["beta"] <= 0.3
        on, off = (f"beta_factor_{q % 2 + 1}", f"beta_factor_{(q + 1) % 2 + 1}")
        assert 1.0 <= row[on] <= 1.5 and row[off] == 0.0
    assert (loadings[:9] == 0.0).all()


def test_truth_vol_and_sharpe_follow_the_factor_formulas():
    truth = truth_table(CONFIG)
    f = [hand_factor(CONFIG, 1), hand_factor(CONFIG, 2)]
    for row in truth.iter_rows(named=True):
        load = [row["beta_factor_1"], row["beta_factor_2"]]
        exposure = row["beta"] + sum(lj * fj["g"] for lj, fj in zip(load, f, strict=True))
        var = (
            exposure**2 * CONFIG.sigma_m**2
            + sum(lj**2 * fj["u"] ** 2 for lj, fj in zip(load, f, strict=True))
            + CONFIG.sigma_s**2
            + row["sigma_idio"] ** 2
        )
        mean = row["alpha0"] + exposure * CONFIG.mu_m + sum(lj * fj["a"] for lj, fj in zip(load, f, strict=True))
        assert row["true_daily_vol"] == pytest.approx(math.sqrt(var), rel=1e-12)
        assert row["true_annual_sharpe_at_anchor"] == pytest.approx(math.sqrt(252) * mean / math.sqrt(var), rel=1e-12)
    means = true_daily_mean(truth, np.array([0, 100]), CONFIG.mu_m, factor_table(CONFIG))
    by_hand = truth["true_annual_sharpe_at_anchor"].to_numpy() * truth["true_daily_vol"].to_numpy() / math.sqrt(252)
    np.testing.assert_allclose(means[1], by_hand, rtol=1e-12, atol=1e-18)


def test_factor_table_is_the_configured_truth():
    table = factor_table(CONFIG)
    assert table["factor_id"].to_list() == ["market", "factor_1", "factor_2"]
    assert table["is_benchmark"].to_list() == [True, False, False]
    for j in (1, 2):
        row = table.row(j, named=True)
        f = hand_factor(CONFIG, j)
        assert row["premium"] == f["a"] and row["vol"] == f["vol"] and row["corr_market"] == f["rho"]
        assert row["market_beta"] == pytest.approx(f["g"], rel=1e-12)
        assert row["own_vol"] == pytest.approx(f["u"], rel=1e-12)
        assert row["daily_mean"] == pytest.approx(f["a"] + f["g"] * CONFIG.mu_m, rel=1e-12)


def test_residual_truth_and_its_correlation():
    config = SyntheticConfig(n_strategies=8, n_sectors=2, sigma_s=0.008)
    truth = truth_table(config)
    res = residual_truth(config, truth)
    sd = np.sqrt(0.008**2 + truth["sigma_idio"].to_numpy() ** 2)
    np.testing.assert_allclose(res["residual_sd"].to_numpy(), sd, rtol=1e-12)
    np.testing.assert_allclose(res["sector_corr"].to_numpy(), 0.008 / sd, rtol=1e-12)
    corr = residual_correlation(config, truth)
    for i in range(8):
        for j in range(8):
            expected = 1.0 if i == j else (0.008**2 / (sd[i] * sd[j]) if i % 2 == j % 2 else 0.0)
            assert corr[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- recovery


def test_factor_moments_and_correlation_with_the_market(sample):
    _, _, factors, _ = sample
    m = factors["market"].to_numpy()
    kappa = kurtosis_t(CONFIG.market_df)
    for j in (1, 2):
        f = hand_factor(CONFIG, j)
        x = factors[f"factor_{j}"].to_numpy()
        # E f = a + g mu_m, sd sigma_f
        assert abs(x.mean() - (f["a"] + f["g"] * CONFIG.mu_m)) < Z * f["vol"] / math.sqrt(N_DAYS)
        assert abs(x.std(ddof=1) / f["vol"] - 1) < Z * math.sqrt(2 + kappa) / (2 * math.sqrt(N_DAYS))
        # corr(f, m) = rho: X = m = Z_m, Y = g sigma_m Z_m + sigma_u Z_u
        rho, se = correlation_se(
            np.array([1.0, 0.0]), np.array([f["g"] * CONFIG.sigma_m, f["u"]]), np.full(2, kappa), N_DAYS
        )
        assert rho == pytest.approx(f["rho"], rel=1e-12)
        assert abs(np.corrcoef(m, x)[0, 1] - rho) < Z * se
        # the premium is the intercept of f on m; its residual sigma_u Z_u is independent of m
        coef, inverse = ols(x, m)
        assert abs(coef[0] - f["a"]) < Z * f["u"] * math.sqrt(inverse[0, 0])
        assert abs(coef[1] - f["g"]) < Z * f["u"] * math.sqrt(inverse[1, 1])
    # two factors correlate rho_1 rho_2 through the market only
    f1, f2 = hand_factor(CONFIG, 1), hand_factor(CONFIG, 2)
    rho, se = correlation_se(
        np.array([f1["g"] * CONFIG.sigma_m, f1["u"], 0.0]),
        np.array([f2["g"] * CONFIG.sigma_m, 0.0, f2["u"]]),
        np.full(3, kappa),
        N_DAYS,
    )
    assert rho == pytest.approx(0.9 * 0.85, rel=1e-12)
    assert abs(np.corrcoef(factors["factor_1"].to_numpy(), factors["factor_2"].to_numpy())[0, 1] - rho) < Z * se


def test_ols_over_the_factors_recovers_loadings_and_zero_alpha(sample):
    truth, ret, factors, _ = sample
    x = factors.select("market", "factor_1", "factor_2").to_numpy()
    for j, row in enumerate(truth.iter_rows(named=True)):
        coef, inverse = ols(ret[:, j], x)
        resid_sd = math.sqrt(CONFIG.sigma_s**2 + row["sigma_idio"] ** 2)
        se = resid_sd * np.sqrt(np.diag(inverse))
        expected = [row["alpha0"], row["beta"], row["beta_factor_1"], row["beta_factor_2"]]
        assert (np.abs(coef - expected) < Z * se).all(), (row["strategy_id"], coef, expected, se)


def test_factor_strategies_have_alpha_over_the_market_alone(sample):
    # Over the market alone the residual is l sigma_u Z_u + s + e (independent of m), and
    # the intercept is l a: what a benchmark-only model takes for alpha.
    truth, ret, factors, _ = sample
    m = factors["market"].to_numpy()
    for j, row in enumerate(truth.iter_rows(named=True)):
        if row["archetype"] != "factor":
            continue
        k = 1 if row["beta_factor_1"] else 2
        f = hand_factor(CONFIG, k)
        load = row[f"beta_factor_{k}"]
        coef, inverse = ols(ret[:, j], m)
        resid_sd = math.sqrt(load**2 * f["u"] ** 2 + CONFIG.sigma_s**2 + row["sigma_idio"] ** 2)
        se = resid_sd * math.sqrt(inverse[0, 0])
        assert abs(coef[0] - load * f["a"]) < Z * se
        assert alpha_over_market(truth, np.array([0]), factor_table(CONFIG))[0, j] == pytest.approx(load * f["a"])
        assert load * f["a"] > Z * se  # and that alpha is clearly non-zero in this sample


def test_sample_means_and_vols_of_factor_strategies(sample):
    truth, ret, _, _ = sample
    mean = true_daily_mean(truth, np.array([0]), CONFIG.mu_m, factor_table(CONFIG))[0]
    kappa_m = kurtosis_t(CONFIG.market_df)
    for j, row in enumerate(truth.iter_rows(named=True)):
        vol = row["true_daily_vol"]
        assert abs(ret[:, j].mean() - mean[j]) < Z * vol / math.sqrt(N_DAYS), row["strategy_id"]
        if row["archetype"] != "factor":
            continue
        k = 1 if row["beta_factor_1"] else 2
        f, load = hand_factor(CONFIG, k), row[f"beta_factor_{k}"]
        exposure = row["beta"] + load * f["g"]
        parts = [
            (exposure * CONFIG.sigma_m, kappa_m),
            (load * f["u"], kappa_m),
            (CONFIG.sigma_s, kappa_m),
            (row["sigma_idio"], kurtosis_t(row["tail_df"])),
        ]
        kappa = sum(a**4 * kap for a, kap in parts) / vol**4
        assert abs(ret[:, j].std(ddof=1) / vol - 1) < Z * math.sqrt(2 + kappa) / (2 * math.sqrt(N_DAYS))


def test_residuals_within_a_sector_correlate_as_the_truth_says(sample):
    truth, ret, factors, _ = sample
    x = factors.select("market", "factor_1", "factor_2").to_numpy()
    coefs = truth.select("beta", "beta_factor_1", "beta_factor_2").to_numpy()
    # residual over all factors with the true parameters: s_k + e_i
    resid = ret - truth["alpha0"].to_numpy() - x @ coefs.T
    res = residual_truth(CONFIG, truth)
    c = res["sector_corr"].to_numpy()
    kappa_m = kurtosis_t(CONFIG.market_df)
    rows = list(truth.iter_rows(named=True))
    checked = 0
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            same = rows[i]["sector"] == rows[j]["sector"]
            # independent parts: sector of i, own of i, own of j, sector of j (one when shared)
            own_i, own_j = math.sqrt(1 - c[i] ** 2), math.sqrt(1 - c[j] ** 2)
            if same:
                a, b = np.array([c[i], own_i, 0.0]), np.array([c[j], 0.0, own_j])
            else:
                a, b = np.array([c[i], own_i, 0.0, 0.0]), np.array([0.0, 0.0, own_j, c[j]])
            kappa = np.array([kappa_m, kurtosis_t(rows[i]["tail_df"]), kurtosis_t(rows[j]["tail_df"]), kappa_m])
            rho, se = correlation_se(a, b, kappa[: a.size], N_DAYS)
            assert rho == pytest.approx(c[i] * c[j] if same else 0.0, abs=1e-12)
            sample_corr = np.corrcoef(resid[:, i], resid[:, j])[0, 1]
            assert abs(sample_corr - rho) < Z * se, (rows[i]["strategy_id"], rows[j]["strategy_id"])
            checked += same
    assert checked == 3 * 6  # 3 sectors of 4 strategies: 6 pairs each


# --------------------------------------------------------------------------- frames, determinism


def test_factor_returns_frame_and_the_market_is_the_benchmark():
    dates = weekdays_from(ANCHOR, 30)
    frame = factor_returns(CONFIG, dates)
    assert frame.schema == pl.Schema(
        {"date": pl.Date, "factor_id": pl.String, "ret": pl.Float64, "is_benchmark": pl.Boolean}
    )
    assert frame.height == 30 * 3
    assert frame["factor_id"].to_list()[:3] == ["market", "factor_1", "factor_2"]
    market = frame.filter(pl.col("is_benchmark"))
    assert market["factor_id"].unique().to_list() == ["market"]
    _, benchmark = generate(CONFIG, dates)
    assert market["date"].to_list() == dates
    np.testing.assert_array_equal(market["ret"].to_numpy(), benchmark["market_return"].to_numpy())


def test_factor_returns_are_seeded_and_range_free():
    dates = weekdays_from(ANCHOR, 60)
    whole = factor_returns(CONFIG, dates)
    assert whole.equals(factor_returns(CONFIG, dates))
    parts = pl.concat([factor_returns(CONFIG, dates[:20]), factor_returns(CONFIG, dates[20:])])
    assert parts.equals(whole)
    other = factor_returns(dataclasses.replace(CONFIG, seed=6), dates)
    assert not np.allclose(other["ret"].to_numpy(), whole["ret"].to_numpy())
    # the factors depend on neither the strategies nor the sectors
    smaller = dataclasses.replace(CONFIG, n_strategies=3, n_sectors=1, share_factor=0.0, share_noise=0.5)
    assert factor_returns(smaller, dates).equals(whole)


def test_factors_without_factor_strategies_change_nothing_else():
    # Factor draws have their own stream and the other archetypes load 0 on every factor:
    # the returns and the truth (less the loading columns) are those without factors.
    base = SyntheticConfig(n_strategies=10, seed=9)
    with_factors = SyntheticConfig(n_strategies=10, seed=9, n_factors=3)
    dates = weekdays_from(ANCHOR, 40)
    truth = truth_table(with_factors)
    assert truth.drop("beta_factor_1", "beta_factor_2", "beta_factor_3").equals(truth_table(base))
    assert generate(with_factors, dates)[0].equals(generate(base, dates)[0])
    assert generate(with_factors, dates)[1].equals(generate(base, dates)[1])


# --------------------------------------------------------------------------- bad settings


def test_bad_factor_settings_raise_naming_the_setting():
    with pytest.raises(ValueError, match="share_factor"):
        SyntheticConfig(share_noise=0.1, share_factor=0.1)
    with pytest.raises(ValueError, match="factor_premium"):
        SyntheticConfig(n_factors=2, factor_premium=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="factor_corr"):
        SyntheticConfig(n_factors=1, factor_corr=1.5)
    with pytest.raises(ValueError, match="factor_vol"):
        SyntheticConfig(n_factors=1, factor_vol=-0.01)
    with pytest.raises(ValueError, match="sigma_m"):
        SyntheticConfig(n_factors=1, sigma_m=0.0)


def test_truth_and_config_factors_must_agree():
    dates = weekdays_from(ANCHOR, 5)
    with pytest.raises(ValueError, match="beta_factor_1"):
        generate(SyntheticConfig(n_factors=1), dates, truth_table(SyntheticConfig()))
    with pytest.raises(ValueError, match="factor_truth"):
        true_daily_mean(truth_table(CONFIG), np.array([0]), CONFIG.mu_m)
    with pytest.raises(ValueError, match="factor_truth"):
        alpha_over_market(truth_table(CONFIG), np.array([0]))
