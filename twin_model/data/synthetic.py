r"""A seeded synthetic source of daily strategy returns with known ground truth.

Used for scale benchmarks and by tests that check models recover the truth (persistent
alpha is kept, decayed alpha is dropped, pure market beta and a factor harvested
without alpha are rejected, intervals stay honest when a sector shares a risk). Pure
numpy + polars; no I/O.

Calendar
--------
Business days are Monday to Friday; synthetic data has no holidays. The business-day
index of a date is ``t = numpy.busday_count(anchor, date)``, so ``t = 0`` at the
universe's ``anchor`` (which must itself be a weekday). Only weekdays on or after the
anchor can be generated.

Model
-----
For strategy ``i`` in sector ``k(i)`` on business day ``t``::

    m_t    = mu_m + sigma_m * z_m,t                      market (benchmark) daily return
    s_k,t  = sigma_s * z_k,t                             sector k factor, k = 0..n_sectors-1
    e_i,t  = sigma_i * z_i,t                             idiosyncratic
    r_i,t  = alpha_i(t) + beta_i * m_t + s_k(i),t + e_i,t

With ``n_factors > 0`` style factors ``f_j,t`` (premium, vol and correlation with the
market from the config) enter as ``+ sum_j l_ij f_j,t``; their definition, the truth
formulas with factors and the truth of the residual risk shared within a sector are in
``twin_model.data._synthetic_factors``; ``factor_table``, ``factor_returns`` (the long
frame date, factor_id, ret, is_benchmark) and ``residual_truth`` here report them.
Without factors every formula below holds as written.

Every ``z`` is an independent Student-t draw scaled to unit variance,
``z = T_nu * sqrt((nu - 2) / nu)`` with ``nu > 2``: the market and the sector factors use
``config.market_df``, the idiosyncratic term of strategy ``i`` uses its own ``tail_df_i``.
The excess kurtosis of such a ``z`` is ``6 / (nu - 4)`` for ``nu > 4`` (every ``nu`` used
by the default ranges is at least 5, so fourth moments are finite).

Alpha decay::

    alpha_i(t) = alpha0_i                                                for t <  decay_start_i
    alpha_i(t) = alpha0_i * 0.5 ** ((t - decay_start_i) / half_life_i)   for t >= decay_start_i

(``decay_start`` null means the alpha never decays.)

Ground truth (what ``truth_table`` and ``true_daily_mean`` report)::

    E[r_i,t]     = alpha_i(t) + beta_i * mu_m
    vol_i        = sqrt(beta_i^2 sigma_m^2 + sigma_s^2 + sigma_i^2)
    cov(r_i,r_j) = beta_i beta_j sigma_m^2 + 1[k(i) = k(j)] sigma_s^2          (i != j)
    corr(r_i,r_j)= cov(r_i, r_j) / (vol_i vol_j)
    cov(r_i,m)   = beta_i sigma_m^2   (so the OLS slope of r_i on m is beta_i)
    residual over the market, s_k(i),t + e_i,t: sd rsd_i = sqrt(sigma_s^2 + sigma_i^2),
        correlation c_i c_j within a sector, c_i = sigma_s / rsd_i; 0 across sectors
    annual Sharpe at anchor = sqrt(252) * (alpha0_i + beta_i mu_m) / vol_i

Benchmark close: ``close_t = 100 * prod_{s=1..t} (1 + m_s)`` -- 100 at the anchor, whose
own return ``m_0`` is not applied.

Archetypes and parameter ranges (drawn by ``truth_table``)
----------------------------------------------------------
Strategies are split into five contiguous blocks, in this order, ``syn_0000`` first:
``alpha``, ``beta``, ``decay``, ``noise``, ``factor`` (``share_factor`` is 0 by default).
Block boundaries are
``floor(N * cumulative_share + 1/2)``, so rounding goes to the last block. Sectors are
assigned round-robin, ``k(i) = i mod n_sectors``. All draws are uniform:

=========  =============  ==================  ==========================================
archetype  beta           sigma_idio (daily)  alpha0 (daily)
=========  =============  ==================  ==========================================
alpha      [-0.10, 0.30]  [0.004, 0.012]      SR_a * vol_i / sqrt(252), SR_a in [0.5, 1.5]
beta       [0.80, 1.20]   [0.002, 0.006]      exactly 0
decay      [-0.10, 0.30]  [0.004, 0.012]      SR_a * vol_i / sqrt(252), SR_a in [1.0, 2.0]
noise      [-0.10, 0.30]  [0.004, 0.012]      exactly 0
factor     [-0.10, 0.30]  [0.002, 0.006]      exactly 0; loading l in [1.0, 1.5] on one
                                              factor, ``factor_((q mod n_factors) + 1)``
                                              for the q-th factor strategy (q = 0, 1, ..)
=========  =============  ==================  ==========================================

``SR_a`` is the annualised Sharpe ratio of the alpha alone (``sqrt(252) alpha0 / vol``).
Every other strategy loads 0 on every style factor. With factors the truth table has one
more column per factor, ``beta_factor_j`` (``l_ij``), after ``beta`` (market).
Every strategy has ``tail_df`` in [5, 10]. Decay strategies have an integer
``decay_start`` in [252, 504] (somewhere in the first one to two years) and
``half_life`` in [20, 60] business days; the others have both null.

With these ranges a daily return stays far inside (-1, 0.5]: nothing is clipped.

Determinism
-----------
The draws of business day ``t`` come from ``numpy.random.default_rng([seed, t])`` in a
fixed order -- one market draw, then ``n_sectors`` sector draws, then one idiosyncratic
draw per strategy (in ``strategy_id`` order) -- so they depend only on ``(seed, t)`` and
the universe, never on which dates were requested: generating ``[a..b]`` then
``[b+1..c]`` equals generating ``[a..c]``. The market series (and so the benchmark) does
not depend on the number of strategies either; the style factors have their own daily
stream (see ``_synthetic_factors``). ``truth_table`` draws from a separate stream,
``SeedSequence(seed, spawn_key=(TRUTH_STREAM,))``, which can never coincide with a daily
``[seed, t]`` stream: one block of six uniforms per strategy, then one uniform per
strategy for the factor loading (drawn whatever the archetypes, after the block, so it
changes none of the others).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.contracts import TABLES
from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.data import _synthetic_factors as factors
from twin_model.data._synthetic_factors import factor_table as factor_table
from twin_model.data._synthetic_factors import residual_correlation as residual_correlation
from twin_model.data._synthetic_factors import residual_truth as residual_truth

ARCHETYPES: tuple[str, ...] = ("alpha", "beta", "decay", "noise", "factor")
TRUTH_STREAM = 0x7472_7574  # spawn key of the truth-table stream ("trut")
START_CLOSE = 100.0

# Parameter ranges (see the module docstring).
LOW_BETA_RANGE = (-0.10, 0.30)
HIGH_BETA_RANGE = (0.80, 1.20)
SIGMA_IDIO_RANGE = (0.004, 0.012)
BETA_SIGMA_IDIO_RANGE = (0.002, 0.006)
ALPHA_SHARPE_RANGE = (0.5, 1.5)
DECAY_ALPHA_SHARPE_RANGE = (1.0, 2.0)
TAIL_DF_RANGE = (5.0, 10.0)
DECAY_START_RANGE = (252, 504)  # inclusive, business days from the anchor
HALF_LIFE_RANGE = (20.0, 60.0)

TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "strategy_id": pl.String(),
    "archetype": pl.String(),
    "sector": pl.String(),
    "alpha0": pl.Float64(),
    "beta": pl.Float64(),
    "sigma_idio": pl.Float64(),
    "tail_df": pl.Float64(),
    "decay_start": pl.Int64(),
    "half_life": pl.Float64(),
    "true_daily_vol": pl.Float64(),
    "true_annual_sharpe_at_anchor": pl.Float64(),
}
RETURNS_SCHEMA: dict[str, pl.DataType] = TABLES["raw.strategy_returns"].columns()
BENCHMARK_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "market_return": pl.Float64(),
    "close": pl.Float64(),
}


@dataclass(frozen=True)
class SyntheticConfig:
    """A synthetic universe: its size, seed, calendar anchor, market and archetype mix."""

    n_strategies: int = 20
    seed: int = 7
    anchor: datetime.date = datetime.date(2015, 1, 2)
    mu_m: float = 0.0003  # market daily mean
    sigma_m: float = 0.011  # market daily vol
    market_df: float = 5.0  # Student-t dof of the market and sector draws
    sigma_s: float = 0.003  # sector factor daily vol
    n_sectors: int = 4
    # mix of archetypes, fractions summing to 1 (rounding goes to the last)
    share_alpha: float = 0.3  # persistent alpha, low beta
    share_beta: float = 0.3  # pure market beta, no alpha
    share_decay: float = 0.2  # alpha that decays from decay_start with half_life
    share_noise: float = 0.2  # no alpha, low beta
    share_factor: float = 0.0  # no alpha, a large loading on one style factor
    # style factors beyond the market (see _synthetic_factors): one value or one per factor
    n_factors: int = 0
    factor_premium: float | tuple[float, ...] = 0.0004  # daily alpha of the factor over the market
    factor_vol: float | tuple[float, ...] = 0.011  # daily vol of the factor's return
    factor_corr: float | tuple[float, ...] = 0.9  # correlation of the factor with the market

    def __post_init__(self) -> None:
        if self.n_strategies < 0:
            raise ValueError(f"n_strategies must be >= 0, got {self.n_strategies}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.n_sectors < 1:
            raise ValueError(f"n_sectors must be >= 1, got {self.n_sectors}")
        if not self.market_df > 2:
            raise ValueError(f"market_df must be > 2 (finite variance), got {self.market_df}")
        if self.sigma_m < 0 or self.sigma_s < 0:
            raise ValueError("sigma_m and sigma_s must be >= 0")
        if not np.is_busday(np.datetime64(_as_date(self.anchor), "D")):
            raise ValueError(f"anchor {self.anchor} is not a business day (Monday-Friday)")
        shares = self.shares
        if any(s < 0 for s in shares) or not math.isclose(sum(shares), 1.0, abs_tol=1e-9):
            raise ValueError(f"archetype shares must be >= 0 and sum to 1, got {shares}")
        factors.check_factor_settings(self)

    @property
    def shares(self) -> tuple[float, float, float, float, float]:
        """(alpha, beta, decay, noise, factor) shares, in ``ARCHETYPES`` order."""
        return (self.share_alpha, self.share_beta, self.share_decay, self.share_noise, self.share_factor)

    def archetype_counts(self) -> dict[str, int]:
        """Strategies per archetype: cumulative boundaries rounded half up, rest to the last."""
        cumulative = np.cumsum(self.shares[:-1])
        bounds = [0] + [int(math.floor(self.n_strategies * c + 0.5)) for c in cumulative] + [self.n_strategies]
        bounds = [min(b, self.n_strategies) for b in bounds]
        return {name: bounds[j + 1] - bounds[j] for j, name in enumerate(ARCHETYPES)}


def strategy_ids(n: int) -> list[str]:
    """``syn_0000``, ``syn_0001``, ...: zero padded to four digits."""
    return [f"syn_{i:04d}" for i in range(n)]


def business_day_index(anchor: datetime.date, dates: Sequence[datetime.date]) -> np.ndarray:
    """``t`` of each date: business days from ``anchor`` (``t = 0`` at the anchor).

    Raises ``ValueError`` naming the date for a weekend date or a date before the anchor.
    """
    days = _to_days(dates)
    weekend = ~np.is_busday(days)
    if weekend.any():
        bad = days[weekend]
        raise ValueError(
            f"synthetic data has Monday-Friday dates only; {bad[0].astype(datetime.date).isoformat()} "
            f"is a weekend day ({bad.size} weekend date(s) requested)"
        )
    anchor_day = np.datetime64(_as_date(anchor), "D")
    early = days < anchor_day
    if early.any():
        bad = days[early]
        raise ValueError(
            f"date {bad[0].astype(datetime.date).isoformat()} is before the synthetic anchor "
            f"{_as_date(anchor).isoformat()} ({bad.size} such date(s) requested)"
        )
    return np.busday_count(anchor_day, days).astype(np.int64)


def truth_table(config: SyntheticConfig) -> pl.DataFrame:
    """The ground truth of every strategy, one row each, in ``strategy_id`` order.

    Columns: strategy_id ("syn_0000"...), archetype, sector ("sector_k"), alpha0 (daily),
    beta (market), one ``beta_factor_j`` per style factor (only when ``n_factors > 0``),
    sigma_idio (daily), tail_df, decay_start (Int64 business-day index or null),
    half_life (Float64 business days or null), true_daily_vol and
    true_annual_sharpe_at_anchor = sqrt(252) * E[r_i,0] / true_daily_vol (with factors,
    the formulas of ``_synthetic_factors``). Ranges per archetype are in the module
    docstring. Drawn from the truth stream of ``config.seed``, separate from the daily draws.
    """
    n = config.n_strategies
    counts = config.archetype_counts()
    archetype = np.repeat(np.array(ARCHETYPES, dtype=object), [counts[a] for a in ARCHETYPES])

    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(TRUTH_STREAM,)))
    # One fixed block of uniforms per strategy, whatever its archetype: u[:, 0] beta,
    # u[:, 1] sigma_idio, u[:, 2] alpha Sharpe, u[:, 3] tail_df, u[:, 4] decay_start,
    # u[:, 5] half_life; then v, the factor loading.
    u = rng.random((n, 6))
    v = rng.random(n)

    def scale(col: int, bounds: tuple[float, float]) -> np.ndarray:
        lo, hi = bounds
        return lo + (hi - lo) * u[:, col]

    is_beta = archetype == "beta"
    is_decay = archetype == "decay"
    has_alpha = (archetype == "alpha") | is_decay
    quiet = is_beta | (archetype == "factor")  # small idiosyncratic risk

    beta = np.where(is_beta, scale(0, HIGH_BETA_RANGE), scale(0, LOW_BETA_RANGE))
    sigma_idio = np.where(quiet, scale(1, BETA_SIGMA_IDIO_RANGE), scale(1, SIGMA_IDIO_RANGE))
    tail_df = scale(3, TAIL_DF_RANGE)
    loadings = factors.factor_loadings(config, archetype, v)
    exposure, factor_premium, factor_var = factors.exposure_and_factor_terms(config, beta, loadings)
    vol = np.sqrt(exposure**2 * config.sigma_m**2 + config.sigma_s**2 + sigma_idio**2 + factor_var)
    alpha_sharpe = np.where(is_decay, scale(2, DECAY_ALPHA_SHARPE_RANGE), scale(2, ALPHA_SHARPE_RANGE))
    alpha0 = np.where(has_alpha, alpha_sharpe * vol / math.sqrt(PERIODS_PER_YEAR), 0.0)

    lo, hi = DECAY_START_RANGE
    decay_start = lo + np.floor(u[:, 4] * (hi - lo + 1)).astype(np.int64)
    half_life = scale(5, HALF_LIFE_RANGE)
    sharpe = math.sqrt(PERIODS_PER_YEAR) * (alpha0 + exposure * config.mu_m + factor_premium) / vol

    columns = factors.loading_columns(config.n_factors)
    return pl.DataFrame(
        {
            "strategy_id": strategy_ids(n),
            "archetype": archetype.tolist(),
            "sector": [f"sector_{i % config.n_sectors}" for i in range(n)],
            "alpha0": alpha0,
            "beta": beta,
            **{name: loadings[:, j] for j, name in enumerate(columns)},
            "sigma_idio": sigma_idio,
            "tail_df": tail_df,
            "decay_start": [int(d) if flag else None for d, flag in zip(decay_start, is_decay, strict=True)],
            "half_life": [float(h) if flag else None for h, flag in zip(half_life, is_decay, strict=True)],
            "true_daily_vol": vol,
            "true_annual_sharpe_at_anchor": sharpe,
        },
        schema=truth_schema(config.n_factors),
    )


def truth_schema(n_factors: int) -> dict[str, pl.DataType]:
    """``TRUTH_SCHEMA`` with one ``beta_factor_j`` column per style factor after ``beta``."""
    schema: dict[str, pl.DataType] = {}
    for name, dtype in TRUTH_SCHEMA.items():
        schema[name] = dtype
        if name == "beta":
            schema.update({column: pl.Float64() for column in factors.loading_columns(n_factors)})
    return schema


def true_alpha(truth: pl.DataFrame, t: np.ndarray) -> np.ndarray:
    """``alpha_i(t)`` as a ``[len(t), N]`` array (strategies in ``truth`` row order).

    This is alpha over the market and every style factor; over the market alone a
    strategy's alpha is this plus ``sum_j l_ij a_j`` (``_synthetic_factors``)."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    alpha0 = truth["alpha0"].to_numpy()[None, :]
    decays = truth["decay_start"].is_not_null().to_numpy()
    start = truth["decay_start"].fill_null(0).cast(pl.Float64).to_numpy()[None, :]
    half_life = truth["half_life"].fill_null(1.0).to_numpy()[None, :]
    elapsed = np.maximum(t - start, 0.0)
    factor = np.where(decays[None, :], 0.5 ** (elapsed / half_life), 1.0)
    return alpha0 * factor


