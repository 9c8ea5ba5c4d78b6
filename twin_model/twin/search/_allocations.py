"""The vectorised evaluator's allocation stage, and the codes its arrays use.

The status of a strategy on a path is an ``int8`` code (``CODES``), its tier an index
into ``TIERS``. ``Allocations`` calls the step's own allocation stage (``allocate_targets`` of
``twin_model.solution``) so a rebalance on a path sets the targets the step would.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from twin_model.conventions import StrategyStatus, Tier
from twin_model.firm import FeeDay, FeeState
from twin_model.optimize import Optimizer
from twin_model.portfolio import allocation_policy
from twin_model.solution import ALLOCATION_FAILED, Book, SolutionRules, StrategyState, allocate_targets
from twin_model.twin.search._month import SimulatedMonth

OUT, ACTIVE, PAUSED, STOPPED = 0, 1, 2, 3
CODES = {
    StrategyStatus.OUT_OF_POOL: OUT,
    StrategyStatus.ACTIVE: ACTIVE,
    StrategyStatus.PAUSED: PAUSED,
    StrategyStatus.STOPPED: STOPPED,
}
"""A strategy's status on a path."""
TIERS = (Tier.NONE, Tier.CORE, Tier.INCUBATION)
"""A strategy's tier on a path is its index here."""
_STATUSES = {code: status for status, code in CODES.items()}
_NOT_ALLOCATING = {
    "pause_days": 0,
    "stop_valley_multiple": 0.0,
    "max_pauses": 0,
    "cooldown_days": 0,
    "drift_threshold": 0.0,
}
"""The rules the allocation stage does not read, set alike in a shared result's key."""

_UNIT_BOOK = Book(
    cold_start=False,
    aum_start=1.0,
    gav_start=1.0,
    daily_return=0.0,
    cash_interest=0.0,
    costs=0.0,
    assets=1.0,
    aum=1.0,
    held={},
    returns={},
    fees=FeeState.launch(1.0),
    fee_day=FeeDay(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    unit_ratio=1.0,
)
"""A book holding nothing, for the allocation stage (which reads only the held weights)."""


class Allocations:
    """The step's own allocation stage (``allocate_targets``) on a rebalance.

    A policy that does not read the returns history (``AllocationPolicy.reads_history``:
    static and performance weights, fractional Kelly on the month end's scenarios) gives
    weights that depend only on which strategies hold a slot, the moments and scenarios
    being held over the month: ``cached`` computes ``a_i x size_i`` (ramp factor 1) once
    per distinct set. Any other (the covariance, the optimiser and its turnover limit on
    the held weights) allocates on the path's own day (``on_path``): the ``DayInputs`` of
    that day along the path, the path's statuses, tiers, ramps and held weights. ``None``
    when the allocation fails (the step would retry it the next day: the path goes to the
    reference).
    """

    def __init__(
        self,
        rules: SolutionRules,
        month: SimulatedMonth,
        ids: list[str],
        optimizer: Optimizer,
        shared: dict | None = None,
    ):
        self.rules, self.month, self.ids, self.optimizer = rules, month, ids, optimizer
        self.exposure = rules.target_exposure * (month.base.risk_scale if rules.use_market_regime else 1.0)
        self.per_path = allocation_policy(rules.policy_kind).reads_history(month.base.scenarios is not None)
        self.cache: dict[bytes, np.ndarray] = {}
        self.shared = {} if shared is None else shared
        self.fingerprint = repr(replace(rules, **_NOT_ALLOCATING))

    def cached(self, slots: np.ndarray, tiers: np.ndarray) -> np.ndarray | None:
        """Targets ``[N]`` at ramp factor 1 of the strategies with a slot, or ``None`` when
        the allocation fails."""
        key = slots.tobytes() + tiers.tobytes()
        if key not in self.cache:
            strategies = {
                s: StrategyState(status=StrategyStatus.ACTIVE, tier=TIERS[t])
                for s, slot, t in zip(self.ids, slots, tiers)
                if slot
            }
            base = self.month.base
            decision = allocate_targets(
                self.rules, base, strategies, _UNIT_BOOK, self.exposure, ["search"], self.optimizer
            )
            failed = decision.status in ALLOCATION_FAILED
            self.cache[key] = None if failed else np.array([decision.targets.get(s, 0.0) for s in self.ids])
        return self.cache[key]

    def on_path(
        self,
        p: int,
        path: np.ndarray,
        k: int,
        status: np.ndarray,
        tiers: np.ndarray,
        ramp: np.ndarray,
        held: np.ndarray,
    ) -> np.ndarray | None:
        """Targets ``[N]`` of path ``p``'s rebalance on the month's day ``k`` (ramps and
        sizes applied, as the step sets them), or ``None`` when the allocation fails.

        Candidates that differ only in what the allocation does not read (the pause and
        stop rules, the drift threshold) reach the same books on the month's first day:
        ``shared`` (one dict per set of paths, across candidates) keeps each result
        under the rules' allocating part, the path, the day and the path's state."""
        key = (self.fingerprint, p, k, *(a.tobytes() for a in (status, tiers, ramp, held)))
        if key not in self.shared:
            self.shared[key] = self._allocate(path, k, status, tiers, ramp, held)
        return self.shared[key]

    def _allocate(
        self, path: np.ndarray, k: int, status: np.ndarray, tiers: np.ndarray, ramp: np.ndarray, held: np.ndarray
    ) -> np.ndarray | None:
        strategies = {
            s: StrategyState(status=_STATUSES[c], tier=TIERS[t], ramp_day=int(r))
            for s, c, t, r in zip(self.ids, status, tiers, ramp)
        }
        book = replace(_UNIT_BOOK, held=dict(zip(self.ids, held.tolist())))
        inputs = self.month.day_inputs(path, k)
        decision = allocate_targets(self.rules, inputs, strategies, book, self.exposure, ["search"], self.optimizer)
        if decision.status in ALLOCATION_FAILED:
            return None
        return np.array([decision.targets.get(s, 0.0) for s in self.ids])
