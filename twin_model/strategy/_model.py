r"""The hierarchical PyMC model of daily strategy returns, on padded shapes.

Model
-----
Strategy ``i = 1..N`` in residual block ``b(i)``, day ``t = 1..T``, regressors ``x_t``
(``K`` of them, the window's factor design: the benchmark and spreads over it; ``K = 0``
measures alpha over cash); ``m_it = 1`` when ``r_it`` is observed **and** every factor is
observed on day ``t``, else 0. The likelihood is exactly ``_likelihood.block_loglik``
(see its docstring for the density and the Woodbury algebra)::

    e_it        = r_it - alpha_i - sum_k beta_ik x_tk
    e_t[b] | .  ~ MultivariateStudentT(nu_b, 0, Sigma_b (nu_b - 2)/nu_b)    observed members
    Sigma_b     = diag(sigma_i^2 (1 - c_i^2)) + (sigma c)(sigma c)'         (c_i = ``loading``)

    alpha_i   = ir_i * sigma_i,   ir_i = mu_ir + tau_ir * z_i,   z_i ~ N(0, 1)  (non-centred)
    beta_ik   ~ N(mu_beta_k, tau_beta_k)      (centred for the benchmark, non-centred for spreads)
    mu_ir     ~ N(0, 0.05)        tau_ir     ~ HalfNormal(0.05)
    mu_beta_k ~ N(0, 1)           tau_beta_k ~ HalfNormal(0.5)
    sigma_i   = s_i sqrt(1 + u_i^2) sqrt(nu_b / (nu_b - 2)),   c_i = u_i / sqrt(1 + u_i^2)
    s_i       ~ LogNormal(log 0.01, 1)     idiosyncratic residual scale: Psi_b = diag(s^2) + (s u)(s u)'
    u_i       ~ N(0, 1) in a shared block (``loading_z``), u_i = 0 in a block of one (c_i = 0)
    nu_b      = 2.1 + g_b,        g_b ~ Gamma(shape 2, rate 0.1)               (one per block)

The alpha hierarchy is non-centred (``z``): with 20 to 500 returns per strategy the daily
information ratio of alpha is weakly identified (its standard error ``1/sqrt(T)`` is
about the size of ``tau_ir``), the regime where the centred form makes a funnel. Pooling
the *information ratio* ``alpha / sigma`` rather than alpha itself puts strategies of
different volatility on one scale, so a calm and a wild strategy shrink alike.

The benchmark's beta hierarchy (and a raw factor's, without a benchmark) is **centred**,
although non-centred (``beta = mu_beta + tau_beta w``) was the first design: the data pin
every benchmark beta down (standard error about ``sigma_i / (sd(x_k) sqrt(T))`` ~ 0.03
against a spread ``tau_beta`` ~ 0.4), the regime where the non-centred form ties
``mu_beta``, ``tau_beta`` and all the ``w_i`` together along a curved ridge. Measured on 40
synthetic strategies x 504 days (2 x 300 + 300), one benchmark: non-centred, ``mu_beta``
and ``tau_beta`` had R-hat 1.13-1.50 and bulk ESS 4-13; centred, R-hat <= 1.013 and ESS
880-1,200. A **spread** over the benchmark (``MTUM-SP500``, ...) is the opposite regime:
its daily sd is a third to a half of the benchmark's, so its betas' standard error (~0.1)
is as large as their spread across strategies (``tau_beta`` 0.03-0.18 over the bundled
firm's eight modelled strategies), where the centred form makes a funnel. Centred, those
eight diverged 13-107 times in 1,000 draws on four of six windows tried (so every strategy
fell back on the divergence rule); with the spreads non-centred, 0 on each of five
windows, R-hat <= 1.017 and bulk ESS >= 356 (benchmarks/RESULTS.md, "Factor sleeves out
of the NUTS model"). ``build_model(..., centred_beta=False)`` makes every factor
non-centred, for comparison. Without factors the beta hierarchy is left out of the model
altogether (a centred hierarchy with no data would be a pure funnel).

A fixed cross-member preconditioner was tried and rejected (commit 079eb11, reverted):
``beta = M W`` with ``W`` flat, the prior kept on ``beta``, ``M`` the block Cholesky of the
members' multivariate-t least-squares residual scatter (the same posterior, a cheaper
geometry if the posterior's cross-member correlation were the residuals'). On six
December 2022 windows it cut a fit from 16.0 to 11.3 s; on six October 2022 windows it
mixed far worse than centred (sleeves' beta bulk ESS 10-149 of 1,000 and R-hat up to 1.17
against 213-387 and <= 1.02), and a 60-day rolling run from 4 October refitted each of its
first ten days.

The bundled factor sleeves are trend-timing strategies (all in one ETF or all in cash),
which a constant-beta regression does not describe, and on some windows their posterior
has two modes: betas near 1 with tiny residual scales and the cash days as the fat tails
of a ``nu`` at its floor, or betas near the share of days invested. When the two chains
settle in different modes (4 of 18 fits over six December 2022 windows; R-hat 1.5-2.2)
the strategies fall back to the conjugate model, flagged. Starting the chains at the
least-squares fit (tried with the preconditioner) did not prevent it (5 of 12 fits
split). Scaling the factor term by each day's exposure (0 on a cash day) was probed and
made it worse (one October window: R-hat 3.0, ~700 leapfrog steps a draw): with the
exposure known a sleeve is an exact function of the factors, its residual is ~0 and the
t likelihood's scale collapses. So a strategy its factors replicate is kept out of this
model altogether and takes the exact conjugate fit (``_replication``: its likelihood here
is unbounded as its residual scale goes to 0).

Shared residual risk: the strategies of a block share a latent daily risk no factor
carries, integrated out (rank-one covariance), so strategies of one sector that had a
good two years together are not counted as independent evidence of alpha. The model is
sampled in ``(log s_i, u_i, nu_b)`` with ``s`` the *scale* of the t (not its sd): the
idiosyncratic scale and the shared loading ``s_i u_i`` are what the data pin down, nearly
independently of each other and of the tail df. Sampled as ``(log sigma_i, atanh c_i)``
(the first design), strongly loaded blocks (the bundled factor sleeves, ``c`` about 0.9)
made a curved ridge: R-hat of sigma up to 1.08, bulk ESS down to 37, about 7 of 13
bundled strategies falling back a day; with the sd ``s`` instead of the scale, a
six-member block's one ``nu`` traded off against its members' sds (bulk ESS 57 of 600).
The induced prior of a member's loading, ``c = u / sqrt(1 + u^2)``, is symmetric with 90% of its mass in (-0.85, 0.85) and none at
+-1 (where the idiosyncratic variance vanishes). The density depends on
``c`` only through ``c c'``, and so does the prior, so ``c`` and ``-c`` are the same model:
the posterior has two mirror modes per block, alike in everything but the sign. The
sampler runs on the symmetric parametrisation and the stored ``loading`` is the draw's
``c`` times the sign of its block lead's ``c`` (so the lead's is >= 0). The sign is not
constrained inside the model: tried first (the lead's ``c = sigmoid(v)``), it trapped
chains where the lead's loading sits near 0 and the others are mirrored (bundled firm:
R-hat of the loadings up to 1.84, 9 of 13 strategies falling back on some days).
``block_leads`` picks as lead the member whose factor-regression residual co-moves most
with the other members' (sum of absolute sample correlations), so its sign is clear in
every draw; every other output (alpha, betas, sigma, nu, the density) is sign-invariant.

Prior choices:

* ``mu_ir ~ N(0, 0.05)``, ``tau_ir ~ HalfNormal(0.05)``: a daily IR of 0.05 is an annual
  Sharpe of alpha of 0.8; persistent alpha above 2 a year (0.13 a day) is rare, and the
  prior keeps it possible but sceptical -- the point of pooling.
* ``s_i ~ LogNormal(log 0.01, 1)`` (the scale; alone in a block ``sigma_i = s_i
  sqrt(nu / (nu - 2))``, 5% above ``s_i`` at the prior's mean ``nu``): centred on 1% a day
  (16% a year) with 95% of its mass between 0.14% and 7% a day (2% to 113% a year). Unlike ``HalfNormal(0.05)`` it
  puts no mass near zero volatility, where ``alpha = ir * sigma`` and the likelihood
  scale degenerate; with hundreds of returns the data swamp it either way.
* ``nu_b - 2.1 ~ Gamma(2, 0.1)`` (Juarez and Steel 2010): mean 22.1, mode 12.1, yet 6%
  of its mass below nu = 6 (19% below 10), so fat tails are found when the data have
  them and a near-normal block drifts to large ``nu``. The 2.1 floor keeps the variance
  finite (sigma_i is the sd only for nu > 2). One ``nu`` per block: a multivariate t has
  one tail parameter (its members' ``nu`` in the draws are the block's).

Derived per posterior draw, with ``xbar`` and ``S_x`` the mean and sample covariance
(ddof = 1) of the regressors over the window's days with every factor observed::

    daily_mean_i = alpha_i + beta_i' xbar
    vol_i        = sqrt(beta_i' S_x beta_i + sigma_i^2)             (total daily vol)
    sharpe_i     = sqrt(252) * daily_mean_i / vol_i                 (annual)

Cost and padding
----------------
The per-block sums of the likelihood (``A, B, C``) are segment sums: an ``inc_subtensor``
of the ``[N, T]`` per-cell terms into ``[B_max, T]`` rows by each strategy's block number,
``O(T N)`` (a one-hot matmul would be ``O(T N B)``, quadratic at 100 strategies). The
rest is summed where it is cheapest: ``sum_t sum_i m_it log d_i = sum_i n_i log d_i``
(``n_i`` observed days, data), and the normalising constant depends on a block-day only
through its count ``k`` of observed members, so it is summed once per distinct
``(block, k)`` pair weighted by the number of days it occurs (data; at most ``N_max``
pairs) -- ``O(N)`` Gamma functions instead of ``O(T N)``. ``B_max`` (``block_slots``)
is the window's number of blocks, plus one slot that every padding column shares when
``N < N_max`` (above 8, rounded up to a multiple of 8): an unused slot sums nothing and
contributes exactly 0 (``k = 0``), its ``nu`` samples its prior. (The first design gave
every column a slot, ``B_max = N_max``: on the bundled firm's eight modelled strategies
in five blocks three idle ``[T]`` rows and three prior-only ``nu`` in every gradient,
measured 110 against 148-189 us a log density and gradient; at 100 strategies in four
blocks, a hundred.) ``B_max`` is part of the compile key. The model has fixed shapes:
``N_max`` strategies (``N`` rounded up to a multiple of
``STRATEGY_BUCKET`` = 8) by ``T_max`` days (``window_days``; a longer window is rounded
up to a multiple of 64), ``K`` factors of which ``K_s`` spreads (both part of the compile
key; padding a factor would put an unidentified hierarchy in the model). Returns, factors, the 0/1 mask and
the block structure (``block`` number, ``member`` flag, ``lead_index``) are ``pm.Data``, so
a new day with other blocks re-uses the compiled model. Masked cells hold a finite fill
value (0) and are multiplied by ``m_it = 0`` before any sum, so they contribute exactly
nothing to the log density or its gradient. Days before the window's first date are
fully masked rows; strategies beyond ``N`` are fully masked columns in the one padding block,
dropped from every output (their parameters sample the prior: at most 7 idle columns).
"""

