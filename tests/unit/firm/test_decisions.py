"""The initiate-solution policy on hand cases, and the launch's projected profit."""

import datetime as dt
from dataclasses import replace

import numpy as np

from twin_model.calendar import business_days
from twin_model.conventions import SolutionDecision
from twin_model.firm import FeeState, FeeTerms, FirmCosts, business_days_in_year
from twin_model.firm.decisions import FirmView, LaunchOutlook, NewSolutionPolicy, launch_profit_p50
from twin_model.firm.projections import MONTH_DAYS, ProjectedSolution, project

POLICY = NewSolutionPolicy("growth", min_unused_pool_strategies=3)


def test_launch_when_enough_unused_and_profit_positive():
    out = POLICY.decide(FirmView(3), LaunchOutlook(1.0))
    assert out.decision == SolutionDecision.LAUNCH and "3 unused" in out.reason


def test_hold_when_too_few_unused_even_if_profitable():
    out = POLICY.decide(FirmView(2), LaunchOutlook(1e9))
    assert out.decision == SolutionDecision.HOLD and "fewer than the 3" in out.reason


def test_hold_when_profit_not_positive_or_not_projected_unless_not_required():
    assert POLICY.decide(FirmView(5), LaunchOutlook(0.0)).decision == SolutionDecision.HOLD
    missing = POLICY.decide(FirmView(5), LaunchOutlook(None))
    assert missing.decision == SolutionDecision.HOLD and "not projected" in missing.reason
    lax = replace(POLICY, require_positive_profit=False)
    assert lax.decide(FirmView(5), LaunchOutlook(-5.0)).decision == SolutionDecision.LAUNCH


def test_launch_profit_is_revenue_less_added_strategy_costs():
    """Zero return, 2% management fee on 1e6 at launch: revenue sum m NAV_{k-1} d_k / 365
    with NAV shrinking by the fee; cost 2 added strategies x 1e5 a year pro rata."""
    t = dt.date(2021, 6, 30)
    days = business_days(t + dt.timedelta(days=1), t + dt.timedelta(days=400))[: 12 * MONTH_DAYS]
    state = replace(FeeState.launch(1e6), day=t, period_start=dt.date(2021, 1, 1))
    launch = ProjectedSolution("new", {"a": 1.0}, state, FeeTerms(management_fee=0.02))
    out = project(np.zeros((3, len(days), 1)), ["a"], days, [launch], 0.0, FirmCosts(per_strategy_per_year=1e5), 2)
    nav, prev, revenue = 1e6, t, 0.0
    for day in days:
        fee = 0.02 * nav * (day - prev).days / 365
        revenue, nav, prev = revenue + fee, nav - fee, day
    cost = sum(2e5 / business_days_in_year(d.year) for d in days)
    assert np.isclose(launch_profit_p50(out), revenue - cost, rtol=1e-12)
