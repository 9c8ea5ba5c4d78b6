"""The portfolio risk hierarchy: one solution on one day against ``config/risk_limits.yaml``.

Pure functions of arrays and plain values (no I/O, no dagster). ``evaluate_risk`` returns
the list of ``Breach`` records, ``classify`` grades each one, ``reduce_to_limits`` turns
the breaches into next target weights and ``blocks_new_risk`` says whether new risk may
be added while they are open.

Conventions (those of ``twin_model.statistics``, whose functions are reused)
---------------------------------------------------------------------------
* Returns are daily simple returns; 252 periods a year; sample std/covariance (ddof=1).
* Drawdowns start from wealth 1 before the first return. The risk rules use the CURRENT
  drawdown ``W_T / max(1, W_1..W_T) - 1`` (how far the latest wealth is below its running
  peak), not the maximum drawdown of the history.
* VaR is numpy's linear-interpolated ``level`` quantile (negative for a loss), CVaR the
  mean of the returns at or below it; the 95 % pair uses level 0.05, the 99 % pair 0.01.
* NaN marks an unobserved return. Portfolio risk of the current weights uses only the
  strategies held (non-zero weight) and DROPS EVERY ROW (day) where any held strategy is
  NaN, then takes the trailing window of the remaining rows (63 rows for volatility,
  correlation and diversification; 252 rows for VaR/CVaR). It is not pairwise-complete:
  all covariances come from the same rows, so the covariance matrix is positive
  semi-definite and ``w' Sigma w`` equals the sample variance of ``w' r_t``.
* A statistic that cannot be computed (too few rows, zero portfolio volatility) is NaN
  and its rule is skipped, never reported as a breach.
* A limit is breached strictly: ``value > limit`` for upper limits, ``value < limit`` for
  lower (negative or floor) limits, with a relative tolerance of 1e-12 against rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from twin_model.statistics import annual_volatility, conditional_value_at_risk, value_at_risk

__all__ = [
    "VOLATILITY_WINDOW",
    "TAIL_WINDOW",
    "PortfolioLimits",
    "StrategyLimits",
    "PositionLimits",
    "RiskLimits",
    "Breach",
    "PORTFOLIO_RULES",
    "STRATEGY_RULES",
    "POSITION_RULES",
    "classify",
    "complete_rows",
    "current_drawdown",
    "diversification_ratio",
    "evaluate_risk",
    "reduce_to_limits",
    "blocks_new_risk",
]

VOLATILITY_WINDOW = 63
"""Trailing rows used for volatility, correlation and the diversification ratio."""
TAIL_WINDOW = 252
"""Trailing rows used for historical VaR / CVaR."""

HIGH_EXCESS = 0.5
MEDIUM_EXCESS = 0.1
_TOL = 1e-12

PORTFOLIO_RULES = (
    "gross_leverage",
    "drawdown_stop",
    "volatility_target",
    "max_pairwise_correlation",
    "min_diversification_ratio",
    "var_95",
    "cvar_95",
    "var_99",
    "cvar_99",
)
STRATEGY_RULES = ("strategy_weight", "strategy_drawdown", "strategy_volatility")
POSITION_RULES = ("net_exposure_per_ticker",)

SEVERITIES = ("critical", "high", "medium", "low")
ACTIONS = ("liquidate", "reduce_proportionally", "pause_strategy", "alert")


# --------------------------------------------------------------------------- limits


def _from_section(cls, section, name: str):
    if not isinstance(section, Mapping):
        raise ValueError(f"risk limits: section {name!r} must be a mapping, got {type(section).__name__}")
    wanted = {f.name for f in fields(cls)}
    unknown = set(section) - wanted
    missing = wanted - set(section)
    if unknown or missing:
        raise ValueError(f"risk limits {name!r}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    values = {}
    for key in wanted:
        v = section[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise ValueError(f"risk limits {name}.{key} must be a finite number, got {v!r}")
        values[key] = float(v)
    return cls(**values)


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(f"risk limits: {what}")


@dataclass(frozen=True)
class PortfolioLimits:
    """Portfolio-level limits (fractions; volatility annualised; VaR/CVaR daily, negative)."""

    max_gross_leverage: float
    drawdown_stop: float
    volatility_target: float
    max_pairwise_correlation: float
    min_diversification_ratio: float
    var_95: float
    cvar_95: float
    var_99: float
    cvar_99: float

    def __post_init__(self) -> None:
        _check(self.max_gross_leverage > 0, "portfolio.max_gross_leverage must be > 0")
        _check(self.drawdown_stop < 0, "portfolio.drawdown_stop must be < 0")
        _check(self.volatility_target > 0, "portfolio.volatility_target must be > 0")
        _check(-1 < self.max_pairwise_correlation <= 1, "portfolio.max_pairwise_correlation must be in (-1, 1]")
        _check(self.min_diversification_ratio >= 1, "portfolio.min_diversification_ratio must be >= 1")
        for k in ("var_95", "cvar_95", "var_99", "cvar_99"):
            _check(getattr(self, k) < 0, f"portfolio.{k} must be < 0")


@dataclass(frozen=True)
class StrategyLimits:
    """Per-strategy limits."""

    max_weight: float
    drawdown_stop: float
    max_volatility: float

    def __post_init__(self) -> None:
        _check(0 < self.max_weight <= 1, "strategy.max_weight must be in (0, 1]")
        _check(self.drawdown_stop < 0, "strategy.drawdown_stop must be < 0")
        _check(self.max_volatility > 0, "strategy.max_volatility must be > 0")


@dataclass(frozen=True)
class PositionLimits:
    """Per-ticker limits on the solution's look-through exposure."""

    max_net_exposure_per_ticker: float

    def __post_init__(self) -> None:
        _check(self.max_net_exposure_per_ticker > 0, "position.max_net_exposure_per_ticker must be > 0")


