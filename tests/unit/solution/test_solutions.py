"""Unit tests of the solution-level step (twin_model.solution).

Every expected number is worked by hand in the test (small numbers, written out) or
computed by numpy from the formula the module docstring states, never pasted from a run.
Policies are ``static`` (hand-computable: ``w_i = c * given_i``, ``sum w = T``) unless a
test says otherwise; risk limits are loose except where a test is about risk, and costs
are zero except where a test is about costs, so every number stays exact.

Calendar used throughout (2024): Fri Mar 1 (launch), Mon Mar 4 .. Fri Mar 8,
Mon Mar 11 .. Fri Mar 15, ..., Fri Mar 29, Mon Apr 1.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import polars as pl
import pytest

from tests.helpers.risk_limits import loose_risk_limits
from tests.helpers.solutions import LAUNCH, LOOSE, SID, ZERO_COSTS, D, Market, days, rules, run
from twin_model.contracts import TABLES, validate
from twin_model.errors import StateMismatchError
from twin_model.portfolio import CostModel
from twin_model.solution import (
    PORTFOLIO_TABLES,
    ManualAction,
    SolutionRules,
    SolutionState,
    StrategyState,
    records_to_frames,
    state_from_tables,
    step,
)


def wrow(record, sid) -> dict:
    (row,) = [r for r in record.weights if r["strategy_id"] == sid]
    return row


def orow(record, sid) -> dict | None:
    rows = [r for r in record.orders if r["strategy_id"] == sid]
    assert len(rows) <= 1
    return rows[0] if rows else None


def targets(record) -> dict[str, float]:
    return {r["strategy_id"]: r["weight_target"] for r in record.weights}


def check_identities(record, tol=1e-12):
    """The cash identity of the targets, the attribution sum and the AUM identity."""
    o, p = record.optimization, record.performance
    assert sum(targets(record).values()) == pytest.approx(
        o["target_exposure"] - o["cash_pauses"] - o["cash_risk"] - o["cash_other"], abs=tol
    )
    assert sum(a["return_contribution"] for a in record.attribution) == pytest.approx(p["daily_return"], abs=tol)
    assert p["aum"] == pytest.approx(p["aum_start"] * (1 + p["daily_return"]) - p["costs"], rel=1e-13)


# =========================================================================== 1. mark to market


def _three_held_state(rule, day=None, pending=0.1) -> SolutionState:
    day = day or D(2024, 3, 4)
    held = {"A": 0.5, "B": 0.3, "C": 0.2}
    return SolutionState(
        day=day,
        aum=100.0,
        aum_peak=100.0,
        risk_peak=100.0,
        pending_costs=pending,
        last_rebalance=LAUNCH,
        exposure=1.0,
        strategies={
            s: StrategyState(status="active", tier="core", weight=w, target=w, watch_from=D(2024, 3, 4))
            for s, w in held.items()
        },
    )


def test_mark_to_market_by_hand_missing_return_counts_as_zero():
    rule = rules({"A": 0.5, "B": 0.3, "C": 0.2})
    m = Market("ABC").set(D(2024, 3, 5), "A", 0.02).set(D(2024, 3, 5), "B", -0.01).set(D(2024, 3, 5), "C", np.nan)
    state = _three_held_state(rule)
    new, rec = step(rule, state, m.inputs(D(2024, 3, 5)), LOOSE, ZERO_COSTS)

    # R = 0.5*0.02 + 0.3*(-0.01) + 0.2*0 = 0.010 - 0.003 = 0.007; AUM = 100*1.007 - 0.1 = 100.6
    p = rec.performance
    assert p["daily_return"] == pytest.approx(0.007, abs=1e-15)
    assert p["aum_start"] == 100.0
    assert p["costs"] == pytest.approx(0.1)
    assert p["aum"] == pytest.approx(100.6, abs=1e-12)
    assert p["pnl"] == pytest.approx(0.6, abs=1e-12)
    assert p["aum_peak"] == pytest.approx(100.6, abs=1e-12) and p["drawdown"] == pytest.approx(0.0, abs=1e-15)
    assert new.aum == pytest.approx(100.6, abs=1e-12)
    # drifted: h = w * 100 * (1 + r) / 100.6
    expected_held = {"A": 50 * 1.02 / 100.6, "B": 30 * 0.99 / 100.6, "C": 20.0 / 100.6}
    for s, h in expected_held.items():
        row = wrow(rec, s)
        assert row["weight_start"] == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2}[s])
        assert row["weight_held"] == pytest.approx(h, abs=1e-15)
        # largest drift |51/100.6 - 0.5| = 0.00696 < 0.05: no rebalance, close at the held weight
        assert row["weight_close"] == pytest.approx(h, abs=1e-15)
        assert row["weight_target"] == pytest.approx(state.strategies[s].target)
    assert rec.optimization["rebalanced"] is False and rec.optimization["status"] == "held"
    assert rec.orders == []
    # attribution: w_i r_i, C unobserved (ret None, contribution 0)
    attr = {a["strategy_id"]: a for a in rec.attribution}
    assert attr["A"]["return_contribution"] == pytest.approx(0.010, abs=1e-15)
    assert attr["B"]["return_contribution"] == pytest.approx(-0.003, abs=1e-15)
    assert attr["C"]["ret"] is None and attr["C"]["return_contribution"] == 0.0
    assert new.pending_costs == 0.0  # no trades today
    check_identities(rec)


def test_mark_to_market_loss_keeps_peak_and_reports_drawdown():
    rule = rules({"A": 0.5, "B": 0.3, "C": 0.2})
    m = Market("ABC").set(D(2024, 3, 5), "A", -0.04).set(D(2024, 3, 5), "B", 0.01)
    state = replace(_three_held_state(rule, pending=0.0), aum_peak=110.0)
    new, rec = step(rule, state, m.inputs(D(2024, 3, 5)), LOOSE, ZERO_COSTS)
    # R = 0.5*(-0.04) + 0.3*0.01 = -0.017; AUM = 98.3; peak stays 110; drawdown 98.3/110 - 1
    assert rec.performance["aum"] == pytest.approx(98.3, abs=1e-12)
    assert new.aum_peak == 110.0 and rec.performance["aum_peak"] == 110.0
    assert rec.performance["drawdown"] == pytest.approx(98.3 / 110 - 1, abs=1e-15)
    assert new.risk_peak == 100.0  # risk peak = max(old risk peak, today's AUM)


def test_performance_risk_and_attribution_by_numpy():
    # closing book after the launch: 0.5 / 0.3 / 0.2; C unobserved on one pre-launch day (that
    # row drops out of the complete rows). Annualised covariance of the last 63 complete rows
    # (ddof=1) x 252; vol = sqrt(w' S w), DR = sum w_i s_i / vol, RC_i = w_i (S w)_i / vol.
    rule = rules({"A": 0.5, "B": 0.3, "C": 0.2})
    m = Market("ABC").set(D(2024, 2, 7), "C", np.nan)
    _, recs = run(rule, m, [LAUNCH])
    rec = recs[0]
    w = np.array([0.5, 0.3, 0.2])
    X = m.R[: m.dates.index(LAUNCH) + 1]
    X = X[~np.isnan(X).any(axis=1)][-63:]
    assert X.shape[0] == 43  # 43 pre-launch business days less the NaN one, + the launch day
    S = np.cov(X, rowvar=False, ddof=1) * 252
    vol = math.sqrt(w @ S @ w)
    p = rec.performance
    assert p["volatility_63d"] == pytest.approx(vol, rel=1e-12)
    assert p["diversification_ratio"] == pytest.approx(float(w @ np.sqrt(np.diag(S))) / vol, rel=1e-12)
    assert (p["leverage"], p["net_exposure"]) == pytest.approx((1.0, 1.0))
    assert p["cash_weight"] == pytest.approx(0.0, abs=1e-15)
    assert (p["n_active"], p["n_paused"], p["n_stopped"]) == (3, 0, 0)
    attr = {a["strategy_id"]: a for a in rec.attribution}
    rc = w * (S @ w) / vol
    for i, sid in enumerate("ABC"):
        assert attr[sid]["weight_start"] == 0.0 and attr[sid]["weight_close"] == pytest.approx(w[i])
        assert attr[sid]["marginal_risk"] == pytest.approx((S @ w)[i] / vol, rel=1e-12)
        assert attr[sid]["risk_contribution"] == pytest.approx(rc[i], rel=1e-12)
        assert attr[sid]["risk_contribution_pct"] == pytest.approx(rc[i] / vol, rel=1e-12)
    assert sum(a["risk_contribution"] for a in rec.attribution) == pytest.approx(vol, rel=1e-12)
    # expected return / volatility of the optimization row: mu = 0.05 each -> w' mu = 0.05
    assert rec.optimization["expected_return"] == pytest.approx(0.05, rel=1e-12)


# =========================================================================== 2. pause and ramp


def test_pause_on_monthly_valley_then_pause_days_then_ramp():
    # A has valley -3 %; its launch-day return (-2 %) is not watched (watch_from = Mar 4).
    # Watched P&L: Mar 4: -1 % ; Mar 5: 0.99*0.985 - 1 = -2.485 % ; Mar 6: *0.99 -> -3.46 % < -3 %.
    # (Counting Mar 1 as well it would be 0.98*0.99*0.985 - 1 = -4.44 % on Mar 5 already.)
    # Stop bar 2 x -3 % = -6 % is not reached: a pause of 3 days, then a ramp over 3 days.
    rule = rules({"A": 0.5, "B": 0.5}, pause_days=3, ramp_days=3)
    m = Market("AB")
    for d, r in [
        (D(2024, 3, 1), -0.02),
        (D(2024, 3, 4), -0.01),
        (D(2024, 3, 5), -0.015),
        (D(2024, 3, 6), -0.01),
        (D(2024, 3, 11), -0.05),  # re-entry day: A holds nothing and its P&L counts from Mar 12
        (D(2024, 3, 12), -0.01),
    ]:
        m.set(d, "A", r)
    valley = {"A": -0.03, "B": -0.03}
    dl = days(LAUNCH, D(2024, 3, 15))
    states, recs = run(rule, m, dl, per_day=lambda d: {"valley": valley})
    by = dict(zip(dl, zip(states, recs)))

    # launch: A and B at 0.5, watched from the next business day
    s0, r0 = by[D(2024, 3, 1)]
    assert s0.strategies["A"].watch_from == D(2024, 3, 4)
    assert targets(r0) == pytest.approx({"A": 0.5, "B": 0.5})

    for d, pnl in [(D(2024, 3, 4), -0.01), (D(2024, 3, 5), 0.99 * 0.985 - 1)]:
        st, rec = by[d]
        assert st.strategies["A"].status == "active"
        assert wrow(rec, "A")["pnl_watched"] == pytest.approx(pnl, abs=1e-15)

    st, rec = by[D(2024, 3, 6)]
    a = st.strategies["A"]
    assert wrow(rec, "A")["pnl_watched"] == pytest.approx(0.99 * 0.985 * 0.99 - 1, abs=1e-15)
    assert (a.status, a.pause_days_left, a.pause_count, a.target, a.weight) == ("paused", 3, 1, 0.0, 0.0)
    o = orow(rec, "A")
    assert o["reason"] == "forced_exit" and o["weight_target"] == 0.0
    # A's drifted weight: 0.5 * 0.99*0.985*0.99 / (0.5 * 0.99*0.985*0.99 + 0.5) (B flat, zero costs)
    g = 0.99 * 0.985 * 0.99
    assert o["weight_held"] == pytest.approx(0.5 * g / (0.5 * g + 0.5), abs=1e-12)
    assert orow(rec, "B") is None  # held day: only the forced exit trades
    assert rec.optimization["rebalanced"] is False
    # the slot stays in cash: cash_pauses = A's previous target 0.5
    assert rec.optimization["cash_pauses"] == pytest.approx(0.5)
    assert targets(rec)["B"] == pytest.approx(0.5)

    # paused for 3 business days in all (Mar 6, 7, 8), counting down
    assert [by[d][0].strategies["A"].pause_days_left for d in (D(2024, 3, 7), D(2024, 3, 8))] == [2, 1]
    assert all(by[d][0].strategies["A"].status == "paused" for d in (D(2024, 3, 7), D(2024, 3, 8)))
    assert all(targets(by[d][1])["A"] == 0.0 for d in (D(2024, 3, 7), D(2024, 3, 8)))

    # re-entry on Mar 11 along the ramp: target = 0.5 * k / 3 on the k-th day back, then 0.5
    for k, d in enumerate([D(2024, 3, 11), D(2024, 3, 12), D(2024, 3, 13)], start=1):
        st, rec = by[d]
        a = st.strategies["A"]
        assert (a.status, a.ramp_day, a.watch_from) == ("active", k, D(2024, 3, 12))
        assert a.target == pytest.approx(0.5 * k / 3, abs=1e-15)
        assert wrow(rec, "A")["target_scale"] == pytest.approx(k / 3, abs=1e-15)
        assert rec.optimization["cash_pauses"] == pytest.approx(0.5 * (1 - k / 3), abs=1e-15)
        assert targets(rec)["B"] == pytest.approx(0.5)
        assert "ramp" in rec.optimization["triggers"].split(",")
        check_identities(rec)
    st, rec = by[D(2024, 3, 14)]
    assert st.strategies["A"].ramp_day == 0 and st.strategies["A"].target == pytest.approx(0.5)
    # P&L watched from Mar 12: -1 % (with Mar 11's -5 % it would be -5.95 % < -3 %: a new pause)
    assert wrow(by[D(2024, 3, 12)][1], "A")["pnl_watched"] == pytest.approx(-0.01, abs=1e-15)
    assert all(by[d][0].strategies["A"].status == "active" for d in dl[dl.index(D(2024, 3, 11)) :])
    assert by[D(2024, 3, 15)][0].strategies["A"].pause_count == 1


def test_paused_slot_stays_in_cash_through_a_rebalance():
    # A paused on Mar 4 (-4 % < -3 %) for 3 days; a manual rebalance on Mar 6 allocates over
    # {A (paused, still in the pool), B}: B keeps 0.5, A's 0.5 is cash_pauses (not given to B).
    rule = rules({"A": 0.5, "B": 0.5}, pause_days=3, manual=(ManualAction(D(2024, 3, 6), "rebalance"),))
    m = Market("AB").set(D(2024, 3, 4), "A", -0.04)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 6)), per_day=lambda d: {"valley": {"A": -0.03}})
    rec = recs[3]
    assert rec.optimization["rebalanced"] is True and rec.optimization["triggers"] == "manual"
    assert states[3].strategies["A"].status == "paused"
    assert targets(rec) == pytest.approx({"A": 0.0, "B": 0.5})
    assert rec.optimization["cash_pauses"] == pytest.approx(0.5)
    assert rec.optimization["cash_other"] == pytest.approx(0.0, abs=1e-12)
    check_identities(rec)


def test_valley_pnl_restarts_each_month():
    # A: -2 % on Fri Mar 29 and -2 % on Mon Apr 1, valley -3 %: each month's P&L is -2 %, no
    # pause (over both days it would be 0.98^2 - 1 = -3.96 %).
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB").set(D(2024, 3, 29), "A", -0.02).set(D(2024, 4, 1), "A", -0.02)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 4, 1)), per_day=lambda d: {"valley": {"A": -0.03}})
    assert wrow(recs[-2], "A")["pnl_watched"] == pytest.approx(-0.02, abs=1e-15)
    assert wrow(recs[-1], "A")["pnl_watched"] == pytest.approx(-0.02, abs=1e-15)
    assert all(s.strategies["A"].status == "active" for s in states)


def test_no_valley_or_non_negative_valley_never_pauses():
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB").set(D(2024, 3, 4), "A", -0.5).set(D(2024, 3, 4), "B", -0.5)
    states, _ = run(rule, m, days(LAUNCH, D(2024, 3, 4)), per_day=lambda d: {"valley": {"B": 0.0}})
    assert states[-1].strategies["A"].status == "active" and states[-1].strategies["B"].status == "active"


def test_pause_ending_out_of_pool_does_not_ramp():
    # A paused Mar 4 (pause_days 2), leaves the pool on Mar 5; the pause ends on Mar 6 with A
    # out of the pool. Nothing changes after that: no rebalance is due on Mar 7, 8, 11.
    rule = rules({"A": 0.5, "B": 0.5}, pause_days=2, ramp_days=3)
    m = Market("AB").set(D(2024, 3, 4), "A", -0.04)
    dl = days(LAUNCH, D(2024, 3, 11))
    per_day = lambda d: {"valley": {"A": -0.03}, "in_pool": {"A": d < D(2024, 3, 5), "B": True}}  # noqa: E731
    states, recs = run(rule, m, dl, per_day=per_day)
    assert states[3].strategies["A"].status == "out_of_pool"  # Mar 6
    assert [s.strategies["A"].ramp_day for s in states[3:]] == [0, 0, 0, 0]
    assert [r.optimization["rebalanced"] for r in recs[4:]] == [False, False, False]


def test_end_of_ramp_is_not_a_rebalance_trigger():
    # A paused Mar 4, pause_days 1 -> back on Mar 5 with ramp_days 2: Mar 5 k=1 (1/2), Mar 6 k=2
    # (full size). On Mar 7 the ramp is over and the scale is still 1: nothing to rebalance.
    rule = rules({"A": 0.5, "B": 0.5}, pause_days=1, ramp_days=2)
    m = Market("AB").set(D(2024, 3, 4), "A", -0.04).set(D(2024, 3, 7), "B", 0.01)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 7)), per_day=lambda d: {"valley": {"A": -0.03}})
    assert [s.strategies["A"].ramp_day for s in states] == [0, 0, 1, 2, 0]
    assert states[3].strategies["A"].target == pytest.approx(0.5)  # full size already on Mar 6
    assert recs[4].optimization["rebalanced"] is False


# =========================================================================== 3. stop


def test_stop_below_multiple_of_valley_same_day_and_stays_stopped():
    # Mar 4: A -7 % < 2 x (-3 %) = -6 %: stopped that day, not paused; B takes the whole book.
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB").set(D(2024, 3, 4), "A", -0.07)
    dl = days(LAUNCH, D(2024, 3, 8))
    states, recs = run(rule, m, dl, per_day=lambda d: {"valley": {"A": -0.03}})
    st, rec = states[1], recs[1]
    a = st.strategies["A"]
    assert (a.status, a.target, a.weight, a.pause_count) == ("stopped", 0.0, 0.0, 0)
    assert orow(rec, "A")["reason"] == "forced_exit"
    assert "pool_change" in rec.optimization["triggers"]
    # static weights renormalised over the selection {B}: B = 1
    assert targets(rec) == pytest.approx({"A": 0.0, "B": 1.0})
    for s, r in zip(states[2:], recs[2:]):
        assert s.strategies["A"].status == "stopped" and s.strategies["A"].target == 0.0
        assert wrow(r, "A")["in_pool"] is True
    assert recs[-1].performance["n_stopped"] == 1


def test_pause_just_above_stop_bar_is_a_pause():
    # -5.9 % is below -3 % but above -6 %: a pause, not a stop
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB").set(D(2024, 3, 4), "A", -0.059)
    states, _ = run(rule, m, days(LAUNCH, D(2024, 3, 4)), per_day=lambda d: {"valley": {"A": -0.03}})
    assert states[-1].strategies["A"].status == "paused"


def test_max_pauses_th_pause_stops():
    # max_pauses 2, pause_days 1, ramp_days 1: Mar 4 pause #1 (-4 %); Mar 5 back (watch from Mar 6);
    # Mar 6 -4 % again: pause #2 = max_pauses -> stopped instead.
    rule = rules({"A": 0.5, "B": 0.5}, max_pauses=2, pause_days=1, ramp_days=1)
    m = Market("AB").set(D(2024, 3, 4), "A", -0.04).set(D(2024, 3, 6), "A", -0.04)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 7)), per_day=lambda d: {"valley": {"A": -0.03}})
    assert [s.strategies["A"].status for s in states] == ["active", "paused", "active", "stopped", "stopped"]
    assert [s.strategies["A"].pause_count for s in states] == [0, 1, 1, 2, 2]
    assert states[2].strategies["A"].watch_from == D(2024, 3, 6)
    assert states[2].strategies["A"].target == pytest.approx(0.5)  # ramp over 1 day: full size at once
    assert states[3].strategies["A"].target == 0.0
    assert orow(recs[3], "A")["reason"] == "forced_exit"


def test_manual_stop_and_reinstate():
    manual = (ManualAction(D(2024, 3, 5), "stop", "A"), ManualAction(D(2024, 3, 7), "reinstate", "A"))
    rule = rules({"A": 0.5, "B": 0.5}, manual=manual)
    m = Market("AB")
    dl = days(LAUNCH, D(2024, 3, 8))
    states, recs = run(rule, m, dl)
    status = {d: s.strategies["A"].status for d, s in zip(dl, states)}
    assert status == {
        D(2024, 3, 1): "active",
        D(2024, 3, 4): "active",
        D(2024, 3, 5): "stopped",
        D(2024, 3, 6): "stopped",
        D(2024, 3, 7): "active",
        D(2024, 3, 8): "active",
    }
    assert "manual stop" in states[2].strategies["A"].reason
    assert orow(recs[2], "A")["reason"] == "forced_exit" and orow(recs[2], "A")["trade_weight"] == pytest.approx(-0.5)
    assert targets(recs[2]) == pytest.approx({"A": 0.0, "B": 1.0})
    assert targets(recs[3]) == pytest.approx({"A": 0.0, "B": 1.0})
    # reinstated and (being in the pool) selected again: back at its static weight, watched from Mar 8
    assert targets(recs[4]) == pytest.approx({"A": 0.5, "B": 0.5})
    assert states[4].strategies["A"].watch_from == D(2024, 3, 8)
    assert states[4].strategies["A"].pause_count == 0
    assert recs[4].optimization["rebalanced"] is True


def test_manual_action_validation():
    with pytest.raises(ValueError, match="expected one of"):
        ManualAction(D(2024, 3, 5), "liquidate")
    with pytest.raises(ValueError, match="needs a strategy_id"):
        ManualAction(D(2024, 3, 5), "stop")


# =========================================================================== 4. triggers


def _two_held_state(day, target_a=0.5, target_b=0.5, cash=None) -> SolutionState:
    return SolutionState(
        day=day,
        aum=100.0,
        aum_peak=100.0,
        risk_peak=100.0,
        last_rebalance=LAUNCH,
        exposure=1.0,
        cash=dict(cash or {"cash_pauses": 0.0, "cash_risk": 0.0, "cash_other": 0.0}),
        strategies={
            "A": StrategyState(
                status="active", tier="core", weight=target_a, target=target_a, watch_from=D(2024, 3, 4)
            ),
            "B": StrategyState(
                status="active", tier="core", weight=target_b, target=target_b, watch_from=D(2024, 3, 4)
            ),
        },
    )


def test_launch_rebalances_from_cash():
    rule = rules({"A": 3.0, "B": 1.0})
    _, recs = run(rule, Market("AB"), [LAUNCH])
    rec = recs[0]
    assert rec.performance["cold_start"] is True
    assert rec.optimization["rebalanced"] is True and "launch" in rec.optimization["triggers"].split(",")
    # static 3:1 scaled to sum 1: 0.75 / 0.25, bought from cash
    assert targets(rec) == pytest.approx({"A": 0.75, "B": 0.25}, abs=1e-15)
    assert {o["strategy_id"]: o["trade_weight"] for o in rec.orders} == pytest.approx({"A": 0.75, "B": 0.25})
    assert all(o["reason"] == "rebalance" and o["weight_held"] == 0.0 for o in rec.orders)


@pytest.mark.parametrize(
    "r, drifts",
    [
        # drift of A (and B) = 0.5(1+r)/(1+0.5r) - 0.5 = 0.25r/(1+0.5r); threshold 0.02 <-> r = 1/12
        (0.09, True),  # 0.0225 / 1.045 = 0.02153 > 0.02
        (0.08, False),  # 0.0200 / 1.040 = 0.01923 < 0.02
    ],
)
def test_drift_trigger_threshold(r, drifts):
    rule = rules({"A": 0.5, "B": 0.5}, drift_threshold=0.02)
    m = Market("AB").set(D(2024, 3, 12), "A", r)
    new, rec = step(rule, _two_held_state(D(2024, 3, 11)), m.inputs(D(2024, 3, 12)), LOOSE, ZERO_COSTS)
    held_a = 0.5 * (1 + r) / (1 + 0.5 * r)
    assert wrow(rec, "A")["weight_held"] == pytest.approx(held_a, abs=1e-15)
    assert rec.optimization["rebalanced"] is drifts
    if drifts:
        assert rec.optimization["triggers"] == "drift"
        assert {o["strategy_id"]: o["trade_weight"] for o in rec.orders} == pytest.approx(
            {"A": 0.5 - held_a, "B": 0.5 - (1 - held_a)}, abs=1e-15
        )
        assert new.strategies["A"].weight == pytest.approx(0.5) and new.last_rebalance == D(2024, 3, 12)
    else:
        assert rec.optimization["triggers"] == "" and rec.orders == []
        assert new.strategies["A"].weight == pytest.approx(held_a, abs=1e-15)
        assert new.strategies["A"].target == 0.5 and new.last_rebalance == LAUNCH


def test_monthly_trigger_on_first_business_day_of_month_only():
    rule = rules({"A": 0.5, "B": 0.5}, monthly=True)
    m = Market("AB").set(D(2024, 3, 29), "A", 0.01).set(D(2024, 4, 1), "A", 0.01)
    # Thu Mar 28 -> Fri Mar 29: same month, drift small: held
    _, rec = step(rule, _two_held_state(D(2024, 3, 28)), m.inputs(D(2024, 3, 29)), LOOSE, ZERO_COSTS)
    assert rec.optimization["rebalanced"] is False and rec.orders == []
    # Fri Mar 29 -> Mon Apr 1: a new month
    _, rec = step(rule, _two_held_state(D(2024, 3, 29)), m.inputs(D(2024, 4, 1)), LOOSE, ZERO_COSTS)
    assert rec.optimization["rebalanced"] is True and rec.optimization["triggers"] == "monthly"
    held_a = 0.5 * 1.01 / 1.005
    assert orow(rec, "A")["trade_weight"] == pytest.approx(0.5 - held_a, abs=1e-15)
    # monthly off: the same step holds
    _, rec = step(
        replace(rule, monthly=False), _two_held_state(D(2024, 3, 29)), m.inputs(D(2024, 4, 1)), LOOSE, ZERO_COSTS
    )
    assert rec.optimization["rebalanced"] is False


def test_manual_rebalance_trigger():
    rule = rules({"A": 0.5, "B": 0.5}, manual=(ManualAction(D(2024, 3, 12), "rebalance"),))
    m = Market("AB").set(D(2024, 3, 12), "A", 0.04).set(D(2024, 3, 13), "A", 0.04)
    new, rec = step(rule, _two_held_state(D(2024, 3, 11)), m.inputs(D(2024, 3, 12)), LOOSE, ZERO_COSTS)
    assert rec.optimization["triggers"] == "manual"
    held_a = 0.5 * 1.04 / 1.02
    assert orow(rec, "A")["trade_weight"] == pytest.approx(0.5 - held_a, abs=1e-15)
    assert orow(rec, "A")["reason"] == "rebalance"
    # the next day, same drift, no manual action: held
    _, rec = step(rule, new, m.inputs(D(2024, 3, 13)), LOOSE, ZERO_COSTS)
    assert rec.optimization["rebalanced"] is False and rec.orders == []


def test_no_trigger_holds_targets_even_when_policy_would_change():
    # the static weights changed in config, but without a trigger the targets are held
    rule = rules({"A": 0.9, "B": 0.1})
    new, rec = step(rule, _two_held_state(D(2024, 3, 11)), Market("AB").inputs(D(2024, 3, 12)), LOOSE, ZERO_COSTS)
    assert targets(rec) == {"A": 0.5, "B": 0.5}
    assert rec.orders == [] and rec.optimization["status"] == "held"
    assert rec.optimization["expected_return"] is None


def test_market_regime_scales_exposure_only_when_used():
    m = Market("AB")
    for used, exposure in ((True, 0.5), (False, 1.0)):
        rule = rules({"A": 0.5, "B": 0.5}, use_market_regime=used)
        _, recs = run(rule, m, [LAUNCH], per_day=lambda d: {"risk_scale": 0.5})
        assert recs[0].optimization["target_exposure"] == pytest.approx(exposure)
        assert targets(recs[0]) == pytest.approx({"A": exposure / 2, "B": exposure / 2})
        check_identities(recs[0])


def test_insufficient_history_leaves_cash():
    # history from Feb 19: 9 rows before launch + the launch day = 10 < 21 complete rows
    m = Market("AB", start=D(2024, 2, 19))
    _, recs = run(rules({"A": 0.5, "B": 0.5}), m, [LAUNCH])
    o = recs[0].optimization
    assert o["status"] == "insufficient_history" and o["rebalanced"] is True
    assert targets(recs[0]) == {"A": 0.0, "B": 0.0} and recs[0].orders == []
    assert o["cash_other"] == pytest.approx(1.0)
    check_identities(recs[0])


def test_allocation_retried_once_history_suffices():
    # history from Feb 19: launch (Mar 1) has 10 complete rows; Mar 18 is the 21st -> allocate
    m = Market("AB", start=D(2024, 2, 19))
    dl = days(LAUNCH, D(2024, 3, 19))
    assert len(m.dates[: m.dates.index(D(2024, 3, 18)) + 1]) == 21
    _, recs = run(rules({"A": 0.5, "B": 0.5}), m, dl)
    assert recs[0].optimization["status"] == "insufficient_history"
    assert targets(recs[-1]) == pytest.approx({"A": 0.5, "B": 0.5})


def test_turnover_limit_relaxed_when_no_book_within_it(monkeypatch):
    # a stand-in policy that finds no book within any turnover limit: the step retries without
    # the limit, says so, and uses that allocation
    import twin_model.solution._targets as solutions
    from twin_model.optimize import InfeasibleRequestError
    from twin_model.portfolio import allocate as real_allocate

    seen = []

    def fake(inputs, kind, **params):
        seen.append(inputs.turnover_limit)
        if inputs.turnover_limit is not None:
            raise InfeasibleRequestError("turnover 0.5 above 0.01")
        return real_allocate(inputs, kind, **params)

    monkeypatch.setattr(solutions, "allocate", fake)
    rule = rules({"A": 0.5, "B": 0.5}, turnover_limit=0.01)
    _, recs = run(rule, Market("AB"), [LAUNCH])
    o = recs[0].optimization
    assert seen == [0.01, None]
    assert o["status"] == "turnover_relaxed" and "0.01 relaxed" in o["message"] and "turnover 0.5" in o["message"]
    assert targets(recs[0]) == pytest.approx({"A": 0.5, "B": 0.5})


@pytest.mark.parametrize("turnover_limit", [None, 0.01])
def test_infeasible_allocation_goes_to_cash(monkeypatch, turnover_limit):
    import twin_model.solution._targets as solutions
    from twin_model.optimize import InfeasibleRequestError

    def fake(inputs, kind, **params):
        raise InfeasibleRequestError("bounds cannot hold")

    monkeypatch.setattr(solutions, "allocate", fake)
    rule = rules({"A": 0.5, "B": 0.5}, turnover_limit=turnover_limit)
    _, recs = run(rule, Market("AB"), [LAUNCH])
    o = recs[0].optimization
    assert o["status"] == "infeasible" and "bounds cannot hold" in o["message"]
    assert targets(recs[0]) == {"A": 0.0, "B": 0.0} and recs[0].orders == []
    assert o["cash_other"] == pytest.approx(1.0)
    check_identities(recs[0])


# =========================================================================== 5. pool exit


@pytest.mark.parametrize("policy", ["static", "inverse_volatility"])
def test_pool_exit_is_a_forced_exit_despite_turnover_limit(policy):
    rule = rules(
        {"A": 0.5, "B": 0.5},
        turnover_limit=0.01,
        max_weight=0.6,
        policy_kind=policy,
        policy_params={"static_weights": {"A": 0.5, "B": 0.5}} if policy == "static" else {},
    )
    m = Market("AB")
    dl = days(LAUNCH, D(2024, 3, 6))
    states, recs = run(rule, m, dl, per_day=lambda d: {"in_pool": {"A": d < D(2024, 3, 5), "B": True}})
    st, rec = states[2], recs[2]
    held_a = wrow(rec, "A")["weight_held"]
    assert held_a > 0.3
    assert st.strategies["A"].status == "out_of_pool" and st.strategies["A"].target == 0.0
    assert st.strategies["A"].weight == 0.0
    o = orow(rec, "A")
    assert o["reason"] == "forced_exit" and o["trade_weight"] == pytest.approx(-held_a)
    # B alone, capped at max_weight 0.6: 0.4 left in cash_other (capacity of the bounds)
    assert targets(rec)["B"] == pytest.approx(0.6)
    assert rec.optimization["cash_other"] == pytest.approx(0.4)
    check_identities(rec)
    assert states[3].strategies["A"].status == "out_of_pool" and states[3].strategies["A"].weight == 0.0


# =========================================================================== 6. drawdown stop


def test_drawdown_stop_liquidates_cools_down_and_recovers():
    # 0.5/0.5; Mar 5: A -25 %, B -5 % -> R = -15 %, AUM 85, 85/100 - 1 = -15 % < -10 %
    rule = rules({"A": 0.5, "B": 0.5}, cooldown_days=3)
    risk = loose_risk_limits(portfolio={"drawdown_stop": -0.10})
    m = Market("AB").set(D(2024, 3, 5), "A", -0.25).set(D(2024, 3, 5), "B", -0.05)
    m.set(D(2024, 3, 7), "A", 0.10)  # in cash: the book does not see it
    dl = days(LAUNCH, D(2024, 3, 12))
    states, recs = run(rule, m, dl, risk=risk)
    by = dict(zip(dl, zip(states, recs)))

    st, rec = by[D(2024, 3, 5)]
    assert rec.performance["aum"] == pytest.approx(85.0, abs=1e-12)
    (v,) = rec.violations
    assert (v["rule"], v["severity"], v["action"], v["status"]) == ("drawdown_stop", "critical", "liquidate", "open")
    assert v["value"] == pytest.approx(-0.15, abs=1e-15) and v["limit_value"] == -0.10
    assert v["opened_date"] == D(2024, 3, 5)
    assert targets(rec) == {"A": 0.0, "B": 0.0}
    assert {o["strategy_id"]: o["reason"] for o in rec.orders} == {"A": "liquidation", "B": "liquidation"}
    # held: A 0.5*0.75/0.85, B 0.5*0.95/0.85, all sold
    assert orow(rec, "A")["trade_weight"] == pytest.approx(-0.375 / 0.85, abs=1e-15)
    assert orow(rec, "B")["trade_weight"] == pytest.approx(-0.475 / 0.85, abs=1e-15)
    assert rec.optimization["status"] == "cooldown" and rec.optimization["cash_risk"] == pytest.approx(1.0)
    assert st.risk_peak == pytest.approx(85.0) and st.aum_peak == 100.0 and st.cooldown_days_left == 3
    assert rec.performance["risk_peak"] == pytest.approx(85.0) and rec.performance["cash_weight"] == pytest.approx(1.0)
    check_identities(rec)

    # cooldown: Mar 6, 7 in cash (2, 1 days left); the breach is gone (drawdown from 85 is 0)
    st, rec = by[D(2024, 3, 6)]
    assert st.cooldown_days_left == 2 and rec.orders == [] and targets(rec) == {"A": 0.0, "B": 0.0}
    (v,) = rec.violations
    assert (v["status"], v["resolved_date"], v["opened_date"]) == ("resolved", D(2024, 3, 6), D(2024, 3, 5))
    st, rec = by[D(2024, 3, 7)]
    assert st.cooldown_days_left == 1 and rec.orders == [] and rec.performance["aum"] == pytest.approx(85.0)
    assert rec.violations == []
    # Mar 8: the cooldown ends, a recovery rebalance back to 0.5 / 0.5
    st, rec = by[D(2024, 3, 8)]
    assert st.cooldown_days_left == 0
    assert "recovery" in rec.optimization["triggers"].split(",") and rec.optimization["rebalanced"] is True
    assert targets(rec) == pytest.approx({"A": 0.5, "B": 0.5})
    assert all(o["reason"] == "rebalance" for o in rec.orders)
    # and then a plain held day
    assert by[D(2024, 3, 11)][1].optimization["rebalanced"] is False


# =========================================================================== 7. violations


def test_low_alert_violation_stays_open_with_its_opened_date():
    # exposure 0.8, A 0.42 / B 0.38; strategy max_weight 0.4: excess 0.02/0.4 = 5 % -> low, alert
    rule = rules({"A": 0.42, "B": 0.38}, target_exposure=0.8)
    risk = loose_risk_limits(strategy={"max_weight": 0.4})
    dl = days(LAUNCH, D(2024, 3, 6))
    states, recs = run(rule, Market("AB"), dl, risk=risk)
    assert recs[0].violations == []  # the launch day holds nothing yet
    for rec in recs[1:]:
        (v,) = rec.violations
        assert (v["rule"], v["subject"], v["severity"], v["action"], v["status"]) == (
            "strategy_weight",
            "A",
            "low",
            "alert",
            "open",
        )
        assert v["opened_date"] == D(2024, 3, 4) and v["resolved_date"] is None
        assert v["value"] == pytest.approx(0.42) and v["limit_value"] == 0.4
        assert rec.optimization["rebalanced"] is False  # an alert is no trigger
        assert targets(rec) == pytest.approx({"A": 0.42, "B": 0.38})
    assert states[-1].violations[("strategy", "strategy_weight", "A")].opened == D(2024, 3, 4)


def test_medium_weight_violation_caps_target_then_resolves():
    # A 0.5: excess 0.1/0.4 = 25 % -> medium, reduce_proportionally: target capped at 0.4
    rule = rules({"A": 0.5, "B": 0.3}, target_exposure=0.8)
    risk = loose_risk_limits(strategy={"max_weight": 0.4})
    states, recs = run(rule, Market("AB"), days(LAUNCH, D(2024, 3, 6)), risk=risk)
    rec = recs[1]
    (v,) = rec.violations
    assert (v["severity"], v["action"], v["status"]) == ("medium", "reduce_proportionally", "open")
    assert rec.optimization["triggers"] == "risk"
    assert targets(rec) == pytest.approx({"A": 0.4, "B": 0.3})
    assert rec.optimization["cash_risk"] == pytest.approx(0.1)
    assert wrow(rec, "A")["target_scale"] == pytest.approx(0.8)  # 0.4 of the 0.5 allocated
    assert orow(rec, "A")["trade_weight"] == pytest.approx(-0.1)
    check_identities(rec)
    (v,) = recs[2].violations  # held 0.4 is not above 0.4: resolved on Mar 5
    assert (v["status"], v["opened_date"], v["resolved_date"]) == ("resolved", D(2024, 3, 4), D(2024, 3, 5))
    assert recs[3].violations == [] and states[3].violations == {}
    assert targets(recs[3]) == pytest.approx({"A": 0.4, "B": 0.3})  # the reduced target is held
    check_identities(recs[3])


def test_high_weight_violation_pauses_and_blocks_new_risk():
    # exposure 0.8, A 0.7 / B 0.1. Mar 4: B -10 % -> R = -1 %;
    # held A = 0.7/0.99 = 0.70707 (excess 0.307/0.4 = 77 % -> high, pause_strategy),
    # held B = 0.1*0.9/0.99 = 0.090909. The rebalance wants B at 0.1 but no target may
    # exceed its held weight while the high violation is open: B capped at 0.090909.
    rule = rules({"A": 0.7, "B": 0.1}, target_exposure=0.8, pause_days=2)
    risk = loose_risk_limits(strategy={"max_weight": 0.4})
    m = Market("AB").set(D(2024, 3, 4), "B", -0.10)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 6)), risk=risk)
    rec, st = recs[1], states[1]
    (v,) = rec.violations
    assert (v["subject"], v["severity"], v["action"]) == ("A", "high", "pause_strategy")
    assert v["value"] == pytest.approx(0.7 / 0.99, abs=1e-15)
    assert st.strategies["A"].status == "paused" and st.strategies["A"].target == 0.0
    assert orow(rec, "A")["reason"] == "forced_exit"
    held_b = 0.1 * 0.9 / 0.99
    assert targets(rec)["B"] == pytest.approx(held_b, abs=1e-15)
    for r in rec.weights:
        assert r["weight_target"] <= r["weight_held"] + 1e-15
    # A's slot (0.7) is cash_pauses, B's shortfall 0.1 - held_b is cash_risk
    assert rec.optimization["cash_pauses"] == pytest.approx(0.7)
    assert rec.optimization["cash_risk"] == pytest.approx(0.1 - held_b, abs=1e-15)
    check_identities(rec)
    # Mar 5: A holds nothing, the breach is resolved
    (v,) = recs[2].violations
    assert (v["status"], v["resolved_date"], v["opened_date"]) == ("resolved", D(2024, 3, 5), D(2024, 3, 4))


@pytest.mark.parametrize(
    "weight_a, severity, action",
    [
        (0.42, "low", "alert"),  # (0.42 - 0.4) / 0.4 = 0.05
        (0.45, "medium", "reduce_proportionally"),  # 0.125
        (0.59, "medium", "reduce_proportionally"),  # 0.475
        (0.61, "high", "pause_strategy"),  # 0.525
    ],
)
def test_strategy_weight_severity_table(weight_a, severity, action):
    rule = rules({"A": weight_a, "B": 0.8 - weight_a}, target_exposure=0.8)
    _, recs = run(rule, Market("AB"), days(LAUNCH, D(2024, 3, 4)), risk=loose_risk_limits(strategy={"max_weight": 0.4}))
    (v,) = [v for v in recs[1].violations if v["subject"] == "A"]
    assert (v["severity"], v["action"]) == (severity, action)


def test_strategy_volatility_violation_by_numpy():
    # A: +4 % on Mar 1, -4 % on Mar 4 after 43 days of small noise. On Mar 4 its volatility
    # (numpy std of the last <= 63 observed returns, ddof=1, x sqrt(252)) is about 0.15;
    # against max_volatility 0.12 the excess (vol - 0.12) / 0.12 is in [10 %, 50 %): medium,
    # reduce_proportionally -> A's target scaled by 0.12 / vol.
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB").set(D(2024, 3, 1), "A", 0.04).set(D(2024, 3, 4), "A", -0.04)
    _, recs = run(rule, m, days(LAUNCH, D(2024, 3, 4)), risk=loose_risk_limits(strategy={"max_volatility": 0.12}))
    r = m.R[: m.dates.index(D(2024, 3, 4)) + 1, 0][-63:]
    vol = float(np.std(r, ddof=1) * np.sqrt(252))
    assert 0.1 <= (vol - 0.12) / 0.12 < 0.5  # the scenario is what the comment says
    rec = recs[1]
    (v,) = [v for v in rec.violations if v["rule"] == "strategy_volatility"]
    assert (v["subject"], v["severity"], v["action"]) == ("A", "medium", "reduce_proportionally")
    assert v["value"] == pytest.approx(vol, rel=1e-12)
    assert rec.optimization["triggers"] == "risk"
    # static 0.5 / 0.5, then A x 0.12 / vol; what is removed is cash_risk
    assert targets(rec)["A"] == pytest.approx(0.5 * 0.12 / vol, rel=1e-12)
    assert targets(rec)["B"] == pytest.approx(0.5)
    assert rec.optimization["cash_risk"] == pytest.approx(0.5 - 0.5 * 0.12 / vol, rel=1e-12)
    check_identities(rec)


# =========================================================================== 8. costs


def test_order_costs_by_hand_and_paid_next_day():
    costs = CostModel(
        commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.1, capacity=1000.0, slippage_sd_bps=0.0
    )
    rule = rules({"A": 0.6, "B": 0.4})
    m = Market("AB").set(D(2024, 3, 4), "A", 0.01)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 4)), costs=costs)
    rec = recs[0]

    def cost(v):  # |v| ((1 + 2) / 1e4 + 0.1 sqrt(|v| / 1000))
        return abs(v) * (3e-4 + 0.1 * math.sqrt(abs(v) / 1000))

    # A: 0.6 * 100 = 60 -> 60 (3e-4 + 0.1 sqrt(0.06)) = 0.018 + 1.4696938 = 1.4876938
    assert cost(60.0) == pytest.approx(0.018 + 6 * math.sqrt(0.06), abs=1e-15)
    for s, w in (("A", 0.6), ("B", 0.4)):
        o = orow(rec, s)
        assert o["trade_value"] == pytest.approx(w * 100.0, abs=1e-12)
        assert o["estimated_cost"] == pytest.approx(cost(w * 100.0), rel=1e-13)
        assert o["simulated_cost"] == pytest.approx(o["estimated_cost"], rel=1e-13)  # no slippage
        assert o["slippage"] == pytest.approx(0.0, abs=1e-15)
    pending = cost(60.0) + cost(40.0)
    assert states[0].pending_costs == pytest.approx(pending, rel=1e-13)
    assert recs[0].performance["pending_costs"] == pytest.approx(pending, rel=1e-13)
    # Mar 4: AUM = 100 (1 + 0.6 * 1 %) - pending
    p = recs[1].performance
    assert p["costs"] == pytest.approx(pending, rel=1e-13)
    assert p["aum"] == pytest.approx(100 * 1.006 - pending, rel=1e-13)
    check_identities(recs[1])


def test_sell_orders_have_negative_value_and_positive_cost():
    costs = CostModel(
        commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.1, capacity=1000.0, slippage_sd_bps=0.0
    )
    rule = rules({"A": 0.5, "B": 0.5}, manual=(ManualAction(D(2024, 3, 5), "stop", "A"),))
    states, recs = run(rule, Market("AB"), days(LAUNCH, D(2024, 3, 5)), costs=costs)
    aum = recs[2].performance["aum"]
    held = wrow(recs[2], "A")["weight_held"]
    o = orow(recs[2], "A")
    v = -held * aum
    assert o["trade_value"] == pytest.approx(v, rel=1e-13) and o["trade_value"] < 0
    assert o["estimated_cost"] == pytest.approx(abs(v) * (3e-4 + 0.1 * math.sqrt(abs(v) / 1000)), rel=1e-13)
    assert states[2].pending_costs == pytest.approx(sum(x["simulated_cost"] for x in recs[2].orders), rel=1e-15)


def test_simulated_costs_with_slippage_are_paid_next_day():
    costs = CostModel(
        commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.01, capacity=1e4, slippage_sd_bps=5.0
    )
    rule = rules({"A": 0.6, "B": 0.4}, drift_threshold=0.01)
    m = Market("AB").set(D(2024, 3, 4), "A", 0.05).set(D(2024, 3, 5), "B", 0.02)
    states, recs = run(rule, m, days(LAUNCH, D(2024, 3, 6)), costs=costs)
    for prev, rec in zip(recs, recs[1:]):
        simulated = sum(o["simulated_cost"] for o in prev.orders)
        assert prev.performance["pending_costs"] == pytest.approx(simulated, rel=1e-15)
        assert rec.performance["costs"] == pytest.approx(simulated, rel=1e-15)
        check_identities(rec)
        for o in rec.orders:
            assert o["slippage"] == pytest.approx(o["simulated_cost"] - o["estimated_cost"], abs=1e-15)
    assert recs[1].optimization["triggers"] == "drift" and recs[1].orders  # there were costs to pay on Mar 5
    assert recs[2].performance["costs"] > 0


# =========================================================================== 10. incubation


def test_incubation_tier_scale_and_hysteresis():
    # C is outside the pool; evidence >= 3 enters incubation at half size, it stays while >= 2.
    # D never enters: 2.5 is inside the band but D is not on the list.
    rule = rules(
        {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.25},
        incubation_evidence=3.0,
        incubation_exit_evidence=2.0,
        incubation_scale=0.5,
    )
    m = Market("ABCD")
    ev = {D(2024, 3, 1): 1.0, D(2024, 3, 4): 3.5, D(2024, 3, 5): 2.5, D(2024, 3, 6): 2.0, D(2024, 3, 7): 1.9}
    dl = list(ev)

    def per_day(d):
        return {"in_pool": {"A": True, "B": True, "C": False, "D": False}, "evidence": {"C": ev[d], "D": 2.5}}

    states, recs = run(rule, m, dl, per_day=per_day)
    tiers = [s.strategies["C"].tier for s in states]
    assert tiers == ["none", "incubation", "incubation", "incubation", "none"]
    assert [s.strategies["C"].status for s in states] == ["out_of_pool", "active", "active", "active", "out_of_pool"]
    assert all(s.strategies["D"].tier == "none" and s.strategies["D"].target == 0.0 for s in states)
    # launch: A, B only (static 0.5 : 0.25 -> 2/3, 1/3)
    assert targets(recs[0])["A"] == pytest.approx(2 / 3) and targets(recs[0])["C"] == 0.0
    # Mar 4: C selected -> rebalance over {A, B, C}: 0.5, 0.25, 0.25; C at half size 0.125
    rec = recs[1]
    assert targets(rec) == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.125, "D": 0.0})
    assert wrow(rec, "C")["target_scale"] == pytest.approx(0.5) and wrow(rec, "C")["tier"] == "incubation"
    assert rec.optimization["cash_other"] == pytest.approx(0.125)
    check_identities(rec)
    # kept at evidence 2.5 and 2.0 (exit bar, inclusive)
    assert targets(recs[2])["C"] == pytest.approx(0.125) and targets(recs[3])["C"] == pytest.approx(0.125)
    # dropped at 1.9: out of the list, forced exit, back to A/B 2/3, 1/3
    rec = recs[4]
    assert targets(rec) == pytest.approx({"A": 2 / 3, "B": 1 / 3, "C": 0.0, "D": 0.0})
    assert orow(rec, "C")["trade_weight"] == pytest.approx(-0.125) and orow(rec, "C")["reason"] == "forced_exit"
    check_identities(rec)


def test_incubation_without_exit_band_uses_entry_bar():
    rule = rules({"A": 0.5, "C": 0.5}, incubation_evidence=3.0, incubation_scale=0.5)
    ev = {D(2024, 3, 1): 3.0, D(2024, 3, 4): 2.9}
    per_day = lambda d: {"in_pool": {"A": True, "C": False}, "evidence": {"C": ev[d]}}  # noqa: E731
    states, _ = run(rule, Market("AC"), list(ev), per_day=per_day)
    assert [s.strategies["C"].tier for s in states] == ["incubation", "none"]
    assert states[0].strategies["C"].target == pytest.approx(0.25)


def test_target_scale_of_held_incubation_target():
    rule = rules({"A": 0.5, "C": 0.5}, incubation_evidence=3.0, incubation_scale=0.5)
    per_day = lambda d: {"in_pool": {"A": True, "C": False}, "evidence": {"C": 3.5}}  # noqa: E731
    _, recs = run(rule, Market("AC"), days(LAUNCH, D(2024, 3, 4)), per_day=per_day)
    assert wrow(recs[0], "C")["target_scale"] == pytest.approx(0.5)
    assert recs[1].optimization["rebalanced"] is False
    assert wrow(recs[1], "C")["weight_target"] == pytest.approx(0.25)
    assert wrow(recs[1], "C")["target_scale"] == pytest.approx(0.5)


# =========================================================================== 9. identities, 11. round trip


def _eventful(day_list, costs=None):
    """Three strategies: A paused on Mar 5 (-2 %, -2 % below its -3 % valley) and ramping back
    from Mar 7; C out of the pool on Mar 7-8; B's weight above the 0.41 strategy limit all
    along (a low alert, medium on Mar 8 when B takes C's share); real costs."""
    costs = costs or CostModel(
        commission_bps=1.0, half_spread_bps=2.0, impact_coefficient=0.01, capacity=1e4, slippage_sd_bps=3.0
    )
    rule = rules(
        {"A": 0.3, "B": 0.42, "C": 0.28}, pause_days=2, ramp_days=3, drift_threshold=0.03, monthly=True, max_weight=0.5
    )
    risk = loose_risk_limits(strategy={"max_weight": 0.41})
    m = Market("ABC")
    for d, s, r in [
        (D(2024, 3, 4), "A", -0.02),
        (D(2024, 3, 5), "A", -0.02),
        (D(2024, 3, 5), "B", 0.004),
        (D(2024, 3, 6), "B", -0.003),
        (D(2024, 3, 7), "C", 0.06),
        (D(2024, 3, 8), "B", 0.01),
        (D(2024, 3, 12), "A", 0.01),
        (D(2024, 3, 13), "C", -0.01),
        (D(2024, 3, 14), "B", 0.002),
    ]:
        m.set(d, s, r)

    def per_day(d):
        return {
            "valley": {"A": -0.03, "B": -0.5, "C": -0.5},
            "in_pool": {"A": True, "B": True, "C": d not in (D(2024, 3, 7), D(2024, 3, 8))},
        }

    return rule, risk, costs, m, per_day


def test_identities_every_day_of_an_eventful_run():
    dl = days(LAUNCH, D(2024, 3, 15))
    rule, risk, costs, m, per_day = _eventful(dl)
    states, recs = run(rule, m, dl, risk=risk, costs=costs, per_day=per_day)
    # the scenario does what it says
    statuses = [s.strategies["A"].status for s in states]
    assert "paused" in statuses and statuses[-1] == "active"
    assert [s.strategies["C"].status for s in states][4:6] == ["out_of_pool", "out_of_pool"]
    for prev, rec, st in zip([None, *recs], recs, states):
        check_identities(rec, tol=1e-12)
        assert sum(st.strategies[s].target for s in st.strategies) == pytest.approx(
            st.exposure - sum(st.cash.values()), abs=1e-12
        )
        if prev is not None:
            assert rec.performance["costs"] == pytest.approx(sum(o["simulated_cost"] for o in prev.orders), rel=1e-15)
        for o in rec.orders:
            assert o["trade_value"] == pytest.approx(o["trade_weight"] * rec.performance["aum"], rel=1e-13)
            assert o["trade_weight"] == pytest.approx(o["weight_target"] - o["weight_held"], abs=1e-15)
        for r in rec.weights:  # closing weight: the target when traded, else the held weight
            traded = orow(rec, r["strategy_id"]) is not None
            assert r["weight_close"] == pytest.approx(r["weight_target"] if traded else r["weight_held"], abs=1e-15)


def _assert_states_equal(a: SolutionState, b: SolutionState):
    for f in fields(SolutionState):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "strategies":
            assert set(x) == set(y)
            for s in x:
                assert x[s] == y[s], (s, x[s], y[s])
        elif f.name == "violations":
            assert set(x) == set(y)
            for k in x:
                assert x[k] == y[k], k
        elif f.name == "cash":
            assert dict(x) == dict(y)
        else:
            assert x == y, (f.name, x, y)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _drawdown_scenario():
    rule = rules({"A": 0.5, "B": 0.5}, cooldown_days=3)
    risk = loose_risk_limits(portfolio={"drawdown_stop": -0.10})
    costs = CostModel(slippage_sd_bps=2.0, capacity=1e4, impact_coefficient=0.01)
    m = Market("AB").set(D(2024, 3, 5), "A", -0.25).set(D(2024, 3, 5), "B", -0.05).set(D(2024, 3, 12), "A", 0.02)
    return rule, risk, costs, m, None


@pytest.mark.parametrize(
    "scenario, cut_day, end",
    [
        # A ramping (day 2 of 3), C out of the pool, a medium violation open, costs pending
        ("eventful", D(2024, 3, 8), D(2024, 3, 15)),
        # the liquidation day: critical violation open, risk peak reset, 3 days of cooldown
        ("drawdown", D(2024, 3, 5), D(2024, 3, 12)),
        # the last cooldown day: the recovery rebalance is due on the next step
        ("drawdown", D(2024, 3, 7), D(2024, 3, 12)),
    ],
)
def test_round_trip_through_tables_and_identical_continuation(scenario, cut_day, end):
    dl = days(LAUNCH, end)
    rule, risk, costs, m, per_day = _eventful(dl) if scenario == "eventful" else _drawdown_scenario()
    cut = dl.index(cut_day)
    states, recs = run(rule, m, dl[: cut + 1], risk=risk, costs=costs, per_day=per_day)
    mem = states[-1]
    if scenario == "eventful":  # the cut state carries something in every part of the state
        assert mem.strategies["A"].ramp_day == 2 and mem.pending_costs > 0 and mem.violations
        assert mem.strategies["C"].status == "out_of_pool" and mem.strategies["A"].pause_count == 1
    else:
        assert mem.cooldown_days_left == {D(2024, 3, 5): 3, D(2024, 3, 7): 1}[cut_day]
        assert mem.risk_peak < mem.aum_peak

    frames = records_to_frames(recs)
    assert set(frames) == set(PORTFOLIO_TABLES.values())
    for name, frame in frames.items():
        validate(frame, TABLES[name])
        assert list(frame.columns) == list(TABLES[name].columns())
    assert frames["portfolio.solution_performance"].height == len(recs)
    assert frames["portfolio.rebalance_orders"].height == sum(len(r.orders) for r in recs)
    assert frames["portfolio.solution_weights"].height == sum(len(r.weights) for r in recs)

    last = {name: f.filter(f["date"] == dl[cut]) for name, f in frames.items()}
    rebuilt = state_from_tables(
        rule,
        last["portfolio.solution_weights"],
        last["portfolio.solution_optimizations"],
        last["portfolio.solution_performance"],
        last["portfolio.risk_violations"],
    )
    _assert_states_equal(rebuilt, mem)

    # stepping on from either state gives identical records and states
    s1, r1 = run(rule, m, dl[cut + 1 :], risk=risk, costs=costs, per_day=per_day, state=mem)
    s2, r2 = run(rule, m, dl[cut + 1 :], risk=risk, costs=costs, per_day=per_day, state=rebuilt)
    for a, b in zip(s1, s2):
        _assert_states_equal(a, b)
    for a, b in zip(r1, r2):
        for attr in PORTFOLIO_TABLES:
            x, y = getattr(a, attr), getattr(b, attr)
            xs, ys = (x, y) if isinstance(x, list) else ([x], [y])
            assert len(xs) == len(ys)
            for u, v in zip(xs, ys):
                assert u.keys() == v.keys()
                assert all(_same(u[k], v[k]) for k in u), (attr, u, v)
    if cut_day == D(2024, 3, 7):
        assert "recovery" in r1[0].optimization["triggers"] and "recovery" in r2[0].optimization["triggers"]
    # and the whole run validates too
    for name, frame in records_to_frames(recs + r1).items():
        validate(frame, TABLES[name])


def test_state_from_tables_picks_its_solution():
    # two solutions' rows in the same frames: each rebuilds its own state
    dl = days(LAUNCH, D(2024, 3, 5))
    r1 = rules({"A": 0.5, "B": 0.5})
    r2 = replace(rules({"A": 0.2, "B": 0.8}), solution_id="other", initial_aum=50.0)
    m = Market("AB").set(D(2024, 3, 5), "A", 0.01)
    s1, rec1 = run(r1, m, dl)
    s2, rec2 = run(r2, m, dl)
    frames = records_to_frames(rec1[-1:] + rec2[-1:])
    for rule, state in ((r1, s1[-1]), (r2, s2[-1])):
        rebuilt = state_from_tables(
            rule,
            frames["portfolio.solution_weights"],
            frames["portfolio.solution_optimizations"],
            frames["portfolio.solution_performance"],
            frames["portfolio.risk_violations"],
        )
        _assert_states_equal(rebuilt, state)
    # two days of one solution are not one day's rows
    frames = records_to_frames(rec1)
    with pytest.raises(ValueError, match="performance rows for one day"):
        state_from_tables(
            r1,
            frames["portfolio.solution_weights"],
            frames["portfolio.solution_optimizations"],
            frames["portfolio.solution_performance"],
            frames["portfolio.risk_violations"],
        )


def test_state_from_tables_refuses_tables_that_disagree():
    # a write interrupted between tables: the optimisation row's counts expose it
    dl = days(LAUNCH, D(2024, 3, 5))
    rule = rules({"A": 0.5, "B": 0.5})
    _, records = run(rule, Market("AB"), dl)
    frames = records_to_frames(records[-1:])
    w, o = frames["portfolio.solution_weights"], frames["portfolio.solution_optimizations"]
    p, v = frames["portfolio.solution_performance"], frames["portfolio.risk_violations"]
    assert o["weight_rows"].item() == w.height == 2
    for broken in (
        (w.head(1), o, p, v),
        (w, o.head(0), p, v),
        (w, o.with_columns(open_violations=pl.lit(1, pl.Int64)), p, v),
    ):
        with pytest.raises(StateMismatchError, match="tables disagree on 2024-03-05.*materialise 2024-03-05 again"):
            state_from_tables(rule, *broken)


def test_state_from_tables_without_rows_is_launch_state():
    rule = rules({"A": 1.0})
    empty = {name: TABLES[name].empty_frame() for name in PORTFOLIO_TABLES.values()}
    state = state_from_tables(
        rule,
        empty["portfolio.solution_weights"],
        empty["portfolio.solution_optimizations"],
        empty["portfolio.solution_performance"],
        empty["portfolio.risk_violations"],
    )
    assert state == SolutionState.launch(rule)
    assert (state.day, state.aum, state.aum_peak, state.risk_peak) == (None, 100.0, 100.0, 100.0)


def test_records_to_frames_empty_tables_keep_schema():
    rule = rules({"A": 0.5, "B": 0.5})
    _, recs = run(rule, Market("AB"), days(D(2024, 3, 4), D(2024, 3, 4)), state=_two_held_state(LAUNCH))
    frames = records_to_frames(recs)
    assert frames["portfolio.rebalance_orders"].height == 0
    assert frames["portfolio.risk_violations"].height == 0
    for name, frame in frames.items():
        validate(frame, TABLES[name])


def test_rules_from_config_nested_layout():
    config = {
        "solution_id": "x",
        "launch_date": LAUNCH,
        "initial_aum": 1e6,
        "target_exposure": 0.9,
        "policy": {"kind": "optimizer", "objective": "MAX_SHARPE", "method": None},
        "filters": {"sectors": ["macro"], "asset_classes": None},
        "constraints": {
            "min_weight": 0.01,
            "max_weight": 0.4,
            "sector_limits": {"macro": 0.6},
            "turnover_limit": None,
            "leverage_limit": 1.2,
        },
        "rebalance": {"drift_threshold": 0.07, "monthly": False},
        "pause": {"period_days": 7, "ramp_days": 2, "cooldown_days": 4},
        "stop": {"valley_multiple": 2.5, "max_pauses": 5},
        "incubation": {"min_evidence": 0.85, "exit_evidence": 0.8, "scale": 0.25},
        "use_market_regime": True,
        "manual": [{"date": D(2024, 3, 5), "action": "stop", "strategy_id": "A"}],
    }
    r = SolutionRules.from_config(config)
    assert (r.solution_id, r.launch_date, r.initial_aum, r.target_exposure) == ("x", LAUNCH, 1e6, 0.9)
    assert r.policy_kind == "optimizer" and dict(r.policy_params) == {"objective": "MAX_SHARPE"}
    assert (r.sectors, r.asset_classes) == (("macro",), None)
    assert (r.min_weight, r.max_weight, r.turnover_limit, r.leverage_limit) == (0.01, 0.4, None, 1.2)
    assert dict(r.sector_limits) == {"macro": 0.6}
    assert (r.drift_threshold, r.monthly) == (0.07, False)
    assert (r.pause_days, r.ramp_days, r.cooldown_days) == (7, 2, 4)
    assert (r.stop_valley_multiple, r.max_pauses) == (2.5, 5)
    assert (r.incubation_evidence, r.incubation_exit_evidence, r.incubation_scale) == (0.85, 0.8, 0.25)
    assert r.use_market_regime is True
    assert r.manual == (ManualAction(D(2024, 3, 5), "stop", "A"),)
    assert r.manual_on(D(2024, 3, 5)) == [ManualAction(D(2024, 3, 5), "stop", "A")] and r.manual_on(LAUNCH) == []
    # missing sections: the dataclass defaults
    d = SolutionRules.from_config(
        {
            "solution_id": "y",
            "launch_date": LAUNCH,
            "initial_aum": 5,
            "policy": {"kind": "static", "static_weights": {"A": 1.0}},
        }
    )
    assert (d.pause_days, d.ramp_days, d.cooldown_days, d.max_pauses, d.drift_threshold) == (10, 5, 10, 3, 0.05)
    assert d.incubation_evidence is None and d.sectors is None and d.target_exposure == 1.0


def test_filters_keep_other_sectors_out_even_in_the_pool():
    # C is in the pool but its sector is not in the solution's filter
    rule = rules({"A": 0.5, "B": 0.25, "C": 0.25}, sectors=("macro",))
    m = Market("ABC")
    base = m.inputs(LAUNCH)
    inputs = replace(base, sectors={"A": "macro", "B": "macro", "C": "equity"})
    new, rec = step(rule, SolutionState.launch(rule), inputs, LOOSE, ZERO_COSTS)
    assert "C" not in new.strategies and "C" not in targets(rec)  # not even looked at
    assert targets(rec)["A"] == pytest.approx(2 / 3) and targets(rec)["B"] == pytest.approx(1 / 3)


# =========================================================================== 12. errors


def test_step_errors_name_the_solution():
    rule = rules({"A": 0.5, "B": 0.5})
    m = Market("AB")
    state = _two_held_state(D(2024, 3, 5))
    with pytest.raises(ValueError, match=f"solution {SID}.*cannot step"):
        step(rule, state, m.inputs(D(2024, 3, 5)), LOOSE, ZERO_COSTS)
    with pytest.raises(ValueError, match=f"solution {SID}.*cannot step"):
        step(rule, state, m.inputs(D(2024, 3, 4)), LOOSE, ZERO_COSTS)
    with pytest.raises(ValueError, match=f"solution {SID}.*before its launch date"):
        step(rule, SolutionState.launch(rule), m.inputs(D(2024, 2, 29)), LOOSE, ZERO_COSTS)
    # AUM 100 (1 - 0.5 * 0.9) - 60 = 55 - 60 < 0: wiped out
    m.set(D(2024, 3, 6), "A", -0.9)
    with pytest.raises(ValueError, match=f"solution {SID}.*wiped out"):
        step(rule, replace(state, pending_costs=60.0), m.inputs(D(2024, 3, 6)), LOOSE, ZERO_COSTS)
    # exactly zero is wiped out too: 100 (1 - 1.0) = 0
    m.set(D(2024, 3, 6), "A", -1.0).set(D(2024, 3, 6), "B", -1.0)
    with pytest.raises(ValueError, match="wiped out"):
        step(rule, state, m.inputs(D(2024, 3, 6)), LOOSE, ZERO_COSTS)


def test_day_inputs_validation():
    m = Market("AB")
    good = m.inputs(D(2024, 3, 4))
    with pytest.raises(ValueError, match="history has shape"):
        replace(good, history=good.history[:, :1])
    with pytest.raises(ValueError, match="runs past the day"):
        replace(good, day=D(2024, 3, 1))


def test_day_inputs_pnl_since_and_returns_today():
    m = Market("AB").set(D(2024, 3, 4), "A", 0.1).set(D(2024, 3, 5), "A", np.nan).set(D(2024, 3, 6), "A", -0.1)
    inp = m.inputs(D(2024, 3, 6))
    assert inp.pnl_since("A", D(2024, 3, 4)) == pytest.approx(1.1 * 0.9 - 1, abs=1e-15)  # NaN skipped
    assert inp.pnl_since("A", D(2024, 3, 5)) == pytest.approx(-0.1, abs=1e-15)
    assert inp.pnl_since("Z", D(2024, 3, 4)) == 0.0
    assert inp.returns_today() == {"A": -0.1, "B": 0.0}
    assert m.inputs(D(2024, 3, 5)).returns_today() == {"B": 0.0}


def test_state_from_an_older_warehouse_without_the_counts_is_read_as_it_is():
    dl = days(LAUNCH, D(2024, 3, 5))
    rule = rules({"A": 0.5, "B": 0.5})
    states, records = run(rule, Market("AB"), dl)
    frames = records_to_frames(records[-1:])
    older = frames["portfolio.solution_optimizations"].with_columns(
        weight_rows=pl.lit(None, pl.Int64), open_violations=pl.lit(None, pl.Int64)
    )
    rebuilt = state_from_tables(
        rule,
        frames["portfolio.solution_weights"],
        older,
        frames["portfolio.solution_performance"],
        frames["portfolio.risk_violations"],
    )
    _assert_states_equal(rebuilt, states[-1])
