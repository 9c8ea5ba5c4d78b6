"""A request turned into the arrays the methods solve with, after every check that needs the
whole request (the strategy count, the sectors present, the previous book).

Conventions: portfolios are fully invested (``sum(w) == 1``); ``min_weight`` may be
negative (shorting); ``sector_limits`` for sectors no strategy has are ignored and noted;
turnover is ``0.5 * ||w - w_prev||_1`` over the union of current and previous ids (ids
missing from ``previous_weights`` count as 0, previous holdings no longer requested count
as sold entirely); without ``previous_weights`` the turnover limit is not applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin_model.errors import InfeasibleRequestError
from twin_model.optimize._moments import request_moments
from twin_model.optimize._request import Constraints, OptimizationRequest


@dataclass(frozen=True)
class Sectors:
    """The limited sectors present in the request: names, 0/1 membership (S, N), caps (S,)."""

    names: list[str]
    matrix: np.ndarray
    caps: np.ndarray


@dataclass
class ProblemData:
    ids: list[str]
    mu: np.ndarray
    sigma: np.ndarray
    min_w: float
    max_w: float
    sector_names: list[str]
    sector_matrix: np.ndarray  # (S, N) 0/1
    sector_caps: np.ndarray  # (S,)
    w_prev: np.ndarray | None
    removed_prev: float  # sum |w_prev| of ids no longer requested
    turnover_limit: float | None
    leverage_limit: float | None
    max_vol: float | None
    rf: float
    risk_aversion: float
    turnover_penalty: float
    l2_penalty: float
    sd: np.ndarray
    uncertainty: float
    s: float  # mean variance, the risk scale (1 if it is 0)
    factor: np.ndarray  # lower-triangular L with L L' = sigma / s
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def has_leverage(self) -> bool:
        """Can ``leverage_limit`` bind?  Not without shorts: ``w >= 0`` gives
        ``sum|w| = sum(w) = 1 <= leverage_limit`` (a limit below 1 is rejected)."""
        return self.leverage_limit is not None and self.min_w < 0

    @property
    def has_turnover(self) -> bool:
        return self.turnover_limit is not None and self.w_prev is not None


def _strategy_ids(req: OptimizationRequest) -> list[str]:
    ids = [s.strategy_id for s in req.strategies]
    if not ids:
        raise InfeasibleRequestError("strategies is empty")
    if len(set(ids)) != len(ids):
        raise InfeasibleRequestError("strategies: duplicate strategy_id")
    return ids


def _check_full_investment(c: Constraints, n: int, notes: list[str]) -> None:
    """The weight bounds must allow a fully invested book of ``n`` strategies."""
    if n * c.min_weight > 1 + 1e-12:
        raise InfeasibleRequestError(
            f"min_weight {c.min_weight} x {n} strategies = {n * c.min_weight:.6g} > 1: "
            "the sum of minimums exceeds full investment"
        )
    if n * c.max_weight < 1 - 1e-12:
        raise InfeasibleRequestError(
            f"max_weight {c.max_weight} x {n} strategies = {n * c.max_weight:.6g} < 1: cannot be fully invested"
        )
    if c.min_weight < 0 and c.leverage_limit is None:
        notes.append("min_weight < 0 allows shorts without a leverage_limit")


def _sectors(req: OptimizationRequest, notes: list[str]) -> Sectors:
    """The limited sectors present, each checked against the weight bounds."""
    c, n = req.constraints, len(req.strategies)
    sectors = [s.sector for s in req.strategies]
    present = {s for s in sectors if s is not None}
    unknown = sorted(set(c.sector_limits) - present)
    if unknown:
        notes.append(f"sector_limits for unknown sectors ignored: {unknown}")
    names = sorted(set(c.sector_limits) & present)
    A = np.array([[1.0 if s == nm else 0.0 for s in sectors] for nm in names]).reshape(len(names), n)
    caps = np.array([float(c.sector_limits[nm]) for nm in names])
    for nm, row, cap in zip(names, A, caps):
        k = int(row.sum())
        if not np.isfinite(cap):
            raise InfeasibleRequestError(f"sector_limits[{nm!r}] is not finite")
        if k * c.min_weight > cap + 1e-12:
            raise InfeasibleRequestError(
                f"sector_limits[{nm!r}] = {cap} is below its {k} members' min_weight "
                f"floor {k} x {c.min_weight} = {k * c.min_weight:.6g}"
            )
    if c.min_weight >= 0:  # most weight the sector caps and max_weight let the book hold
        reach = (n - int(A.sum())) * c.max_weight + sum(min(cap, row.sum() * c.max_weight) for row, cap in zip(A, caps))
        if reach < 1 - 1e-12:
            raise InfeasibleRequestError(
                f"sector_limits {dict(zip(names, caps.tolist()))} with max_weight "
                f"{c.max_weight} allow at most {reach:.6g} < 1 in total: cannot be fully invested"
            )
    return Sectors(names, A, caps)


def _previous_book(c: Constraints, ids: list[str], notes: list[str]) -> tuple[np.ndarray | None, float]:
    """(previous weights over ``ids`` or None, the weight of previous ids no longer requested)."""
    w_prev = None
    removed = 0.0
    if c.previous_weights is not None:
        pw = c.previous_weights
        w_prev = np.array([float(pw.get(i, 0.0)) for i in ids])
        removed = float(sum(abs(v) for k, v in pw.items() if k not in set(ids)))
        if removed:
            notes.append(f"previous holdings of removed strategies ({removed:.6g}) count as turnover")
    if c.turnover_limit is not None:
        if w_prev is None:
            notes.append("turnover_limit ignored: no previous_weights")
        elif 0.5 * removed > c.turnover_limit + 1e-12:
            raise InfeasibleRequestError(
                f"turnover_limit {c.turnover_limit} is below the turnover "
                f"{0.5 * removed:.6g} forced by selling previous_weights of removed strategies"
            )
    return w_prev, removed


def prepare(req: OptimizationRequest) -> ProblemData:
    """The request's arrays; raises :class:`InfeasibleRequestError` naming what cannot hold."""
    ids = _strategy_ids(req)
    notes: list[str] = []
    moments = request_moments(req, notes)
    c, rp = req.constraints, req.risk_parameters
    _check_full_investment(c, len(ids), notes)
    sectors = _sectors(req, notes)
    w_prev, removed = _previous_book(c, ids, notes)
    sd = np.array([s.expected_return_sd or 0.0 for s in req.strategies], dtype=float)
    return ProblemData(
        ids=ids,
        mu=moments.mu,
        sigma=moments.sigma,
        min_w=float(c.min_weight),
        max_w=float(c.max_weight),
        sector_names=sectors.names,
        sector_matrix=sectors.matrix,
        sector_caps=sectors.caps,
        w_prev=w_prev,
        removed_prev=removed,
        turnover_limit=c.turnover_limit,
        leverage_limit=c.leverage_limit,
        max_vol=rp.max_volatility,
        rf=float(rp.risk_free_rate),
        risk_aversion=float(rp.risk_aversion),
        turnover_penalty=float(rp.turnover_penalty),
        l2_penalty=float(rp.l2_penalty),
        sd=sd,
        uncertainty=float(rp.uncertainty),
        s=moments.s,
        factor=moments.factor,
        notes=notes,
    )
