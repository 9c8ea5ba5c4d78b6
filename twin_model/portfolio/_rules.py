"""The risk rules, one object each: what it measures, on which subjects, against which
limit, in which direction, and how its breaches are graded (``classify``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from twin_model.conventions import RiskAction, RiskRuleName, Severity, ViolationLevel
from twin_model.portfolio._book import RiskBook
from twin_model.portfolio._limits import RiskLimits
from twin_model.portfolio._measures import TOLERANCE, current_drawdown, diversification_ratio

HIGH_EXCESS = 0.5
MEDIUM_EXCESS = 0.1

Measure = Callable[[RiskBook, str], "tuple[float, str] | None"]
"""(value, detail for the message) of a rule on one subject, or None when it cannot be computed."""


@dataclass(frozen=True)
class Breach:
    """One limit breached by one subject (solution, strategy or ticker) on one day."""

    level: ViolationLevel
    rule: RiskRuleName
    subject: str  # solution_id, strategy_id or ticker
    value: float
    limit: float
    severity: Severity
    action: RiskAction
    message: str


def _above(value: float, limit: float) -> bool:
    return math.isfinite(value) and value > limit + TOLERANCE * max(1.0, abs(limit))


def _below(value: float, limit: float) -> bool:
    return math.isfinite(value) and value < limit - TOLERANCE * max(1.0, abs(limit))


@dataclass(frozen=True)
class RiskRule:
    """One rule of ``config/risk_limits.yaml``.

    ``subjects`` lists what the rule checks in a book (the solution, strategies or
    tickers), ``measure`` its value on one subject, ``limit`` the limit it is held to and
    ``breached`` the direction (``value > limit`` for an upper limit, ``value < limit``
    for a floor). A breach ``MEDIUM_EXCESS`` or ``HIGH_EXCESS`` past its limit takes the
    rule's ``medium``/``high`` action; a ``stop`` is critical and liquidates at any excess.
    """

    name: RiskRuleName
    level: ViolationLevel
    subjects: Callable[[RiskBook], Iterable[str]]
    measure: Measure
    limit: Callable[[RiskLimits], float]
    breached: Callable[[float, float], bool]
    medium: RiskAction = RiskAction.REDUCE_PROPORTIONALLY
    high: RiskAction = RiskAction.REDUCE_PROPORTIONALLY
    stop: bool = False

    def check(self, book: RiskBook, subject: str) -> Breach | None:
        """The rule's breach by ``subject``, or None (within the limit, or not computable)."""
        measured = self.measure(book, subject)
        if measured is None:
            return None
        value, detail = measured
        limit = self.limit(book.limits)
        if not self.breached(value, limit):
            return None
        severity, action = self.grade(value, limit)
        msg = f"{self.level} {self.name} breached by {subject}: {value:.6g} vs limit {limit:.6g}"
        msg += f" ({detail}); {severity} -> {action}" if detail else f"; {severity} -> {action}"
        return Breach(self.level, self.name, subject, float(value), float(limit), severity, action, msg)

    def grade(self, value: float, limit: float) -> tuple[Severity, RiskAction]:
        """(severity, action) of ``value`` past ``limit`` (see ``classify``)."""
        if self.stop:
            return Severity.CRITICAL, RiskAction.LIQUIDATE
        excess = abs(value - limit) / abs(limit) + TOLERANCE  # 0.44 vs 0.40 is 10%, whatever the rounding
        if excess >= HIGH_EXCESS:
            return Severity.HIGH, self.high
        if excess >= MEDIUM_EXCESS:
            return Severity.MEDIUM, self.medium
        return Severity.LOW, RiskAction.ALERT


# --------------------------------------------------------------------------- portfolio measures


def _the_solution(book: RiskBook) -> list[str]:
    return [book.solution_id]


def _gross_leverage(book: RiskBook, _: str) -> tuple[float, str]:
    return float(sum(abs(float(v)) for v in book.weights.values())), "sum of |weights|"


def _drawdown(book: RiskBook, _: str) -> tuple[float, str]:
    return book.portfolio_drawdown, "current drawdown from running peak"


def _volatility(book: RiskBook, _: str) -> tuple[float, str] | None:
    if not book.held.any() or book.recent_rows.shape[0] < 2:
        return None
    return book.volatility, f"w' Sigma w over {book.recent_rows.shape[0]} days"


def _max_correlation(book: RiskBook, _: str) -> tuple[float, str] | None:
    """The largest correlation between two held, non-constant strategies, naming the pair
    (the first in row order on a tie)."""
    if not book.held.any() or book.recent_rows.shape[0] < 2 or book.held_weights.size < 2:
        return None
    X, sigma, names = book.recent_rows, book.covariance, book.held_ids
    s = np.sqrt(np.clip(np.diag(sigma), 0.0, None))
    varies = np.ptp(X, axis=0) != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.clip(sigma / np.outer(s, s), -1.0, 1.0)
    pairs = np.triu(np.outer(varies, varies), k=1)
    if not pairs.any():
        return None
    rho = np.where(pairs, rho, -np.inf)
    i, j = np.unravel_index(int(np.argmax(rho)), rho.shape)
    return float(rho[i, j]), f"{names[i]} vs {names[j]}"


