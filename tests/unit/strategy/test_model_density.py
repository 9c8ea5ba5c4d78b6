"""The PyMC model's log density is exactly the numpy likelihood ``block_loglik`` (which is
itself checked against scipy's multivariate t in test_likelihood.py)."""

import datetime as dt

import numpy as np
import pytest

from twin_model.strategy import ReturnWindow, block_slots, build_model, padded_arrays
from twin_model.strategy._likelihood import block_loglik


def _window(rng) -> ReturnWindow:
    t, n, k = 30, 6, 2
    returns = rng.normal(0.0005, 0.01, (t, n))
    returns[rng.random((t, n)) < 0.15] = np.nan
    factors = rng.normal(0.0, 0.01, (t, k))
    factors[4, 1] = np.nan  # a day with a factor missing: masked for every strategy
    dates = tuple((np.datetime64("2023-01-02") + np.arange(t)).astype(dt.date).tolist())
    # blocks: {0, 2, 3} share a sector, {1, 5} another, 4 alone
    return ReturnWindow(
        ("a", "b", "c", "d", "e", "f"),
        dates,
        returns,
        factors=factors,
        factor_ids=("SP500", "MTUM-SP500"),
        blocks=np.array([0, 1, 0, 0, 2, 1]),
        block_names=("tech", "energy", "e"),
        benchmark_id="SP500",
    )


def _point(rng, n_max: int, k: int, n_blocks: int) -> dict[str, np.ndarray]:
    """Values of the model's free variables (on their unconstrained scale where transformed)."""
    return {
        "mu_ir": np.array(rng.normal(0, 0.05)),
        "tau_ir_log__": np.array(np.log(rng.uniform(0.01, 0.1))),
        "z": rng.normal(0, 1, n_max),
        "sigma_idio_log__": np.log(rng.uniform(0.005, 0.02, n_max)),
        "nu_excess_log__": np.log(rng.uniform(1.0, 30.0, n_blocks)),
        "loading_z": rng.normal(0, 1, n_max),
        "mu_beta": rng.normal(0, 1, k),
        "tau_beta_log__": np.log(rng.uniform(0.1, 1.0, k)),
        "beta": rng.normal(0, 1, (n_max, k)),
    }


@pytest.mark.parametrize(("seed", "n_max"), [(1, 8), (2, 8), (3, 6)])
def test_model_loglik_equals_block_loglik(seed, n_max):
    """Eight columns: the three blocks and one slot the two padding columns share (whose
    ``nu`` only samples its prior); six: the three blocks alone."""
    rng = np.random.default_rng(seed)
    window = _window(rng)
    t_max, k = 32, 2
    data = padded_arrays(window, n_max, t_max)
    n_blocks = block_slots(window, n_max)
    assert n_blocks == (4 if n_max > 6 else 3) and data["count"].shape == (t_max, n_blocks)
    model = build_model(n_max, t_max, k, n_blocks=n_blocks)
    with model:
        import pymc as pm

        pm.set_data(data)
    point = _point(rng, n_max, k, n_blocks)
    names = ["loglik", "alpha", "sigma", "loading", "nu", "beta"]
    outputs = model.compile_fn(
        model.replace_rvs_by_values([model[name] for name in names]),
        inputs=model.value_vars,
        on_unused_input="ignore",
        point_fn=True,
    )(point)
    loglik, alpha, sigma, loading, nu, beta = outputs
    n = len(window.strategy_ids)
    # independent reconstruction of the constrained parameters from the free point: members
    # of a shared block load z / sqrt(1 + z^2) up to one sign per block (the block lead's
    # kept >= 0) with total sd s sqrt(1 + z^2) sqrt(nu / (nu - 2)) (s the scale); e alone loads nothing
    z = point["loading_z"][:n] * [1, 1, 1, 1, 0, 1]
    raw = z / np.sqrt(1 + z**2)
    s_idio = np.exp(point["sigma_idio_log__"][:n])
    nu_strategy = 2.1 + np.exp(point["nu_excess_log__"])[window.blocks]
    np.testing.assert_allclose(sigma[:n], s_idio * np.sqrt((1 + z**2) * nu_strategy / (nu_strategy - 2)), rtol=1e-12)
    np.testing.assert_allclose(np.abs(loading[:n]), np.abs(raw) * [1, 1, 1, 1, 0, 1], rtol=1e-12)
    for members in ([0, 2, 3], [1, 5]):
        np.testing.assert_allclose(np.outer(loading[members], loading[members]), np.outer(raw[members], raw[members]))
        assert (loading[members] > 0).any()
    nu_block = 2.1 + np.exp(point["nu_excess_log__"])
    np.testing.assert_allclose(nu[:n], nu_block[window.blocks], rtol=1e-12)

    params = {
        "alpha": alpha[None, :n],
        "beta": beta[None, :n, :],
        "sigma": sigma[None, :n],
        "loading": loading[None, :n],
        "nu": nu[None, :n],
    }
    # the window's arrays go in as they are: the day with a factor missing is masked by block_loglik too
    expected = block_loglik(params, window.returns, window.factors, window.blocks).sum()
    assert float(loglik) == pytest.approx(expected, rel=1e-10)


def test_block_slots_are_exact_for_a_few_blocks_and_bucketed_beyond():
    """Five blocks of eight columns: five slots (six with padding columns to share one);
    33 one-strategy blocks in a 40-wide model: 40 slots, as for 40 (a universe shrinking
    inside its bucket keeps its compiled model); 9 blocks and a padding slot: 16."""

    def window(blocks):
        n = len(blocks)
        return ReturnWindow(
            tuple(f"s{i}" for i in range(n)),
            (dt.date(2023, 1, 2),),
            np.zeros((1, n)),
            blocks=np.asarray(blocks),
            block_names=tuple(f"b{b}" for b in range(max(blocks) + 1)),
        )

    assert block_slots(window([0, 0, 0, 0, 1, 2, 3, 4]), 8) == 5
    assert block_slots(window([0, 0, 1, 2, 3, 4]), 8) == 6
    assert block_slots(window(list(range(33))), 40) == block_slots(window(list(range(40))), 40) == 40
    assert block_slots(window(list(range(9))), 16) == 16
