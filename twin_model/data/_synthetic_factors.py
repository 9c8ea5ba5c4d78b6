r"""Style factors of the synthetic universe, and its truth in the strategy model's terms.

Factors
-------
Beside the market ``m_t`` there are ``n_factors`` style factors ``j = 1..J`` (ids
``factor_1``, ``factor_2``, ...), each with a daily premium ``a_j``, a daily volatility
``sigma_f,j`` and a correlation ``rho_j`` with the market (``SyntheticConfig``'s
``factor_premium``, ``factor_vol``, ``factor_corr``: one value for every factor or one per
factor)::

    f_j,t     = a_j + g_j m_t + sigma_u,j z_j,t
    g_j       = rho_j sigma_f,j / sigma_m               market beta of the factor
    sigma_u,j = sigma_f,j sqrt(1 - rho_j^2)             the factor's own risk

so that::

    Var f_j        = sigma_f,j^2
    corr(f_j, m)   = rho_j,     corr(f_j, f_l) = rho_j rho_l   (j != l)
    E f_j          = a_j + g_j mu_m

and ``a_j``, the intercept of ``f_j`` regressed on ``m``, is the factor's alpha over the
market: what a model that knows only the benchmark takes for skill. (The bundled factor
ETFs correlate 0.85-0.95 with the S&P 500 and with each other; ``rho = 0.9`` gives 0.9
and 0.81.) ``z_j,t`` is a unit-variance Student-t draw with ``market_df`` dof, from the
day's own factor stream ``SeedSequence([seed, t], spawn_key=(FACTOR_STREAM,))``, ``j``
in order: adding factors changes no market, sector or idiosyncratic draw, and the
factor series depend on neither the strategies nor the sectors.

Strategies
----------
Strategy ``i`` loads ``l_ij`` on factor ``j`` (truth column ``beta_factor_j``; zero but
for the ``factor`` archetype, which loads on one factor and has no alpha)::

    r_i,t = alpha_i(t) + beta_i m_t + sum_j l_ij f_j,t + s_k(i),t + e_i,t

Truth::

    B_i          = beta_i + sum_j l_ij g_j            total market exposure (the OLS slope
                                                       of r_i on m alone)
    E[r_i,t]     = alpha_i(t) + B_i mu_m + sum_j l_ij a_j
    vol_i^2      = B_i^2 sigma_m^2 + sum_j l_ij^2 sigma_u,j^2 + sigma_s^2 + sigma_i^2
    alpha over the market and the factors      = alpha_i(t)
    alpha over the market alone                = alpha_i(t) + sum_j l_ij a_j   (alpha_over_market)

Alpha over the factors is the same for any invertible linear transform of the regressors
(e.g. ``m`` and ``f_j - m``, whose loadings are ``beta_i + sum_j l_ij`` and ``l_ij``).

Residual risk shared within a sector
------------------------------------
Over all factors the residual is ``s_k(i),t + e_i,t``: the sector's shared risk plus the
strategy's own. In the strategy model's terms (a block per sector, a residual sd and a
correlation with the block's shared risk)::

    rsd_i            = sqrt(sigma_s^2 + sigma_i^2)      residual sd
    c_i              = sigma_s / rsd_i                  correlation with the sector's risk
    corr(res_i, res_j) = c_i c_j = sigma_s^2 / (rsd_i rsd_j)   same sector, i != j; else 0

so ``sigma_s`` (and fewer, larger sectors) makes the shared risk large; ``n_sectors = N``
gives every strategy a sector of its own (independent residuals). Over the market alone
the residual also holds ``sum_j l_ij sigma_u,j z_j,t``, shared by strategies loading on
the same factor.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from twin_model.data.synthetic import SyntheticConfig

FACTOR_STREAM = 0x6661_6374  # spawn key of the daily factor streams ("fact")
MARKET_FACTOR_ID = "market"
FACTOR_LOADING_RANGE = (1.0, 1.5)  # l_ij of the factor archetype, uniform

FACTOR_TABLE_SCHEMA: dict[str, pl.DataType] = {
    "factor_id": pl.String(),
    "is_benchmark": pl.Boolean(),
    "premium": pl.Float64(),
    "vol": pl.Float64(),
    "corr_market": pl.Float64(),
    "market_beta": pl.Float64(),
    "own_vol": pl.Float64(),
    "daily_mean": pl.Float64(),
}
FACTOR_RETURNS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "factor_id": pl.String(),
    "ret": pl.Float64(),
    "is_benchmark": pl.Boolean(),
}
RESIDUAL_SCHEMA: dict[str, pl.DataType] = {
    "strategy_id": pl.String(),
    "sector": pl.String(),
    "residual_sd": pl.Float64(),
    "sector_corr": pl.Float64(),
}


class FactorParameters(NamedTuple):
    """Per-factor arrays (length ``n_factors``): ``a``, ``sigma_f``, ``rho``, ``g``, ``sigma_u``."""

    premium: np.ndarray
    vol: np.ndarray
    corr: np.ndarray
    market_beta: np.ndarray
    own_vol: np.ndarray


def factor_ids(n_factors: int) -> list[str]:
    """``factor_1``, ..., ``factor_J`` (the market is ``MARKET_FACTOR_ID``)."""
    return [f"factor_{j}" for j in range(1, n_factors + 1)]


def loading_columns(n_factors: int) -> list[str]:
    """The truth table's loading column of each factor: ``beta_factor_j``."""
    return [f"beta_{name}" for name in factor_ids(n_factors)]