def alpha_over_market(truth: pl.DataFrame, t: np.ndarray, factor_truth: pl.DataFrame | None = None) -> np.ndarray:
    """``alpha_i(t) + sum_j l_ij a_j`` ``[len(t), N]``: alpha as a model that knows only the
    market measures it (the factors' premia count as skill). ``factor_truth``
    (``factor_table``) is needed only when ``truth`` has ``beta_factor_j`` columns."""
    alpha = true_alpha(truth, t)
    if not any(c.startswith("beta_factor_") for c in truth.columns):
        return alpha
    return alpha + factors.factor_term(truth, factor_truth, "premium")[None, :]


def true_daily_mean(
    truth: pl.DataFrame, t: np.ndarray, mu_m: float, factor_truth: pl.DataFrame | None = None
) -> np.ndarray:
    """``E[r_i,t] = alpha_i(t) + beta_i * mu_m + sum_j l_ij E[f_j]`` as a ``[len(t), N]`` array.

    ``factor_truth`` (``factor_table``: factor_id, daily_mean) is needed only when
    ``truth`` has ``beta_factor_j`` columns."""
    mean = true_alpha(truth, t) + truth["beta"].to_numpy()[None, :] * mu_m
    if not any(c.startswith("beta_factor_") for c in truth.columns):
        return mean
    return mean + factors.factor_term(truth, factor_truth, "daily_mean")[None, :]


