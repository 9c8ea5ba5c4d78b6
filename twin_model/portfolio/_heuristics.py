"""The heuristic policies: static weights, inverse volatility and performance with floors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from twin_model.conventions import PolicyKind
from twin_model.portfolio._bounds import apply_bounds, bounds_details
from twin_model.portfolio._inputs import Allocation, AllocationInputs, make_allocation


def static(inputs: AllocationInputs, weights: Mapping[str, float]) -> Allocation:
    """Given weights renormalised over the selected strategies.

    ``raw_i = weights.get(id_i, 0)`` (ids not selected are dropped), then
    ``w = apply_bounds(raw, min, max, T)`` i.e. ``w_i = clip(c * raw_i, min, max)``,
    ``sum w = T``.  All-zero raw weights give equal weights ``T / N``.
    """
    weights = dict(weights or {})
    raw = np.array([float(weights.get(i, 0.0)) for i in inputs.strategy_ids])
    details: dict[str, Any] = {
        "formula": "w_i = clip(c * given_i, min, max), sum w = T",
        "ignored_ids": sorted(set(weights) - set(inputs.strategy_ids)),
        "missing_ids": [i for i in inputs.strategy_ids if i not in weights],
    }
    if raw.sum() <= 0:
        details["note"] = "no positive given weight among the selected strategies: equal weights"
    w = apply_bounds(raw, inputs.min_weight, inputs.max_weight, inputs.target_exposure)
    details.update(bounds_details(inputs, w))
    return make_allocation(inputs, w, PolicyKind.STATIC, details)


def inverse_volatility(inputs: AllocationInputs) -> Allocation:
    """``w_i proportional to 1 / sigma_i`` with ``sigma_i = sqrt(Sigma_ii)``, scaled to
    ``T`` and bounded by clip-and-redistribute (:func:`apply_bounds`)."""
    sigma = inputs.volatility
    if np.any(sigma <= 0):
        bad = [i for i, s in zip(inputs.strategy_ids, sigma) if s <= 0]
        raise ValueError(f"inverse_volatility: non-positive volatility for {bad}")
    w = apply_bounds(1.0 / sigma, inputs.min_weight, inputs.max_weight, inputs.target_exposure)
    details = {"formula": "w_i ~ 1/sigma_i", "volatility": sigma.tolist()}
    details.update(bounds_details(inputs, w))
    return make_allocation(inputs, w, PolicyKind.INVERSE_VOLATILITY, details)


def performance_based(inputs: AllocationInputs, floor: float = 0.02) -> Allocation:
    """``w_i proportional to max(sharpe_i, 0)`` with a floor weight for every strategy.

    ``w = apply_bounds(max(sharpe, 0), max(floor, min_weight), max_weight, T)``, i.e.
    ``w_i = clip(c * max(sharpe_i, 0), floor, max)`` with ``sum w = T``: strategies below the
    floor get the floor and the rest is shared in proportion to Sharpe.  When no Sharpe is
    positive the weights are equal (``T / N``), which ``details`` says.
    """
    if floor < 0:
        raise ValueError(f"performance_based: floor {floor} must be >= 0")
    s = np.clip(inputs.sharpe, 0.0, None)
    lo = max(float(floor), float(inputs.min_weight))
    details: dict[str, Any] = {"formula": "w_i = clip(c * max(sharpe_i, 0), floor, max)", "floor": lo}
    if not np.any(s > 0):
        details["note"] = "no positive Sharpe ratio: equal weights"
        s = np.ones(inputs.n)
    w = apply_bounds(s, lo, inputs.max_weight, inputs.target_exposure)
    details.update(bounds_details(inputs, w))
    return make_allocation(inputs, w, PolicyKind.PERFORMANCE, details)