@dataclass(frozen=True)
class RiskLimits:
    """Plain mirror of ``twin_resources.config.RiskLimitsConfig`` (same nested fields)."""

    portfolio: PortfolioLimits
    strategy: StrategyLimits
    position: PositionLimits

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> RiskLimits:
        """From the nested dict of ``risk_limits.yaml`` (or ``RiskLimitsConfig.model_dump()``).

        Unknown or missing keys and non-numeric values raise ``ValueError``; the value
        constraints are those of the config model.
        """
        if not isinstance(mapping, Mapping):
            raise ValueError(f"risk limits must be a mapping, got {type(mapping).__name__}")
        sections = {"portfolio": PortfolioLimits, "strategy": StrategyLimits, "position": PositionLimits}
        unknown, missing = set(mapping) - set(sections), set(sections) - set(mapping)
        if unknown or missing:
            raise ValueError(f"risk limits: unknown sections {sorted(unknown)}, missing sections {sorted(missing)}")
        return cls(**{name: _from_section(c, mapping[name], name) for name, c in sections.items()})


# --------------------------------------------------------------------------- breaches


@dataclass(frozen=True)
class Breach:
    """One limit breached by one subject (solution, strategy or ticker) on one day."""

    level: str  # "portfolio" | "strategy" | "position"
    rule: str
    subject: str  # solution_id, strategy_id or ticker
    value: float
    limit: float
    severity: str  # "critical" | "high" | "medium" | "low"
    action: str  # "liquidate" | "reduce_proportionally" | "pause_strategy" | "alert"
    message: str


def _level_of(rule: str) -> str:
    if rule in PORTFOLIO_RULES:
        return "portfolio"
    if rule in STRATEGY_RULES:
        return "strategy"
    if rule in POSITION_RULES:
        return "position"
    raise ValueError(f"unknown risk rule {rule!r}")


