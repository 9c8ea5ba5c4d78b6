"""Unit tests of twin_model.statistics.

Expected numbers come from independent derivations: formulas worked by hand on tiny
series (written out in the test), the standard library (``statistics``), numpy, scipy and
pandas, never from the module's own output.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics as pystats

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats

from twin_model import statistics as S

EULER_GAMMA = 0.5772156649015329
SQRT252 = math.sqrt(252)


def t_sample(n: int = 300, seed: int = 0) -> np.ndarray:
    """Fat-tailed, skew-free-ish daily returns."""
    return np.random.default_rng(seed).standard_t(4, n) * 0.01 + 0.0005


def psr_by_hand(r: np.ndarray, sr_star: float) -> float:
    sr = np.mean(r) / np.std(r, ddof=1)
    g3 = stats.skew(r, bias=False)
    g4 = stats.kurtosis(r, bias=False, fisher=False)
    return stats.norm.cdf((sr - sr_star) * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))


# ------------------------------------------------------------------ returns and ratios


def test_annual_return_and_volatility_by_hand():
    r = [0.01, -0.02, 0.03]
    growth = 1.01 * 0.98 * 1.03  # 1.019494
    assert S.annual_return(r) == pytest.approx(growth ** (252 / 3) - 1, rel=1e-12)
    assert S.annual_return(r, periods_per_year=12) == pytest.approx(growth**4 - 1, rel=1e-12)
    # mean 0.02/3; squared deviations (1/300)^2, (8/300)^2, (7/300)^2 over n - 1 = 2
    std = math.sqrt(((1 / 300) ** 2 + (8 / 300) ** 2 + (7 / 300) ** 2) / 2)
    assert std == pytest.approx(pystats.stdev(r))
    assert S.annual_volatility(r) == pytest.approx(std * SQRT252, rel=1e-12)


def test_annual_return_total_loss_is_minus_one():
    assert S.annual_return([0.1, -1.0, 0.2]) == -1.0


def test_sharpe_by_hand_and_risk_free_shift():
    r = [0.01, 0.02, 0.03, 0.04]
    std = math.sqrt((0.015**2 + 0.005**2 + 0.005**2 + 0.015**2) / 3)
    assert S.sharpe_ratio(r) == pytest.approx(0.025 / std * SQRT252, rel=1e-12)
    # a per-period risk-free rate lowers the mean excess return and leaves the std alone
    assert S.sharpe_ratio(r, risk_free=0.005) == pytest.approx(0.020 / std * SQRT252, rel=1e-12)
    assert S.sharpe_ratio(r, periods_per_year=12) == pytest.approx(0.025 / std * math.sqrt(12), rel=1e-12)


def test_sortino_downside_averages_over_all_periods():
    r = [0.02, -0.01, 0.03, -0.02]
    downside = math.sqrt((0.01**2 + 0.02**2) / 4)  # all 4 periods, not only the 2 losses
    assert S.sortino_ratio(r) == pytest.approx(0.005 / downside * SQRT252, rel=1e-12)
    # target 0.01: excess [0.01, -0.02, 0.02, -0.03], mean -0.005
    downside = math.sqrt((0.02**2 + 0.03**2) / 4)
    assert S.sortino_ratio(r, target=0.01) == pytest.approx(-0.005 / downside * SQRT252, rel=1e-12)


def test_sortino_without_downside_is_nan():
    assert math.isnan(S.sortino_ratio([0.01, 0.02, 0.0]))


def test_max_drawdown_starts_from_wealth_one():
    # wealth 0.8, 0.88, 1.056: the first return is the whole drawdown
    assert S.max_drawdown([-0.2, 0.1, 0.2]) == pytest.approx(-0.2, rel=1e-12)
    # wealth 0.9, 0.945, 1.134, 0.7938, 0.87318: peak 1.134 then trough 0.7938
    assert S.max_drawdown([-0.1, 0.05, 0.2, -0.3, 0.1]) == pytest.approx(0.7938 / 1.134 - 1, rel=1e-12)
    assert S.max_drawdown([0.01, 0.02, 0.03]) == 0.0


def test_max_drawdown_matches_pandas():
    pd = pytest.importorskip("pandas")
    r = pd.Series(t_sample(200, seed=3))
    wealth = pd.concat([pd.Series([1.0]), (1 + r).cumprod()], ignore_index=True)
    expected = (wealth / wealth.cummax() - 1).min()
    assert S.max_drawdown(r.to_numpy()) == pytest.approx(expected, rel=1e-12)


def test_max_drawdown_duration_counts_periods_below_peak():
    # wealth 1.1, 1.045, 0.99275, 1.19130 (new peak), 1.17939, same, same, 1.769
    # spells below a peak: periods 2-3 (2 long) and periods 5-7 (3 long)
    assert S.max_drawdown_duration([0.1, -0.05, -0.05, 0.2, -0.01, 0.0, 0.0, 0.5]) == 3
    # below the starting wealth 1 from the first period; 0.9 * 1.2 = 1.08 recovers
    assert S.max_drawdown_duration([-0.1, 0.0, 0.2]) == 2
    # regaining exactly the previous peak ends the spell: 0.5 * 2 = 1
    assert S.max_drawdown_duration([-0.5, 1.0, 0.0, -0.1]) == 1
    assert S.max_drawdown_duration([0.01, 0.02]) == 0
    assert isinstance(S.max_drawdown_duration([0.01]), int)


def test_calmar_is_annual_return_over_drawdown():
    r = [-0.2, 0.1, 0.2]
    expected = ((0.8 * 1.1 * 1.2) ** (252 / 3) - 1) / 0.2
    assert S.calmar_ratio(r) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(S.calmar_ratio([0.01, 0.02]))  # no drawdown


def test_hit_rate_counts_strictly_positive_returns():
    assert S.hit_rate([0.01, 0.0, -0.01, 0.02]) == 0.5
    assert S.hit_rate([np.nan, 0.01]) == 1.0


def test_all_negative_series():
    r = [-0.01, -0.02, -0.03]
    assert S.max_drawdown(r) == pytest.approx(0.99 * 0.98 * 0.97 - 1, rel=1e-12)
    assert S.max_drawdown_duration(r) == 3
    assert S.hit_rate(r) == 0.0
    assert S.annual_return(r) == pytest.approx((0.99 * 0.98 * 0.97) ** 84 - 1, rel=1e-12)
    downside = math.sqrt((0.01**2 + 0.02**2 + 0.03**2) / 3)
    assert S.sortino_ratio(r) == pytest.approx(-0.02 / downside * SQRT252, rel=1e-12)
    assert S.sharpe_ratio(r) == pytest.approx(-0.02 / 0.01 * SQRT252, rel=1e-12)  # std = 0.01
    # sorted [-0.03, -0.02, -0.01]: position (3 - 1) * 0.05 = 0.1 between the first two
    assert S.value_at_risk(r) == pytest.approx(-0.03 + 0.1 * 0.01, rel=1e-12)
    assert S.conditional_value_at_risk(r) == pytest.approx(-0.03, rel=1e-12)
    assert S.calmar_ratio(r) < 0


# ---------------------------------------------------------------------- moments, VaR


def test_skewness_and_kurtosis_match_scipy():
    r = t_sample()
    assert S.skewness(r) == pytest.approx(stats.skew(r, bias=False), rel=1e-10)
    assert S.kurtosis(r) == pytest.approx(stats.kurtosis(r, bias=False, fisher=False), rel=1e-10)
    small = [0.01, -0.03, 0.02, 0.05, -0.01]
    assert S.skewness(small) == pytest.approx(stats.skew(small, bias=False), rel=1e-10)
    assert S.kurtosis(small) == pytest.approx(stats.kurtosis(small, bias=False, fisher=False), rel=1e-10)


def test_value_at_risk_linear_interpolation_by_hand():
    r = np.arange(-10, 11) * 0.01  # 21 values: position (21 - 1) * 0.05 = 1 exactly
    np.random.default_rng(1).shuffle(r)
    assert S.value_at_risk(r) == pytest.approx(-0.09, rel=1e-12)
    assert S.conditional_value_at_risk(r) == pytest.approx(-0.095, rel=1e-12)
    r11 = np.arange(-5, 6) * 0.01  # position 0.5: half way between -0.05 and -0.04
    assert S.value_at_risk(r11) == pytest.approx(-0.045, rel=1e-12)
    assert S.conditional_value_at_risk(r11) == pytest.approx(-0.05, rel=1e-12)
    assert S.value_at_risk(r11, level=0.5) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("n", [5, 20, 21, 41, 63, 252, 253])
def test_value_at_risk_matches_numpy(n):
    r = t_sample(n, seed=n)
    q = np.quantile(r, 0.05)
    assert S.value_at_risk(r) == pytest.approx(q, rel=1e-12)
    assert S.conditional_value_at_risk(r) == pytest.approx(r[r <= q].mean(), rel=1e-12)
    q1 = np.quantile(r, 0.01)
    assert S.value_at_risk(r, level=0.01) == pytest.approx(q1, rel=1e-12)


def test_cornish_fisher_quantile_reduces_to_normal():
    for level in (0.01, 0.05, 0.2):
        assert S.cornish_fisher_quantile(level) == pytest.approx(stats.norm.ppf(level), rel=1e-12)
    # skew only: z + (z^2 - 1) S/6 - (2 z^3 - 5 z) S^2 / 36
    z = stats.norm.ppf(0.05)
    expected = z + (z * z - 1) * -0.5 / 6 - (2 * z**3 - 5 * z) * 0.25 / 36
    assert S.cornish_fisher_quantile(0.05, skew=-0.5) == pytest.approx(expected, rel=1e-12)


def test_cornish_fisher_var_from_scipy_moments():
    r = t_sample(500, seed=7)
    z = stats.norm.ppf(0.05)
    s, k = stats.skew(r, bias=False), stats.kurtosis(r, bias=False)  # k is excess
    z_cf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
    assert S.cornish_fisher_var(r) == pytest.approx(r.mean() + z_cf * r.std(ddof=1), rel=1e-10)


def test_cornish_fisher_cvar_is_mean_of_cf_quantile_over_the_tail():
    r = t_sample(500, seed=7)
    s, k = stats.skew(r, bias=False), stats.kurtosis(r, bias=False)

    def z_cf(p):
        z = stats.norm.ppf(p)
        return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36

    for level in (0.05, 0.01):
        tail_mean = integrate.quad(z_cf, 0, level, limit=200)[0] / level
        expected = r.mean() + tail_mean * r.std(ddof=1)
        assert S.cornish_fisher_cvar(r, level=level) == pytest.approx(expected, rel=1e-7)


def test_cornish_fisher_with_zero_skew_and_excess_kurtosis_is_normal():
    # symmetric 5-point sample {-t, -1, 0, 1, t}: skew 0; with n = 5 the adjusted excess
    # kurtosis is 4 (m4/m2^2 - 2), zero when 5(1 + t^4) = 4(1 + t^2)^2, t^2 = 4 + sqrt(15)
    t = math.sqrt(4 + math.sqrt(15))
    r = 0.001 + 0.01 * np.array([-t, -1.0, 0.0, 1.0, t])
    assert stats.skew(r, bias=False) == pytest.approx(0, abs=1e-12)
    assert stats.kurtosis(r, bias=False) == pytest.approx(0, abs=1e-12)
    z, sd = stats.norm.ppf(0.05), r.std(ddof=1)
    assert S.cornish_fisher_var(r) == pytest.approx(0.001 + z * sd, rel=1e-10)
    assert S.cornish_fisher_cvar(r) == pytest.approx(0.001 - sd * stats.norm.pdf(z) / 0.05, rel=1e-10)


# ------------------------------------------------------------------ PSR, DSR, min TRL


def test_psr_is_half_when_sharpe_equals_benchmark():
    r = t_sample(100, seed=2)
    sr = pystats.mean(r) / pystats.stdev(r)
    assert S.probabilistic_sharpe_ratio(r, benchmark_sharpe=sr) == pytest.approx(0.5, abs=1e-9)


def test_psr_formula():
    r = t_sample(250, seed=4)
    assert S.probabilistic_sharpe_ratio(r) == pytest.approx(psr_by_hand(r, 0.0), rel=1e-10)
    assert S.probabilistic_sharpe_ratio(r, benchmark_sharpe=0.05) == pytest.approx(psr_by_hand(r, 0.05), rel=1e-10)


def test_dsr_worked_example():
    trials = [0.1, 0.2, 0.3]  # mean 0.2, sample variance (0.01 + 0 + 0.01) / 2 = 0.01
    sr0 = 0.1 * ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / 3) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (3 * math.e)))
    assert S.expected_maximum_sharpe(trials) == pytest.approx(sr0, rel=1e-12)
    assert S.expected_maximum_sharpe(trials + [np.nan]) == pytest.approx(sr0, rel=1e-12)
    r = t_sample(250, seed=5) + 0.002
    assert S.deflated_sharpe_ratio(r, trials) == pytest.approx(psr_by_hand(r, sr0), rel=1e-10)
    assert S.deflated_sharpe_ratio(r, trials) < S.probabilistic_sharpe_ratio(r)
    assert math.isnan(S.expected_maximum_sharpe([0.1]))


def test_min_track_record_length_worked_example():
    r = t_sample(250, seed=6) + 0.001
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r, bias=False), stats.kurtosis(r, bias=False, fisher=False)
    var = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    expected = 1 + var * (stats.norm.ppf(0.95) / sr) ** 2
    trl = S.min_track_record_length(r)
    assert trl == pytest.approx(expected, rel=1e-10)
    # at n = min TRL the PSR formula gives exactly the confidence
    assert stats.norm.cdf(sr * math.sqrt(trl - 1) / math.sqrt(var)) == pytest.approx(0.95, rel=1e-10)
    expected99 = 1 + var * (stats.norm.ppf(0.99) / (sr - 0.02)) ** 2
    assert S.min_track_record_length(r, benchmark_sharpe=0.02, confidence=0.99) == pytest.approx(expected99, rel=1e-10)
    assert S.min_track_record_length(r, benchmark_sharpe=sr + 0.01) == math.inf
    assert S.min_track_record_length(-r) == math.inf


# --------------------------------------------------------------------------- alpha/beta


def test_alpha_beta_recover_linear_relation():
    m = np.random.default_rng(8).normal(0.0003, 0.01, 100)
    alpha, beta = S.alpha_beta(0.0004 + 1.3 * m, m)
    assert beta == pytest.approx(1.3, rel=1e-10)
    assert alpha == pytest.approx(1.0004**252 - 1, rel=1e-8)
    rf = 0.0001  # r - rf = a + b (m - rf)
    alpha, beta = S.alpha_beta(rf + 0.0002 + 0.7 * (m - rf), m, risk_free=rf)
    assert beta == pytest.approx(0.7, rel=1e-10)
    assert alpha == pytest.approx(1.0002**252 - 1, rel=1e-8)


def test_alpha_beta_matches_scipy_linregress_and_drops_nan_pairs():
    rng = np.random.default_rng(9)
    m = rng.normal(0, 0.01, 60)
    r = 0.5 * m + rng.normal(0.0002, 0.005, 60)
    fit = stats.linregress(m, r)
    r_nan, m_nan = np.append(r, [np.nan, 0.01]), np.append(m, [0.02, np.nan])
    alpha, beta = S.alpha_beta(r_nan, m_nan)
    assert beta == pytest.approx(fit.slope, rel=1e-10)
    assert alpha == pytest.approx((1 + fit.intercept) ** 252 - 1, rel=1e-8)


def test_alpha_beta_degenerate_inputs():
    assert all(math.isnan(v) for v in S.alpha_beta([0.01, 0.02], [0.01, 0.01]))  # constant benchmark
    assert all(math.isnan(v) for v in S.alpha_beta([0.01], [0.02]))
    with pytest.raises(ValueError):
        S.alpha_beta([0.01, 0.02], [0.01])
    with pytest.raises(ValueError):
        S.alpha_beta([0.01, 0.02], [0.01, np.inf])


# -------------------------------------------------------------------------- month to date


def _days(*texts):
    return [dt.date.fromisoformat(t) for t in texts]


def test_month_to_date_pnl_and_trough_by_hand():
    dates = _days("2024-02-28", "2024-02-29", "2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07")
    r = [0.05, -0.04, -0.02, 0.01, np.nan, -0.03, 0.10]
    as_of = dt.date(2024, 3, 6)
    # March to the 6th: -0.02, +0.01, (NaN dropped), -0.03; the 7th is after as_of
    path = [0.98 - 1, 0.98 * 1.01 - 1, 0.98 * 1.01 * 0.97 - 1]
    assert S.month_to_date_pnl(r, dates, as_of) == pytest.approx(path[-1], rel=1e-12)
    assert S.month_to_date_trough(r, dates, as_of) == pytest.approx(min(path), rel=1e-12)
    # dates in any order, as a polars Series
    order = [6, 3, 0, 5, 1, 4, 2]
    shuffled_r = pl.Series([r[i] for i in order]).fill_nan(None)
    shuffled_d = pl.Series([dates[i] for i in order], dtype=pl.Date)
    assert S.month_to_date_pnl(shuffled_r, shuffled_d, as_of) == pytest.approx(path[-1], rel=1e-12)
    assert S.month_to_date_trough(shuffled_r, shuffled_d, as_of) == pytest.approx(min(path), rel=1e-12)


def test_month_to_date_trough_starts_from_zero():
    dates = _days("2024-03-01", "2024-03-04")
    assert S.month_to_date_trough([0.01, 0.02], dates, dt.date(2024, 3, 4)) == 0.0
    assert S.month_to_date_pnl([0.01, 0.02], dates, dt.date(2024, 4, 1)) == 0.0  # nothing in April
    assert S.month_to_date_trough([0.01, 0.02], dates, dt.date(2024, 4, 1)) == 0.0


# ------------------------------------------------------------- input policy, edge cases

ONE_SERIES = [
    S.annual_return, S.annual_volatility, S.sharpe_ratio, S.sortino_ratio, S.max_drawdown,
    S.max_drawdown_duration, S.calmar_ratio, S.skewness, S.kurtosis, S.value_at_risk,
    S.conditional_value_at_risk, S.cornish_fisher_var, S.cornish_fisher_cvar,
    S.probabilistic_sharpe_ratio, S.min_track_record_length, S.hit_rate,
]  # fmt: skip


def _same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("fn", ONE_SERIES, ids=lambda f: f.__name__)
def test_nan_dropped_and_polars_equals_numpy(fn):
    r = t_sample(60, seed=11)
    holes = np.insert(r, [0, 10, 10, 30, 60], np.nan)
    assert _same(fn(holes), fn(r))
    assert _same(fn(pl.Series(holes).fill_nan(None)), fn(r))  # polars nulls
    assert _same(fn(pl.Series(r)), fn(r))
    assert _same(fn(list(r)), fn(r))


def test_nan_dropped_for_the_pair_and_dsr_functions():
    r = t_sample(60, seed=12)
    holes = np.insert(r, [5, 40], np.nan)
    trials = [0.01, 0.05, 0.08]
    assert S.deflated_sharpe_ratio(holes, trials) == pytest.approx(S.deflated_sharpe_ratio(r, trials), rel=1e-12)
    assert S.deflated_sharpe_ratio(pl.Series(r), pl.Series(trials)) == pytest.approx(
        S.deflated_sharpe_ratio(r, trials), rel=1e-12
    )
    m = t_sample(60, seed=13)
    assert S.alpha_beta(pl.Series(r), pl.Series(m)) == pytest.approx(S.alpha_beta(r, m), rel=1e-12)


@pytest.mark.parametrize("fn", ONE_SERIES, ids=lambda f: f.__name__)
def test_infinity_raises(fn):
    with pytest.raises(ValueError, match="infinite"):
        fn([0.01, np.inf, -0.02, 0.03, 0.01])
    with pytest.raises(ValueError, match="infinite"):
        fn(pl.Series([0.01, -np.inf, -0.02, 0.03, 0.01]))


def test_infinity_raises_elsewhere():
    with pytest.raises(ValueError):
        S.deflated_sharpe_ratio([0.01, 0.02, -0.01, 0.0], [0.1, np.inf])
    with pytest.raises(ValueError):
        S.month_to_date_pnl([np.inf], _days("2024-03-01"), dt.date(2024, 3, 1))
    with pytest.raises(ValueError):
        S.sharpe_ratio(np.zeros((2, 2)))


def test_too_short_series_are_nan():
    for fn in ONE_SERIES:
        if fn is S.max_drawdown_duration:
            assert fn([]) == 0
        else:
            assert math.isnan(fn([])), fn.__name__
    one = [0.01]
    for fn in (S.annual_volatility, S.sharpe_ratio, S.sortino_ratio, S.skewness, S.kurtosis):
        assert math.isnan(fn(one)), fn.__name__
    assert S.annual_return(one) == pytest.approx(1.01**252 - 1)
    assert S.value_at_risk(one) == 0.01
    assert math.isnan(S.skewness([0.01, 0.02]))
    assert math.isnan(S.kurtosis([0.01, 0.02, 0.04]))
    three = [0.01, 0.02, 0.04]
    for fn in (S.probabilistic_sharpe_ratio, S.min_track_record_length, S.cornish_fisher_var, S.cornish_fisher_cvar):
        assert math.isnan(fn(three)), fn.__name__
    assert math.isnan(S.deflated_sharpe_ratio(three, [0.1, 0.2]))
    assert not math.isnan(S.probabilistic_sharpe_ratio(three + [0.0]))


def test_constant_series():
    r = [0.001] * 10
    assert S.annual_volatility(r) == 0.0
    for fn in (S.sharpe_ratio, S.sortino_ratio, S.skewness, S.kurtosis, S.calmar_ratio,
               S.probabilistic_sharpe_ratio, S.cornish_fisher_var, S.min_track_record_length):  # fmt: skip
        assert math.isnan(fn(r)), fn.__name__
    assert S.max_drawdown(r) == 0.0
    assert S.max_drawdown_duration(r) == 0
    assert S.annual_return(r) == pytest.approx(1.001**252 - 1, rel=1e-12)
    assert S.hit_rate(r) == 1.0
    assert S.value_at_risk(r) == 0.001
    assert math.isnan(S.sharpe_ratio([-0.002] * 5))
    assert S.max_drawdown([-0.002] * 5) == pytest.approx(0.998**5 - 1, rel=1e-12)


def test_level_must_be_a_probability():
    with pytest.raises(ValueError):
        S.value_at_risk([0.01, 0.02], level=0.0)
    with pytest.raises(ValueError):
        S.min_track_record_length([0.01, 0.02, 0.0, 0.03], confidence=1.0)


# ---------------------------------------------------------------------- table builder

AS_OF = dt.date(2024, 3, 6)


def _panel(days: int = 320, seed: int = 21) -> tuple[pl.DataFrame, list[dt.date], dict[str, np.ndarray]]:
    """Three strategies on business days ending after AS_OF, with holes in 'b'."""
    rng = np.random.default_rng(seed)
    dates = [d.date() for d in __import__("pandas").bdate_range(end="2024-03-08", periods=days)]
    rets = {sid: rng.standard_t(5, days) * 0.01 + mu for sid, mu in (("a", 0.0008), ("b", 0.0002), ("c", -0.0001))}
    avail = {sid: np.ones(days, bool) for sid in rets}
    avail["b"][rng.choice(days, 40, replace=False)] = False
    rows = []
    for sid, r in rets.items():
        for i, d in enumerate(dates):
            ret = None if (sid == "b" and i % 37 == 0) else (float(r[i]) if avail[sid][i] else 0.0)
            rows.append((d, sid, ret, bool(avail[sid][i])))
    frame = pl.DataFrame(rows, schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64,
                                       "available": pl.Boolean}, orient="row")  # fmt: skip
    return frame, dates, rets


def _observed(frame: pl.DataFrame, sid: str) -> tuple[list[dt.date], np.ndarray]:
    """Observed (date, ret) of one strategy up to AS_OF, in a plain Python loop."""
    dates, rets = [], []
    for d, s, r, a in frame.sort("date").iter_rows():
        if s == sid and d <= AS_OF and a and r is not None:
            dates.append(d)
            rets.append(r)
    return dates, np.array(rets)


@pytest.fixture(scope="module")
def panel():
    return _panel()


def test_table_windows_count_observed_returns(panel):
    frame, dates, _ = panel
    table = S.strategy_statistics_table(frame, None, AS_OF)
    assert table.columns == list(S.STATISTICS_SCHEMA)
    assert table.schema["n_obs"] == pl.Int64 and table.schema["max_drawdown_duration"] == pl.Int64
    assert table.select("strategy_id", "window").rows() == [(s, w) for s in "abc" for w in S.WINDOWS]
    assert (table["date"] == AS_OF).all()
    for sid in "abc":
        _, r = _observed(frame, sid)
        rows = table.filter(pl.col("strategy_id") == sid)
        assert rows["n_obs"].to_list() == [21, 63, 252, len(r)]
        for (window, size), stats_row in zip(S.WINDOWS.items(), rows.iter_rows(named=True)):
            x = r if size is None else r[-size:]
            assert stats_row["window"] == window
            assert stats_row["annual_return"] == pytest.approx(np.prod(1 + x) ** (252 / len(x)) - 1, rel=1e-9)
            assert stats_row["annual_volatility"] == pytest.approx(np.std(x, ddof=1) * SQRT252, rel=1e-9)
            assert stats_row["sharpe"] == pytest.approx(np.mean(x) / np.std(x, ddof=1) * SQRT252, rel=1e-9)
            assert stats_row["var_95"] == pytest.approx(np.quantile(x, 0.05), rel=1e-9)
            assert stats_row["skew"] == pytest.approx(stats.skew(x, bias=False), rel=1e-8)
            assert stats_row["kurtosis"] == pytest.approx(stats.kurtosis(x, bias=False, fisher=False), rel=1e-8)
            assert stats_row["hit_rate"] == pytest.approx(np.mean(x > 0), rel=1e-12)
            assert stats_row["psr"] == pytest.approx(psr_by_hand(x, 0.0), rel=1e-8)
    b = table.filter(pl.col("strategy_id") == "b")
    assert b["n_obs"][3] < table.filter(pl.col("strategy_id") == "a")["n_obs"][3]


def test_table_matches_the_public_functions(panel):
    frame, _, _ = panel
    bench = pl.DataFrame({"date": frame["date"].unique().sort()}).with_columns(
        ret=pl.Series(np.random.default_rng(5).normal(0, 0.01, frame["date"].n_unique()))
    )
    table = S.strategy_statistics_table(frame, bench, AS_OF)
    functions = {
        "annual_return": S.annual_return, "annual_volatility": S.annual_volatility, "sharpe": S.sharpe_ratio,
        "sortino": S.sortino_ratio, "calmar": S.calmar_ratio, "max_drawdown": S.max_drawdown,
        "max_drawdown_duration": S.max_drawdown_duration, "var_95": S.value_at_risk,
        "cvar_95": S.conditional_value_at_risk, "cf_var_95": S.cornish_fisher_var,
        "cf_cvar_95": S.cornish_fisher_cvar, "skew": S.skewness, "kurtosis": S.kurtosis,
        "psr": S.probabilistic_sharpe_ratio, "min_track_record_length": S.min_track_record_length,
        "hit_rate": S.hit_rate,
    }  # fmt: skip
    bench_by_day = dict(bench.iter_rows())
    for sid in "abc":
        days, r = _observed(frame, sid)
        for window, size in S.WINDOWS.items():
            row = table.filter((pl.col("strategy_id") == sid) & (pl.col("window") == window)).row(0, named=True)
            x = r if size is None else r[-size:]
            for column, fn in functions.items():
                assert row[column] == pytest.approx(fn(x), rel=1e-9), (sid, window, column)
            m = np.array([bench_by_day[d] for d in (days if size is None else days[-size:])])
            fit = stats.linregress(m, x)
            assert row["beta"] == pytest.approx(fit.slope, rel=1e-9)
            assert row["alpha"] == pytest.approx((1 + fit.intercept) ** 252 - 1, rel=1e-6)


def test_table_dsr_trials_are_the_strategies_of_the_same_window(panel):
    frame, _, _ = panel
    table = S.strategy_statistics_table(frame, None, AS_OF)
    for window, size in S.WINDOWS.items():
        windows = {sid: _observed(frame, sid)[1] for sid in "abc"}
        windows = {sid: (r if size is None else r[-size:]) for sid, r in windows.items()}
        trials = [pystats.mean(x) / pystats.stdev(x) for x in windows.values()]
        sr0 = math.sqrt(pystats.variance(trials)) * (
            (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / 3) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (3 * math.e))
        )
        for sid, x in windows.items():
            dsr = table.filter((pl.col("strategy_id") == sid) & (pl.col("window") == window))["dsr"].item()
            assert dsr == pytest.approx(psr_by_hand(x, sr0), rel=1e-8), (sid, window)


def test_table_month_to_date_by_hand():
    rows = [
        (dt.date(2024, 2, 29), "x", 0.05, True),
        (dt.date(2024, 3, 1), "x", -0.02, True),
        (dt.date(2024, 3, 4), "x", 0.30, False),  # unavailable: skipped
        (dt.date(2024, 3, 5), "x", None, True),  # null: skipped
        (dt.date(2024, 3, 6), "x", 0.01, True),
        (dt.date(2024, 3, 7), "x", -0.50, True),  # after as_of
        (dt.date(2024, 2, 29), "y", 0.01, True),  # nothing in March
        (dt.date(2024, 3, 1), "z", -0.01, False),  # never observed: omitted
    ]
    frame = pl.DataFrame(rows, schema=["date", "strategy_id", "ret", "available"], orient="row")
    table = S.strategy_statistics_table(frame, None, AS_OF)
    assert table["strategy_id"].unique().sort().to_list() == ["x", "y"]
    x = table.filter(pl.col("strategy_id") == "x")
    assert x["n_obs"].to_list() == [3, 3, 3, 3]
    assert x["mtd_pnl"].to_list() == pytest.approx([0.98 * 1.01 - 1] * 4, rel=1e-12)
    assert x["mtd_trough"].to_list() == pytest.approx([-0.02] * 4, rel=1e-12)
    # wealth 1.05, 1.029, 1.03929: drawdown from the 1.05 peak
    assert x["max_drawdown"].to_list() == pytest.approx([1.029 / 1.05 - 1] * 4, rel=1e-12)
    assert x["max_drawdown_duration"].to_list() == [2] * 4
    y = table.filter(pl.col("strategy_id") == "y")
    assert y["mtd_pnl"].to_list() == [0.0] * 4 and y["mtd_trough"].to_list() == [0.0] * 4
    assert y["n_obs"].to_list() == [1] * 4
    # one observation: dispersion statistics are null, not NaN
    for column in ("annual_volatility", "sharpe", "sortino", "skew", "kurtosis", "psr", "dsr", "cf_var_95"):
        assert y[column].null_count() == 4, column
    assert table["alpha"].null_count() == table.height and table["beta"].null_count() == table.height
    assert not any(table[c].is_nan().any() for c in table.columns if table.schema[c] == pl.Float64)


def test_table_alpha_beta_use_benchmark_of_the_same_dates():
    days = [d.date() for d in __import__("pandas").bdate_range("2024-01-02", periods=40)]
    m = np.random.default_rng(3).normal(0.0, 0.01, 40)
    rows = [(d, "s", float(0.0003 + 0.8 * m[i]), i % 5 != 0) for i, d in enumerate(days)]
    frame = pl.DataFrame(rows, schema=["date", "strategy_id", "ret", "available"], orient="row")
    # the benchmark misses one day and shifts no dates
    bench = pl.DataFrame({"date": days[:-3] + days[-2:], "ret": np.delete(m, -3)})
    table = S.strategy_statistics_table(frame, bench, days[-1])
    assert table["beta"].to_list() == pytest.approx([0.8] * 4, rel=1e-9)
    assert table["alpha"].to_list() == pytest.approx([1.0003**252 - 1] * 4, rel=1e-7)
    assert table["n_obs"].to_list() == [21, 32, 32, 32]


def test_table_empty_and_invalid_inputs():
    schema = {"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean}
    empty = S.strategy_statistics_table(pl.DataFrame(schema=schema), None, AS_OF)
    assert empty.height == 0 and empty.columns == list(S.STATISTICS_SCHEMA)
    bad = pl.DataFrame([(AS_OF, "s", float("inf"), True)], schema=schema, orient="row")
    with pytest.raises(ValueError, match="infinite"):
        S.strategy_statistics_table(bad, None, AS_OF)
    dup = pl.DataFrame([(AS_OF, "s", 0.01, True)] * 2, schema=schema, orient="row")
    with pytest.raises(ValueError, match="more than one"):
        S.strategy_statistics_table(dup, None, AS_OF)


def test_table_at_scale_1000_strategies_600_days():
    """Shape at scale (timings live in benchmarks/, never in tests)."""
    rng = np.random.default_rng(0)
    n_strategies, n_days = 1000, 600
    days = np.arange(np.datetime64("2022-01-03"), np.datetime64("2022-01-03") + n_days)
    frame = pl.DataFrame({
        "date": np.tile(days, n_strategies),
        "strategy_id": np.repeat([f"s{i:04d}" for i in range(n_strategies)], n_days),
        "ret": rng.normal(0.0003, 0.01, n_strategies * n_days),
        "available": rng.random(n_strategies * n_days) > 0.05,
    })  # fmt: skip
    bench = pl.DataFrame({"date": days, "ret": rng.normal(0.0003, 0.01, n_days)})
    as_of = days[-1].astype(dt.date)
    table = S.strategy_statistics_table(frame, bench, as_of)
    assert table.height == 4 * n_strategies


def test_annual_volatilities_per_row_with_unobserved_cells():
    """Each row's ddof-1 sd (numpy, NaN dropped) x sqrt(252); NaN below two observations, 0
    for a constant row: what ``annual_volatility`` gives for that row alone."""
    rng = np.random.default_rng(11)
    rows = rng.normal(0.0, 0.01, size=(4, 63))
    rows[1, :50] = np.nan
    rows[2, :62] = np.nan
    rows[3] = 0.004
    got = S.annual_volatilities(rows)
    assert got[0] == pytest.approx(np.std(rows[0], ddof=1) * math.sqrt(252), rel=1e-12)
    assert got[1] == pytest.approx(np.std(rows[1, 50:], ddof=1) * math.sqrt(252), rel=1e-12)
    assert math.isnan(got[2]) and got[3] == 0.0


def test_historical_tail_is_numpy_quantile_and_the_mean_below_it():
    rng = np.random.default_rng(12)
    r = rng.standard_t(4, size=252) * 0.01
    for level in (0.05, 0.01):
        var, cvar = S.historical_tail(r, level=level)
        assert var == pytest.approx(np.quantile(r, level), rel=1e-12)
        assert cvar == pytest.approx(r[r <= np.quantile(r, level)].mean(), rel=1e-12)
        assert (var, cvar) == (S.value_at_risk(r, level=level), S.conditional_value_at_risk(r, level=level))
