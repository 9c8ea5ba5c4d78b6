"""Stage 2 of the solution step, manage strategies: selection through the pool and the
filters, manual overrides, pauses and their re-entry ramp, the monthly-valley rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from twin_model.calendar import next_business_day
from twin_model.conventions import ManualActionKind, RebalanceTrigger, StrategyStatus, Tier
from twin_model.solution._inputs import DayInputs
from twin_model.solution._rules import ManualAction, SolutionRules
from twin_model.solution._state import HAS_SLOT, SolutionState, StrategyState


def _universe(rules: SolutionRules, state: SolutionState, inputs: DayInputs) -> list[str]:
    """Strategies the solution looks at today: the pool's strategies through the filters,
    plus any it still holds or has on its stop list."""
    known = set(inputs.in_pool) | set(state.strategies)
    passing = {s for s in known if rules.selects(inputs.sector_of(s), inputs.asset_class_of(s))}
    holding = {s for s, st in state.strategies.items() if st.weight != 0 or st.target != 0}
    return sorted(passing | holding)


def manage(
    rules: SolutionRules, state: SolutionState, inputs: DayInputs, held: Mapping[str, float]
) -> tuple[dict[str, StrategyState], set[str]]:
    """Each strategy's status after today's pool, pause, ramp, stop and manual rules.

    Returns the states and the events that call for a rebalance (pool change, ramp).
    """
    day, events = inputs.day, set()
    manual = rules.manual_on(day)
    month_start = day.replace(day=1)
    out: dict[str, StrategyState] = {}
    for s in _universe(rules, state, inputs):
        st = state.strategies.get(s, StrategyState())
        had_slot = st.status == StrategyStatus.PAUSED and st.tier != Tier.NONE
        st = replace(st, tier=rules.tier(inputs, s, on_list=st.status in HAS_SLOT))
        selected = st.tier != Tier.NONE
        if had_slot and not selected:
            events.add(RebalanceTrigger.POOL_CHANGE)  # its reserved slot can go to the others
        st = _manual(st, [m for m in manual if m.strategy_id == s], events)
        if st.status == StrategyStatus.STOPPED:
            out[s] = st
            continue
        st = _advance_pause_and_ramp(st, rules, selected, day, events)
        st = _selection_change(st, selected, day, events)
        if st.status == StrategyStatus.ACTIVE:
            st = _valley_rule(st, rules, inputs, s, month_start, events)
        out[s] = st
    return out, events


def _manual(st: StrategyState, actions: list[ManualAction], events: set[str]) -> StrategyState:
    for m in actions:
        if m.action == ManualActionKind.STOP and st.status != StrategyStatus.STOPPED:
            st = replace(
                st, status=StrategyStatus.STOPPED, pause_days_left=0, ramp_day=0, reason=f"manual stop on {m.date}"
            )
            events.add(RebalanceTrigger.POOL_CHANGE)
        elif m.action == ManualActionKind.REINSTATE and st.status == StrategyStatus.STOPPED:
            st = replace(st, status=StrategyStatus.OUT_OF_POOL, pause_count=0, reason=f"manual reinstate on {m.date}")
    return st


def _advance_pause_and_ramp(
    st: StrategyState, rules: SolutionRules, selected: bool, day: dt.date, events: set[str]
) -> StrategyState:
    if st.status == StrategyStatus.PAUSED:
        left = st.pause_days_left - 1
        if left > 0:
            return replace(st, pause_days_left=left)
        if not selected:
            return replace(
                st,
                status=StrategyStatus.OUT_OF_POOL,
                pause_days_left=0,
                ramp_day=0,
                reason=f"pause over on {day}, no longer selected",
            )
        events.add(RebalanceTrigger.RAMP)
        return replace(
            st,
            status=StrategyStatus.ACTIVE,
            pause_days_left=0,
            ramp_day=1 if rules.ramp_days > 0 else 0,
            watch_from=next_business_day(day),
            reason=f"pause over on {day}: re-entering over {rules.ramp_days} days",
        )
    if st.ramp_day >= rules.ramp_days:
        return replace(st, ramp_day=0)  # the last ramp day already had full weight
    if st.ramp_day:
        events.add(RebalanceTrigger.RAMP)
        return replace(st, ramp_day=st.ramp_day + 1)
    return st


def _selection_change(st: StrategyState, selected: bool, day: dt.date, events: set[str]) -> StrategyState:
    if st.status == StrategyStatus.ACTIVE and not selected:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return replace(
            st,
            status=StrategyStatus.OUT_OF_POOL,
            ramp_day=0,
            reason=f"left the alpha pool (or incubation, or the filters) on {day}",
        )
    if st.status == StrategyStatus.OUT_OF_POOL and selected:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return replace(
            st,
            status=StrategyStatus.ACTIVE,
            pause_count=0,
            watch_from=next_business_day(day),
            reason=f"selected on {day}",
        )
    return st


def _valley_rule(
    st: StrategyState, rules: SolutionRules, inputs: DayInputs, s: str, month_start: dt.date, events: set[str]
) -> StrategyState:
    """Pause below the monthly valley, stop below ``stop_valley_multiple`` x valley or on the
    ``max_pauses``-th pause. P&L counts from the later of the month's start and re-entry."""
    valley = inputs.valley.get(s)
    if valley is None or not valley < 0:
        return st
    start = max(month_start, st.watch_from) if st.watch_from else month_start
    pnl = inputs.pnl_since(s, start)
    if pnl >= valley:
        return st
    what = f"P&L {pnl:.4%} since {start} below the monthly valley {valley:.4%}"
    if pnl < rules.stop_valley_multiple * valley:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return _stopped(st, f"stopped on {inputs.day}: {what} x {rules.stop_valley_multiple:g}")
    return paused(st, rules, inputs.day, what, events)


def paused(st: StrategyState, rules: SolutionRules, day: dt.date, why: str, events: set[str]) -> StrategyState:
    count = st.pause_count + 1
    if count >= rules.max_pauses:
        events.add(RebalanceTrigger.POOL_CHANGE)
        return _stopped(
            replace(st, pause_count=count), f"stopped on {day}: pause {count} of {rules.max_pauses} ({why})"
        )
    return replace(
        st,
        status=StrategyStatus.PAUSED,
        pause_days_left=rules.pause_days,
        ramp_day=0,
        pause_count=count,
        reason=f"paused on {day} for {rules.pause_days} days: {why}",
    )


def _stopped(st: StrategyState, why: str) -> StrategyState:
    return replace(st, status=StrategyStatus.STOPPED, pause_days_left=0, ramp_day=0, reason=why)
