"""Tests of the strategy model (twin_model.strategy): windows, the hierarchical NUTS fit, the exact fallback.

Every number asserted is derived independently of the code under test: from the synthetic
universe's known truth, from the normal-inverse-gamma formulas worked here by hand, or from
standard-error and binomial bounds explained next to each assertion.

One module-scoped fitter is shared, and every NUTS fit here uses the 40-strategy padded
shape with a benchmark (one compile, ~10-15 s) -- except the one no-benchmark test, which
compiles its own small model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from twin_model import strategy as inference
from twin_model.data import synthetic
from twin_model.strategy import (
    FitSettings,
    ReturnWindow,
    StrategyModelFitter,
    benchmark_factors,
    conjugate_fit,
    return_window,
)

D = dt.date
N_STRATEGIES = 40
N_DAYS = 504


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def universe():
    """40 synthetic strategies (default seed 7, 12 alpha / 12 beta / 8 decay / 8 noise) over
    the first 600 business days from the anchor.

    One sector per strategy (``n_sectors=40``): the sector factor then adds independent
    noise of the same size (sigma_s) to each strategy instead of a shock shared by ten. The
    model has no sector factor -- it takes strategies as independent given the benchmark --
    and with four shared sectors a sector's good two years is, for every strategy in it,
    indistinguishable from alpha; that also makes the 40 coverage events move in blocks of
    ten, which no binomial bound can hold (measured: coverage 0.80-0.85 and P(alpha > 0)
    of the no-alpha strategies inflated, against 0.975 here)."""
    config = synthetic.SyntheticConfig(n_strategies=N_STRATEGIES, n_sectors=N_STRATEGIES)
    dates = np.busday_offset(np.datetime64(config.anchor), np.arange(600)).astype(dt.date).tolist()
    truth = synthetic.truth_table(config)
    returns, bench = synthetic.generate(config, dates, truth)
    benchmark = benchmark_factors(bench.select("date", pl.col("market_return").alias("ret")))
    return {"config": config, "dates": dates, "truth": truth, "returns": returns, "benchmark": benchmark}


@pytest.fixture(scope="module")
def window(universe) -> ReturnWindow:
    """Business days t = 0..503: the whole window, every cell observed."""
    return return_window(universe["returns"], universe["benchmark"], universe["dates"][N_DAYS - 1], N_DAYS)


@pytest.fixture(scope="module")
def fitter() -> StrategyModelFitter:
    return StrategyModelFitter(FitSettings())


@pytest.fixture(scope="module")
def fit(fitter, window):
    return fitter.fit(window)


# --- return_window ---------------------------------------------------------------------------


def _frame(rows):
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "strategy_id": pl.String, "ret": pl.Float64, "available": pl.Boolean},
        orient="row",
    )


def test_return_window_masks_unavailable_and_keeps_flat_days():
    frame = _frame(
        [
            (D(2024, 1, 2), "a", 0.01, True),
            (D(2024, 1, 2), "b", 0.50, False),  # unavailable: masked even though ret is set
            (D(2024, 1, 3), "a", 0.0, True),  # a flat day is data
            (D(2024, 1, 3), "b", None, True),  # null ret: masked
            (D(2024, 1, 4), "b", -0.02, True),  # no row for "a": masked
        ]
    )
    window = return_window(frame, None, D(2024, 1, 4), window_days=10)
    assert window.strategy_ids == ("a", "b")
    assert window.dates == (D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4))
    expected = np.array([[0.01, np.nan], [0.0, np.nan], [np.nan, -0.02]])
    np.testing.assert_array_equal(window.returns, expected)
    assert window.benchmark is None and window.factor_ids == () and window.alpha_reference == "cash"
    assert window.n_obs.tolist() == [2, 1]


def test_return_window_counts_observed_dates_not_calendar_days():
    # Five dates; 2024-01-05 has no observed return at all (both unavailable), and rows
    # after `end` must be ignored.
    frame = _frame(
        [
            (D(2024, 1, 1), "a", 0.01, True),
            (D(2024, 1, 2), "a", 0.02, True),
            (D(2024, 1, 3), "a", 0.03, True),
            (D(2024, 1, 5), "a", 0.04, False),
            (D(2024, 1, 5), "b", 0.05, False),
            (D(2024, 1, 8), "a", 0.06, True),
            (D(2024, 1, 9), "a", 0.07, True),
        ]
    )
    window = return_window(frame, None, D(2024, 1, 8), window_days=3)
    # the last three *observed* dates up to Jan 8 skip Jan 5 (nothing observed) and Jan 9 (after end)
    assert window.dates == (D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 8))
    assert window.strategy_ids == ("a",)  # "b" has no observed return in the window
    np.testing.assert_array_equal(window.returns[:, 0], [0.02, 0.03, 0.06])


def test_return_window_aligns_benchmark_by_date():
    frame = _frame([(D(2024, 1, d), "a", d / 100, True) for d in (2, 3, 4, 5)])
    bench = pl.DataFrame(
        {"date": [D(2024, 1, 5), D(2024, 1, 1), D(2024, 1, 3), D(2024, 1, 4)], "ret": [0.5, 9.9, 0.3, None]},
        schema={"date": pl.Date, "ret": pl.Float64},
    )
    window = return_window(frame, benchmark_factors(bench), D(2024, 1, 5), window_days=504)
    # Jan 2 missing from the benchmark, Jan 4 null -> NaN; Jan 1 is not a window date
    np.testing.assert_array_equal(window.benchmark, [np.nan, 0.3, np.nan, 0.5])
    assert window.factor_ids == ("SP500",) and window.alpha_reference == "factors: SP500"
    # a NaN benchmark day masks that day for every strategy
    assert window.n_obs.tolist() == [2]
    mean, cov = window.factor_moments()
    np.testing.assert_allclose(mean, [0.4], rtol=1e-12)
    np.testing.assert_allclose(cov, [[np.var([0.3, 0.5], ddof=1)]], rtol=1e-12)


def test_return_window_rejects_duplicates():
    frame = _frame([(D(2024, 1, 2), "a", 0.01, True), (D(2024, 1, 2), "a", 0.02, True)])
    with pytest.raises(ValueError, match="duplicate"):
        return_window(frame, None, D(2024, 1, 2))


# --- recovery of the synthetic truth -----------------------------------------------------------


def _conditional_truth(universe, window: ReturnWindow) -> dict[str, np.ndarray]:
    """What the model estimates, from the synthetic truth and the realised benchmark.

    The model conditions on the benchmark path b_1..b_T: its daily mean is
    alpha_bar_i + beta_i * mean(b) and its vol sqrt(beta_i^2 var(b) + sd(resid_i)^2), where
    the residual of strategy i (sector factor + idiosyncratic) has variance
    sigma_s^2 + sigma_idio_i^2 and alpha_bar_i is the true alpha averaged over the window's
    business days (so decay strategies are judged on the mean they actually had). The
    population Sharpe at the anchor uses mu_m and sigma_m instead; with two years of data
    the realised market mean has a standard error of 0.011/sqrt(504) = 0.0005 a day (more
    than mu_m itself), a shared error no fit of these data can remove.
    """
    config, truth = universe["config"], universe["truth"]
    t = synthetic.business_day_index(config.anchor, list(window.dates))
    alpha_bar = synthetic.true_alpha(truth, t).mean(axis=0)
    beta = truth["beta"].to_numpy()
    (bbar,), ((var_b,),) = window.factor_moments()
    resid_sd = np.sqrt(config.sigma_s**2 + truth["sigma_idio"].to_numpy() ** 2)
    vol = np.sqrt(beta**2 * var_b + resid_sd**2)
    return {
        "sharpe": math.sqrt(252) * (alpha_bar + beta * bbar) / vol,
        "ir": alpha_bar / resid_sd,  # daily information ratio of alpha
        "beta": beta,
    }


@pytest.mark.slow(seconds=110)
def test_recovery_sharpe_interval_coverage_and_pooling(universe, window, fit):
    summary = fit.summary
    assert summary["strategy_id"].to_list() == synthetic.strategy_ids(N_STRATEGIES)
    assert summary["n_obs"].to_list() == [N_DAYS] * N_STRATEGIES
    truth = _conditional_truth(universe, window)

    lo, hi = summary["sharpe_q05"].to_numpy(), summary["sharpe_q95"].to_numpy()
    covered = (lo <= truth["sharpe"]) & (truth["sharpe"] <= hi)
    # Nominal coverage 0.9. If the 40 events were independent, coverage ~ Binomial(40, 0.9)/40
    # with sd sqrt(0.9*0.1/40) = 0.047, and P(X <= 30) = 0.6%. The events are positively
    # correlated (ten strategies share each sector factor; all share the pooled prior), which
    # widens that spread, so 0.75 (3.2 sd below nominal) is the bound.
    assert covered.mean() >= 0.75, covered.mean()

    # Partial pooling beats the raw sample Sharpe ratio (sqrt(252) mean / sd, ddof=1).
    raw = math.sqrt(252) * window.returns.mean(axis=0) / window.returns.std(axis=0, ddof=1)
    rmse_post = np.sqrt(np.mean((summary["sharpe_mean"].to_numpy() - truth["sharpe"]) ** 2))
    rmse_raw = np.sqrt(np.mean((raw - truth["sharpe"]) ** 2))
    assert rmse_post < rmse_raw, (rmse_post, rmse_raw)


@pytest.mark.slow
def test_recovery_beta_and_alpha_versus_beta(universe, window, fit):
    summary = fit.summary
    archetype = universe["truth"]["archetype"].to_numpy()
    truth = _conditional_truth(universe, window)

    # Beta archetype: true beta in [0.8, 1.2]. The OLS standard error of beta is
    # sd(resid)/(sd(b) sqrt(T)) <= sqrt(0.003^2 + 0.006^2)/(0.011 sqrt(504)) = 0.027, so
    # every error stays within 0.1 (3.7 se) and the mean absolute error (expected
    # 0.8 se ~ 0.02) within 0.05; each also within 4 posterior sd.
    is_beta = archetype == "beta"
    err = np.abs(summary["beta_mean"].to_numpy() - truth["beta"])[is_beta]
    assert err.max() < 0.1 and err.mean() < 0.05, err
    assert (err <= 4 * summary["beta_sd"].to_numpy()[is_beta]).all()

    p_alpha = summary["p_alpha_positive"].to_numpy()
    # No alpha (beta and noise archetypes, 20 strategies). A pure-beta strategy earns the
    # market's return, yet its alpha is judged over the benchmark: P(alpha > 0) must not be
    # near 1. Calibrated, P(alpha > 0) is uniform and exceeds 0.95 for ~1 in 20; pooling
    # toward mu_ir > 0 raises the middle but shrinks the spread. Binomial(20, 0.05) has
    # P(X >= 5) = 0.3%, so at most 4 of the 20 may exceed 0.95.
    zero_alpha = (archetype == "beta") | (archetype == "noise")
    assert (p_alpha[zero_alpha] > 0.95).sum() <= 4, p_alpha[zero_alpha]
    assert np.median(p_alpha[is_beta]) < 0.95, p_alpha[is_beta]
    # Strong alpha: strategies whose true alpha t-statistic over the window,
    # ir * sqrt(504), is at least 1.8 (two years are short: SR_a of 1.5 gives about 2.1).
    # With an estimate ~ N(t, 1) the unpooled P(alpha > 0) = Phi(estimate) has mean
    # Phi(t / sqrt 2) >= Phi(1.27) = 0.90 and sd ~0.12; the mean over the 6 such strategies
    # has sd ~0.05, so it must be above 0.8 (2 sd below) and above the zero-alpha group's.
    strong = truth["ir"] * math.sqrt(N_DAYS) >= 1.8
    assert strong.sum() >= 5
    assert p_alpha[strong].mean() >= 0.8, p_alpha[strong]
    assert p_alpha[strong].mean() > p_alpha[zero_alpha].mean()


@pytest.mark.slow
def test_fit_schema_diagnostics_and_draws(fit, window):
    summary, draws = fit.summary, fit.draws
    assert summary.schema == pl.Schema(inference.SUMMARY_SCHEMA)
    assert draws.schema == pl.Schema(inference.draws_schema(("SP500",)))
    settings = FitSettings()
    total = settings.chains * settings.draws
    assert draws.height == total * N_STRATEGIES
    per_strategy = draws.group_by("strategy_id").agg(pl.col("draw").n_unique(), pl.col("draw").max().alias("last"))
    assert per_strategy["draw"].to_list() == [total] * N_STRATEGIES
    assert per_strategy["last"].to_list() == [total - 1] * N_STRATEGIES
    assert summary["draws"].to_list() == [total] * N_STRATEGIES
    assert summary["window_start"][0] == window.dates[0] and summary["window_end"][0] == window.dates[-1]
    assert summary["window_days"][0] == N_DAYS
    assert summary["method"].to_list() == ["nuts"] * N_STRATEGIES
    assert summary["fallback_reason"].null_count() == N_STRATEGIES
    assert summary["converged"].all()
    assert (summary["rhat_max"] <= settings.max_rhat).all()
    assert (summary["ess_bulk_min"] >= settings.min_ess_bulk).all()
    assert summary["sampler"][0].startswith("nutpie ")
    assert set(fit.hyper["parameter"]) == {"mu_ir", "tau_ir", "mu_beta[SP500]", "tau_beta[SP500]"}
    assert summary["alpha_reference"].to_list() == ["factors: SP500"] * N_STRATEGIES
    assert summary["block_size"].to_list() == [1] * N_STRATEGIES
    assert summary["residual_loading_mean"].to_list() == [0.0] * N_STRATEGIES
    assert json.loads(summary["factor_betas"][5]) == pytest.approx({"SP500": summary["beta_mean"][5]})

    # the summary is the draws' summary, and the derived quantities follow their formulas
    one = draws.filter(pl.col("strategy_id") == "syn_0005")
    row = summary.filter(pl.col("strategy_id") == "syn_0005").row(0, named=True)
    assert row["sharpe_mean"] == pytest.approx(one["sharpe"].mean(), rel=1e-12)
    assert row["p_alpha_positive"] == pytest.approx((one["alpha"] > 0).mean())
    (bbar,), ((var_b,),) = window.factor_moments()
    np.testing.assert_array_equal(one["beta"].to_numpy(), one["beta_SP500"].to_numpy())
    vol = np.sqrt(one["beta"].to_numpy() ** 2 * var_b + one["sigma"].to_numpy() ** 2)
    np.testing.assert_allclose(one["vol"].to_numpy(), vol, rtol=1e-12)
    alpha, beta = one["alpha"].to_numpy(), one["beta"].to_numpy()
    np.testing.assert_allclose(one["daily_mean"].to_numpy(), alpha + beta * bbar, rtol=1e-12)
    sharpe = math.sqrt(252) * (alpha + beta * bbar) / vol
    np.testing.assert_allclose(one["sharpe"].to_numpy(), sharpe, rtol=1e-10)
    assert (one["nu"] > 2.1).all()


# --- reproducibility, re-use, masking ----------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_same_fit(fitter, window, fit):
    again = fitter.fit(window, seed=FitSettings().seed)
    assert again.draws.equals(fit.draws)
    assert again.summary.drop("fit_seconds").equals(fit.summary.drop("fit_seconds"))


@pytest.mark.slow
def test_refit_other_dates_and_fewer_strategies_reuses_the_compiled_model(fitter, fit, universe):
    compiled_before = fitter.compile_seconds
    assert compiled_before > 0 and len(fitter.compiled_shapes) == 1
    keep = synthetic.strategy_ids(N_STRATEGIES)[:33]  # 33 strategies: same 40-wide bucket
    returns = universe["returns"].filter(pl.col("strategy_id").is_in(keep))
    # syn_0032 delivers only its last 15 returns: a short history is still fitted
    end = universe["dates"][560]
    late = pl.col("date") > universe["dates"][545]
    returns = returns.with_columns(
        available=pl.when(pl.col("strategy_id") == "syn_0032").then(late).otherwise(pl.col("available"))
    )
    window = return_window(returns, universe["benchmark"], end, N_DAYS)
    result = fitter.fit(window, seed=3)

    assert fitter.compile_seconds == compiled_before
    assert len(fitter.compiled_shapes) == 1
    summary = result.summary
    assert summary["strategy_id"].to_list() == keep
    assert set(result.draws["strategy_id"].unique()) == set(keep)
    assert summary["window_end"][0] == end
    assert summary["window_start"][0] == universe["dates"][560 - N_DAYS + 1]
    short = summary.filter(pl.col("strategy_id") == "syn_0032").row(0, named=True)
    assert short["n_obs"] == 15
    assert math.isfinite(short["sharpe_mean"]) and short["sharpe_sd"] > 0
    assert summary["seed"].to_list() == [3] * 33


@pytest.mark.slow
def test_masked_cells_do_not_enter_the_fit(fitter, universe):
    window = return_window(universe["returns"], universe["benchmark"], universe["dates"][N_DAYS - 1], N_DAYS)
    returns = window.returns.copy()
    returns[100:400, 7] = np.nan  # strategy syn_0007 loses 300 of its 504 days
    returns[::50, 12] = np.nan
    masked = dataclasses.replace(window, returns=returns)
    # The masked cells hold an absurd value (a 5,000% daily return) in the model's data
    # array instead of 0: if any of them leaked into the likelihood the draws would move.
    plain = fitter.fit(masked, seed=11)
    absurd = fitter.fit(masked, seed=11, masked_fill=50.0)
    assert absurd.draws.equals(plain.draws)
    n_obs = dict(zip(plain.summary["strategy_id"], plain.summary["n_obs"]))
    assert n_obs["syn_0007"] == N_DAYS - 300 and n_obs["syn_0012"] == N_DAYS - 11


def test_forced_non_convergence_falls_back_to_the_exact_fit(fitter, window):
    strict = fitter.with_settings(max_rhat=0.5, draws=100, tune=100)  # R-hat is never below 1
    result = strict.fit(window, seed=5)
    # the compiled model is shared: whichever of the two compiled it (the module's earlier
    # tests, or this fit when run alone), both count the same compile time
    assert strict.compile_seconds == fitter.compile_seconds > 0
    summary = result.summary
    assert summary["method"].to_list() == ["conjugate"] * N_STRATEGIES
    assert all(reason.startswith("rhat ") and "> 0.5" in reason for reason in summary["fallback_reason"])
    assert summary["converged"].all()
    # the NUTS diagnostics stay visible
    assert summary["rhat_max"].null_count() == 0 and (summary["rhat_max"] > 0.5).all()
    assert summary["divergences"].null_count() == 0
    assert result.draws.filter(pl.col("strategy_id") == "syn_0000")["nu"].is_infinite().all()
    assert summary["draws"][0] == 200


def test_a_strategy_the_benchmark_replicates_is_fitted_exactly_and_the_rest_as_without_it(fitter, window):
    """syn_0039 becomes a sleeve of the benchmark (invested 25 days, in cash 25, 5 bp a
    switch): it takes the exact fit, and the NUTS fit of the other 39 is the fit of the
    window without it, draw for draw (same padded shape, same seed)."""
    bench = window.factors[:, 0]
    invested = (np.arange(N_DAYS) // 25) % 2 == 0
    switched = np.abs(np.diff(invested.astype(float), prepend=1.0))
    returns = window.returns.copy()
    returns[:, -1] = np.where(invested, bench, 0.0) - 0.0005 * switched
    sleeved = dataclasses.replace(window, returns=returns)
    quick = fitter.with_settings(draws=150, tune=150)

    result = quick.fit(sleeved, seed=5)
    others = [s for s in window.strategy_ids if s != "syn_0039"]
    alone = quick.fit(sleeved.select(others), seed=5)
    row = result.summary.row(N_STRATEGIES - 1, named=True)
    assert row["method"] == "conjugate" and row["fallback_reason"].startswith(inference.REPLICATED)
    assert row["rhat_max"] is None and row["block_size"] == 1
    x = np.column_stack([np.ones(N_DAYS), bench])
    mn, vn, an, bn = _hand_nig(returns[:, -1], x)
    assert row["alpha_mean"] == pytest.approx(mn[0], rel=1e-9, abs=1e-12)
    assert row["beta_mean"] == pytest.approx(mn[1], rel=1e-9)
    modelled = result.summary.filter(pl.col("strategy_id") != "syn_0039")
    assert modelled.drop("fit_seconds").equals(alone.summary.drop("fit_seconds"))
    assert result.draws.filter(pl.col("strategy_id") != "syn_0039").equals(alone.draws)
    assert result.hyper.equals(alone.hyper)


def _record_nutpie_calls(monkeypatch, adjust=lambda kwargs: kwargs) -> list[tuple[dict, object]]:
    """Wrap ``nutpie.sample`` for the test: each call's keyword arguments as the fitter passed
    them and its trace, in call order; ``adjust`` may change the arguments the real sampler
    then receives."""
    import nutpie

    calls = []
    real_sample = nutpie.sample

    def recording_sample(*args, **kwargs):
        trace = real_sample(*args, **adjust(kwargs))
        calls.append((kwargs, trace))
        return trace

    monkeypatch.setattr(nutpie, "sample", recording_sample)
    return calls


def test_tree_depth_cap_bounds_every_draw(fitter, window, monkeypatch):
    """NUTS with a tree depth cap of d takes at most 2^d - 1 leapfrog steps a draw (the
    trajectory doubles d times from one point): with d = 2 no draw may take more than 3,
    and a 40-strategy posterior needs longer trajectories, so the cap must be reached."""
    calls = _record_nutpie_calls(monkeypatch)
    shallow = fitter.with_settings(max_treedepth=2, draws=50, tune=50)
    result = shallow.fit(window, seed=11)
    ((_, trace),) = calls
    stats_ = trace.sample_stats
    assert int(stats_["depth"].max()) <= 2
    assert int(stats_["n_steps"].max()) <= 2**2 - 1
    assert bool(stats_["maxdepth_reached"].any())
    assert result.summary.height == N_STRATEGIES


@pytest.mark.slow
def test_a_low_rank_mass_matrix_samples_the_same_posterior(fitter, window, fit, monkeypatch):
    """The mass matrix changes how NUTS moves, not where it goes: with nutpie's low-rank
    correction (and the configured acceptance target reaching the sampler) every strategy
    converges and its posterior mean of alpha lies within 0.3 posterior sd of the diagonal
    fit's. Two independent fits of bulk ESS >= 100 each differ by at most
    sd * sqrt(2/100) = 0.14 sd in Monte Carlo sd, so 0.3 sd is over two of those for
    every one of the 40; a sampler that ignored the data or the mask would miss by far more."""
    calls = _record_nutpie_calls(monkeypatch)
    low_rank = fitter.with_settings(mass_matrix="low_rank", target_accept=0.9)
    result = low_rank.fit(window)
    ((kwargs, _),) = calls
    assert kwargs["low_rank_modified_mass_matrix"] is True and kwargs["target_accept"] == 0.9
    assert result.summary["method"].to_list() == ["nuts"] * N_STRATEGIES
    diagonal = fit.summary.sort("strategy_id")
    z = (result.summary.sort("strategy_id")["alpha_mean"] - diagonal["alpha_mean"]).abs() / diagonal["alpha_sd"]
    assert float(z.max()) < 0.3


@pytest.mark.slow
def test_a_low_rank_fit_that_fails_its_checks_is_retried_with_the_diagonal_metric(fitter, window, fit, monkeypatch):
    """Sabotage the low-rank run (trajectories of one leapfrog step: it cannot mix) and the
    fitter must sample again, same seed, with the diagonal metric, keep every strategy on
    NUTS and say so in ``sampler`` -- not fall back to the conjugate model."""
    import nutpie

    def sabotage_low_rank(kwargs: dict) -> dict:
        return {**kwargs, "maxdepth": 1} if kwargs["low_rank_modified_mass_matrix"] else kwargs

    calls = _record_nutpie_calls(monkeypatch, sabotage_low_rank)
    result = fitter.with_settings(mass_matrix="low_rank").fit(window)
    passed = [kwargs for kwargs, _ in calls]
    assert [c["low_rank_modified_mass_matrix"] for c in passed] == [True, False]
    assert passed[0]["seed"] == passed[1]["seed"]
    assert result.summary["method"].to_list() == ["nuts"] * N_STRATEGIES
    assert set(result.summary["sampler"]) == {f"nutpie {nutpie.__version__} diagonal (low_rank failed its checks)"}
    assert result.draws.equals(fit.draws)  # the diagonal run with the same seed is the default fit


@pytest.mark.slow
def test_no_benchmark_nuts_fit_has_zero_beta(universe):
    small = StrategyModelFitter(FitSettings(window_days=126, draws=200, tune=200))
    ids = synthetic.strategy_ids(6)
    returns = universe["returns"].filter(pl.col("strategy_id").is_in(ids))
    window = return_window(returns, None, universe["dates"][300], 126)
    result = small.fit(window)
    assert small.compiled_shapes == ((8, 126, 0, 0, 7),)  # six one-strategy blocks and the padding's
    assert (result.draws["beta"] == 0.0).all()
    assert result.summary["beta_mean"].to_list() == [0.0] * 6
    np.testing.assert_allclose(result.draws["vol"].to_numpy(), result.draws["sigma"].to_numpy(), rtol=1e-12)
    assert set(result.hyper["parameter"]) == {"mu_ir", "tau_ir"}
    assert result.summary["alpha_reference"].to_list() == ["cash"] * 6
    assert result.summary["method"].to_list() == ["nuts"] * 6


# --- the conjugate fallback --------------------------------------------------------------


def _hand_nig(y: np.ndarray, x: np.ndarray):
    """Textbook NIG update (Murphy 2007 / Gelman BDA, in the 'y'y + m0'L0 m0 - mn'Ln mn' form)."""
    m0 = np.zeros(x.shape[1])
    lambda0 = np.diag(1.0 / np.array([1.0, 1.0e4])[: x.shape[1]])
    a0, b0 = 2.0, 1.0e-4
    lambda_n = lambda0 + x.T @ x
    vn = np.linalg.inv(lambda_n)
    mn = vn @ (lambda0 @ m0 + x.T @ y)
    an = a0 + y.size / 2
    bn = b0 + 0.5 * (y @ y + m0 @ lambda0 @ m0 - mn @ lambda_n @ mn)
    return mn, vn, an, bn


def _toy_window(seed: int, with_benchmark: bool = True) -> ReturnWindow:
    rng = np.random.default_rng(seed)
    t = 250
    bench = rng.normal(0.0004, 0.01, t)
    returns = np.column_stack(
        [
            0.0005 + 0.3 * bench + rng.normal(0, 0.008, t),
            -0.0002 + 1.1 * bench + rng.normal(0, 0.004, t),
            0.0010 + rng.normal(0, 0.012, t),
        ]
    )
    returns[rng.random((t, 3)) < 0.1] = np.nan
    bench[[3, 77]] = np.nan
    dates = tuple((np.datetime64("2022-01-03") + np.arange(t)).astype(dt.date).tolist())
    if not with_benchmark:
        return ReturnWindow(("s_a", "s_b", "s_c"), dates, returns)
    return ReturnWindow(
        ("s_a", "s_b", "s_c"), dates, returns, factors=bench[:, None], factor_ids=("SP500",), benchmark_id="SP500"
    )


@pytest.mark.parametrize("with_benchmark", [True, False])
def test_conjugate_posterior_is_the_closed_form(with_benchmark):
    window = _toy_window(1, with_benchmark)
    settings = FitSettings(draws=4000, chains=2, method="conjugate", hurdle_sharpe=0.5)
    result = StrategyModelFitter(settings).fit(window, seed=9)
    summary, draws = result.summary, result.draws
    assert summary["method"].to_list() == ["conjugate"] * 3
    assert summary["fallback_reason"].to_list() == ["configured"] * 3
    assert summary["rhat_max"].null_count() == 3 and summary["converged"].all()
    s_total = 8000

    for i, sid in enumerate(window.strategy_ids):
        ok = ~np.isnan(window.returns[:, i])
        if with_benchmark:
            ok &= ~np.isnan(window.benchmark)
            x = np.column_stack([np.ones(ok.sum()), window.benchmark[ok]])
        else:
            x = np.ones((ok.sum(), 1))
        y = window.returns[ok, i]
        mn, vn, an, bn = _hand_nig(y, x)
        row = summary.filter(pl.col("strategy_id") == sid).row(0, named=True)
        d = draws.filter(pl.col("strategy_id") == sid)
        assert row["n_obs"] == ok.sum()

        # exact posterior: marginal of alpha is t_{2an}(mn_0, sqrt(bn/an Vn_00)), var bn/(an-1) Vn_00
        assert row["alpha_mean"] == pytest.approx(mn[0], rel=1e-9, abs=1e-15)
        assert row["alpha_sd"] == pytest.approx(math.sqrt(bn / (an - 1) * vn[0, 0]), rel=1e-9)
        scale = math.sqrt(bn / an * vn[0, 0])
        assert row["p_alpha_positive"] == pytest.approx(stats.t.cdf(mn[0] / scale, 2 * an), rel=1e-9)
        assert row["alpha_q95"] == pytest.approx(mn[0] + scale * stats.t.ppf(0.95, 2 * an), rel=1e-9)
        if with_benchmark:
            assert row["beta_mean"] == pytest.approx(mn[1], rel=1e-9)
            assert row["beta_sd"] == pytest.approx(math.sqrt(bn / (an - 1) * vn[1, 1]), rel=1e-9)
        else:
            assert row["beta_mean"] == 0.0 and (d["beta"] == 0.0).all()

        # draws: sample moments within Monte-Carlo error (4 standard errors of a mean of
        # 8,000 independent draws; the variance of s2 needs an > 2, true here)
        alpha_sd = math.sqrt(bn / (an - 1) * vn[0, 0])
        assert abs(d["alpha"].mean() - mn[0]) < 4 * alpha_sd / math.sqrt(s_total)
        assert d["alpha"].std() == pytest.approx(alpha_sd, rel=4 * math.sqrt(1 / (2 * s_total)) + 0.01)
        if with_benchmark:
            beta_sd = math.sqrt(bn / (an - 1) * vn[1, 1])
            assert abs(d["beta"].mean() - mn[1]) < 4 * beta_sd / math.sqrt(s_total)
        s2 = d["sigma"].to_numpy() ** 2
        s2_mean = bn / (an - 1)
        s2_sd = s2_mean / math.sqrt(an - 2)
        assert abs(s2.mean() - s2_mean) < 4 * s2_sd / math.sqrt(s_total)
        assert d["nu"].is_infinite().all()
        # derived columns and the hurdle
        assert row["p_sharpe_above_hurdle"] == pytest.approx((d["sharpe"] > 0.5).mean())
        assert row["sharpe_q05"] == pytest.approx(np.quantile(d["sharpe"].to_numpy(), 0.05))


def test_conjugate_fit_is_reproducible_and_per_strategy():
    window = _toy_window(2)
    settings = FitSettings(draws=300, chains=2)
    first = conjugate_fit(window, settings, seed=4, reason="test")
    again = conjugate_fit(window, settings, seed=4, reason="test")
    assert first.draws.equals(again.draws)
    assert first.summary.drop("fit_seconds").equals(again.summary.drop("fit_seconds"))
    assert first.summary["fallback_reason"].to_list() == ["test"] * 3
    # a strategy's draws do not depend on which other strategies are fitted with it
    alone = dataclasses.replace(
        window, strategy_ids=window.strategy_ids[1:2], returns=window.returns[:, 1:2], blocks=None, block_names=None
    )
    single = conjugate_fit(alone, settings, seed=4, reason="test")
    both = first.draws.filter(pl.col("strategy_id") == "s_b")
    assert single.draws.equals(both)
    other_seed = conjugate_fit(window, settings, seed=5, reason="test")
    assert not other_seed.draws.equals(first.draws)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="method"):
        FitSettings(method="advi")
    with pytest.raises(ValueError, match="draws"):
        FitSettings(draws=0)
    with pytest.raises(ValueError, match="max_treedepth"):
        FitSettings(max_treedepth=0)
    with pytest.raises(ValueError, match="mass_matrix"):
        FitSettings(mass_matrix="dense")
    with pytest.raises(ValueError, match="target_accept"):
        FitSettings(target_accept=1.0)
    with pytest.raises(ValueError, match="retry_after_failure"):
        FitSettings(retry_after_failure=0)
    with pytest.raises(ValueError, match="replication_tolerance"):
        FitSettings(replication_tolerance=-0.01)
