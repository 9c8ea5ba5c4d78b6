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


class BlockSums:
    """Sums over each block's members along a last axis of ``N`` strategies: a segment sum
    (``O(N)`` per row, where a one-hot ``[N, B]`` matmul would be ``O(N B)``), and no sum
    at all when block ``i`` is strategy ``i`` alone (``reweight: strategy``, ``B = N``)."""

    def __init__(self, blocks: Sequence[int]):
        index = np.asarray(blocks, dtype=np.int64)
        if index.ndim != 1 or (index.size and index.min() < 0):
            raise ValueError("blocks must be a 1-D sequence of block numbers >= 0")
        self.n_blocks = int(index.max()) + 1 if index.size else 0
        self.order = np.argsort(index, kind="stable")
        counts = np.bincount(index, minlength=self.n_blocks)
        self.used = np.flatnonzero(counts)
        self.starts = (np.cumsum(counts) - counts)[self.used]
        self.first = self.order[self.starts]  # each used block's first member
        self.singletons = bool(np.array_equal(index, np.arange(index.size)))  # block i is strategy i alone

    def sum(self, values: np.ndarray) -> np.ndarray:
        """``[..., N] -> [..., B]``: each block's sum of its members' values (0 for a block
        number no strategy has)."""
        values = np.asarray(values, dtype=float)
        if self.singletons:
            return values
        out = np.zeros((*values.shape[:-1], self.n_blocks))
        if self.used.size:
            out[..., self.used] = np.add.reduceat(values[..., self.order], self.starts, axis=-1)
        return out

    def first_values(self, values: np.ndarray) -> np.ndarray:
        """``[S, B]``: each block's value from its first member's column of ``values [S, N]``
        (a block number no strategy has takes the first strategy's: it sums nothing)."""
        values = np.asarray(values, dtype=float)
        out = np.repeat(values[:, :1], self.n_blocks, axis=1)
        out[:, self.used] = values[:, self.first]
        return out


def block_loglik(
    params: dict[str, np.ndarray],
    returns: np.ndarray,
    factors: np.ndarray,
    blocks: Sequence[int],
) -> np.ndarray:
    """Log density ``[S, T, B]`` of each block's observed returns on each day, per draw.

    ``params``: ``alpha``, ``sigma``, ``loading`` (``c``) and ``nu`` each ``[S, N]`` (``nu``
    equal across a block's members), ``beta`` ``[S, N, K]``. ``returns`` ``[T, N]`` with
    NaN for a masked cell (``T`` may be 0); ``factors`` ``[T, K]``, NaN on a day a factor
    is missing, which masks that day for every strategy (as ``ReturnWindow.mask`` does: a
    window's ``returns``, ``factors`` and ``blocks`` go in as they are). ``blocks``: each
    strategy's block number. See the module docstring for the density.
    """
    ret = np.asarray(returns, dtype=float)
    x = np.asarray(factors, dtype=float)
    by_block = BlockSums(blocks)
    if ret.shape[0] == 0:  # no day (a window that grew, none leaving): nothing to sum
        return np.zeros((params["alpha"].shape[0], 0, by_block.n_blocks))
    factor_days = np.isfinite(x).all(axis=1)
    x = np.where(factor_days[:, None], x, 0.0)
    observed = np.isfinite(ret) & factor_days[:, None]
    mask = observed.astype(float)
    filled = np.where(observed, ret, 0.0)

    alpha, sigma, c = params["alpha"], params["sigma"], params["loading"]
    beta = np.asarray(params["beta"], dtype=float).reshape(alpha.shape[0], alpha.shape[1], x.shape[1])
    nu = by_block.first_values(params["nu"])  # [S, B]
    mean = alpha[:, None, :] + np.einsum("tk,snk->stn", x, beta)  # [S, T, N]
    resid = (filled[None, :, :] - mean) * mask[None, :, :]
    loading = sigma * c
    idio = sigma**2 * (1.0 - c**2)
    precision = mask[None, :, :] / idio[:, None, :]  # [S, T, N]

    a = by_block.sum(precision * resid**2)
    b = by_block.sum(precision * loading[:, None, :] * resid)
    cc = by_block.sum(precision * loading[:, None, :] ** 2)
    k = by_block.sum(mask)  # [T, B]
    log_d = by_block.sum(mask[None, :, :] * np.log(idio)[:, None, :])
    quad = (a - b**2 / (1.0 + cc)) * (nu / (nu - 2.0))[:, None, :]
    nu_b = nu[:, None, :]
    return _constant(nu, k) - 0.5 * (log_d + np.log1p(cc)) - 0.5 * (nu_b + k) * np.log1p(quad / nu_b)


def _constant(nu: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``[S, T, B]``: ``lgamma((nu + k)/2) - lgamma(nu/2) - k/2 log(nu pi) - (k/2) log((nu -
    2)/nu)`` for each block's ``nu [S, B]`` and its count ``k [T, B]`` of observed members,
    evaluated once per distinct ``k`` (a day depends on it only through ``k``)."""
    counts, which = np.unique(k, return_inverse=True)
    table = np.stack(
        [
            gammaln(0.5 * (nu + m)) - gammaln(0.5 * nu) - 0.5 * m * (np.log(nu * np.pi) + np.log((nu - 2.0) / nu))
            for m in counts
        ],
        axis=-1,
    )  # [S, B, distinct k]
    return table[:, np.arange(k.shape[1])[None, :], which.reshape(k.shape)]