def generate(
    config: SyntheticConfig,
    dates: Sequence[datetime.date],
    truth: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Daily returns of every strategy in ``truth`` and the benchmark, for ``dates``.

    Returns ``(returns, benchmark)``, both sorted by date (then strategy_id):

    - returns: date (Date), strategy_id (String), ret (Float64), available (Boolean, all True)
    - benchmark: date (Date), market_return (Float64), close (Float64), where
      ``close_t = 100 * prod_{s=1..t} (1 + m_s)`` (computed from the anchor, so it does
      not depend on the requested range).

    The style factors' returns (and the market's) are ``factor_returns(config, dates)``.
    ``truth`` defaults to ``truth_table(config)``; its ``beta_factor_j`` columns must be
    the config's factors. Weekend dates, dates before the anchor and duplicate dates
    raise ``ValueError`` naming the date.
    """
    if truth is None:
        truth = truth_table(config)
    needed = ("strategy_id", "sector", "alpha0", "beta", "sigma_idio", "tail_df", "decay_start", "half_life")
    missing = [c for c in needed if c not in truth.columns]
    if missing:
        raise ValueError(f"truth table lacks column(s) {missing}")
    loadings = factors.strategy_loadings(config, truth)

    days, t_req = _requested_days(config, dates)
    n = truth.height
    market, shocks = _draw_days(config, truth, t_req)
    if config.n_factors:
        moves = factors.factor_moves(config, market[t_req], t_req)
        shocks = shocks + (moves[:, None, :] * loadings[None, :, :]).sum(axis=2)
    ret = true_alpha(truth, t_req) + shocks
    close = START_CLOSE * np.cumprod(np.concatenate([[1.0], 1.0 + market[1:]]))

    date_series = pl.Series("date", days, dtype=pl.Date)
    returns = pl.DataFrame(
        {
            "date": date_series.gather(np.repeat(np.arange(t_req.size), n)),
            "strategy_id": pl.Series(truth["strategy_id"].to_list() * t_req.size, dtype=pl.String),
            "ret": ret.reshape(-1),
            "available": np.ones(t_req.size * n, dtype=bool),
        },
        schema=RETURNS_SCHEMA,
    )
    benchmark = pl.DataFrame(
        {"date": date_series, "market_return": market[t_req], "close": close[t_req]},
        schema=BENCHMARK_SCHEMA,
    )
    return returns, benchmark


def factor_returns(config: SyntheticConfig, dates: Sequence[datetime.date]) -> pl.DataFrame:
    """Daily returns of the market and every style factor, long, for ``dates``.

    Columns: date (Date), factor_id (String: ``"market"``, then ``factor_1``...), ret
    (Float64), is_benchmark (Boolean, True for the market only); sorted by date, the market
    first on each date. The market's ``ret`` is ``generate``'s ``market_return``, bit for
    bit. Bad dates raise as in ``generate``.
    """
    days, t_req = _requested_days(config, dates)
    market = np.array([_market_return(config, np.random.default_rng([config.seed, int(t)])) for t in t_req])
    return factors.factor_frame(config, days, market, factors.factor_moves(config, market, t_req))


def _requested_days(config: SyntheticConfig, dates: Sequence[datetime.date]) -> tuple[np.ndarray, np.ndarray]:
    """The requested days and their business-day index ``t``, ascending; raises on a bad or
    duplicate date."""
    days = _to_days(dates)
    t_req = business_day_index(config.anchor, dates)
    order = np.argsort(t_req, kind="stable")
    days, t_req = days[order], t_req[order]
    if t_req.size > 1 and (dup := np.flatnonzero(np.diff(t_req) == 0)).size:
        raise ValueError(f"date {days[dup[0]].astype(datetime.date).isoformat()} requested more than once")
    return days, t_req


def _market_return(config: SyntheticConfig, rng: np.random.Generator) -> float:
    """``m_t = mu_m + sigma_m z``: the first draw of day ``t``'s stream ``rng``."""
    scale = config.sigma_m * math.sqrt((config.market_df - 2.0) / config.market_df)
    return config.mu_m + scale * rng.standard_t(config.market_df)


