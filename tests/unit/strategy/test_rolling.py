"""Rolling posteriors (twin_model.strategy._rolling, _reweighting): the anchor's draws
weighted by the days that entered and left reproduce the shifted window's exact posterior,
PSIS flags a shock, every refit rule fires, weighted summaries are numpy's weighted
formulas, and a day stepped from a stored anchor equals the same day stepped in memory."""

import datetime as dt
import io

import numpy as np
import polars as pl
import pytest
from scipy import stats

from tests.helpers.anchors import anchor_rows, weekdays
from twin_model.contracts import DRAW_COLUMNS, decode_weights, encode_draws
from twin_model.conventions import FitMethod, ModelUpdate, RefitRule
from twin_model.strategy import (
    Anchor,
    FitSettings,
    RollingFitter,
    StrategyModelFitter,
    khat_threshold,
    refit_reasons,
    reweigh,
    simulate_posterior_predictive,
)
from twin_model.strategy._forecast import SimulationSettings
from twin_model.strategy._results import _summarise_draws
from twin_model.strategy._reweighting import relative_efficiency
from twin_model.strategy._window import ReturnWindow

SIGMA = 0.01
NORMAL_NU = 1e8  # a Student-t this wide is the normal density to ~1e-8


def _window(dates, returns, ids=None) -> ReturnWindow:
    ids = ids or tuple(f"s{i}" for i in range(returns.shape[1]))
    return ReturnWindow(tuple(ids), tuple(dates), returns, None)


def _exact_anchor(window: ReturnWindow, total: int, seed: int, known_sigma: bool = True) -> Anchor:
    """Independent exact draws of each strategy's posterior under a flat prior on alpha and
    log sigma (normal returns): sigma^2 ~ scaled-inv-chi2(n-1, s^2) (or SIGMA when known),
    alpha | sigma ~ N(ybar, sigma^2 / n)."""
    rng = np.random.default_rng(seed)
    n = window.returns.shape[1]
    draws = {name: np.zeros((total, n)) for name in DRAW_COLUMNS}
    for i in range(n):
        y = window.returns[~np.isnan(window.returns[:, i]), i]
        if known_sigma:
            sigma = np.full(total, SIGMA)
        else:
            sigma = np.sqrt((y.size - 1) * y.var(ddof=1) / rng.chisquare(y.size - 1, total))
        draws["sigma"][:, i] = sigma
        draws["alpha"][:, i] = rng.normal(y.mean(), sigma / np.sqrt(y.size))
    draws["nu"][:] = NORMAL_NU
    draws["vol"] = draws["sigma"].copy()
    draws["daily_mean"] = draws["alpha"].copy()
    draws["sharpe"] = np.sqrt(252) * draws["alpha"] / draws["sigma"]
    return Anchor.of(window.dates[-1], window, encode_draws(window.strategy_ids, draws), anchor_rows(n, total))


def _shifted(window: ReturnWindow, new_returns: np.ndarray) -> ReturnWindow:
    """The window moved by ``len(new_returns)`` days: that many days left, the new ones entered."""
    k = new_returns.shape[0]
    dates = window.dates[k:] + weekdays(k, window.dates[-1] + dt.timedelta(days=1))
    return _window(dates, np.vstack([window.returns[k:], new_returns]))


def test_reweighting_exact_draws_reproduces_the_shifted_windows_exact_posterior():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0, SIGMA, (100, 2))
    anchor = _exact_anchor(_window(weekdays(100), returns), total=4000, seed=4)
    entered = np.array([[0.01, np.nan]] * 5)  # s0 gains five good days, s1 is not observed
    today = _shifted(anchor.window, entered)
    rw = reweigh(anchor, today)

    y0 = today.returns[:, 0]
    exact_mean, exact_sd = y0.mean(), SIGMA / np.sqrt(y0.size)  # flat prior, known sigma
    alpha = anchor.draws["alpha"][:, 0]
    weighted_mean = np.sum(rw.weights[:, 0] * alpha)
    tolerance = 4 * exact_sd / np.sqrt(rw.ess[0])
    assert abs(weighted_mean - exact_mean) < tolerance
    assert abs(alpha.mean() - exact_mean) > 5 * tolerance  # the weights did the work
    weighted_sd = np.sqrt(np.sum(rw.weights[:, 0] * (alpha - weighted_mean) ** 2))
    assert weighted_sd == pytest.approx(exact_sd, rel=0.05)
    assert rw.pareto_k[0] < 0.5
    assert rw.days_since_anchor == 5
    # s1 lost five observed days and gained none: its weights are not equal...
    assert np.ptp(rw.weights[:, 1]) > 0
    y1 = today.returns[~np.isnan(today.returns[:, 1]), 1]
    assert np.sum(rw.weights[:, 1] * anchor.draws["alpha"][:, 1]) == pytest.approx(
        y1.mean(), abs=4 * SIGMA / np.sqrt(y1.size) / np.sqrt(rw.ess[1])
    )


