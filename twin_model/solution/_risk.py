"""Stage 3 of the solution step, risk: breaches pause strategies, open, continue or resolve
violations, and a drawdown stop sends the book to cash for a cooldown (the recovery rule)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from twin_model.conventions import RiskAction, StrategyStatus, ViolationStatus
from twin_model.portfolio import Breach
from twin_model.solution._manage import paused
from twin_model.solution._rules import SolutionRules
from twin_model.solution._state import SolutionState, StrategyState, Violation, violation_key


def pause_on_breaches(
    rules: SolutionRules, strategies: dict[str, StrategyState], breaches: list[Breach], day: dt.date, events: set[str]
) -> tuple[dict[str, StrategyState], set[str]]:
    out = dict(strategies)
    for b in breaches:
        pausable = b.subject in out and out[b.subject].status == StrategyStatus.ACTIVE
        if b.action == RiskAction.PAUSE_STRATEGY and pausable:
            out[b.subject] = paused(out[b.subject], rules, day, f"risk: {b.rule} {b.severity}", events)
    return out, events


def track_violations(
    solution_id: str, previous: Mapping[tuple[str, str, str], Violation], breaches: list[Breach], day: dt.date
) -> tuple[list[dict], dict[tuple[str, str, str], Violation]]:
    """Rows for every violation open today or resolved today, and the ones still open."""
    open_now = {}
    for b in breaches:
        key = violation_key(b)
        open_now[key] = Violation(b, previous[key].opened if key in previous else day)
    rows = [_violation_row(solution_id, day, v, ViolationStatus.OPEN, None) for v in open_now.values()]
    rows += [
        _violation_row(solution_id, day, v, ViolationStatus.RESOLVED, day)
        for k, v in sorted(previous.items())
        if k not in open_now
    ]
    return rows, open_now


def _violation_row(
    solution_id: str, day: dt.date, v: Violation, status: ViolationStatus, resolved: dt.date | None
) -> dict:
    b = v.breach
    return {
        "date": day,
        "solution_id": solution_id,
        "level": b.level,
        "rule": b.rule,
        "subject": b.subject,
        "severity": b.severity,
        "action": b.action,
        "value": b.value,
        "limit_value": b.limit,
        "status": status,
        "opened_date": v.opened,
        "resolved_date": resolved,
        "message": b.message,
    }


def recovery(rules: SolutionRules, state: SolutionState, breaches: list[Breach], aum: float) -> tuple[float, int]:
    """(drawdown reference, cooldown days left): a liquidation resets the reference to the
    AUM at the stop and keeps the book in cash for ``cooldown_days``."""
    if any(b.action == RiskAction.LIQUIDATE for b in breaches):
        return aum, rules.cooldown_days
    return state.risk_peak, max(0, state.cooldown_days_left - 1)
