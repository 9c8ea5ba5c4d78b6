"""The cvxpy problem families, each DPP, built once per structure and re-solved with new data.

Mean-variance (method MEAN_VARIANCE; BLACK_LITTERMAN and ROBUST_OPTIMIZATION change mu or
the return term):

* MIN_VOLATILITY: ``min w' S w``.
* MAX_RETURN: ``max mu' w`` subject to ``sqrt(w' S w) <= max_volatility``.
* MAX_SHARPE: the homogenised convex form ``min y' S y`` s.t. ``(mu - rf)' y = 1``,
  ``sum(y) = kappa``, ``kappa >= 0`` and every constraint multiplied by ``kappa``;
  then ``w = y / kappa``.
* MULTI_OBJECTIVE: ``max mu' w - risk_aversion * w' S w
  - turnover_penalty * ||w - w_prev||_1 - l2_penalty * ||w||_2^2``.

The structure key is (kind, N, number of limited sectors, which constraints can bind).
``leverage_limit`` can only bind when ``min_weight < 0`` (for ``w >= 0``,
``sum|w| = sum(w) = 1``), so long-only problems leave it out; it is still checked on the
weights.  Objectives are scaled (variance by ``s``, returns by ``max|mu|``) so solver
tolerances do not decide the answer.

Constrained risk parity: the log-barrier problem with every constraint homogenised in
``y`` (e.g. ``y_i <= max_weight * t``, ``t = sum(y)``), which keeps it convex.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from twin_model.optimize._data import ProblemData
from twin_model.optimize._moments import lower, lower_param
from twin_model.optimize._request import Objective


@dataclass
class Built:
    """A built problem, its parameters by name, and the lock a solve holds while it fills
    the parameters and reads the answer (so threads can share the problem)."""

    problem: cp.Problem
    params: dict[str, cp.Parameter]
    w: cp.Variable  # w, or y for homogenised problems
    kappa: cp.Variable | None
    is_qp: bool
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def mv_key(kind: Objective, d: ProblemData, robust: bool) -> tuple:
    return (
        kind.value,
        d.n,
        len(d.sector_names),
        d.has_turnover,
        d.has_leverage,
        d.max_vol is not None,
        robust and kind != Objective.MIN_VOLATILITY,
    )


def _linear_limits(P: dict, d: ProblemData, x: cp.Variable, scaled) -> list:
    """Sector caps, turnover and leverage rows where they can bind, each right-hand side
    passed through ``scaled`` (times kappa or t for the homogenised problems)."""
    cons = []
    if d.sector_names:
        P["A"] = cp.Parameter((len(d.sector_names), d.n), name="A")
        P["caps"] = cp.Parameter(len(d.sector_names), name="caps")
        cons.append(P["A"] @ x <= scaled(P["caps"]))
    if d.has_turnover:
        P["w_prev"] = cp.Parameter(d.n, name="w_prev")
        P["to_budget"] = cp.Parameter(name="to_budget")  # 2*limit - removed mass
        cons.append(cp.norm1(x - scaled(P["w_prev"])) <= scaled(P["to_budget"]))
    if d.has_leverage:
        P["lev"] = cp.Parameter(nonneg=True, name="lev")
        cons.append(cp.norm1(x) <= scaled(P["lev"]))
    return cons


def _mv_objective(kind: Objective, P: dict, x: cp.Variable, ret, L, cons: list, robust: bool):
    """The objective of one mean-variance kind (MAX_SHARPE adds its return row to ``cons``)."""
    if kind == Objective.MIN_VOLATILITY:
        return cp.Minimize(cp.sum_squares(L.T @ x))
    if kind == Objective.MAX_RETURN:
        return cp.Maximize(ret)
    if kind == Objective.MAX_SHARPE:
        cons.append(ret >= 1 if robust else ret == 1)
        return cp.Minimize(cp.sum_squares(L.T @ x))
    # MULTI_OBJECTIVE; DPP: risk_aversion folded into the factor G, turnover_penalty into tp_prev
    P["G"], g = lower_param(x.shape[0], "G")  # sqrt(ra * s / m) * L
    P["tp"] = cp.Parameter(nonneg=True, name="tp")
    P["tp_prev"] = cp.Parameter(x.shape[0], name="tp_prev")  # tp * w_prev
    P["l2"] = cp.Parameter(nonneg=True, name="l2")
    return cp.Maximize(
        ret - cp.sum_squares(g.T @ x) - cp.norm1(P["tp"] * x - P["tp_prev"]) - P["l2"] * cp.sum_squares(x)
    )


def build_mv(kind: Objective, d: ProblemData, robust: bool) -> Built:
    """Build the parametrised problem for one (kind, structure)."""
    n = d.n
    P: dict[str, cp.Parameter] = {
        "mu": cp.Parameter(n, name="mu"),
        "lo": cp.Parameter(n, name="lo"),
        "hi": cp.Parameter(n, name="hi"),
    }
    homog = kind == Objective.MAX_SHARPE
    x = cp.Variable(n, name="y" if homog else "w")
    kappa = cp.Variable(nonneg=True, name="kappa") if homog else None

    def scaled(p):  # parameter times kappa (DPP: parameter x variable) or the parameter
        return cp.multiply(p, kappa) if homog else p

    L = None
    if kind in (Objective.MIN_VOLATILITY, Objective.MAX_SHARPE) or d.max_vol is not None:
        P["F"], L = lower_param(n, "F")  # risk ||L'x||^2 with L L' = S / s
    cons = [cp.sum(x) == (kappa if homog else 1.0), x >= scaled(P["lo"]), x <= scaled(P["hi"])]
    cons += _linear_limits(P, d, x, scaled)
    qp = True
    if d.max_vol is not None:
        P["vol"] = cp.Parameter(nonneg=True, name="vol")  # max_vol / sqrt(s)
        cons.append(cp.norm(L.T @ x, 2) <= scaled(P["vol"]))
        qp = False
    ret = P["mu"] @ x
    if robust and kind != Objective.MIN_VOLATILITY:
        P["sd"] = cp.Parameter(n, nonneg=True, name="sd")  # k * sd / mu scale
        ret = ret - cp.norm(cp.multiply(P["sd"], x), 2)
        qp = False
    obj = _mv_objective(kind, P, x, ret, L, cons, robust)
    prob = cp.Problem(obj, cons)
    assert prob.is_dcp(dpp=True), "problem must stay DPP"
    return Built(prob, P, x, kappa, qp)


def _fill_linear_limits(P: dict, d: ProblemData) -> None:
    """Sector caps, the turnover budget ``2 tau - removed`` and leverage, where the problem has them."""
    if "A" in P:
        P["A"].value = d.sector_matrix
        P["caps"].value = d.sector_caps
    if "w_prev" in P:
        P["w_prev"].value = d.w_prev
        P["to_budget"].value = 2 * d.turnover_limit - d.removed_prev
    if "lev" in P:
        P["lev"].value = d.leverage_limit


def fill_mv(b: Built, kind: Objective, d: ProblemData, mu: np.ndarray) -> None:
    """Put the request's (scaled) data into the parameters."""
    n, s = d.n, d.s
    P = b.params
    if "F" in P:
        P["F"].value = lower(d.factor)
    ex = mu - d.rf if kind == Objective.MAX_SHARPE else mu
    m = float(np.max(np.abs(ex)))
    m = m if m > 0 else 1.0
    P["mu"].value = ex / m
    P["lo"].value = np.full(n, d.min_w)
    P["hi"].value = np.full(n, d.max_w)
    _fill_linear_limits(P, d)
    if "vol" in P:
        P["vol"].value = d.max_vol / np.sqrt(s)
    if "sd" in P:
        P["sd"].value = d.uncertainty * d.sd / m
    if kind == Objective.MULTI_OBJECTIVE:
        # divide the whole utility by m: mu/m - (ra*s/m) risk_s - (tp/m) L1 - (l2/m) L2
        prev = d.w_prev if d.w_prev is not None else np.zeros(n)
        P["G"].value = np.sqrt(d.risk_aversion * s / m) * lower(d.factor)
        P["tp"].value = d.turnover_penalty / m
        P["tp_prev"].value = d.turnover_penalty / m * prev
        P["l2"].value = d.l2_penalty / m