def _draw_days(config: SyntheticConfig, truth: pl.DataFrame, t_req: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The market return of every business day up to the last requested one, and the
    shocks ``beta_i m_t + s_k(i),t + e_i,t`` ``[len(t_req), N]`` of the requested days
    (ascending ``t_req``), each day from its own ``[seed, t]`` stream (see Determinism)."""
    n = truth.height
    sector_names = truth["sector"].to_list()
    sector_index = np.array([_sector_number(name, config.n_sectors) for name in sector_names], dtype=np.int64)
    beta = truth["beta"].to_numpy()
    sigma_idio = truth["sigma_idio"].to_numpy()
    tail_df = truth["tail_df"].to_numpy()
    if n and not (tail_df > 2).all():
        raise ValueError("every tail_df must be > 2 (finite variance)")
    idio_scale = sigma_idio * np.sqrt((tail_df - 2.0) / tail_df)
    sector_scale = config.sigma_s * math.sqrt((config.market_df - 2.0) / config.market_df)

    t_max = int(t_req[-1]) if t_req.size else -1
    market = np.empty(t_max + 1)
    shocks = np.empty((t_req.size, n))  # beta_i m_t + s_k(i),t + e_i,t of each requested day
    row = 0
    for t in range(t_max + 1):
        rng = np.random.default_rng([config.seed, t])
        market[t] = _market_return(config, rng)
        if row < t_req.size and t_req[row] == t:
            sectors = sector_scale * rng.standard_t(config.market_df, size=config.n_sectors)
            idio = idio_scale * rng.standard_t(tail_df) if n else np.empty(0)
            shocks[row] = beta * market[t] + sectors[sector_index] + idio
            row += 1
    return market, shocks


def _sector_number(name: str, n_sectors: int) -> int:
    prefix = "sector_"
    if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
        raise ValueError(f"sector {name!r} is not of the form 'sector_k'")
    k = int(name[len(prefix) :])
    if k >= n_sectors:
        raise ValueError(f"sector {name!r} is outside the config's {n_sectors} sectors")
    return k


def _as_date(value: datetime.date) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _to_days(dates: Sequence[datetime.date]) -> np.ndarray:
    if isinstance(dates, pl.Series):
        dates = dates.to_list()
    return np.array([_as_date(d) for d in dates], dtype="datetime64[D]").reshape(-1)