def classify(rule: str, value: float, limit: float) -> tuple[str, str]:
    """(severity, action) of a breach of ``rule``: ``value`` past ``limit``.

    ``excess = |value - limit| / |limit|`` (how far past the limit, relative to it).

    ===========================  ==============  =========================  ==================
    rule                         low             medium                     high
                                 excess < 10 %   10 % <= excess < 50 %      excess >= 50 %
    ===========================  ==============  =========================  ==================
    drawdown_stop (portfolio)    critical / liquidate at any excess (the stop is hit)
    other portfolio rules        alert           reduce_proportionally      reduce_proportionally
    net_exposure_per_ticker      alert           reduce_proportionally      reduce_proportionally
    strategy_weight              alert           reduce_proportionally [1]  pause_strategy
    strategy_drawdown            alert           pause_strategy             pause_strategy
    strategy_volatility          alert           reduce_proportionally [2]  pause_strategy
    ===========================  ==============  =========================  ==================

    [1] the strategy's weight is capped at ``max_weight`` (= scaled by limit / value).
    [2] the strategy's weight is scaled by ``max_volatility / volatility``.
    """
    level = _level_of(rule)
    if rule == "drawdown_stop":
        return "critical", "liquidate"
    excess = abs(value - limit) / abs(limit) + _TOL  # 0.44 vs 0.40 is 10%, whatever the rounding
    if excess >= HIGH_EXCESS:
        return "high", "pause_strategy" if level == "strategy" else "reduce_proportionally"
    if excess >= MEDIUM_EXCESS:
        return "medium", "pause_strategy" if rule == "strategy_drawdown" else "reduce_proportionally"
    return "low", "alert"


def _make(rule: str, subject: str, value: float, limit: float, detail: str = "") -> Breach:
    severity, action = classify(rule, value, limit)
    level = _level_of(rule)
    msg = f"{level} {rule} breached by {subject}: {value:.6g} vs limit {limit:.6g}"
    msg += f" ({detail}); {severity} -> {action}" if detail else f"; {severity} -> {action}"
    return Breach(level, rule, subject, float(value), float(limit), severity, action, msg)


def _above(value: float, limit: float) -> bool:
    return math.isfinite(value) and value > limit + _TOL * max(1.0, abs(limit))


def _below(value: float, limit: float) -> bool:
    return math.isfinite(value) and value < limit - _TOL * max(1.0, abs(limit))


# --------------------------------------------------------------------------- measures


def current_drawdown(returns) -> float:
    """``W_T / max(1, W_1..W_T) - 1`` with ``W_t = prod_{s<=t}(1 + r_s)`` (NaN dropped); <= 0.

    The drawdown of the latest wealth from its running peak (wealth 1 before the first
    return). NaN without observations.
    """
    r = np.asarray(returns, dtype=float).ravel()
    r = r[~np.isnan(r)]
    if r.size == 0:
        return float("nan")
    wealth = np.cumprod(1.0 + r)
    peak = max(1.0, float(np.max(wealth)))
    dd = float(wealth[-1] / peak - 1.0)
    return min(dd, 0.0) if dd > -_TOL else dd


def complete_rows(X: np.ndarray, window: int) -> np.ndarray:
    """The last ``window`` rows of ``X`` [T, N] in which no column is NaN (every strategy observed)."""
    return X[~np.isnan(X).any(axis=1)][-window:]


def diversification_ratio(weights: np.ndarray, covariance: np.ndarray) -> float:
    """``DR = sum_i |w_i| sqrt(Sigma_ii) / sqrt(w' Sigma w)``; NaN when ``w' Sigma w`` is not positive."""
    w = np.asarray(weights, dtype=float)
    variance = float(w @ covariance @ w)
    if not variance > 0:
        return float("nan")
    return float(np.abs(w) @ np.sqrt(np.clip(np.diag(covariance), 0.0, None))) / math.sqrt(variance)


# --------------------------------------------------------------------------- evaluation