def test_a_strategy_unobserved_on_every_moved_day_keeps_equal_weights_and_no_khat():
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0, SIGMA, (60, 2))
    returns[:3, 1] = np.nan
    anchor = _exact_anchor(_window(weekdays(60), returns), total=500, seed=6)
    today = _shifted(anchor.window, np.array([[0.002, np.nan]] * 3))
    rw = reweigh(anchor, today)
    np.testing.assert_array_equal(rw.weights[:, 1], np.full(500, 1 / 500))
    assert np.isnan(rw.pareto_k[1])
    assert rw.ess[1] == pytest.approx(500.0)  # equal weights: r_eff 1 and 1 / sum w^2 = S


def test_khat_is_small_for_a_quiet_day_and_a_shock_pushes_it_over_the_threshold():
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0, SIGMA, (250, 1))
    anchor = _exact_anchor(_window(weekdays(250), returns), total=200, seed=8, known_sigma=False)
    limit = khat_threshold(200)
    assert limit == pytest.approx(1 - 1 / np.log10(200))

    quiet = reweigh(anchor, _shifted(anchor.window, np.array([[0.003]])))
    assert quiet.pareto_k[0] < 0.5
    shock = reweigh(anchor, _shifted(anchor.window, np.array([[-0.20]])))
    assert shock.pareto_k[0] > limit

    settings = FitSettings(draws=200, chains=1, method=FitMethod.CONJUGATE)
    day = RollingFitter(StrategyModelFitter(settings)).step(
        anchor, _shifted(anchor.window, np.array([[-0.20]])), dt.date(2021, 1, 4), seed=1
    )
    assert day.refitted
    reason = day.summary.get_column("refit_reason")[0]
    assert reason.startswith(f"{RefitRule.PARETO_K}: > {limit:.2f} for s0")
    assert day.anchor.date == dt.date(2021, 1, 4)


def _rules(anchor, today, settings):
    rw = reweigh(anchor, today) if anchor is not None and anchor.window.strategy_ids == today.strategy_ids else None
    return [reason.split(":")[0] for reason in refit_reasons(anchor, today, settings, rw)]


def test_every_refit_rule_fires_on_its_own():
    rng = np.random.default_rng(9)
    returns = rng.normal(0.0, SIGMA, (80, 2))
    anchor = _exact_anchor(_window(weekdays(80), returns), total=300, seed=10)
    today = _shifted(anchor.window, rng.normal(0.0, SIGMA, (2, 2)))
    base = FitSettings(draws=300, chains=1, refit_every=5, min_ess=50)

    assert _rules(anchor, today, base) == []
    assert _rules(None, today, base) == [RefitRule.FIRST_DAY]
    assert _rules(anchor, today, FitSettings(draws=300, chains=1, update=ModelUpdate.REFIT)) == [RefitRule.CONFIGURED]
    assert _rules(anchor, today, FitSettings(draws=200, chains=1)) == [RefitRule.CONFIGURED]
    three = _window(today.dates, np.column_stack([today.returns, today.returns[:, 0]]))
    assert _rules(anchor, three, base) == [RefitRule.UNIVERSE]
    fell_back = Anchor(
        anchor.date, anchor.window, anchor.draws, anchor_rows(2, 300, FitMethod.CONJUGATE), anchor.chains
    )
    assert _rules(fell_back, today, base) == [RefitRule.FALLBACK]
    later = _shifted(anchor.window, rng.normal(0.0, SIGMA, (5, 2)))
    assert _rules(anchor, later, base) == [RefitRule.CADENCE]
    assert _rules(anchor, today, FitSettings(draws=300, chains=1, min_ess=1000)) == [RefitRule.ESS]
    shocked = _shifted(anchor.window, np.array([[0.0, 0.0], [0.15, 0.0]]))
    assert RefitRule.PARETO_K in _rules(anchor, shocked, base)


