"""Reweighting by each strategy's marginal density (``reweight: strategy``): its log-weights
are the univariate Student-t densities scipy computes, and on a block of correlated
strategies with a known covariance (Gaussian seemingly unrelated regressions with one
regressor, the intercept, shared by every member) both the block's joint weights and the
marginal weights reproduce the shifted window's exact posterior means, the marginal ones
with a far larger effective sample size. While the window still grows (a history shorter
than the window: the bundled firm's first two years) no day leaves, and the log-weights
are the entered days' densities alone, each way."""

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from tests.helpers.anchors import anchor_rows, weekdays
from twin_model.contracts import DRAW_COLUMNS, encode_draws
from twin_model.conventions import ReweightBy
from twin_model.strategy import Anchor, FitSettings, reweigh
from twin_model.strategy._reweighting import log_weights
from twin_model.strategy._window import ReturnWindow

SIGMA = 0.01
LOADING = 0.9  # members correlate 0.81
NORMAL_NU = 1e8


def _block_window(dates, returns) -> ReturnWindow:
    n = returns.shape[1]
    ids = tuple(f"s{i}" for i in range(n))
    return ReturnWindow(ids, tuple(dates), returns, None, blocks=np.zeros(n, dtype=int), block_names=("sector",))


def _covariance(n: int) -> np.ndarray:
    """``Sigma = diag(sigma^2 (1 - c^2)) + (sigma c)(sigma c)'``: the block model's covariance."""
    loading = np.full(n, SIGMA * LOADING)
    return np.diag(np.full(n, SIGMA**2 * (1 - LOADING**2))) + np.outer(loading, loading)


def _anchor(window: ReturnWindow, total: int, seed: int, nu: float = NORMAL_NU) -> Anchor:
    """Exact joint draws of the block's alphas under a flat prior with the covariance known:
    ``alpha ~ N(ybar, Sigma / T)`` (every member observed every day)."""
    n = window.returns.shape[1]
    rng = np.random.default_rng(seed)
    draws = {name: np.zeros((total, n)) for name in DRAW_COLUMNS}
    draws["alpha"] = rng.multivariate_normal(
        window.returns.mean(axis=0), _covariance(n) / window.returns.shape[0], total
    )
    draws["sigma"][:] = SIGMA
    draws["loading"][:] = LOADING
    draws["nu"][:] = nu
    draws["vol"], draws["daily_mean"] = draws["sigma"].copy(), draws["alpha"].copy()
    draws["sharpe"] = np.sqrt(252) * draws["alpha"] / draws["sigma"]
    return Anchor.of(window.dates[-1], window, encode_draws(window.strategy_ids, draws), anchor_rows(n, total))


def _moved(anchor: Anchor, entered: np.ndarray) -> ReturnWindow:
    k = entered.shape[0]
    dates = anchor.window.dates[k:] + weekdays(k, anchor.window.dates[-1] + dt.timedelta(days=1))
    return _block_window(dates, np.vstack([anchor.window.returns[k:], entered]))


def test_marginal_log_weights_are_scipys_univariate_t_densities_of_the_days_that_moved():
    rng = np.random.default_rng(1)
    window = _block_window(weekdays(40), rng.multivariate_normal(np.zeros(3), _covariance(3), 40))
    anchor = _anchor(window, total=50, seed=2, nu=5.0)
    today = _moved(anchor, rng.multivariate_normal(np.zeros(3), _covariance(3), 2))
    log_w, columns = log_weights(anchor.window, anchor.draws, today, ReweightBy.STRATEGY)
    assert columns == [0, 1, 2]

    scale = SIGMA * np.sqrt((5.0 - 2.0) / 5.0)  # a t of sd sigma has scale sigma sqrt((nu - 2)/nu)
    alpha = anchor.draws["alpha"]
    entered, left = today.returns[-2:], anchor.window.returns[:2]
    expected = stats.t.logpdf(entered[None, :, :], 5.0, alpha[:, None, :], scale).sum(axis=1) - stats.t.logpdf(
        left[None, :, :], 5.0, alpha[:, None, :], scale
    ).sum(axis=1)
    np.testing.assert_allclose(log_w, expected, rtol=1e-10, atol=1e-10)


def test_a_window_that_only_grew_weighs_by_the_entered_days_alone():
    rng = np.random.default_rng(5)
    nu = 6.0
    window = _block_window(weekdays(30), rng.multivariate_normal(np.zeros(3), _covariance(3), 30))
    anchor = _anchor(window, total=40, seed=6, nu=nu)
    entered = rng.multivariate_normal(np.zeros(3), _covariance(3), 2)
    later = weekdays(2, window.dates[-1] + dt.timedelta(days=1))
    today = _block_window(window.dates + later, np.vstack([window.returns, entered]))  # none left

    # by block: the multivariate t of covariance Sigma, shape Sigma (nu - 2) / nu
    shape = _covariance(3) * (nu - 2.0) / nu
    alpha = anchor.draws["alpha"]
    expected = [stats.multivariate_t.logpdf(entered, a, shape, df=nu).sum() for a in alpha]
    log_w, columns = log_weights(anchor.window, anchor.draws, today, ReweightBy.BLOCK)
    assert columns == [0, 0, 0]
    np.testing.assert_allclose(log_w[:, 0], expected, rtol=1e-10)

    # by strategy: each member's univariate t of sd sigma
    scale = SIGMA * np.sqrt((nu - 2.0) / nu)
    log_w, _ = log_weights(anchor.window, anchor.draws, today, ReweightBy.STRATEGY)
    marginal = stats.t.logpdf(entered[None, :, :], nu, alpha[:, None, :], scale).sum(axis=1)
    np.testing.assert_allclose(log_w, marginal, rtol=1e-10)

    for by in ReweightBy:
        weights = reweigh(anchor, today, by).weights
        np.testing.assert_allclose(weights.sum(axis=0), 1.0)


def test_on_a_correlated_block_both_weightings_give_the_exact_means_and_the_marginal_keeps_more_draws():
    rng = np.random.default_rng(11)
    n, days, moved = 6, 100, 10
    cov = _covariance(n)
    window = _block_window(weekdays(days), rng.multivariate_normal(np.zeros(n), cov, days))
    anchor = _anchor(window, total=20_000, seed=12)
    today = _moved(anchor, rng.multivariate_normal(np.full(n, 0.008), cov, moved))
    exact = today.returns.mean(axis=0)  # the shifted window's posterior mean (flat prior, Sigma known)
    exact_sd = np.sqrt(np.diag(cov) / days)
    alpha = anchor.draws["alpha"]
    assert np.all(np.abs(alpha.mean(axis=0) - exact) > 0.5 * exact_sd)  # the weights have work to do

    by_block = reweigh(anchor, today, ReweightBy.BLOCK)
    by_strategy = reweigh(anchor, today, ReweightBy.STRATEGY)
    for rw in (by_block, by_strategy):
        weighted = (rw.weights * alpha).sum(axis=0)
        assert np.all(np.abs(weighted - exact) < 4 * exact_sd / np.sqrt(rw.ess))
    assert by_strategy.ess.min() > by_block.ess.max()  # six members' joint weights thin faster
    assert by_strategy.ess.mean() > 3 * by_block.ess.mean()


def test_settings_take_the_reweighting_by_name_and_refuse_others():
    assert FitSettings(reweight="strategy").reweight == ReweightBy.STRATEGY
    assert FitSettings().reweight == ReweightBy.BLOCK  # the exact joint weights unless asked
    with pytest.raises(ValueError, match="reweight"):
        FitSettings(reweight="sector")
