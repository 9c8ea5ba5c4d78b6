"""The betas' preconditioner: the multivariate-t scatter and the block Cholesky factor."""

import datetime as dt

import numpy as np
import pytest

from twin_model.strategy import ReturnWindow
from twin_model.strategy._preconditioner import beta_mixing, factor_residuals, t_scatter


def _multivariate_t(rng, scatter: np.ndarray, nu: float, n: int) -> np.ndarray:
    """Rows z / sqrt(g / nu), z ~ N(0, scatter), g ~ chi2(nu): a t with that scatter."""
    z = rng.multivariate_normal(np.zeros(len(scatter)), scatter, size=n)
    return z / np.sqrt(rng.chisquare(nu, size=n) / nu)[:, None]


def test_t_scatter_recovers_a_known_scatter():
    rng = np.random.default_rng(11)
    scatter = np.array([[4.0, 1.8, 0.6], [1.8, 1.0, 0.3], [0.6, 0.3, 2.0]]) * 1e-5
    sample = _multivariate_t(rng, scatter, 5.0, 40_000)
    estimate = t_scatter(sample, nu=5.0)
    np.testing.assert_allclose(estimate, scatter, rtol=0.04, atol=0.02 * scatter.max())
    # the sample covariance is the scatter times nu / (nu - 2) = 5/3: the t's estimate is not it
    assert np.cov(sample.T)[0, 0] == pytest.approx(scatter[0, 0] * 5 / 3, rel=0.1)


def test_t_scatter_needs_more_rows_than_series():
    with pytest.raises(ValueError, match="needs more than 3 rows"):
        t_scatter(np.ones((3, 3)))


def _window(rng, t: int = 300) -> ReturnWindow:
    """Blocks {a, c, d} (shared risk, correlation about 0.8), {b} alone, {e, f} sharing
    too little: f is observed on 2 days only."""
    market = rng.normal(0.0003, 0.01, t)
    shared = rng.normal(0.0, 0.008, t)
    loads = np.array([1.0, 0.0, 0.8, 1.2, 0.0, 0.0])
    returns = 0.5 * market[:, None] + shared[:, None] * loads + rng.normal(0.0, 0.004, (t, 6))
    returns[2:, 5] = np.nan
    dates = tuple((np.datetime64("2023-01-02") + np.arange(t)).astype(dt.date).tolist())
    return ReturnWindow(
        ("a", "b", "c", "d", "e", "f"),
        dates,
        returns,
        factors=market[:, None],
        factor_ids=("SP500",),
        blocks=np.array([0, 1, 0, 0, 2, 2]),
        block_names=("x", "b", "y"),
        benchmark_id="SP500",
    )


def test_mixing_is_each_blocks_scaled_cholesky_and_identity_elsewhere():
    rng = np.random.default_rng(5)
    window = _window(rng)
    mixing = beta_mixing(window, 8)
    members = [0, 2, 3]
    block = mixing[np.ix_(members, members)]
    np.testing.assert_allclose(block, np.tril(block))  # lower-triangular
    # M M' is proportional to the members' residual scatter: its correlation is theirs
    resid = factor_residuals(window)[:, members]
    implied = block @ block.T
    implied_corr = implied / np.sqrt(np.outer(np.diag(implied), np.diag(implied)))
    scatter = t_scatter(resid)
    np.testing.assert_allclose(implied_corr, scatter / np.sqrt(np.outer(np.diag(scatter), np.diag(scatter))))
    assert implied_corr[0, 2] > 0.6  # the shared risk, not whitened away
    assert np.sqrt(np.diag(implied)).mean() == pytest.approx(1.0)
    # nothing across blocks; b alone, the e-f block (f has no residual: 2 days, 2 regressors) and padding: identity
    others = [1, 4, 5, 6, 7]
    np.testing.assert_array_equal(mixing[np.ix_(others, others)], np.eye(5))
    np.testing.assert_array_equal(mixing[np.ix_(members, others)], 0.0)
    np.testing.assert_array_equal(mixing[np.ix_(others, members)], 0.0)


def test_residuals_are_least_squares_on_the_factors():
    rng = np.random.default_rng(6)
    window = _window(rng)
    resid = factor_residuals(window)
    x = np.column_stack([np.ones(len(window.dates)), window.factors[:, 0]])
    # orthogonal to the intercept and the factor over each strategy's observed days
    for i in range(5):
        np.testing.assert_allclose(x.T @ resid[:, i], 0.0, atol=1e-12)
    assert not np.isfinite(resid[:, 5]).any()  # 2 observations, 2 regressors: no residual
