"""Tests of the synthetic returns source (twin_model.data.synthetic).

Every expected number is derived here from the model's formulas, and every statistical
tolerance is a multiple (4) of a standard error derived from the model:

- mean:         SE = vol / sqrt(n)
- volatility:   Var(s^2) ~ sigma^4 (2 + kappa) / n, so SE(s) / sigma ~ sqrt(2 + kappa) / (2 sqrt n),
                with kappa the excess kurtosis of the return, summed from its independent
                parts: kappa = sum_c a_c^4 kappa_c / vol^4, kappa_c = 6 / (nu_c - 4)
- OLS beta:     the residual alpha(t) + s + e is independent of m, so
                SE = sqrt(sigma_s^2 + sigma_i^2) / (sigma_m sqrt n)
- correlation:  for standardised X, Y with moments mu_pq = E[X^p Y^q],
                n Var(r) ~ mu22 + rho^2/4 (mu40 + mu04 + 2 mu22) - rho (mu31 + mu13),
                where, for X = sum a_c Z_c and Y = sum b_c Z_c with independent unit-variance Z_c,
                mu22 = 1 + 2 rho^2 + sum a^2 b^2 kappa, mu31 = 3 rho + sum a^3 b kappa,
                mu40 = 3 + sum a^4 kappa (Gaussian case reduces to (1 - rho^2)^2).
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from twin_model.calendar import business_days
from twin_model.data.synthetic import (
    SyntheticConfig,
    generate,
    true_daily_mean,
    truth_table,
)

ANCHOR = datetime.date(2015, 1, 2)  # a Friday
Z = 4.0  # tolerance in standard errors


def weekdays_from(start: datetime.date, count: int) -> list[datetime.date]:
    """``count`` Monday-Friday dates from ``start``, built without the module under test."""
    out: list[datetime.date] = []
    day = start
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += datetime.timedelta(days=1)
    return out


def excess_kurtosis_t(nu: float | np.ndarray) -> float | np.ndarray:
    """Excess kurtosis of a Student-t with nu > 4 dof (unchanged by scaling)."""
    return 6.0 / (np.asarray(nu, dtype=float) - 4.0)


def wide(returns: pl.DataFrame, ids: list[str]) -> np.ndarray:
    """[days, strategies] matrix of ret, columns in ``ids`` order."""
    table = returns.pivot(on="strategy_id", index="date", values="ret").sort("date")
    return table.select(ids).to_numpy()


# --------------------------------------------------------------------------- long sample

LONG_N = 40
LONG_DAYS = 10_000


@pytest.fixture(scope="module")
def long_sample():
    config = SyntheticConfig(n_strategies=LONG_N, seed=11)
    truth = truth_table(config)
    dates = weekdays_from(ANCHOR, LONG_DAYS)
    returns, benchmark = generate(config, dates, truth)
    ids = truth["strategy_id"].to_list()
    return config, truth, wide(returns, ids), benchmark["market_return"].to_numpy()


def component_loadings(config: SyntheticConfig, row: dict) -> dict[tuple[str, object], tuple[float, float]]:
    """(loading, excess kurtosis) of each independent shock in one strategy's return."""
    kappa_m = float(excess_kurtosis_t(config.market_df))
    return {
        ("market", None): (row["beta"] * config.sigma_m, kappa_m),
        ("sector", row["sector"]): (config.sigma_s, kappa_m),
        ("idio", row["strategy_id"]): (row["sigma_idio"], float(excess_kurtosis_t(row["tail_df"]))),
    }


def hand_vol(config: SyntheticConfig, row: dict) -> float:
    return math.sqrt(row["beta"] ** 2 * config.sigma_m**2 + config.sigma_s**2 + row["sigma_idio"] ** 2)


# --------------------------------------------------------------------------- truth table


