r"""The strategy model's likelihood in numpy: factors, and residual risk shared by a block.

This is the one definition of the model's log density of the returns given its
parameters, evaluated draw by draw. The PyMC model (``_model``) writes the same density
in PyTensor for NUTS; the rolling update (``_rolling``) calls this one to weight the
anchor's draws by the days that entered and left the window. A test holds the two equal.

Model of one day
----------------
Strategy ``i`` of block ``b(i)`` (the strategies of one sector that share a risk no
factor carries; a strategy alone in its sector is a block of one), factor returns
``x_t`` (``K`` of them; ``K = 0`` measures alpha over cash)::

    e_it = r_it - alpha_i - sum_k beta_ik x_tk                       (residual)
    e_t[b] | .  ~  MultivariateStudentT(nu_b, 0, Psi_b)              (observed members only)
    Sigma_b = diag(d) + l l',   l_i = sigma_i c_i,   d_i = sigma_i^2 (1 - c_i^2)
    Psi_b   = Sigma_b (nu_b - 2) / nu_b                              (so Sigma_b is the covariance)

``sigma_i`` is strategy ``i``'s residual sd, ``c_i`` in (-1, 1) its residual's correlation
with the block's shared risk (so two members correlate ``c_i c_j``); ``c_i = 0`` for a
block of one, which makes the density the univariate Student-t of the earlier model.
The shared risk is a latent daily factor integrated out of the likelihood: no per-day
parameter, which is what lets the rolling update reweight draws day by day.

Masked cells (a return not observed) are left out exactly: the marginal of a
multivariate t on a subset of its coordinates is the multivariate t of the sub-matrix,
and with the observed members' precisions ``p_i = m_it / d_i`` (0 when masked) the
Woodbury identities give, for ``k`` observed members::

    A = sum_i p_i e_i^2,   B = sum_i p_i l_i e_i,   C = sum_i p_i l_i^2
    e' Sigma_o^{-1} e = A - B^2 / (1 + C)
    log det Sigma_o   = sum_i m_i log d_i + log(1 + C)
    Q = e' Psi_o^{-1} e = (A - B^2 / (1 + C)) nu / (nu - 2)
    log p = lgamma((nu + k)/2) - lgamma(nu/2) - k/2 log(nu pi)
            - (k/2) log((nu - 2)/nu) - (1/2) log det Sigma_o - (nu + k)/2 log1p(Q / nu)

A day on which no member of a block is observed contributes exactly 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln


def block_matrix(blocks: Sequence[int]) -> np.ndarray:
    """One-hot ``[N, B]`` membership of each strategy in its block (blocks numbered 0..B-1)."""
    index = np.asarray(blocks, dtype=np.int64)
    if index.ndim != 1 or (index.size and index.min() < 0):
        raise ValueError("blocks must be a 1-D sequence of block numbers >= 0")
    n_blocks = int(index.max()) + 1 if index.size else 0
    members = np.zeros((index.size, n_blocks))
    members[np.arange(index.size), index] = 1.0
    return members


def block_loglik(
    params: dict[str, np.ndarray],
    returns: np.ndarray,
    factors: np.ndarray,
    blocks: Sequence[int],
) -> np.ndarray:
    """Log density ``[S, T, B]`` of each block's observed returns on each day, per draw.

    ``params``: ``alpha``, ``sigma``, ``loading`` (``c``) and ``nu`` each ``[S, N]`` (``nu``
    equal across a block's members), ``beta`` ``[S, N, K]``. ``returns`` ``[T, N]`` with
    NaN for a masked cell; ``factors`` ``[T, K]``, NaN on a day a factor is missing, which
    masks that day for every strategy (as ``ReturnWindow.mask`` does: a window's
    ``returns``, ``factors`` and ``blocks`` go in as they are). ``blocks``: each
    strategy's block number. See the module docstring for the density.
    """
    ret = np.asarray(returns, dtype=float)
    x = np.asarray(factors, dtype=float).reshape(ret.shape[0], -1)
    factor_days = np.isfinite(x).all(axis=1)
    x = np.where(factor_days[:, None], x, 0.0)
    members = block_matrix(blocks)
    observed = np.isfinite(ret) & factor_days[:, None]
    mask = observed.astype(float)
    filled = np.where(observed, ret, 0.0)

    alpha, sigma, c = params["alpha"], params["sigma"], params["loading"]
    beta = np.asarray(params["beta"], dtype=float).reshape(alpha.shape[0], alpha.shape[1], x.shape[1])
    nu = _block_values(params["nu"], members)  # [S, B]
    mean = alpha[:, None, :] + np.einsum("tk,snk->stn", x, beta)  # [S, T, N]
    resid = (filled[None, :, :] - mean) * mask[None, :, :]
    loading = sigma * c
    idio = sigma**2 * (1.0 - c**2)
    precision = mask[None, :, :] / idio[:, None, :]  # [S, T, N]

    a = (precision * resid**2) @ members
    b = (precision * loading[:, None, :] * resid) @ members
    cc = (precision * loading[:, None, :] ** 2) @ members
    k = mask @ members  # [T, B]
    log_d = (mask[None, :, :] * np.log(idio)[:, None, :]) @ members
    quad = (a - b**2 / (1.0 + cc)) * (nu / (nu - 2.0))[:, None, :]
    nu_b = nu[:, None, :]
    return (
        gammaln(0.5 * (nu_b + k))
        - gammaln(0.5 * nu_b)
        - 0.5 * k * np.log(nu_b * np.pi)
        - 0.5 * k * np.log((nu_b - 2.0) / nu_b)
        - 0.5 * (log_d + np.log1p(cc))
        - 0.5 * (nu_b + k) * np.log1p(quad / nu_b)
    )


def _block_values(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``[S, B]``: each block's value from its first member's column of ``values [S, N]``."""
    first = members.argmax(axis=0)
    return np.asarray(values, dtype=float)[:, first]