def _failed_anchor(anchor: Anchor, methods: list[FitMethod]) -> Anchor:
    """``anchor`` as if its NUTS fit had fallen back for the strategies marked conjugate."""
    rows = anchor_rows(len(methods), anchor.n_draws).with_columns(method=pl.Series([m.value for m in methods]))
    return Anchor(anchor.date, anchor.window, anchor.draws, rows, anchor.chains)


def test_after_nuts_failed_for_every_strategy_the_exact_fit_stands_in_until_the_retry_day():
    rng = np.random.default_rng(21)
    anchor = _exact_anchor(_window(weekdays(80), rng.normal(0.0005, SIGMA, (80, 2))), total=300, seed=22)
    failed = _failed_anchor(anchor, [FitMethod.CONJUGATE, FitMethod.CONJUGATE])
    # the "NUTS" of a refit is the conjugate method here, so no sampler runs in this test
    settings = FitSettings(draws=300, chains=1, method=FitMethod.CONJUGATE, retry_after_failure=3)
    rolling = RollingFitter(StrategyModelFitter(settings))
    days = [anchor.window]
    for _ in range(3):
        days.append(_shifted(days[-1], rng.normal(0.0, SIGMA, (1, 2))))

    current = failed
    for since, window in enumerate(days[1:3], start=1):
        step = rolling.step(current, window, window.dates[-1], seed=40 + since)
        assert not step.refitted and step.anchor is failed
        row = step.summary.row(0, named=True)
        assert row["method"] == FitMethod.CONJUGATE and row["refit_reason"] is None
        assert row["anchor_date"] == anchor.date and row["days_since_anchor"] == since
        assert str(anchor.date) in row["fallback_reason"]
        # the day's own window, not the anchor's: the exact posterior mean of alpha moves
        # with the returns that entered (the conjugate mean is the window's least-squares
        # intercept shrunk by a prior of one observation's weight at most)
        assert row["alpha_mean"] == pytest.approx(np.nanmean(window.returns[:, 0]), abs=2e-4)
        current = step.anchor
    retry = rolling.step(current, days[3], days[3].dates[-1], seed=43)
    assert retry.refitted and retry.summary["refit_reason"][0].startswith(f"{RefitRule.FALLBACK}:")
    assert retry.anchor.date == days[3].dates[-1]


def test_a_partial_fallback_a_retry_every_day_or_a_new_universe_refits_the_next_day():
    rng = np.random.default_rng(23)
    anchor = _exact_anchor(_window(weekdays(80), rng.normal(0.0, SIGMA, (80, 2))), total=300, seed=24)
    today = _shifted(anchor.window, rng.normal(0.0, SIGMA, (1, 2)))
    waiting = dict(draws=300, chains=1, method=FitMethod.CONJUGATE)
    partial = _failed_anchor(anchor, [FitMethod.CONJUGATE, FitMethod.NUTS])
    assert RollingFitter(StrategyModelFitter(FitSettings(**waiting))).step(partial, today, today.dates[-1], 1).refitted
    failed = _failed_anchor(anchor, [FitMethod.CONJUGATE, FitMethod.CONJUGATE])
    every_day = FitSettings(**waiting, retry_after_failure=1)
    assert RollingFitter(StrategyModelFitter(every_day)).step(failed, today, today.dates[-1], 1).refitted
    three = _window(today.dates, np.column_stack([today.returns, today.returns[:, 0]]))
    step = RollingFitter(StrategyModelFitter(FitSettings(**waiting))).step(failed, three, three.dates[-1], 1)
    assert step.refitted and RefitRule.UNIVERSE in step.summary["refit_reason"][0]