def test_truth_table_shape_ids_and_archetype_mix():
    config = SyntheticConfig(n_strategies=40)
    truth = truth_table(config)
    assert truth.columns == [
        "strategy_id",
        "archetype",
        "sector",
        "alpha0",
        "beta",
        "sigma_idio",
        "tail_df",
        "decay_start",
        "half_life",
        "true_daily_vol",
        "true_annual_sharpe_at_anchor",
    ]
    assert truth.schema["decay_start"] == pl.Int64
    assert truth.schema["half_life"] == pl.Float64
    assert truth["strategy_id"].to_list() == [f"syn_{i:04d}" for i in range(40)]
    # 40 * (0.3, 0.3, 0.2, 0.2) = 12, 12, 8, 8 in contiguous blocks.
    assert truth["archetype"].to_list() == ["alpha"] * 12 + ["beta"] * 12 + ["decay"] * 8 + ["noise"] * 8
    assert truth["sector"].to_list() == [f"sector_{i % 4}" for i in range(40)]


def test_archetype_rounding_goes_to_the_last():
    # N = 7: cumulative boundaries round(2.1)=2, round(4.2)=4, round(5.6)=6 -> 2, 2, 2, 1
    truth = truth_table(SyntheticConfig(n_strategies=7))
    assert truth["archetype"].to_list() == ["alpha", "alpha", "beta", "beta", "decay", "decay", "noise"]
    with pytest.raises(ValueError, match="sum to 1"):
        SyntheticConfig(share_alpha=0.5)


def test_truth_table_ranges_and_derived_columns():
    config = SyntheticConfig(n_strategies=400)
    truth = truth_table(config)
    for row in truth.iter_rows(named=True):
        vol = hand_vol(config, row)
        assert row["true_daily_vol"] == pytest.approx(vol, rel=1e-12)
        sharpe = math.sqrt(252) * (row["alpha0"] + row["beta"] * config.mu_m) / vol
        assert row["true_annual_sharpe_at_anchor"] == pytest.approx(sharpe, rel=1e-12, abs=1e-15)
        assert 5.0 <= row["tail_df"] <= 10.0
        alpha_sharpe = math.sqrt(252) * row["alpha0"] / vol
        kind = row["archetype"]
        if kind == "alpha":
            assert 0.5 <= alpha_sharpe <= 1.5
            assert -0.1 <= row["beta"] <= 0.3
        elif kind == "beta":
            assert row["alpha0"] == 0.0
            assert 0.8 <= row["beta"] <= 1.2
        elif kind == "decay":
            assert 1.0 <= alpha_sharpe <= 2.0
            assert 252 <= row["decay_start"] <= 504
            assert 20.0 <= row["half_life"] <= 60.0
        else:
            assert kind == "noise"
            assert row["alpha0"] == 0.0
            assert -0.1 <= row["beta"] <= 0.3
        if kind != "decay":
            assert row["decay_start"] is None and row["half_life"] is None


def test_truth_table_is_seeded():
    a = truth_table(SyntheticConfig(seed=3))
    assert a.equals(truth_table(SyntheticConfig(seed=3)))
    assert not a.equals(truth_table(SyntheticConfig(seed=4)))


# --------------------------------------------------------------------------- frames and determinism