def evaluate_risk(
    solution_id: str,
    weights: Mapping[str, float],
    strategy_returns: np.ndarray,
    strategy_ids: Sequence[str],
    portfolio_drawdown: float,
    limits: RiskLimits,
    positions: pl.DataFrame | None = None,
) -> list[Breach]:
    """Breaches of ``limits`` by solution ``solution_id`` today (portfolio, strategy, position order).

    Inputs: ``weights`` maps strategy_id -> current weight (missing strategies hold 0);
    ``strategy_returns`` is [T, N] daily returns (NaN = not observed), columns in
    ``strategy_ids`` order; ``portfolio_drawdown`` is the solution's current drawdown
    (``current_drawdown`` of its realised daily returns, or AUM over its peak less 1);
    ``positions`` (strategy_id, ticker, weight) is each strategy's book as
    fractions of its own capital. ``w`` is the weight vector in ``strategy_ids`` order and
    "held" means ``w_i != 0``.

    Portfolio rules (subject = solution_id):

    * ``gross_leverage``: ``G = sum_i |w_i|``; breach when ``G > max_gross_leverage``.
    * ``drawdown_stop``: ``DD = portfolio_drawdown`` (current drawdown, ``W_T / max(1, W_1..W_T) - 1``,
      see ``current_drawdown``); breach when ``DD < drawdown_stop``.
    * ``volatility_target``: ``vol = sqrt(252 * w' Sigma w)`` with ``Sigma`` the ddof=1 sample
      covariance of the held strategies over the last 63 rows where all of them are
      observed (rows with a NaN among held strategies dropped first); needs >= 2 rows;
      breach when ``vol > volatility_target``.
    * ``max_pairwise_correlation``: ``rho_max = max_{i<j held} Sigma_ij / (s_i s_j)`` on the same
      rows (pairs with a constant strategy skipped); needs >= 2 held; breach when
      ``rho_max > max_pairwise_correlation``. The message names the pair.
    * ``min_diversification_ratio``: ``DR = sum_i |w_i| s_i / sqrt(w' Sigma w)``,
      ``s_i = sqrt(Sigma_ii)``, same rows; only with >= 2 held and ``w' Sigma w > 0``;
      breach when ``DR < min_diversification_ratio``. (``|w_i|`` = ``w_i`` for long-only.)
    * ``var_95``/``cvar_95``/``var_99``/``cvar_99``: ``p_t = w' r_t`` over the last 252 rows where
      all held strategies are observed; VaR = numpy quantile of ``p`` at 0.05 / 0.01, CVaR =
      mean of ``p_t <= VaR``; breach when below the (negative) limit.

    Strategy rules (subject = strategy_id; every strategy with ``|w_i| > 0`` is checked,
    ``strategy_weight`` for every key of ``weights``):

    * ``strategy_weight``: breach when ``|w_i| > max_weight`` (value reported: ``|w_i|``).
    * ``strategy_drawdown``: current drawdown of the strategy's observed history (NaN
      dropped) ``< drawdown_stop``.
    * ``strategy_volatility``: ``std(last 63 observed r_i, ddof=1) * sqrt(252) > max_volatility``.

    Position rule (only with ``positions``; subject = ticker):

    * ``net_exposure_per_ticker``: ``net_k = sum_s w_s * p_{s,k}`` (long and short books of
      different strategies net out); breach when ``|net_k| > max_net_exposure_per_ticker``
      (value reported: ``|net_k|``, the message gives the signed net).

    Raises ``ValueError`` on inconsistent shapes, or when a held strategy has no column.
    """
    ids = [str(s) for s in strategy_ids]
    R = np.asarray(strategy_returns, dtype=float)
    if R.ndim != 2 or R.shape[1] != len(ids):
        raise ValueError(f"strategy_returns must be [T, {len(ids)}], got shape {R.shape}")
    if len(set(ids)) != len(ids):
        raise ValueError("strategy_ids contains duplicates")
    if np.isinf(R).any():
        raise ValueError("strategy_returns contains an infinite value")
    col = {s: i for i, s in enumerate(ids)}
    missing = sorted(s for s, v in weights.items() if v != 0 and s not in col)
    if missing:
        raise ValueError(f"held strategies without returns: {missing}")
    for s, v in weights.items():
        if not math.isfinite(float(v)):
            raise ValueError(f"weight of {s!r} is not finite: {v!r}")
    w = np.array([float(weights.get(s, 0.0)) for s in ids])
    held = w != 0
    P, S, Q = limits.portfolio, limits.strategy, limits.position
    out: list[Breach] = []
    sid = str(solution_id)

    # ---------------- portfolio
    gross = float(sum(abs(float(v)) for v in weights.values()))
    if _above(gross, P.max_gross_leverage):
        out.append(_make("gross_leverage", sid, gross, P.max_gross_leverage, "sum of |weights|"))

    dd = float(portfolio_drawdown)
    if _below(dd, P.drawdown_stop):
        out.append(_make("drawdown_stop", sid, dd, P.drawdown_stop, "current drawdown from running peak"))

    if held.any():
        wh = w[held]
        names = [s for s, h in zip(ids, held, strict=True) if h]
        X = complete_rows(R[:, held], VOLATILITY_WINDOW)
        if X.shape[0] >= 2:
            port = X @ wh
            vol = annual_volatility(port)  # = sqrt(252 w' Sigma w), ddof=1
            if _above(vol, P.volatility_target):
                out.append(
                    _make("volatility_target", sid, vol, P.volatility_target, f"w' Sigma w over {X.shape[0]} days")
                )
            if wh.size >= 2:
                sigma = np.atleast_2d(np.cov(X, rowvar=False, ddof=1))
                s = np.sqrt(np.clip(np.diag(sigma), 0.0, None))
                const = np.array([np.ptp(X[:, i]) == 0 for i in range(X.shape[1])])
                best, pair = -np.inf, None
                for i in range(wh.size):
                    for j in range(i + 1, wh.size):
                        if const[i] or const[j]:
                            continue
                        rho = float(np.clip(sigma[i, j] / (s[i] * s[j]), -1.0, 1.0))
                        if rho > best:
                            best, pair = rho, (names[i], names[j])
                if pair is not None and _above(best, P.max_pairwise_correlation):
                    lim = P.max_pairwise_correlation
                    out.append(_make("max_pairwise_correlation", sid, best, lim, f"{pair[0]} vs {pair[1]}"))
                if vol > 0:
                    dr = diversification_ratio(wh, sigma)
                    if _below(dr, P.min_diversification_ratio):
                        lim = P.min_diversification_ratio
                        out.append(_make("min_diversification_ratio", sid, dr, lim, "sum |w_i| s_i / s_p"))
        T = complete_rows(R[:, held], TAIL_WINDOW)
        if T.shape[0] >= 1:
            p = T @ wh
            for rule, level, fn in (
                ("var_95", 0.05, value_at_risk),
                ("cvar_95", 0.05, conditional_value_at_risk),
                ("var_99", 0.01, value_at_risk),
                ("cvar_99", 0.01, conditional_value_at_risk),
            ):
                v = fn(p, level=level)
                lim = getattr(P, rule)
                if _below(v, lim):
                    out.append(_make(rule, sid, v, lim, f"historical, {T.shape[0]} days of w' r_t"))

    # ---------------- strategy
    for s, v in weights.items():
        a = abs(float(v))
        if _above(a, S.max_weight):
            out.append(_make("strategy_weight", str(s), a, S.max_weight, f"weight {float(v):.6g}"))
    for s, h in zip(ids, held, strict=True):
        if not h:
            continue
        r = R[:, col[s]]
        r = r[~np.isnan(r)]
        sdd = current_drawdown(r)
        if _below(sdd, S.drawdown_stop):
            out.append(_make("strategy_drawdown", s, sdd, S.drawdown_stop, "current drawdown from running peak"))
        tail = r[-VOLATILITY_WINDOW:]
        if tail.size >= 2:
            svol = annual_volatility(tail)
            if _above(svol, S.max_volatility):
                out.append(_make("strategy_volatility", s, svol, S.max_volatility, f"last {tail.size} returns"))

    # ---------------- position
    if positions is not None and positions.height > 0:
        need = {"strategy_id", "ticker", "weight"}
        if not need <= set(positions.columns):
            raise ValueError(f"positions needs columns {sorted(need)}, got {positions.columns}")
        wf = pl.DataFrame(
            {"strategy_id": list(weights.keys()), "w": [float(v) for v in weights.values()]},
            schema={"strategy_id": pl.String, "w": pl.Float64},
        )
        net = (
            positions.select(
                pl.col("strategy_id").cast(pl.String),
                pl.col("ticker").cast(pl.String),
                pl.col("weight").cast(pl.Float64).fill_null(0.0),
            )
            .join(wf, on="strategy_id", how="inner")
            .group_by("ticker")
            .agg((pl.col("w") * pl.col("weight")).sum().alias("net"))
            .sort("ticker")
        )
        for ticker, n in net.iter_rows():
            if _above(abs(n), Q.max_net_exposure_per_ticker):
                lim = Q.max_net_exposure_per_ticker
                out.append(_make("net_exposure_per_ticker", ticker, abs(n), lim, f"signed net {n:.6g}"))
    return out