def test_a_waiting_day_stepped_from_its_stored_rows_equals_the_day_stepped_in_memory():
    rng = np.random.default_rng(25)
    anchor = _exact_anchor(_window(weekdays(80), rng.normal(0.0, SIGMA, (80, 2))), total=300, seed=26)
    failed = _failed_anchor(anchor, [FitMethod.CONJUGATE, FitMethod.CONJUGATE])
    rolling = RollingFitter(StrategyModelFitter(FitSettings(draws=300, chains=1, method=FitMethod.CONJUGATE)))
    day2 = _shifted(anchor.window, rng.normal(0.0, SIGMA, (1, 2)))
    day3 = _shifted(day2, rng.normal(0.0, SIGMA, (1, 2)))
    first = rolling.step(failed, day2, day2.dates[-1], seed=1)
    in_memory = rolling.step(first.anchor, day3, day3.dates[-1], seed=2)
    rebuilt = Anchor.of(anchor.date, anchor.window, first.draws, first.summary)
    from_store = rolling.step(rebuilt, day3, day3.dates[-1], seed=2)
    assert in_memory.summary.drop("fit_seconds").equals(from_store.summary.drop("fit_seconds"))
    assert in_memory.draws.equals(from_store.draws)
    assert in_memory.summary["days_since_anchor"][0] == 2


def test_weighted_summaries_are_numpys_weighted_formulas():
    rng = np.random.default_rng(11)
    total, n = 50, 3
    flat = {name: rng.normal(0.001, 0.01, (total, n)) for name in ("daily_mean", "alpha", "beta", "vol", "sharpe")}
    flat["nu"] = rng.uniform(3, 30, (total, n))
    flat["loading"] = rng.uniform(-0.9, 0.9, (total, n))
    weights = rng.gamma(0.5, size=(total, n))
    weights /= weights.sum(axis=0)
    out = _summarise_draws(flat, 0.0005, weights=weights)
    for i in range(n):
        w = weights[:, i]
        for name in flat:
            key = "residual_loading" if name == "loading" else name
            assert out[f"{key}_mean"][i] == pytest.approx(np.average(flat[name][:, i], weights=w))
            # numpy's aweights variance: sum w (x - m)^2 / (1 - sum w^2) for weights summing to 1
            assert out[f"{key}_sd"][i] == pytest.approx(np.sqrt(np.cov(flat[name][:, i], aweights=w)))
        assert out["p_alpha_positive"][i] == pytest.approx(w[flat["alpha"][:, i] > 0].sum())
        assert out["p_sharpe_above_hurdle"][i] == pytest.approx(w[flat["sharpe"][:, i] > 0.0005].sum())
    # quantiles of the inverted weighted CDF, by hand: values 1..4 weighted 0.1, 0.1, 0.1, 0.7
    values = {name: np.array([[1.0], [2.0], [3.0], [4.0]]) for name in flat}
    out = _summarise_draws(values, 0.0, weights=np.array([[0.1], [0.1], [0.1], [0.7]]))
    assert (out["alpha_q05"][0], out["alpha_q95"][0]) == (1.0, 4.0)
    assert out["sharpe_q05"][0] == 1.0
    # normalised weights summing to 1 + a few ulp: a certain event still has probability <= 1
    heavy = np.full((total, n), 1 / total)
    heavy[0] += 3e-15
    assert (heavy.sum(axis=0) > 1.0).all()
    certain = {**flat, "alpha": np.abs(flat["alpha"]) + 1.0}
    np.testing.assert_array_equal(_summarise_draws(certain, 0.0, weights=heavy)["p_alpha_positive"], 1.0)
    # equal weights: numpy's mean and ddof=1 sd, as an unweighted fit reports
    equal = _summarise_draws(flat, 0.0, weights=np.full((total, n), 1 / total))
    np.testing.assert_allclose(equal["alpha_sd"], flat["alpha"].std(axis=0, ddof=1))


def test_relative_efficiency_of_the_ratios_is_about_one_when_independent_and_low_for_sticky_chains():
    rng = np.random.default_rng(12)
    iid = rng.normal(scale=0.3, size=(400, 1))
    assert relative_efficiency(iid, chains=2)[0] > 0.8
    ar = np.zeros((2, 200))
    for t in range(1, 200):
        ar[:, t] = 0.95 * ar[:, t - 1] + rng.normal(scale=0.1, size=2)
    # small log-weights: the ratios exp(log w) are close to linear in an AR(1) with
    # phi = 0.95, whose ESS/S is about (1 - phi)/(1 + phi) = 0.026
    assert relative_efficiency(ar.reshape(400, 1), chains=2)[0] < 0.1
    # equal log-weights add no Monte Carlo error
    assert relative_efficiency(np.zeros((400, 1)), chains=2)[0] == 1.0


