"""The scripted market and static-policy rules of the solution-level unit tests
(tests/unit/solution/test_solutions.py), shared with the tests of the levels."""

from __future__ import annotations

import datetime as dt

import numpy as np

from tests.helpers.risk_limits import loose_risk_limits
from twin_model.calendar import business_days
from twin_model.portfolio import CostModel
from twin_model.solution import DayInputs, SolutionRules, SolutionState, step

D = dt.date
LAUNCH = D(2024, 3, 1)
HISTORY_START = D(2024, 1, 2)  # Jan 2 .. Feb 29: 43 business days of pre-launch history for the covariance
MARKET_END = D(2024, 4, 30)
SID = "sol_test"

ZERO_COSTS = CostModel(
    commission_bps=0.0, half_spread_bps=0.0, impact_coefficient=0.0, capacity=1e9, slippage_sd_bps=0.0
)

LOOSE = loose_risk_limits()


def rules(weights: dict[str, float], **kw) -> SolutionRules:
    """A static-policy solution launching on LAUNCH with AUM 100 (monthly off unless asked)."""
    base = dict(
        solution_id=SID,
        launch_date=LAUNCH,
        initial_aum=100.0,
        policy_kind="static",
        policy_params={"static_weights": dict(weights)},
        monthly=False,
    )
    base.update(kw)
    return SolutionRules(**base)


class Market:
    """Scripted daily returns of a few strategies and the DayInputs of each business day.

    Before LAUNCH the returns are small seeded noise (so the allocation has a covariance);
    from LAUNCH on they are 0 unless a test scripts them with ``set``.
    """

    def __init__(self, ids, end: dt.date = MARKET_END, seed: int = 7, start: dt.date = HISTORY_START):
        self.ids = tuple(ids)
        self.dates = business_days(start, end)
        self.R = np.zeros((len(self.dates), len(self.ids)))
        pre = np.array([d < LAUNCH for d in self.dates])
        self.R[pre] = np.random.default_rng(seed).normal(0.0, 0.004, (int(pre.sum()), len(self.ids)))

    def set(self, day: dt.date, sid: str, r: float) -> Market:
        self.R[self.dates.index(day), self.ids.index(sid)] = r
        return self

    def inputs(self, day: dt.date, in_pool=None, valley=None, evidence=None, expected_return=None, **kw) -> DayInputs:
        t = self.dates.index(day) + 1
        return DayInputs(
            day=day,
            strategy_ids=self.ids,
            history_dates=tuple(self.dates[:t]),
            history=self.R[:t].copy(),
            in_pool={s: True for s in self.ids} if in_pool is None else dict(in_pool),
            sectors={s: "macro" for s in self.ids},
            asset_classes={s: "futures" for s in self.ids},
            expected_return={s: 0.05 for s in self.ids} if expected_return is None else dict(expected_return),
            expected_return_sd={s: 0.02 for s in self.ids},
            sharpe={s: 1.0 for s in self.ids},
            valley={} if valley is None else dict(valley),
            evidence={} if evidence is None else dict(evidence),
            **kw,
        )


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return business_days(start, end)


def run(rule, market, day_list, risk=LOOSE, costs=ZERO_COSTS, state=None, per_day=None):
    """Step ``rule`` over ``day_list``; ``per_day(day)`` gives DayInputs overrides.

    Returns (states, records), one of each per day."""
    state = SolutionState.launch(rule) if state is None else state
    states, records = [], []
    for d in day_list:
        state, record = step(rule, state, market.inputs(d, **(per_day(d) if per_day else {})), risk, costs)
        states.append(state)
        records.append(record)
    return states, records