def test_generated_frames_have_the_warehouse_shape():
    from twin_model.contracts import table_spec, validate

    config = SyntheticConfig(n_strategies=6)
    dates = weekdays_from(ANCHOR, 15)
    returns, benchmark = generate(config, dates)
    assert returns.schema == pl.Schema(
        {"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean}
    )
    assert benchmark.schema == pl.Schema({"date": pl.Date, "market_return": pl.Float64, "close": pl.Float64})
    assert returns.height == 15 * 6 and benchmark.height == 15
    assert returns["available"].all()
    assert returns.equals(returns.sort(["date", "strategy_id"]))
    assert benchmark["date"].to_list() == dates
    validate(returns, table_spec("raw.strategy_returns"))


def test_same_inputs_give_identical_frames():
    config = SyntheticConfig()
    dates = weekdays_from(ANCHOR, 60)
    first = generate(config, dates)
    second = generate(config, dates)
    assert first[0].equals(second[0])
    assert first[1].equals(second[1])


def test_split_ranges_equal_whole_range():
    config = SyntheticConfig()
    dates = weekdays_from(ANCHOR, 90)
    whole_r, whole_b = generate(config, dates)
    parts = [generate(config, dates[:25]), generate(config, dates[25:70]), generate(config, dates[70:])]
    assert pl.concat([p[0] for p in parts]).equals(whole_r)
    assert pl.concat([p[1] for p in parts]).equals(whole_b)
    # Order of the request does not matter either.
    shuffled = list(reversed(dates[40:50]))
    assert generate(config, shuffled)[0].equals(whole_r.filter(pl.col("date").is_in(dates[40:50])))


def test_market_does_not_depend_on_universe_size():
    dates = weekdays_from(ANCHOR + datetime.timedelta(days=10), 20)
    small = generate(SyntheticConfig(n_strategies=3), dates)[1]
    large = generate(SyntheticConfig(n_strategies=50), dates)[1]
    assert small.equals(large)


def test_different_seed_differs():
    dates = weekdays_from(ANCHOR, 20)
    a_r, a_b = generate(SyntheticConfig(seed=7), dates)
    b_r, b_b = generate(SyntheticConfig(seed=8), dates)
    assert not np.allclose(a_r["ret"].to_numpy(), b_r["ret"].to_numpy())
    assert not np.allclose(a_b["market_return"].to_numpy(), b_b["market_return"].to_numpy())


# --------------------------------------------------------------------------- recovery of the truth


def test_sample_means_recover_true_means(long_sample):
    config, truth, ret, _ = long_sample
    n = ret.shape[0]
    for j, row in enumerate(truth.iter_rows(named=True)):
        if row["archetype"] == "decay":
            continue
        expected = row["alpha0"] + row["beta"] * config.mu_m
        se = hand_vol(config, row) / math.sqrt(n)
        assert abs(ret[:, j].mean() - expected) < Z * se, row["strategy_id"]


def test_sample_vols_recover_true_vols(long_sample):
    config, truth, ret, _ = long_sample
    n = ret.shape[0]
    for j, row in enumerate(truth.iter_rows(named=True)):
        if row["archetype"] == "decay":
            continue
        vol = hand_vol(config, row)
        kappa = sum(a**4 * k for a, k in component_loadings(config, row).values()) / vol**4
        rel_se = math.sqrt(2.0 + kappa) / (2.0 * math.sqrt(n))
        assert Z * rel_se < 0.065  # the derived tolerance is the "~5%" one
        assert abs(ret[:, j].std(ddof=1) / vol - 1.0) < Z * rel_se, row["strategy_id"]


def test_ols_beta_on_market_recovers_true_beta(long_sample):
    config, truth, ret, market = long_sample
    n = ret.shape[0]
    m = market - market.mean()
    for j, row in enumerate(truth.iter_rows(named=True)):
        slope = float(m @ (ret[:, j] - ret[:, j].mean()) / (m @ m))
        se = math.sqrt(config.sigma_s**2 + row["sigma_idio"] ** 2) / (config.sigma_m * math.sqrt(n))
        assert abs(slope - row["beta"]) < Z * se, row["strategy_id"]


def test_market_moments_and_fat_tails(long_sample):
    config, _, _, market = long_sample
    n = market.size
    assert abs(market.mean() - config.mu_m) < Z * config.sigma_m / math.sqrt(n)
    kappa = float(excess_kurtosis_t(config.market_df))
    assert abs(market.std(ddof=1) / config.sigma_m - 1.0) < Z * math.sqrt(2.0 + kappa) / (2.0 * math.sqrt(n))
    # Gaussian sample excess kurtosis has SE sqrt(24/n) ~ 0.05; the t(5) truth is 6.
    assert stats.kurtosis(market, fisher=True) > Z * math.sqrt(24.0 / n)


def correlation_truth(config: SyntheticConfig, x: dict, y: dict, n: int) -> tuple[float, float]:
    """Factor-model correlation of two strategies and the SE of its sample estimate."""
    vx, vy = hand_vol(config, x), hand_vol(config, y)
    same_sector = x["sector"] == y["sector"]
    cov = x["beta"] * y["beta"] * config.sigma_m**2 + (config.sigma_s**2 if same_sector else 0.0)
    rho = cov / (vx * vy)
    lx, ly = component_loadings(config, x), component_loadings(config, y)
    a = {key: (load / vx, kap) for key, (load, kap) in lx.items()}
    b = {key: (load / vy, kap) for key, (load, kap) in ly.items()}
    keys = set(a) | set(b)

    def loading(d, key):
        return d.get(key, (0.0, 0.0))

    def cross(p: int, q: int) -> float:
        total = 0.0
        for key in keys:
            ax, kap_a = loading(a, key)
            by, kap_b = loading(b, key)
            total += ax**p * by**q * (kap_a if key in a else kap_b)
        return total

    # consistency: the correlation is also the sum of products of standardised loadings
    assert rho == pytest.approx(sum(loading(a, k)[0] * loading(b, k)[0] for k in keys), rel=1e-12, abs=1e-15)
    mu22 = 1.0 + 2.0 * rho**2 + cross(2, 2)
    mu31 = 3.0 * rho + cross(3, 1)
    mu13 = 3.0 * rho + cross(1, 3)
    mu40 = 3.0 + cross(4, 0)
    mu04 = 3.0 + cross(0, 4)
    n_var = mu22 + rho**2 / 4.0 * (mu40 + mu04 + 2.0 * mu22) - rho * (mu31 + mu13)
    return rho, math.sqrt(n_var / n)


def test_pairwise_correlations_follow_the_factor_model(long_sample):
    config, truth, ret, _ = long_sample
    n = ret.shape[0]
    rows = [r for r in truth.iter_rows(named=True) if r["archetype"] != "decay"]
    index = {r["strategy_id"]: j for j, r in enumerate(truth.iter_rows(named=True))}
    pairs = [(x, y) for i, x in enumerate(rows) for y in rows[i + 1 :] if x["sector"] == y["sector"]]
    # and a few pairs across sectors, where only the market links them
    pairs += [(rows[0], rows[1]), (rows[0], rows[13]), (rows[12], rows[13])]
    assert len(pairs) > 50
    for x, y in pairs:
        rho, se = correlation_truth(config, x, y, n)
        sample = np.corrcoef(ret[:, index[x["strategy_id"]]], ret[:, index[y["strategy_id"]]])[0, 1]
        assert abs(sample - rho) < Z * se, (x["strategy_id"], y["strategy_id"], sample, rho, se)


def test_correlation_se_formula_reduces_to_gaussian_case():
    # With every kurtosis zero the formula must give (1 - rho^2)^2 / n.
    config = SyntheticConfig(market_df=1e12)
    x = {"beta": 1.0, "sector": "sector_0", "strategy_id": "a", "sigma_idio": 0.004, "tail_df": 1e12}
    y = {"beta": 0.9, "sector": "sector_0", "strategy_id": "b", "sigma_idio": 0.005, "tail_df": 1e12}
    rho, se = correlation_truth(config, x, y, 100)
    assert se == pytest.approx((1.0 - rho**2) / 10.0, rel=1e-6)


# --------------------------------------------------------------------------- alpha decay


def test_true_mean_halves_after_one_half_life():
    truth = pl.DataFrame(
        {
            "alpha0": [0.001, 0.002],
            "beta": [0.5, 1.0],
            "decay_start": [10, None],
            "half_life": [20.0, None],
        },
        schema={"alpha0": pl.Float64, "beta": pl.Float64, "decay_start": pl.Int64, "half_life": pl.Float64},
    )
    mu_m = 0.0004
    mean = true_daily_mean(truth, np.array([0, 9, 10, 30, 50]), mu_m)
    assert mean.shape == (5, 2)
    # decaying: 0.001 until t = 10, 0.0005 at 30 (one half-life), 0.00025 at 50; plus 0.5 * 0.0004
    assert mean[:, 0] == pytest.approx([0.0012, 0.0012, 0.0012, 0.0007, 0.00045], rel=1e-12)
    # never decays: 0.002 + 1.0 * 0.0004
    assert mean[:, 1] == pytest.approx([0.0024] * 5, rel=1e-12)


def test_realised_mean_after_decay_is_beta_times_market_mean(long_sample):
    config, truth, ret, _ = long_sample
    n_days = ret.shape[0]
    decays = [(j, r) for j, r in enumerate(truth.iter_rows(named=True)) if r["archetype"] == "decay"]
    assert decays
    for j, row in decays:
        # Ten half-lives later at most 2**-10 of alpha0 is left: far below the SE.
        start = row["decay_start"] + math.ceil(10 * row["half_life"])
        window = ret[start:, j]
        se = hand_vol(config, row) / math.sqrt(window.size)
        assert window.size > n_days - 1200
        assert row["alpha0"] * 2.0**-10 < 0.1 * se
        assert abs(window.mean() - row["beta"] * config.mu_m) < Z * se, row["strategy_id"]
        # and the initial alpha is clearly gone: the realised mean is far from alpha0 + beta mu_m
        assert abs(window.mean() - (row["alpha0"] + row["beta"] * config.mu_m)) > Z * se, row["strategy_id"]


# --------------------------------------------------------------------------- benchmark


def test_benchmark_close_is_cumulative_from_anchor_and_range_free():
    config = SyntheticConfig(n_strategies=2)
    dates = weekdays_from(ANCHOR, 300)
    _, whole = generate(config, dates)
    m = whole["market_return"].to_numpy()
    expected = 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + m[1:]]))
    assert whole["close"][0] == 100.0
    np.testing.assert_allclose(whole["close"].to_numpy(), expected, rtol=1e-12)
    # A window far from the anchor, requested alone, has the same closes.
    _, window = generate(config, dates[250:260])
    assert window.equals(whole.slice(250, 10))


