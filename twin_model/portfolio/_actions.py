"""What open breaches do to a book: the next target weights after their actions, and
whether new risk may be added meanwhile."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl

from twin_model.conventions import RiskAction, RiskRuleName, Severity, ViolationLevel
from twin_model.portfolio._rules import Breach


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
    if any(b.action == RiskAction.LIQUIDATE for b in breaches):
        return {s: 0.0 for s in new}
    portfolio_factor = 1.0
    paused: set[str] = set()
    for b in breaches:
        if b.action == RiskAction.ALERT:
            continue
        if b.action == RiskAction.PAUSE_STRATEGY:
            if b.subject in new:
                paused.add(b.subject)
            continue
        if b.action != RiskAction.REDUCE_PROPORTIONALLY:
            raise ValueError(f"unknown action {b.action!r}")
        if b.level == ViolationLevel.PORTFOLIO:
            portfolio_factor = min(portfolio_factor, _shrink(b.value, b.limit))
        elif b.level == ViolationLevel.STRATEGY:
            if b.subject not in new:
                continue
            w = new[b.subject]
            if b.rule == RiskRuleName.STRATEGY_WEIGHT:
                new[b.subject] = math.copysign(min(abs(w), b.limit), w)
            else:
                new[b.subject] = w * _shrink(b.value, b.limit)
        elif b.level == ViolationLevel.POSITION:
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
    return any(b.severity in (Severity.HIGH, Severity.CRITICAL) for b in breaches)
