"""Bounds on a book: scale non-negative raw weights to a total inside ``[min, max]``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from twin_model.portfolio._inputs import AllocationInputs

_EPS = 1e-12


def _solve_clipped_sum(a: np.ndarray, b: np.ndarray, lo: float, hi: float, total: float) -> float | None:
    """Smallest t >= 0 with sum_i clip(a_i + b_i t, lo, hi) == total (b >= 0), or None.

    The sum is non-decreasing and piecewise linear in t, so the root is found exactly on
    the segment between two consecutive breakpoints."""

    def f(t: float) -> float:
        return float(np.clip(a + b * t, lo, hi).sum())

    pos = b > 0
    bps = np.concatenate([[0.0], (lo - a[pos]) / b[pos], (hi - a[pos]) / b[pos]])
    bps = np.unique(bps[bps >= 0.0])
    vals = np.array([f(t) for t in bps])
    if vals[0] >= total - _EPS:
        return 0.0 if abs(vals[0] - total) <= 1e-9 else None
    k = int(np.searchsorted(vals, total - _EPS))
    if k >= len(bps):
        return None
    t0, t1, f0, f1 = bps[k - 1], bps[k], vals[k - 1], vals[k]
    if f1 - f0 <= 0:
        return float(t1)
    return float(t0 + (total - f0) * (t1 - t0) / (f1 - f0))


def apply_bounds(weights, min_weight: float, max_weight: float, total: float):
    """Scale non-negative ``weights`` to sum ``total`` inside ``[min_weight, max_weight]``.

    This is the fixed point of "clip to the bounds, redistribute the excess (or shortfall)
    proportionally over the unclipped weights, repeat until nothing moves":
    ``w_i = clip(c * raw_i, min, max)`` with ``c`` solving ``sum_i w_i = total``.  When the
    weights with ``raw_i > 0`` all sit at ``max`` and the total is still short, the rest is
    shared equally among the others (``w_i = clip(min + e, min, max)``), as for an all-zero
    input.  Accepts a dict (returns a dict) or an array (returns an array).

    Raises ValueError naming the bounds when ``N * max < total`` or ``N * min > total``.
    """
    keys = list(weights) if isinstance(weights, Mapping) else None
    raw = np.array([weights[k] for k in keys] if keys is not None else weights, dtype=float).reshape(-1)
    n = len(raw)
    lo, hi, total = float(min_weight), float(max_weight), float(total)
    if n == 0:
        raise ValueError("apply_bounds: no weights")
    if not np.all(np.isfinite(raw)) or np.any(raw < 0):
        raise ValueError("apply_bounds: weights must be finite and non-negative")
    if lo > hi:
        raise ValueError(f"apply_bounds: min_weight {lo} exceeds max_weight {hi}")
    if n * hi < total - 1e-12:
        raise ValueError(f"apply_bounds: infeasible, {n} x max_weight {hi} = {n * hi:.6g} < total {total}")
    if n * lo > total + 1e-12:
        raise ValueError(f"apply_bounds: infeasible, {n} x min_weight {lo} = {n * lo:.6g} > total {total}")
    out: np.ndarray | None = None
    if raw.sum() > 0:
        c = _solve_clipped_sum(np.zeros(n), raw, lo, hi, total)
        if c is not None:
            out = np.clip(c * raw, lo, hi)
        else:  # positive raw weights saturated at max: share the rest equally
            base = np.where(raw > 0, hi, np.clip(0.0, lo, hi))
            e = _solve_clipped_sum(base, (raw <= 0).astype(float), lo, hi, total)
            out = np.clip(base + (raw <= 0) * (e or 0.0), lo, hi)
    else:
        e = _solve_clipped_sum(np.full(n, lo), np.ones(n), lo, hi, total)
        out = np.clip(lo + (e or 0.0), lo, hi) * np.ones(n)
    if abs(out.sum() - total) > 1e-9:  # pragma: no cover - guarded by the checks above
        raise ValueError(f"apply_bounds: could not reach total {total} within [{lo}, {hi}]")
    return dict(zip(keys, out.tolist())) if keys is not None else out


def bounds_details(inputs: AllocationInputs, w: np.ndarray) -> dict:
    return {
        "at_max": [i for i, x in zip(inputs.strategy_ids, w) if x >= inputs.max_weight - 1e-12],
        "at_min": [i for i, x in zip(inputs.strategy_ids, w) if x <= inputs.min_weight + 1e-12],
    }