from __future__ import annotations

import math

import numpy as np

from twin_model.strategy._window import ReturnWindow

STRATEGY_BUCKET = 8
"""Strategies are padded up to a multiple of this (idle columns cost time, see above)."""

LONG_WINDOW_BUCKET = 64
"""A window longer than ``window_days`` is padded up to a multiple of this many days."""

PRIOR_MU_IR_SD = 0.05
PRIOR_TAU_IR_SD = 0.05
PRIOR_MU_BETA_SD = 1.0
PRIOR_TAU_BETA_SD = 0.5
PRIOR_SIGMA_LOG_MEDIAN = math.log(0.01)
PRIOR_SIGMA_LOG_SD = 1.0
NU_FLOOR = 2.1
PRIOR_NU_SHAPE = 2.0
PRIOR_NU_RATE = 0.1
PRIOR_LOADING_Z_SD = 1.0


def padded_shape(n_strategies: int, n_days: int, window_days: int) -> tuple[int, int]:
    """``(N_max, T_max)``: strategies up to a multiple of 8, days to ``window_days`` (or a
    multiple of 64 when the window is longer)."""
    n_max = max(STRATEGY_BUCKET, -(-n_strategies // STRATEGY_BUCKET) * STRATEGY_BUCKET)
    t_max = window_days if n_days <= window_days else -(-n_days // LONG_WINDOW_BUCKET) * LONG_WINDOW_BUCKET
    return n_max, t_max


def padded_arrays(window: ReturnWindow, n_max: int, t_max: int, masked_fill: float = 0.0) -> dict[str, np.ndarray]:
    """The model's data for ``window``: ``ret`` and ``mask`` ``[t_max, n_max]``, with factors
    ``factors`` ``[t_max, K]`` (0 on a day with a factor missing, which the mask excludes
    for every strategy), per strategy ``block`` (its block number), ``member`` (1 in a shared block of two or more, else 0) and
    ``lead_index`` (its block lead's column, ``block_leads``; itself alone); padding columns
    share the block after the window's last. The window's days fill the last rows (earlier
    rows are padding), its strategies the first columns. Every masked cell of ``ret``
    holds ``masked_fill`` (finite; it is multiplied by a zero mask, so any value gives the
    same log density -- the tests use that to prove masked cells are excluded)."""
    t, n = window.returns.shape
    if n > n_max or t > t_max:
        raise ValueError(f"window ({t} days, {n} strategies) exceeds the padded shape ({t_max}, {n_max})")
    if not math.isfinite(masked_fill):
        raise ValueError("masked_fill must be finite")
    window.factor_moments()  # raises when no day has every factor
    mask = np.zeros((t_max, n_max))
    ret = np.full((t_max, n_max), float(masked_fill))
    observed = window.mask
    mask[t_max - t :, :n] = observed
    ret[t_max - t :, :n] = np.where(observed, window.returns, masked_fill)
    factors = {}
    if window.factor_ids:
        factors["factors"] = np.zeros((t_max, len(window.factor_ids)))
        factors["factors"][t_max - t :] = np.nan_to_num(window.factors, nan=0.0)
    block = np.concatenate([window.blocks, np.full(n_max - n, len(window.block_names))]).astype(np.int64)
    shared = np.concatenate([window.block_sizes >= 2, np.zeros(n_max - n, dtype=bool)])
    lead_index = np.arange(n_max)
    leads = np.nonzero(block_leads(window))[0]
    for i in leads:
        lead_index[np.nonzero(block[:n] == block[i])[0]] = i
    return {
        "ret": ret,
        "mask": mask,
        **factors,
        "block": block,
        "member": shared.astype(float),
        "lead_index": lead_index.astype(np.int64),
        **_block_counts(mask, block, block_slots(window, n_max)),
    }


def block_slots(window: ReturnWindow, n_max: int) -> int:
    """``B_max``: the window's blocks, plus one shared by the padding columns when it has
    fewer than ``n_max`` strategies; up to ``STRATEGY_BUCKET`` exactly (an idle slot is a
    large share of a small model's work), beyond it rounded up to a multiple of it, at
    most ``n_max`` (so a universe of one-strategy blocks that shrinks inside its bucket
    re-uses the compiled model, as the strategies' padding does)."""
    needed = len(window.block_names) + (1 if len(window.strategy_ids) < n_max else 0)
    if needed <= STRATEGY_BUCKET:
        return needed
    return min(n_max, -(-needed // STRATEGY_BUCKET) * STRATEGY_BUCKET)


def block_leads(window: ReturnWindow) -> np.ndarray:
    """``[N]`` bool: the lead of each shared block, the member whose least-squares residual
    (on ``[1, factors]`` over its observed cells) has the largest sum of absolute
    pairwise-complete correlations with the other members' -- the member most surely
    loaded on the block's shared risk, so fixing its loading's sign identifies the others'
    (see the module docstring): the draws' loadings are reported with its sign positive.
    Ties go to the first in id order."""
    n = len(window.strategy_ids)
    lead = np.zeros(n, dtype=bool)
    sizes = window.block_sizes
    mask = window.mask
    resid = np.full(window.returns.shape, np.nan)
    x = np.column_stack([np.ones(mask.shape[0]), np.nan_to_num(window.factors)])
    for i in np.nonzero(sizes >= 2)[0]:
        ok = mask[:, i]
        if ok.sum() > x.shape[1]:
            coef = np.linalg.lstsq(x[ok], window.returns[ok, i], rcond=None)[0]
            resid[ok, i] = window.returns[ok, i] - x[ok] @ coef
    for b in np.unique(window.blocks[sizes >= 2]):
        members = np.nonzero(window.blocks == b)[0]
        strength = [sum(abs(_pair_correlation(resid[:, i], resid[:, j])) for j in members if j != i) for i in members]
        lead[members[int(np.argmax(strength))]] = True
    return lead


def _pair_correlation(u: np.ndarray, v: np.ndarray) -> float:
    """Correlation over the days both are observed; 0 on fewer than 3 such days or no spread."""
    both = np.isfinite(u) & np.isfinite(v)
    if both.sum() < 3:
        return 0.0
    a, b = u[both] - u[both].mean(), v[both] - v[both].mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / den if den > 0 else 0.0


def build_model(
    n_max: int, t_max: int, n_factors: int, *, n_blocks: int, n_spreads: int = 0, centred_beta: bool = True
):
    """The PyMC model (see the module docstring) with zero data of shape ``[t_max, n_max]``,
    ``n_blocks`` block slots (``block_slots``) and ``n_factors`` regressors, the last
    ``n_spreads`` of them spreads over the benchmark
    (whose betas are non-centred; see "The benchmark's beta hierarchy" in the module
    docstring).

    Data containers: ``ret``, ``mask`` ``[t_max, n_max]``, ``factors`` ``[t_max, K]`` (only
    with factors), ``block``, ``lead_index`` (int), ``member`` ``[n_max]`` and the block counts of
    ``_block_counts``. Stored variables: ``alpha``, ``sigma``,
    ``nu``, ``loading`` ``[n_max]``, ``beta`` ``[n_max, K]`` (with factors) and the
    hyper-parameters; the log density is the Potential ``loglik``. ``centred_beta=False``
    makes every beta hierarchy non-centred, kept only so the benchmark can show why the
    benchmark's is not."""
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        ret = pm.Data("ret", np.zeros((t_max, n_max)))
        mask = pm.Data("mask", np.zeros((t_max, n_max)))
        block = pm.Data("block", np.arange(n_max, dtype=np.int64))
        member = pm.Data("member", np.zeros(n_max))
        lead_index = pm.Data("lead_index", np.arange(n_max, dtype=np.int64))

        mu_ir = pm.Normal("mu_ir", 0.0, PRIOR_MU_IR_SD)
        tau_ir = pm.HalfNormal("tau_ir", PRIOR_TAU_IR_SD)
        z = pm.Normal("z", 0.0, 1.0, shape=n_max)
        idio = pm.LogNormal("sigma_idio", mu=PRIOR_SIGMA_LOG_MEDIAN, sigma=PRIOR_SIGMA_LOG_SD, shape=n_max)
        z_loading = pm.Normal("loading_z", 0.0, PRIOR_LOADING_Z_SD, shape=n_max) * member
        nu_excess = pm.Gamma("nu_excess", alpha=PRIOR_NU_SHAPE, beta=PRIOR_NU_RATE, shape=n_blocks)
        nu_block = NU_FLOOR + nu_excess
        nu = pm.Deterministic("nu", nu_block[block])
        spread = pt.sqrt(1.0 + pt.sqr(z_loading))
        sigma = pm.Deterministic("sigma", idio * spread * pt.sqrt(nu / (nu - 2.0)))
        c = z_loading / spread
        pm.Deterministic("loading", c * pt.sign(c[lead_index]))
        alpha = pm.Deterministic("alpha", (mu_ir + tau_ir * z) * sigma)
        mean = alpha[None, :]
        if n_factors:
            x = pm.Data("factors", np.zeros((t_max, n_factors)))
            mean = mean + pt.dot(x, _betas(n_max, n_factors, n_spreads if centred_beta else n_factors).T)

        resid = (ret - mean) * mask
        structure = {name: pm.Data(name, value) for name, value in _empty_structure(n_max, t_max, n_blocks).items()}
        pm.Potential("loglik", _block_logp(resid, mask, idio, z_loading, nu_block, {"block": block, **structure}))
    return model


def _betas(n_max: int, n_factors: int, n_non_centred: int):
    """``beta [n_max, K]``, pooled per factor: centred for the first ``K - n_non_centred``
    regressors, non-centred (``beta = mu_beta + tau_beta w``) for the rest."""
    import pymc as pm
    import pytensor.tensor as pt

    mu_beta = pm.Normal("mu_beta", 0.0, PRIOR_MU_BETA_SD, shape=n_factors)
    tau_beta = pm.HalfNormal("tau_beta", PRIOR_TAU_BETA_SD, shape=n_factors)
    n_centred = n_factors - n_non_centred
    if n_non_centred == 0:
        return pm.Normal("beta", mu_beta, tau_beta, shape=(n_max, n_factors))
    w = pm.Normal("w", 0.0, 1.0, shape=(n_max, n_non_centred))
    non_centred = mu_beta[n_centred:] + tau_beta[n_centred:] * w
    if n_centred == 0:
        return pm.Deterministic("beta", non_centred)
    centred = pm.Normal("beta_centred", mu_beta[:n_centred], tau_beta[:n_centred], shape=(n_max, n_centred))
    return pm.Deterministic("beta", pt.concatenate([centred, non_centred], axis=1))


def _block_logp(resid, mask, idio, z_loading, nu_block, data: dict):
    """The model's log density: ``block_loglik`` summed over days and blocks, with each term
    summed where it is cheapest (see "Cost and padding" in the module docstring). In the
    scale ``Psi_b = diag(s^2) + (s u)(s u)'`` (``= Sigma_b (nu - 2) / nu``) and with
    ``e'_it = e_it / s_i``: ``A = sum e'^2``, ``B = sum u e'``, ``C = sum m u^2`` over each
    block's observed members, ``Q = A - B^2 / (1 + C)``, ``log det Psi_o = sum 2 log s_i +
    log(1 + C)``."""
    import pytensor.tensor as pt

    t_max, b_max = data["count"].shape
    e = resid.T / idio[:, None]  # [N, T], 0 where masked

    def segment(values):
        return pt.inc_subtensor(pt.zeros((b_max, t_max))[data["block"]], values)

    a = segment(pt.sqr(e))
    b = segment(z_loading[:, None] * e)
    cc = segment(mask.T * pt.sqr(z_loading)[:, None])
    nu = nu_block[:, None]
    k = data["count"].T  # [B_max, T] observed members per block and day
    quad = a - pt.sqr(b) / (1.0 + cc)
    per_day = -0.5 * pt.sum(pt.log1p(cc)) - 0.5 * pt.sum((nu + k) * pt.log1p(quad / nu))
    log_det = -pt.sum(data["n_obs"] * pt.log(idio))
    nu_p, k_p = nu_block[data["pair_block"]], data["pair_k"]
    constant = pt.gammaln(0.5 * (nu_p + k_p)) - pt.gammaln(0.5 * nu_p) - 0.5 * k_p * pt.log(nu_p * math.pi)
    return per_day + log_det + pt.sum(data["pair_days"] * constant)


def _empty_structure(n_max: int, t_max: int, n_blocks: int) -> dict[str, np.ndarray]:
    """Zero-data placeholders of the block-count containers (see ``_block_counts``)."""
    return {
        "count": np.zeros((t_max, n_blocks)),
        "n_obs": np.zeros(n_max),
        "pair_block": np.zeros(n_max, dtype=np.int64),
        "pair_k": np.zeros(n_max),
        "pair_days": np.zeros(n_max),
    }


def _block_counts(mask: np.ndarray, block: np.ndarray, n_blocks: int) -> dict[str, np.ndarray]:
    """The data-only sums of the density: ``count [t_max, B_max]`` observed members of each
    block per day, ``n_obs [N_max]`` observed days per strategy, and the distinct
    ``(block, k)`` pairs with ``k >= 1`` observed members (``pair_block``, ``pair_k``) with
    the number of days each occurs (``pair_days``), padded to ``N_max`` entries (a block
    of ``m`` members has at most ``m`` distinct ``k``, so ``N_max`` always suffices) -- the
    normalising constant depends on the day only through ``k``."""
    t_max, n_max = mask.shape
    count = np.zeros((t_max, n_blocks))
    np.add.at(count.T, block, mask.T)
    pairs = [(b, k, int((count[:, b] == k).sum())) for b in range(n_blocks) for k in np.unique(count[:, b]) if k >= 1]
    out = {"count": count, "n_obs": mask.sum(axis=0)}
    out["pair_block"] = np.zeros(n_max, dtype=np.int64)
    out["pair_k"], out["pair_days"] = np.zeros(n_max), np.zeros(n_max)
    for j, (b, k, days) in enumerate(pairs):
        out["pair_block"][j], out["pair_k"][j], out["pair_days"][j] = b, k, days
    return out


def stored_variables(n_factors: int) -> list[str]:
    """The variables nutpie keeps in the trace."""
    names = ["alpha", "sigma", "nu", "loading", "mu_ir", "tau_ir"]
    return names + (["beta", "mu_beta", "tau_beta"] if n_factors else [])
