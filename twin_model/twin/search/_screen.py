"""The risk screen of the vectorised evaluator: on which paths could a risk rule act today?

The vectorised evaluator does not model the risk overlay (stage 3 of the solution step:
pauses, reductions, the drawdown stop, violations). It steps every path as if no rule
fired and asks this screen, each day, whether any rule of ``config/risk_limits.yaml``
could breach on a path. A path the screen flags is stepped again by the reference
evaluator; on the others no rule breached on any day, so the step's risk stage did
nothing and the two evaluators follow the same trajectory (the differential test checks
it to 1e-9).

The measures are those of ``twin_model.portfolio.evaluate_risk`` over every path at once
(``W`` the complete rows among the last ``HISTORY_ROWS`` rows of ``[base history ;
simulated rows]``, the same for any held set since the evaluator requires each base row
observed for all of the universe or none; ``h`` the held weights after the day's returns;
``X`` the last 63 rows of ``W``):

* gross leverage ``sum_i |h_i|``; the portfolio's current drawdown ``AUM / peak - 1``;
* volatility ``sqrt(252) sd(X h)`` (ddof 1); the largest correlation between two held,
  non-constant strategies over ``X``; the diversification ratio
  ``sum_i |h_i| s_i / sqrt(h' Sigma h)``;
* historical VaR (numpy's linear quantile) and CVaR (the mean at or below it) of ``W h``
  at 5% and 1%;
* per held strategy: ``|h_i|``, the current drawdown of its column of ``W`` and
  ``sqrt(252) sd`` of its last 63 returns.

Only a breach whose action is not an alert changes the book: a low breach (less than
``MEDIUM_EXCESS``, 10%, past its limit) opens a violation row and nothing else (no
trigger, no reduction, no pause; ``blocks_new_risk`` needs a high one), while the
drawdown stop liquidates at any excess. So a measure is flagged when it lies past
``limit +- MEDIUM_EXCESS |limit|`` (the limit itself for the stop), less
``SCREEN_MARGIN`` (relative, at least 1 in the limit's units) so that a value the step
would grade medium only by rounding goes to the reference too: the screen may flag a path
the step would not act on, never the reverse. Look-through positions are not simulated
(``positions`` is ``None`` on a simulated day), so the per-ticker rule has nothing to
check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_model.portfolio import MEDIUM_EXCESS, VOLATILITY_WINDOW, RiskLimits

SCREEN_MARGIN = 1e-8
"""How close to a limit (relative, at least 1 in the limit's units) counts as a breach."""
_YEAR = 252.0


def _upper(value: np.ndarray, limit: float, excess: float = MEDIUM_EXCESS) -> np.ndarray:
    """Could ``value`` be judged past the upper ``limit`` by ``excess`` (NaN never is)."""
    with np.errstate(invalid="ignore"):
        return value > limit + excess * abs(limit) - SCREEN_MARGIN * max(1.0, abs(limit))


def _lower(value: np.ndarray, limit: float, excess: float = MEDIUM_EXCESS) -> np.ndarray:
    """Could ``value`` be judged past the floor ``limit`` by ``excess`` (NaN never is)."""
    with np.errstate(invalid="ignore"):
        return value < limit - excess * abs(limit) + SCREEN_MARGIN * max(1.0, abs(limit))


def _current_drawdown(window: np.ndarray) -> np.ndarray:
    """``[P, N]``: ``W_T / max(1, W_1..W_T) - 1`` down each column of ``[P, T, N]`` (NaN
    dropped: an unobserved day leaves the wealth where it was)."""
    wealth = np.cumprod(1.0 + np.nan_to_num(window, nan=0.0), axis=1)
    peak = np.maximum(1.0, wealth.max(axis=1))
    return wealth[:, -1, :] / peak - 1.0


def _tail(portfolio: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per path: historical VaR and CVaR of ``[P, T]`` portfolio returns at ``level``."""
    var = np.quantile(portfolio, level, axis=1)
    below = portfolio <= var[:, None]
    cvar = (portfolio * below).sum(axis=1) / below.sum(axis=1)
    return var, cvar


@dataclass(frozen=True)
class ScreenWindow:
    """One day's window ``[P, T, N]`` and what the screen reads of it whatever is held: the
    covariance ``[P, N, N]`` (ddof 1), sds and correlations of its last 63 rows, which
    columns vary over them, and each strategy's current drawdown and annual volatility
    ``[P, N]``. Every candidate of a search steps the same paths, so the month-end search
    measures a day's window once (``of``) and screens each candidate's book against it."""

    window: np.ndarray
    cov: np.ndarray
    corr: np.ndarray
    sd: np.ndarray
    varies: np.ndarray
    strategy_drawdown: np.ndarray

    @classmethod
    def of(cls, window: np.ndarray) -> ScreenWindow:
        recent = window[:, -VOLATILITY_WINDOW:, :]
        centred = recent - recent.mean(axis=1, keepdims=True)
        cov = np.einsum("ptn,ptm->pnm", centred, centred) / (recent.shape[1] - 1)
        sd = np.sqrt(np.clip(np.einsum("pnn->pn", cov), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.clip(cov / (sd[:, :, None] * sd[:, None, :]), -1.0, 1.0)
        varies = np.ptp(recent, axis=1) != 0
        return cls(window, cov, corr, sd, varies, _current_drawdown(window))

    @property
    def strategy_volatility(self) -> np.ndarray:
        return self.sd * np.sqrt(_YEAR)


def _measures(measured: ScreenWindow, held: np.ndarray) -> dict[str, np.ndarray]:
    """Per path: the portfolio's volatility, largest pairwise correlation and
    diversification ratio over the last 63 rows, its VaR and CVaR over the window
    (``NaN`` where the step skips the rule)."""
    is_held = held != 0
    variance = np.einsum("pn,pnm,pm->p", held, measured.cov, held)
    several = is_held.sum(axis=1) >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.abs(held * measured.sd).sum(axis=1) / np.sqrt(variance)
    usable = is_held & measured.varies
    pair = usable[:, :, None] & usable[:, None, :] & ~np.eye(held.shape[1], dtype=bool)
    corr = np.where(pair, measured.corr, -np.inf).max(axis=(1, 2), initial=-np.inf)
    portfolio = np.einsum("ptn,pn->pt", measured.window, held)
    var95, cvar95 = _tail(portfolio, 0.05)
    var99, cvar99 = _tail(portfolio, 0.01)
    any_held = is_held.any(axis=1)
    nan = np.full(held.shape[0], np.nan)
    return {
        "volatility": np.where(any_held, np.sqrt(np.clip(variance, 0.0, None) * _YEAR), nan),
        "correlation": np.where(any_held & several & np.isfinite(corr), corr, nan),
        "diversification": np.where(any_held & several & (variance > 0), ratio, nan),
        "var_95": np.where(any_held, var95, nan),
        "cvar_95": np.where(any_held, cvar95, nan),
        "var_99": np.where(any_held, var99, nan),
        "cvar_99": np.where(any_held, cvar99, nan),
    }


def risk_screen(
    limits: RiskLimits, window: np.ndarray | ScreenWindow, held: np.ndarray, drawdown: np.ndarray
) -> np.ndarray:
    """``[P]``: whether a rule of ``limits`` could act on each path today (a breach graded
    medium or worse, or the drawdown stop).

    ``window`` ``[P, T, N]`` the universe's returns on the complete rows of the step's
    history (or its ``ScreenWindow``), ``held`` ``[P, N]`` the held weights after the
    day's returns, ``drawdown`` ``[P]`` the portfolio's current drawdown.
    """
    measured = window if isinstance(window, ScreenWindow) else ScreenWindow.of(window)
    p, s = limits.portfolio, limits.strategy
    is_held = held != 0
    flagged = _upper(np.abs(held).sum(axis=1), p.max_gross_leverage) | _lower(drawdown, p.drawdown_stop, excess=0.0)
    measures = _measures(measured, held)
    flagged |= _upper(measures["volatility"], p.volatility_target)
    flagged |= _upper(measures["correlation"], p.max_pairwise_correlation)
    flagged |= _lower(measures["diversification"], p.min_diversification_ratio)
    for name, limit in (("var_95", p.var_95), ("cvar_95", p.cvar_95), ("var_99", p.var_99), ("cvar_99", p.cvar_99)):
        flagged |= _lower(measures[name], limit)
    per_strategy = (
        _upper(np.abs(held), s.max_weight)
        | _lower(measured.strategy_drawdown, s.drawdown_stop)
        | _upper(measured.strategy_volatility, s.max_volatility)
    )
    return flagged | (per_strategy & is_held).any(axis=1)