def test_a_day_stepped_from_the_stored_anchor_equals_the_day_stepped_in_memory():
    rng = np.random.default_rng(13)
    returns = rng.normal(0.0005, SIGMA, (120, 3))
    anchor = _exact_anchor(_window(weekdays(120), returns), total=200, seed=14, known_sigma=False)
    rolling = RollingFitter(StrategyModelFitter(FitSettings(draws=200, chains=1, method=FitMethod.CONJUGATE)))
    day2 = _shifted(anchor.window, rng.normal(0.0, SIGMA, (1, 3)))
    day3 = _shifted(day2, rng.normal(0.0, SIGMA, (1, 3)))

    first = rolling.step(anchor, day2, day2.dates[-1], seed=1)
    assert not first.refitted
    in_memory = rolling.step(first.anchor, day3, day3.dates[-1], seed=2)

    buffer = io.BytesIO()
    first.draws.write_parquet(buffer)
    stored = pl.read_parquet(io.BytesIO(buffer.getvalue()))
    rebuilt = Anchor.of(anchor.date, anchor.window, stored, first.summary)
    from_store = rolling.step(rebuilt, day3, day3.dates[-1], seed=2)
    assert in_memory.summary.drop("fit_seconds").equals(from_store.summary.drop("fit_seconds"))
    assert in_memory.draws.equals(from_store.draws)
    row = in_memory.summary.row(0, named=True)
    assert row["method"] == FitMethod.REWEIGHTED and row["anchor_date"] == anchor.date
    assert row["days_since_anchor"] == 2 and row["refit_reason"] is None
    assert row["seed"] == 11 and row["sampler"] == "exact draws (test)"


def test_a_reweighted_days_draws_carry_weights_and_forecasts_draw_by_them():
    ids = ("a", "b")
    total = 4
    draws = {name: np.zeros((total, 2)) for name in DRAW_COLUMNS}
    draws["alpha"][:, 0] = [0.01, 0.02, 0.03, 0.04]
    draws["alpha"][:, 1] = [-0.01, -0.02, -0.03, -0.04]
    draws["sigma"][:] = 1e-6
    draws["nu"][:] = np.inf
    weights = np.array([[0.0, 0.5], [0.0, 0.0], [1.0, 0.0], [0.0, 0.5]])
    frame = encode_draws(ids, draws, weights=weights)
    np.testing.assert_array_equal(decode_weights(frame, ids), weights)
    np.testing.assert_array_equal(decode_weights(frame.drop("weight"), ids), np.full((4, 2), 0.25))
    with pytest.raises(ValueError, match="summing to 1"):
        encode_draws(ids, draws, weights=weights * 2)

    history = np.zeros((30, 2))
    scenarios = simulate_posterior_predictive(frame, history, None, ids, SimulationSettings(n_paths=2000, horizon=1))
    assert np.allclose(scenarios[:, 0, 0], 0.03, atol=1e-4)  # all of a's weight is on draw 2
    share = np.mean(np.isclose(scenarios[:, 0, 1], -0.01, atol=1e-4))
    assert set(np.round(scenarios[:, 0, 1], 4)) == {-0.01, -0.04}
    assert share == pytest.approx(0.5, abs=3 * np.sqrt(0.25 / 2000))
    # equal weights keep a fit's draws joint: both strategies take the same draw in a path
    equal = encode_draws(ids, draws)
    joint = simulate_posterior_predictive(equal, history, None, ids, SimulationSettings(n_paths=500, horizon=1))
    np.testing.assert_allclose(joint[:, 0, 0], -joint[:, 0, 1], atol=1e-4)
    assert stats.chisquare(np.unique(np.round(joint[:, 0, 0], 4), return_counts=True)[1]).pvalue > 1e-3


def test_settings_take_rolling_or_refit_and_refuse_reweighted_as_a_way_to_fit():
    assert FitSettings().update == ModelUpdate.ROLLING
    assert FitSettings(update="refit").update == ModelUpdate.REFIT
    with pytest.raises(ValueError, match="method must be nuts or conjugate"):
        FitSettings(method="reweighted")
    with pytest.raises(ValueError):
        FitSettings(update="sometimes")