# --------------------------------------------------------------------------- bad dates


def test_weekend_date_raises_naming_it():
    saturday = datetime.date(2015, 1, 10)
    assert saturday.weekday() == 5
    with pytest.raises(ValueError, match="2015-01-10"):
        generate(SyntheticConfig(), [datetime.date(2015, 1, 9), saturday])


def test_date_before_anchor_raises_naming_it():
    before = datetime.date(2014, 12, 31)
    with pytest.raises(ValueError, match="2014-12-31"):
        generate(SyntheticConfig(), [before, ANCHOR])


def test_duplicate_date_raises_naming_it():
    with pytest.raises(ValueError, match="2015-01-05"):
        generate(SyntheticConfig(), [datetime.date(2015, 1, 5), datetime.date(2015, 1, 5)])


def test_business_days_helper_matches_weekdays():
    assert business_days(ANCHOR, datetime.date(2015, 3, 31)) == [
        d for d in weekdays_from(ANCHOR, 100) if d <= datetime.date(2015, 3, 31)
    ]


# --------------------------------------------------------------------------- scale


def test_scale_1000_strategies_one_year():
    config = SyntheticConfig(n_strategies=1000)
    dates = weekdays_from(ANCHOR, 252)
    returns, benchmark = generate(config, dates)
    assert returns.shape == (252_000, 4)
    assert benchmark.shape == (252, 3)
    assert returns["strategy_id"].n_unique() == 1000
    ret = returns["ret"].to_numpy()
    assert np.isfinite(ret).all()
    assert ret.min() > -1.0 and ret.max() <= 0.5
