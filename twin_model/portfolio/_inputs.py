"""What an allocation policy is given (:class:`AllocationInputs`) and what it returns
(:class:`Allocation`).

Scaling convention for the optimiser-backed policies: :func:`twin_model.optimize.optimize`
works on fully invested books (``sum(u) == 1``).  A book ``w = T * u`` with
``T = target_exposure`` is solved as ``u`` with every linear limit divided by ``T``:
bounds ``min/T``, ``max/T``, sector caps ``cap/T``, leverage ``L/T``, previous weights
``w_prev/T`` with turnover limit ``tau/T`` (turnover is homogeneous of degree 1) and
``max_volatility/T``; the answer is multiplied back by ``T``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin_model.conventions import PolicyKind


@dataclass(frozen=True)
class AllocationInputs:
    """What a solution knows on the allocation date.

    ``expected_return``, ``expected_return_sd``, ``covariance`` and ``sharpe`` are annual;
    ``scenarios`` holds posterior-predictive daily simple returns ``[paths, horizon, N]``
    (or ``None``).  Constraints apply to the final weights ``w`` (which sum to
    ``target_exposure`` unless a rule leaves cash).
    """

    strategy_ids: tuple[str, ...]
    sectors: tuple[str, ...]
    expected_return: np.ndarray
    expected_return_sd: np.ndarray
    covariance: np.ndarray
    sharpe: np.ndarray
    scenarios: np.ndarray | None = None
    previous_weights: Mapping[str, float] = field(default_factory=dict)
    min_weight: float = 0.0
    max_weight: float = 1.0
    sector_limits: Mapping[str, float] = field(default_factory=dict)
    turnover_limit: float | None = None
    leverage_limit: float = 1.0
    target_exposure: float = 1.0

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.strategy_ids)
        n = len(ids)
        if n == 0:
            raise ValueError("AllocationInputs: strategy_ids is empty")
        if len(set(ids)) != n:
            raise ValueError("AllocationInputs: duplicate strategy_ids")
        sectors = tuple(self.sectors)
        if len(sectors) != n:
            raise ValueError(f"AllocationInputs: {len(sectors)} sectors for {n} strategies")
        object.__setattr__(self, "strategy_ids", ids)
        object.__setattr__(self, "sectors", sectors)
        for name in ("expected_return", "expected_return_sd", "sharpe"):
            arr = np.array(getattr(self, name), dtype=float).reshape(-1)
            if arr.shape != (n,):
                raise ValueError(f"AllocationInputs: {name} has shape {arr.shape}, need ({n},)")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        cov = np.array(self.covariance, dtype=float)
        if cov.shape != (n, n):
            raise ValueError(f"AllocationInputs: covariance has shape {cov.shape}, need ({n}, {n})")
        cov.setflags(write=False)
        object.__setattr__(self, "covariance", cov)
        if self.scenarios is not None:
            sc = np.array(self.scenarios, dtype=float)
            if sc.ndim != 3 or sc.shape[2] != n or sc.shape[0] == 0 or sc.shape[1] == 0:
                raise ValueError(f"AllocationInputs: scenarios has shape {sc.shape}, need [paths, horizon, {n}]")
            sc.setflags(write=False)
            object.__setattr__(self, "scenarios", sc)
        object.__setattr__(self, "previous_weights", dict(self.previous_weights or {}))
        object.__setattr__(self, "sector_limits", dict(self.sector_limits or {}))
        if self.min_weight > self.max_weight:
            raise ValueError(f"AllocationInputs: min_weight {self.min_weight} exceeds max_weight {self.max_weight}")
        if not self.target_exposure > 0:
            raise ValueError(f"AllocationInputs: target_exposure {self.target_exposure} must be > 0")
        if not self.leverage_limit > 0:
            raise ValueError(f"AllocationInputs: leverage_limit {self.leverage_limit} must be > 0")

    @property
    def n(self) -> int:
        return len(self.strategy_ids)

    @property
    def volatility(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))


@dataclass(frozen=True)
class Allocation:
    """Target weights per strategy id, the policy that produced them and its diagnostics."""

    weights: dict[str, float]
    policy: PolicyKind
    details: dict[str, Any]


def make_allocation(inputs: AllocationInputs, w: np.ndarray, policy: PolicyKind, details: dict) -> Allocation:
    """The allocation of weights ``w`` (dust below 1e-14 set to 0), with what it invests and leaves in cash."""
    w = np.where(np.abs(w) < 1e-14, 0.0, np.asarray(w, dtype=float))
    total = float(w.sum())
    details = dict(details)
    details.setdefault("target_exposure", float(inputs.target_exposure))
    details["invested"] = total
    details["cash"] = float(inputs.target_exposure - total)
    return Allocation(
        weights={i: float(x) for i, x in zip(inputs.strategy_ids, w)},
        policy=policy,
        details=details,
    )