# --------------------------------------------------------------------------- actions


def _shrink(value: float, limit: float) -> float:
    """Scale factor in [0, 1] that brings a degree-1 homogeneous measure from value to limit.

    ``min(|v|, |l|) / max(|v|, |l|)``: limit/value for upper limits (leverage, volatility,
    correlation, weight), limit/value for negative floors (VaR, CVaR: both negative), and
    value/limit for the diversification floor.
    """
    a, b = abs(value), abs(limit)
    if not (math.isfinite(a) and math.isfinite(b)) or max(a, b) == 0:
        return 1.0
    return min(a, b) / max(a, b)


def reduce_to_limits(
    weights: Mapping[str, float],
    breaches: Sequence[Breach],
    positions: pl.DataFrame | None = None,
) -> dict[str, float]:
    """Next target weights after applying the breaches' actions (cash is what is left).

    * any ``liquidate``: every weight 0.
    * ``pause_strategy`` (strategy breach): that strategy's weight 0.
    * ``reduce_proportionally`` on a strategy rule: ``strategy_weight`` caps the strategy at
      ``max_weight`` (sign kept), ``strategy_volatility`` scales it by ``max_vol / vol``.
    * ``reduce_proportionally`` on a position rule: every strategy holding the ticker (per
      ``positions``; every strategy when ``positions`` is None) is scaled by ``limit / |net|``.
    * ``reduce_proportionally`` on a portfolio rule: every weight scaled by the factor
      ``_shrink(value, limit)`` (leverage: limit/gross; volatility: target/vol; VaR, CVaR:
      limit/value; correlation: limit/value; diversification: value/limit). With several
      portfolio breaches the smallest factor is applied once (each factor alone brings its
      measure to its limit, since leverage, volatility, VaR and CVaR scale with the weights).
    * ``alert``: nothing changes.

    Factors on the same strategy multiply; a pause wins over any scaling.
    """
    new = {s: float(v) for s, v in weights.items()}
    if any(b.action == "liquidate" for b in breaches):
        return {s: 0.0 for s in new}
    portfolio_factor = 1.0
    paused: set[str] = set()
    for b in breaches:
        if b.action == "alert":
            continue
        if b.action == "pause_strategy":
            if b.subject in new:
                paused.add(b.subject)
            continue
        if b.action != "reduce_proportionally":
            raise ValueError(f"unknown action {b.action!r}")
        if b.level == "portfolio":
            portfolio_factor = min(portfolio_factor, _shrink(b.value, b.limit))
        elif b.level == "strategy":
            if b.subject not in new:
                continue
            w = new[b.subject]
            if b.rule == "strategy_weight":
                new[b.subject] = math.copysign(min(abs(w), b.limit), w)
            else:
                new[b.subject] = w * _shrink(b.value, b.limit)
        elif b.level == "position":
            f = _shrink(b.value, b.limit)
            if positions is None:
                holders = set(new)
            else:
                holders = set(
                    positions.filter((pl.col("ticker") == b.subject) & (pl.col("weight") != 0))["strategy_id"].to_list()
                )
            for s in holders & set(new):
                new[s] *= f
    for s in paused:
        new[s] = 0.0
    return {s: v * portfolio_factor for s, v in new.items()}


def blocks_new_risk(breaches: Sequence[Breach]) -> bool:
    """True when any open breach is ``high`` or ``critical``: no new risk is added meanwhile."""
    return any(b.severity in ("high", "critical") for b in breaches)
