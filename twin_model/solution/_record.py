"""The record of one solution-day: the rows of the six ``portfolio.*`` tables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twin_model.conventions import PERIODS_PER_YEAR, StrategyStatus
from twin_model.portfolio import diversification_ratio
from twin_model.solution._book import Book
from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import SolutionState, StrategyState
from twin_model.solution._targets import TargetDecision, still_awaiting

RISK_WINDOW = 63
"""Trailing rows behind the reported volatility, diversification ratio and risk contributions."""


@dataclass
class DayRecord:
    """The rows one solution writes for one day, one list per ``portfolio.*`` table."""

    weights: list[dict]
    optimization: dict
    performance: dict
    attribution: list[dict]
    violations: list[dict]
    orders: list[dict]


def record_of_day(
    rules: SolutionRules,
    inputs: DayInputs,
    state: SolutionState,
    new: SolutionState,
    book: Book,
    targets: TargetDecision,
    violation_rows: list[dict],
    orders: list[dict],
) -> DayRecord:
    """The rows of the day that took ``state`` (S_t) to ``new`` (S_{t+1})."""
    strategies = new.strategies
    close = {s: st.weight for s, st in strategies.items()}
    return DayRecord(
        weights=_weight_rows(rules, inputs, state, book, strategies),
        optimization=_optimization_row(rules, inputs, state, targets, len(strategies), len(new.violations)),
        performance=_performance_row(rules, inputs, new, book, strategies, targets),
        attribution=_attribution_rows(rules, inputs, state, book, close),
        violations=violation_rows,
        orders=orders,
    )


def _weight_rows(
    rules: SolutionRules,
    inputs: DayInputs,
    state: SolutionState,
    book: Book,
    strategies: Mapping[str, StrategyState],
) -> list[dict]:
    rows = []
    for s, st in strategies.items():
        valley = inputs.valley.get(s)
        start = max(inputs.day.replace(day=1), st.watch_from) if st.watch_from else inputs.day.replace(day=1)
        rows.append(
            {
                "date": inputs.day,
                "solution_id": rules.solution_id,
                "strategy_id": s,
                "status": st.status,
                "in_pool": bool(inputs.in_pool.get(s, False)),
                "tier": st.tier,
                "weight_start": state.strategies.get(s, StrategyState()).weight,
                "weight_held": book.held.get(s, 0.0),
                "weight_target": st.target,
                "weight_close": st.weight,
                "target_scale": st.scale,
                "pause_days_left": st.pause_days_left,
                "ramp_day": st.ramp_day,
                "pause_count": st.pause_count,
                "watch_from": st.watch_from,
                "pnl_watched": inputs.pnl_since(s, start),
                "monthly_valley": valley,
                "reason": st.reason,
            }
        )
    return rows


def _portfolio_moments(targets: Mapping[str, float], moments) -> tuple[float | None, float | None]:
    if moments is None:
        return None, None
    ids, mu, cov = moments
    w = np.array([targets.get(s, 0.0) for s in ids])
    return float(w @ mu), float(math.sqrt(max(w @ cov @ w, 0.0)))


def _optimization_row(
    rules: SolutionRules,
    inputs: DayInputs,
    state: SolutionState,
    decision: TargetDecision,
    weight_rows: int,
    open_violations: int,
) -> dict:
    """Expected return, volatility and Sharpe recomputed from the final targets."""
    er, vol = _portfolio_moments(decision.targets, decision.moments)
    details = decision.allocation
    violations = _limit_violations(rules, inputs, decision.targets)
    return {
        "date": inputs.day,
        "solution_id": rules.solution_id,
        "policy": rules.policy_kind,
        "objective": details.get("objective", rules.policy_params.get("objective")),
        "method": details.get("method", rules.policy_params.get("method")),
        "rebalanced": decision.rebalanced,
        "triggers": ",".join(decision.triggers),
        "status": decision.status,
        "expected_return": er,
        "expected_volatility": vol,
        "sharpe_ratio": er / vol if er is not None and vol else None,
        "solver": details.get("solver"),
        "convergence_status": details.get("convergence_status"),
        "constraints_satisfied": not violations,
        "violations": "; ".join(violations),
        "n_strategies": sum(1 for t in decision.targets.values() if t > 0),
        "target_exposure": decision.exposure,
        **decision.cash,
        "awaiting_allocation": still_awaiting(decision, state),
        "weight_rows": weight_rows,
        "open_violations": open_violations,
        "message": decision.message,
    }


def _limit_violations(rules: SolutionRules, inputs: DayInputs, targets: Mapping[str, float]) -> list[str]:
    """The solution's constraints re-checked on the final targets (tolerance 1e-7)."""
    tol, out = 1e-7, []
    for s, t in sorted(targets.items()):
        if t < -tol or t > rules.max_weight + tol:
            out.append(f"{s}: weight {t:.6g} outside [0, {rules.max_weight:g}]")
    sectors: dict[str, float] = {}
    for s, t in targets.items():
        sectors[inputs.sector_of(s)] = sectors.get(inputs.sector_of(s), 0.0) + t
    for k, cap in sorted(rules.sector_limits.items()):
        if sectors.get(k, 0.0) > cap + tol:
            out.append(f"sector {k}: {sectors[k]:.6g} above its limit {cap:g}")
    gross = sum(abs(t) for t in targets.values())
    if gross > rules.leverage_limit + tol:
        out.append(f"gross exposure {gross:.6g} above the leverage limit {rules.leverage_limit:g}")
    return out