def per_factor(name: str, value: float | tuple[float, ...], n_factors: int) -> np.ndarray:
    """``value`` as one float per factor: a scalar is repeated, a tuple must have ``n_factors``."""
    if isinstance(value, tuple | list):
        if len(value) != n_factors:
            raise ValueError(f"{name} has {len(value)} values, expected one per factor ({n_factors})")
        return np.array(value, dtype=np.float64)
    return np.full(n_factors, float(value))


def factor_parameters(config: SyntheticConfig) -> FactorParameters:
    """``a_j``, ``sigma_f,j``, ``rho_j`` and the derived ``g_j``, ``sigma_u,j`` (module docstring)."""
    n = config.n_factors
    premium = per_factor("factor_premium", config.factor_premium, n)
    vol = per_factor("factor_vol", config.factor_vol, n)
    corr = per_factor("factor_corr", config.factor_corr, n)
    market_beta = corr * vol / config.sigma_m if n else np.zeros(0)
    own_vol = vol * np.sqrt(1.0 - corr**2)
    return FactorParameters(premium, vol, corr, market_beta, own_vol)


def check_factor_settings(config: SyntheticConfig) -> None:
    """Raise ``ValueError`` naming the setting for impossible factor settings."""
    if config.n_factors < 0:
        raise ValueError(f"n_factors must be >= 0, got {config.n_factors}")
    if config.share_factor > 0 and config.n_factors == 0:
        raise ValueError("share_factor > 0 needs n_factors >= 1 (the factor archetype loads on a factor)")
    per_factor("factor_premium", config.factor_premium, config.n_factors)
    vol = per_factor("factor_vol", config.factor_vol, config.n_factors)
    corr = per_factor("factor_corr", config.factor_corr, config.n_factors)
    if config.n_factors and not config.sigma_m > 0:
        raise ValueError("factors need sigma_m > 0 (their market beta is rho sigma_f / sigma_m)")
    if (vol < 0).any():
        raise ValueError(f"factor_vol must be >= 0, got {config.factor_vol}")
    if (np.abs(corr) > 1).any():
        raise ValueError(f"factor_corr must be in [-1, 1], got {config.factor_corr}")


def factor_table(config: SyntheticConfig) -> pl.DataFrame:
    """The truth of every factor, the market (benchmark) first.

    Columns: factor_id, is_benchmark, premium ``a`` (daily alpha over the market; 0 for
    the market), vol ``sigma_f``, corr_market ``rho`` (1 for the market), market_beta
    ``g`` (1), own_vol ``sigma_u`` (0) and daily_mean ``a + g mu_m``.
    """
    p = factor_parameters(config)
    return pl.DataFrame(
        {
            "factor_id": [MARKET_FACTOR_ID, *factor_ids(config.n_factors)],
            "is_benchmark": [True] + [False] * config.n_factors,
            "premium": [0.0, *p.premium],
            "vol": [config.sigma_m, *p.vol],
            "corr_market": [1.0, *p.corr],
            "market_beta": [1.0, *p.market_beta],
            "own_vol": [0.0, *p.own_vol],
            "daily_mean": [config.mu_m, *(p.premium + p.market_beta * config.mu_m)],
        },
        schema=FACTOR_TABLE_SCHEMA,
    )