def _diversification(book: RiskBook, _: str) -> tuple[float, str] | None:
    if not book.held.any() or book.recent_rows.shape[0] < 2 or book.held_weights.size < 2:
        return None
    if not book.volatility > 0:
        return None
    return diversification_ratio(book.held_weights, book.covariance), "sum |w_i| s_i / s_p"


def _tail(which: int, level: float) -> Measure:
    """Historical VaR (``which`` 0) or CVaR (1) of ``w' r_t`` at ``level`` over the tail rows."""

    def measure(book: RiskBook, _: str) -> tuple[float, str] | None:
        if not book.held.any() or book.tail_rows.shape[0] < 1:
            return None
        return book.tail(level)[which], f"historical, {book.tail_rows.shape[0]} days of w' r_t"

    return measure


# --------------------------------------------------------------------------- strategy and position measures


def _weighted(book: RiskBook) -> list[str]:
    return list(book.weights)


def _held(book: RiskBook) -> list[str]:
    return book.held_ids


def _strategy_weight(book: RiskBook, s: str) -> tuple[float, str]:
    v = float(book.weights[s])
    return abs(v), f"weight {v:.6g}"


def _strategy_drawdown(book: RiskBook, s: str) -> tuple[float, str]:
    return current_drawdown(book.observed(s)), "current drawdown from running peak"


def _strategy_volatility(book: RiskBook, s: str) -> tuple[float, str] | None:
    if s not in book.strategy_volatility:
        return None
    volatility, count = book.strategy_volatility[s]
    return volatility, f"last {count} returns"


def _tickers(book: RiskBook) -> list[str]:
    return list(book.net_exposure)


def _net_exposure(book: RiskBook, ticker: str) -> tuple[float, str]:
    n = book.net_exposure[ticker]
    return abs(n), f"signed net {n:.6g}"


# --------------------------------------------------------------------------- the rules


def _portfolio(name: RiskRuleName, measure: Measure, limit, breached, **kw) -> RiskRule:
    return RiskRule(name, ViolationLevel.PORTFOLIO, _the_solution, measure, limit, breached, **kw)


_PAUSE = RiskAction.PAUSE_STRATEGY
RULES: tuple[RiskRule, ...] = (
    _portfolio(RiskRuleName.GROSS_LEVERAGE, _gross_leverage, lambda L: L.portfolio.max_gross_leverage, _above),
    _portfolio(RiskRuleName.DRAWDOWN_STOP, _drawdown, lambda L: L.portfolio.drawdown_stop, _below, stop=True),
    _portfolio(RiskRuleName.VOLATILITY_TARGET, _volatility, lambda L: L.portfolio.volatility_target, _above),
    _portfolio(
        RiskRuleName.MAX_PAIRWISE_CORRELATION, _max_correlation, lambda L: L.portfolio.max_pairwise_correlation, _above
    ),
    _portfolio(
        RiskRuleName.MIN_DIVERSIFICATION_RATIO,
        _diversification,
        lambda L: L.portfolio.min_diversification_ratio,
        _below,
    ),
    _portfolio(RiskRuleName.VAR_95, _tail(0, 0.05), lambda L: L.portfolio.var_95, _below),
    _portfolio(RiskRuleName.CVAR_95, _tail(1, 0.05), lambda L: L.portfolio.cvar_95, _below),
    _portfolio(RiskRuleName.VAR_99, _tail(0, 0.01), lambda L: L.portfolio.var_99, _below),
    _portfolio(RiskRuleName.CVAR_99, _tail(1, 0.01), lambda L: L.portfolio.cvar_99, _below),
    RiskRule(
        RiskRuleName.STRATEGY_WEIGHT,
        ViolationLevel.STRATEGY,
        _weighted,
        _strategy_weight,
        lambda L: L.strategy.max_weight,
        _above,
        high=_PAUSE,
    ),
    RiskRule(
        RiskRuleName.STRATEGY_DRAWDOWN,
        ViolationLevel.STRATEGY,
        _held,
        _strategy_drawdown,
        lambda L: L.strategy.drawdown_stop,
        _below,
        medium=_PAUSE,
        high=_PAUSE,
    ),
    RiskRule(
        RiskRuleName.STRATEGY_VOLATILITY,
        ViolationLevel.STRATEGY,
        _held,
        _strategy_volatility,
        lambda L: L.strategy.max_volatility,
        _above,
        high=_PAUSE,
    ),
    RiskRule(
        RiskRuleName.NET_EXPOSURE_PER_TICKER,
        ViolationLevel.POSITION,
        _tickers,
        _net_exposure,
        lambda L: L.position.max_net_exposure_per_ticker,
        _above,
    ),
)
"""Every rule, in the order its breaches are reported."""
_BY_NAME = {r.name.value: r for r in RULES}


def classify(rule: str, value: float, limit: float) -> tuple[Severity, RiskAction]:
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
    if rule not in _BY_NAME:
        raise ValueError(f"unknown risk rule {rule!r}")
    return _BY_NAME[rule].grade(value, limit)