def _risk_view(inputs: DayInputs, weights: Mapping[str, float]) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """(held ids, their weights, annualised covariance over the last 63 complete rows)."""
    ids = [s for s, w in weights.items() if w != 0 and inputs.column(s) is not None]
    if not ids:
        return None
    X = inputs.complete_rows(ids, RISK_WINDOW)
    if X.shape[0] < 2:
        return None
    cov = np.atleast_2d(np.cov(X, rowvar=False, ddof=1)) * PERIODS_PER_YEAR
    return ids, np.array([weights[s] for s in ids]), cov


def _performance_row(
    rules: SolutionRules,
    inputs: DayInputs,
    new: SolutionState,
    book: Book,
    strategies: Mapping[str, StrategyState],
    decision: TargetDecision,
) -> dict:
    close = {s: st.weight for s, st in strategies.items()}
    view = _risk_view(inputs, close)
    vol = dr = None
    if view is not None:
        _, w, cov = view
        var = float(w @ cov @ w)
        vol = math.sqrt(max(var, 0.0))
        dr = diversification_ratio(w, cov) if vol > 0 else None
    statuses = [st.status for st in strategies.values()]
    net = sum(close.values())
    fees, fee_day = book.fees, book.fee_day
    return {
        "date": inputs.day,
        "solution_id": rules.solution_id,
        "cold_start": book.cold_start,
        "aum_start": book.aum_start,
        "gav_start": book.gav_start,
        "daily_return": book.daily_return,
        "cash_interest": book.cash_interest,
        "costs": book.costs,
        "gross_return": fee_day.gross_return,
        "management_fee": fee_day.management_fee,
        "performance_fee_charge": fee_day.performance_fee_charge,
        "fees": fee_day.fees,
        "crystallised_fee": fee_day.crystallised_fee,
        "flows": fee_day.flows,
        "pnl": book.aum - book.aum_start - fee_day.flows,
        "aum": book.aum,
        "net_return": fee_day.net_return,
        "units": fees.units,
        "nav_per_unit": fees.nav,
        "gav_per_unit": fees.gav,
        "performance_fee_per_unit": fees.accrued,
        "performance_fee_balance": fees.balance,
        "hwm": fees.hwm,
        "hurdle_return": fees.hurdle_return,
        "fee_period_start": fees.period_start,
        "aum_peak": new.aum_peak,
        "drawdown": book.aum / new.aum_peak - 1.0,
        "risk_peak": new.risk_peak,
        "leverage": sum(abs(w) for w in close.values()),
        "net_exposure": net,
        "cash_weight": 1.0 - net,
        "volatility_63d": vol,
        "diversification_ratio": dr,
        "pending_costs": new.pending_costs,
        "cooldown_days_left": new.cooldown_days_left,
        "rebalanced": decision.rebalanced,
        "last_rebalance": new.last_rebalance,
        "n_active": sum(1 for s, st in strategies.items() if st.status == StrategyStatus.ACTIVE and close[s] != 0),
        "n_paused": statuses.count(StrategyStatus.PAUSED),
        "n_stopped": statuses.count(StrategyStatus.STOPPED),
    }


def _attribution_rows(
    rules: SolutionRules,
    inputs: DayInputs,
    state: SolutionState,
    book: Book,
    close: Mapping[str, float],
) -> list[dict]:
    """Return contribution ``w_i r_i`` (sums to the day's return) and, for the closing
    book, marginal risk ``(Sigma w)_i / sigma_p`` and contribution ``w_i (Sigma w)_i / sigma_p``
    (annualised, summing to sigma_p), with its share of sigma_p."""
    start = {s: st.weight for s, st in state.strategies.items()}
    view = _risk_view(inputs, close)
    risk: dict[str, tuple[float, float, float]] = {}
    if view is not None:
        ids, w, cov = view
        sigma = math.sqrt(max(float(w @ cov @ w), 0.0))
        if sigma > 0:
            marginal = cov @ w / sigma
            risk = {s: (float(m), float(x * m), float(x * m / sigma)) for s, x, m in zip(ids, w, marginal)}
    rows = []
    for s in sorted(set(start) | set(close)):
        if start.get(s, 0.0) == 0 and close.get(s, 0.0) == 0:
            continue
        r = book.returns.get(s)
        m, rc, pct = risk.get(s, (None, None, None))
        rows.append(
            {
                "date": inputs.day,
                "solution_id": rules.solution_id,
                "strategy_id": s,
                "weight_start": start.get(s, 0.0),
                "ret": r,
                "return_contribution": start.get(s, 0.0) * (r or 0.0),
                "weight_close": close.get(s, 0.0),
                "marginal_risk": m,
                "risk_contribution": rc,
                "risk_contribution_pct": pct,
            }
        )
    return rows