def factor_moves(config: SyntheticConfig, market: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``f_j,t`` ``[len(t), n_factors]`` given the market return ``market[k]`` of day ``t[k]``."""
    p = factor_parameters(config)
    z_scale = math.sqrt((config.market_df - 2.0) / config.market_df)
    shocks = np.empty((t.size, config.n_factors))
    for k, day in enumerate(t):
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, int(day)], spawn_key=(FACTOR_STREAM,)))
        shocks[k] = rng.standard_t(config.market_df, size=config.n_factors)
    return p.premium + p.market_beta * np.asarray(market)[:, None] + p.own_vol * z_scale * shocks


def strategy_loadings(config: SyntheticConfig, truth: pl.DataFrame) -> np.ndarray:
    """``l_ij`` ``[N, n_factors]`` from the truth's ``beta_factor_j`` columns.

    Raises ``ValueError`` when the truth's loading columns are not the config's factors."""
    expected = loading_columns(config.n_factors)
    present = [c for c in truth.columns if c.startswith("beta_factor_")]
    if present != expected:
        raise ValueError(f"truth has loading columns {present}, the config's factors need {expected}")
    if not expected:
        return np.zeros((truth.height, 0))
    return truth.select(expected).to_numpy().astype(np.float64)


def exposure_and_factor_terms(
    config: SyntheticConfig, beta: np.ndarray, loadings: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``B_i = beta_i + sum_j l_ij g_j``, ``sum_j l_ij a_j`` and ``sum_j l_ij^2 sigma_u,j^2``."""
    p = factor_parameters(config)
    exposure = beta + (loadings * p.market_beta).sum(axis=1)
    premium = (loadings * p.premium).sum(axis=1)
    own_var = (loadings**2 * p.own_vol**2).sum(axis=1)
    return exposure, premium, own_var


def factor_loadings(config: SyntheticConfig, archetype: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``l_ij`` ``[N, n_factors]``: the q-th factor strategy loads ``FACTOR_LOADING_RANGE``
    (scaled by its uniform ``v``) on factor ``q mod n_factors``; everyone else 0."""
    loadings = np.zeros((archetype.size, config.n_factors))
    rows = np.flatnonzero(archetype == "factor")
    if rows.size:
        lo, hi = FACTOR_LOADING_RANGE
        loadings[rows, np.arange(rows.size) % config.n_factors] = lo + (hi - lo) * v[rows]
    return loadings


def factor_term(truth: pl.DataFrame, factor_truth: pl.DataFrame | None, column: str) -> np.ndarray:
    """``sum_j l_ij x_j`` per strategy, from the truth's ``beta_factor_j`` columns and
    ``factor_truth``'s (``factor_table``) ``column`` ``x`` (``daily_mean`` or ``premium``)."""
    columns = [c for c in truth.columns if c.startswith("beta_factor_")]
    if factor_truth is None:
        raise ValueError(f"truth has factor loadings {columns}: pass factor_truth=factor_table(config)")
    values = dict(zip(factor_truth["factor_id"].to_list(), factor_truth[column].to_list(), strict=True))
    missing = [c for c in columns if c.removeprefix("beta_") not in values]
    if missing:
        raise ValueError(f"factor_truth lacks the factor(s) of truth column(s) {missing}")
    x = np.array([values[c.removeprefix("beta_")] for c in columns])
    return (truth.select(columns).to_numpy() * x).sum(axis=1)


def factor_frame(config: SyntheticConfig, days: np.ndarray, market: np.ndarray, moves: np.ndarray) -> pl.DataFrame:
    """The long factor-returns frame (``FACTOR_RETURNS_SCHEMA``) of ascending ``days``:
    the market's return (the benchmark) then each factor's ``moves[:, j]``, per date."""
    ids = [MARKET_FACTOR_ID, *factor_ids(config.n_factors)]
    width = len(ids)
    values = np.column_stack([market, moves])
    return pl.DataFrame(
        {
            "date": pl.Series("date", days, dtype=pl.Date).gather(np.repeat(np.arange(days.size), width)),
            "factor_id": ids * days.size,
            "ret": values.reshape(-1),
            "is_benchmark": [True, *([False] * (width - 1))] * days.size,
        },
        schema=FACTOR_RETURNS_SCHEMA,
    )


def residual_truth(config: SyntheticConfig, truth: pl.DataFrame) -> pl.DataFrame:
    """Each strategy's residual over all factors: strategy_id, sector, residual_sd
    ``sqrt(sigma_s^2 + sigma_i^2)`` and sector_corr ``c_i = sigma_s / residual_sd`` (the
    correlation of two members' residuals is ``c_i c_j``)."""
    residual_sd = np.sqrt(config.sigma_s**2 + truth["sigma_idio"].to_numpy() ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sector_corr = np.where(residual_sd > 0, config.sigma_s / residual_sd, 0.0)
    return pl.DataFrame(
        {
            "strategy_id": truth["strategy_id"],
            "sector": truth["sector"],
            "residual_sd": residual_sd,
            "sector_corr": sector_corr,
        },
        schema=RESIDUAL_SCHEMA,
    )


def residual_correlation(config: SyntheticConfig, truth: pl.DataFrame) -> np.ndarray:
    """``[N, N]`` correlation of the residuals over all factors: ``c_i c_j`` within a
    sector, 0 across sectors, 1 on the diagonal."""
    res = residual_truth(config, truth)
    c = res["sector_corr"].to_numpy()
    sector = res["sector"].to_numpy()
    corr = np.where(sector[:, None] == sector[None, :], np.outer(c, c), 0.0)
    np.fill_diagonal(corr, 1.0)
    return corr
