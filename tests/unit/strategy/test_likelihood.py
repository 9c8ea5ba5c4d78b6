"""The model's likelihood (twin_model.strategy._likelihood) against scipy's densities."""

import numpy as np
import pytest
from scipy import stats

from twin_model.strategy._likelihood import block_loglik


def _params(rng, draws, n, k, blocks):
    params = {
        "alpha": rng.normal(0, 1e-3, (draws, n)),
        "sigma": rng.uniform(0.005, 0.02, (draws, n)),
        "loading": rng.uniform(-0.8, 0.8, (draws, n)),
        "beta": rng.normal(0, 1, (draws, n, k)),
    }
    sizes = np.bincount(blocks)
    params["loading"][:, sizes[blocks] == 1] = 0.0
    nu_block = rng.uniform(3, 30, (draws, sizes.size))
    params["nu"] = nu_block[:, blocks]
    return params, nu_block


@pytest.mark.parametrize(
    "blocks",
    [[0, 0, 0, 1], [1, 0, 1, 2, 0, 1]],  # members listed together, and interleaved (segment sums sort them)
    ids=["contiguous", "interleaved"],
)
def test_blocks_are_scipy_multivariate_t_on_their_observed_members(blocks):
    rng = np.random.default_rng(1)
    blocks = np.array(blocks)
    n, n_blocks = blocks.size, blocks.max() + 1
    params, nu_block = _params(rng, 3, n, 2, blocks)
    ret = rng.normal(0, 0.01, (5, n))
    ret[1, 0] = ret[2, :3] = ret[3, 1] = np.nan
    x = rng.normal(0, 0.01, (5, 2))
    loglik = block_loglik(params, ret, x, blocks)
    assert loglik.shape == (3, 5, n_blocks)
    for s in range(3):
        for t in range(5):
            for b in range(n_blocks):
                obs = [i for i in np.nonzero(blocks == b)[0] if np.isfinite(ret[t, i])]
                if not obs:
                    assert loglik[s, t, b] == 0.0
                    continue
                e = ret[t, obs] - params["alpha"][s, obs] - params["beta"][s, obs] @ x[t]
                sd, c = params["sigma"][s, obs], params["loading"][s, obs]
                cov = np.diag(sd**2 * (1 - c**2)) + np.outer(sd * c, sd * c)
                nu = nu_block[s, b]
                expected = stats.multivariate_t(loc=np.zeros(len(obs)), shape=cov * (nu - 2) / nu, df=nu).logpdf(e)
                assert loglik[s, t, b] == pytest.approx(expected, abs=1e-9)


def test_a_block_of_one_without_factors_is_the_univariate_student_t():
    rng = np.random.default_rng(2)
    blocks = np.array([0, 1])
    params, _ = _params(rng, 2, 2, 0, blocks)
    ret = rng.normal(0, 0.01, (4, 2))
    loglik = block_loglik(params, ret, np.zeros((4, 0)), blocks)
    for s in range(2):
        for i in range(2):
            nu, sd = params["nu"][s, i], params["sigma"][s, i]
            scale = sd * np.sqrt((nu - 2) / nu)
            expected = stats.t.logpdf(ret[:, i], df=nu, loc=params["alpha"][s, i], scale=scale)
            np.testing.assert_allclose(loglik[s, :, i], expected, atol=1e-10)