def rp_key(d: ProblemData) -> tuple:
    return ("RISK_PARITY", d.n, len(d.sector_names), d.has_turnover, d.has_leverage)


def build_rp(d: ProblemData) -> Built:
    """The constrained log-barrier problem for one structure, every constraint homogenised
    in ``y`` with ``t = sum(y)``: ``min 0.5 ||L' y||^2 - b' log(y)`` s.t.
    ``lo t <= y <= hi t``, ``A y <= caps t``, ``||y - w_prev t||_1 <= to_budget t``,
    ``||y||_1 <= lev t``; then ``w = y / t``."""
    n = d.n
    F, L = lower_param(n, "F")
    P: dict[str, cp.Parameter] = {
        "F": F,
        "b": cp.Parameter(n, nonneg=True, name="b"),
        "lo": cp.Parameter(name="lo"),
        "hi": cp.Parameter(name="hi"),
    }
    y = cp.Variable(n, pos=True, name="y")
    t = cp.Variable(nonneg=True, name="t")  # a variable, so each bound row has 2 entries
    cons = [cp.sum(y) == t, y >= P["lo"] * t, y <= P["hi"] * t]
    cons += _linear_limits(P, d, y, lambda p: p * t)
    obj = cp.Minimize(0.5 * cp.sum_squares(L.T @ y) - P["b"] @ cp.log(y))
    prob = cp.Problem(obj, cons)
    assert prob.is_dcp(dpp=True), "problem must stay DPP"
    return Built(prob, P, y, None, False)


def fill_rp(rp: Built, d: ProblemData, b: np.ndarray) -> None:
    """Put the request's data into a :func:`build_rp` problem."""
    P = rp.params
    P["F"].value = lower(d.factor)
    P["b"].value = b
    P["lo"].value = d.min_w
    P["hi"].value = d.max_w
    _fill_linear_limits(P, d)
