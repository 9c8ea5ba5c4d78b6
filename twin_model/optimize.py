"""Portfolio optimisation engine behind ``optimize(request) -> response``.

The request/response models mirror the JSON in DESIGN.md ("Public Python surface").
All moments are annualised; ``risk_free_rate`` is annual.

Conventions
-----------
* Portfolios are fully invested: ``sum(w) == 1`` always holds.  ``min_weight`` may be
  negative (shorting); the default ``0.0`` makes the book long-only.  ``leverage_limit``
  bounds the gross exposure ``sum(|w|)``; because ``sum(|w|) >= |sum(w)| = 1`` a limit
  below 1 is impossible.
* ``sector_limits`` caps the summed weight of the strategies of each named sector.
  Names that match no strategy's sector are ignored and reported in
  ``optimization_metadata.notes``; strategies without a sector are never sector-limited.
* Turnover is ``0.5 * ||w - w_prev||_1`` over the union of current and previous ids:
  ids missing from ``previous_weights`` count as 0, and previous holdings of ids no longer
  in the request count as sold entirely.  When ``previous_weights`` is absent the
  turnover limit is not applied (there is nothing to turn over from) and the
  MULTI_OBJECTIVE turnover penalty uses ``w_prev = 0``.
* ``max_volatility`` (annual) is a constraint for every mean-variance objective and is
  required by MAX_RETURN.

Mean-variance objectives (method MEAN_VARIANCE)
-----------------------------------------------
* MIN_VOLATILITY: ``min w' S w``.
* MAX_RETURN: ``max mu' w`` subject to ``sqrt(w' S w) <= max_volatility``.
* MAX_SHARPE: the homogenised convex form ``min y' S y`` s.t. ``(mu - rf)' y = 1``,
  ``sum(y) = kappa``, ``kappa >= 0`` and every constraint multiplied by ``kappa``;
  then ``w = y / kappa``.
* MULTI_OBJECTIVE: ``max mu' w - risk_aversion * w' S w
  - turnover_penalty * ||w - w_prev||_1 - l2_penalty * ||w||_2^2``.

The risk term is written ``sum_squares(L.T @ w)`` with ``L`` a lower-triangular factor of
``S / s`` (``s`` = mean diagonal of S): Cholesky, or for a singular S the triangular factor
from an eigen-decomposition and a QR step (see :func:`_psd_factor`; tiny negative
eigenvalues clipped to 0).  ``L`` enters as a ``cp.Parameter`` holding its ``n (n + 1) / 2``
lower-triangle entries, scattered into the matrix by a constant map, so each problem is DPP
and the zeros above the diagonal never reach the solver: it is built once per (kind, N,
number of limited sectors, which constraints can bind) inside an :class:`Optimizer` and
re-solved with new data.  ``leverage_limit`` can only bind when ``min_weight < 0`` (for
``w >= 0``, ``sum|w| = sum(w) = 1``), so long-only problems leave it out; it is still
checked on the weights.  Objectives are scaled (variance by ``s``, returns by ``max|mu|``)
so solver tolerances do not decide the answer; reported figures are unscaled and
recomputed from the weights.

Solvers (``SOLVER_CHAIN``): Clarabel at tolerance 1e-9, Clarabel at its default 1e-8, then
SCS, then OSQP (where the problem is a QP); the solver that produced the answer is
reported, every attempt is listed in ``notes``.  An infeasible problem raises
:class:`InfeasibleRequestError` naming the constraint groups that cannot hold together
(found by re-solving feasibility problems), never weights.

Risk parity (objective RISK_PARITY or method RISK_PARITY)
---------------------------------------------------------
Risk budgets ``b`` (``risk_parameters.risk_budgets``, normalised to sum 1; default equal).
Log-barrier form: ``min 0.5 y' S y - b' log(y)``, ``y > 0``, then ``w = y / sum(y)``; at the
optimum ``y_i (S y)_i = b_i`` so risk contributions ``w_i (S w)_i`` are proportional to
``b``.  It is solved by damped Newton (strictly convex).  If the result breaks a bound,
sector limit or turnover limit, the problem is re-solved in cvxpy with every constraint
homogenised in ``y`` (e.g. ``y_i <= max_weight * t``, ``t = sum(y)``), which keeps it
convex; that problem is built once per structure and cached in the :class:`Optimizer`
like the mean-variance ones.  The contributions are then not equal to the budgets, which
``notes`` says.
``objective_value`` is ``sum_i (RC_i / sum(RC) - b_i)^2``.

Hierarchical risk parity (method HIERARCHICAL_RISK_PARITY), Lopez de Prado (2016)
-------------------------------------------------------------------------------
Correlation distance ``d_ij = sqrt(0.5 (1 - rho_ij))``; single linkage
(``scipy.cluster.hierarchy.linkage(squareform(d), "single")``); the quasi-diagonal order is
``scipy.cluster.hierarchy.leaves_list``; recursive bisection splits each ordered list into
two halves (first half ``len // 2`` items) as in the paper, the cluster variance is
``w_ivp' S_c w_ivp`` with inverse-variance weights ``w_ivp`` and the left half gets
``alpha = 1 - V_left / (V_left + V_right)``.  Min/max weights are then honoured by clipping
and redistributing the excess (or shortfall) proportionally over the unclipped weights,
repeated until nothing moves.  HRP ignores mu, sectors and turnover; those constraints are
still checked and any breach is listed in ``violations``.

Black-Litterman (method BLACK_LITTERMAN)
---------------------------------------
Prior ``pi = delta * S * w_mkt`` (``delta = risk_aversion``; ``w_mkt`` = previous weights
if given, else equal weights), views on single strategies (``P`` rows are unit vectors),
``omega_kk = tau * (P S P')_kk / confidence_k`` (or the view's ``variance``), ``tau`` =
``risk_parameters.tau`` (default 0.05).  Posterior mean
``mu_BL = pi + tau S P' (P tau S P' + Omega)^-1 (q - P pi)``; the requested
mean-variance objective then runs on ``mu_BL`` (the covariance is not updated), and the
reported expected return and Sharpe use ``mu_BL``.

Robust optimisation (method ROBUST_OPTIMIZATION)
-----------------------------------------------
Ellipsoidal uncertainty on mu: the worst-case return is
``mu' w - k * ||diag(sd) w||_2`` with ``sd`` the strategies' ``expected_return_sd`` (0 if
absent) and ``k = risk_parameters.uncertainty`` (default 1).  It replaces ``mu' w`` in
MAX_RETURN and MULTI_OBJECTIVE and ``(mu - rf)' y`` in MAX_SHARPE (``>= 1``);
MIN_VOLATILITY is unchanged.  The reported expected return is the nominal ``mu' w``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Callable

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field

PERIODS_PER_YEAR = 252
TOL = 1e-6
# (solver, settings) tried in order until one reports optimal.  Clarabel first at gap and
# feasibility tolerances 1e-9 (its default is 1e-8), for 0-2 more iterations: on 100 of the
# benchmark's requests at N=100 the MIN_VOLATILITY, MAX_SHARPE and MAX_RETURN weights are
# within 1.1e-5 of plain cvxpy solved to 1e-11 (the previous engine, at 1e-8: 3.6e-5), and
# the risk-parity log-barrier weights within ~1e-7 instead of ~3e-6.  Where Clarabel cannot
# reach 1e-9 (it reports optimal_inaccurate) it is re-run at its default 1e-8 before SCS;
# the 1e-8 is explicit because cvxpy re-uses the cached Clarabel solver with its settings.
# One Clarabel thread, like OPENBLAS_NUM_THREADS=1: on the shared 2-core box its
# multi-threaded factorisation was 15-20 % slower at N=500 and no faster at N=100.
_CLARABEL = {"max_threads": 1}
SOLVER_CHAIN: tuple[tuple[str, dict[str, Any]], ...] = (
    ("CLARABEL", {**_CLARABEL, "tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}),
    ("CLARABEL", {**_CLARABEL, "tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}),
    ("SCS", {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000}),
    ("OSQP", {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iter": 200_000, "polish": True}),
)

# cvxpy's sparse-tensor backend compiles the first solve of a shape faster here than its
# default C++ one: MIN_VOLATILITY at N=20 4.4 ms against 7.1 ms cold, about equal at N=100
CANON_BACKEND = "COO"


class InfeasibleRequestError(ValueError):
    """A request whose constraints cannot hold together (the message names them)."""


class Objective(str, Enum):
    MAX_SHARPE = "MAX_SHARPE"
    MIN_VOLATILITY = "MIN_VOLATILITY"
    MAX_RETURN = "MAX_RETURN"
    RISK_PARITY = "RISK_PARITY"
    MULTI_OBJECTIVE = "MULTI_OBJECTIVE"


class Method(str, Enum):
    MEAN_VARIANCE = "MEAN_VARIANCE"
    BLACK_LITTERMAN = "BLACK_LITTERMAN"
    RISK_PARITY = "RISK_PARITY"
    HIERARCHICAL_RISK_PARITY = "HIERARCHICAL_RISK_PARITY"
    ROBUST_OPTIMIZATION = "ROBUST_OPTIMIZATION"


class StrategyInput(BaseModel):
    strategy_id: str
    expected_return: float | None = None  # annual; from the returns' mean * 252 if None
    sector: str | None = None
    expected_return_sd: float | None = None  # for ROBUST_OPTIMIZATION


class Constraints(BaseModel):
    min_weight: float = 0.0
    max_weight: float = 1.0
    sector_limits: dict[str, float] = Field(default_factory=dict)
    turnover_limit: float | None = None
    leverage_limit: float | None = None
    previous_weights: dict[str, float] | None = None


class RiskParameters(BaseModel):
    risk_free_rate: float = 0.0
    risk_aversion: float = 1.0
    max_volatility: float | None = None
    turnover_penalty: float = 0.0
    l2_penalty: float = 0.0
    risk_budgets: dict[str, float] | None = None
    uncertainty: float = 1.0
    tau: float = 0.05


class View(BaseModel):
    strategy_id: str
    expected_return: float
    confidence: float | None = None  # in (0, 1]
    variance: float | None = None


class OptimizationRequest(BaseModel):
    portfolio_id: str = "portfolio"
    objective: Objective = Objective.MAX_SHARPE
    method: Method = Method.MEAN_VARIANCE
    strategies: list[StrategyInput]
    covariance: list[list[float]] | None = None
    returns: list[list[float]] | None = None
    constraints: Constraints = Field(default_factory=Constraints)
    risk_parameters: RiskParameters = Field(default_factory=RiskParameters)
    views: list[View] | None = None


class OptimizationMetadata(BaseModel):
    convergence_status: str
    iterations: int
    optimization_time_ms: float
    objective_value: float
    constraints_satisfied: bool
    solver: str
    violations: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class OptimizationResponse(BaseModel):
    portfolio_id: str
    optimal_weights: dict[str, float]
    expected_return: float
    expected_volatility: float
    sharpe_ratio: float
    optimization_metadata: OptimizationMetadata


# --------------------------------------------------------------------------- data prep


@dataclass
class _Data:
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


def ledoit_wolf_covariance(returns: np.ndarray) -> np.ndarray:
    """Annualised Ledoit-Wolf covariance of periodic returns ``[T][N]``."""
    from sklearn.covariance import LedoitWolf

    return LedoitWolf().fit(returns).covariance_ * PERIODS_PER_YEAR


def _finite(name: str, x: np.ndarray) -> None:
    if not np.all(np.isfinite(x)):
        raise InfeasibleRequestError(f"{name} holds NaN or infinite values")


def _prepare(req: OptimizationRequest) -> _Data:
    ids = [s.strategy_id for s in req.strategies]
    n = len(ids)
    if n == 0:
        raise InfeasibleRequestError("strategies is empty")
    if len(set(ids)) != n:
        raise InfeasibleRequestError("strategies: duplicate strategy_id")
    notes: list[str] = []
    if req.covariance is not None and req.returns is not None:
        raise InfeasibleRequestError("give covariance or returns, not both")
    mu_given = [s.expected_return for s in req.strategies]
    if req.covariance is not None:
        try:
            sigma = np.asarray(req.covariance, dtype=float)
        except ValueError as exc:
            raise InfeasibleRequestError(f"covariance is not a matrix: {exc}") from None
        if sigma.shape != (n, n):
            raise InfeasibleRequestError(
                f"covariance has shape {sigma.shape}, strategies need ({n}, {n})"
            )
        _finite("covariance", sigma)
        if any(m is None for m in mu_given):
            raise InfeasibleRequestError(
                "expected_return is missing for some strategies and no returns were given"
            )
        mu = np.asarray(mu_given, dtype=float)
    elif req.returns is not None:
        try:
            r = np.asarray(req.returns, dtype=float)
        except ValueError as exc:
            raise InfeasibleRequestError(f"returns is not a matrix: {exc}") from None
        if r.ndim != 2 or r.shape[1] != n:
            raise InfeasibleRequestError(
                f"returns has shape {r.shape}, strategies need [T][{n}]"
            )
        _finite("returns", r)
        if r.shape[0] < n or r.shape[0] < 2:
            raise InfeasibleRequestError(
                f"returns has T={r.shape[0]} observations for N={n} strategies: a sample "
                "covariance needs T >= N"
            )
        sigma = ledoit_wolf_covariance(r)
        mean = r.mean(axis=0) * PERIODS_PER_YEAR
        mu = np.array([mean[i] if m is None else m for i, m in enumerate(mu_given)])
        notes.append("covariance: Ledoit-Wolf shrinkage of the returns, x252")
    else:
        raise InfeasibleRequestError("give covariance or returns")
    _finite("expected_return", mu)

    scale = float(np.max(np.abs(np.diag(sigma)))) if n else 1.0
    scale = scale if scale > 0 else 1.0
    if np.max(np.abs(sigma - sigma.T)) > 1e-10 * scale:
        raise InfeasibleRequestError("covariance is not symmetric")
    sigma = 0.5 * (sigma + sigma.T)
    chol = _psd_factor(sigma, 1e-10 * scale)
    s = float(np.mean(np.diag(sigma)))
    s = s if s > 0 else 1.0

    c = req.constraints
    rp = req.risk_parameters
    for name, val in (("min_weight", c.min_weight), ("max_weight", c.max_weight)):
        if not np.isfinite(val):
            raise InfeasibleRequestError(f"{name} is not finite")
    if c.min_weight > c.max_weight:
        raise InfeasibleRequestError(
            f"min_weight {c.min_weight} exceeds max_weight {c.max_weight}"
        )
    if n * c.min_weight > 1 + 1e-12:
        raise InfeasibleRequestError(
            f"min_weight {c.min_weight} x {n} strategies = {n * c.min_weight:.6g} > 1: "
            "the sum of minimums exceeds full investment"
        )
    if n * c.max_weight < 1 - 1e-12:
        raise InfeasibleRequestError(
            f"max_weight {c.max_weight} x {n} strategies = {n * c.max_weight:.6g} < 1: "
            "cannot be fully invested"
        )
    if c.leverage_limit is not None and c.leverage_limit < 1 - 1e-12:
        raise InfeasibleRequestError(
            f"leverage_limit {c.leverage_limit} < 1: a fully invested portfolio has "
            "gross exposure of at least 1"
        )
    if c.min_weight < 0 and c.leverage_limit is None:
        notes.append("min_weight < 0 allows shorts without a leverage_limit")

    sectors = [s.sector for s in req.strategies]
    present = {s for s in sectors if s is not None}
    unknown = sorted(set(c.sector_limits) - present)
    if unknown:
        notes.append(f"sector_limits for unknown sectors ignored: {unknown}")
    names = sorted(set(c.sector_limits) & present)
    A = np.array([[1.0 if s == nm else 0.0 for s in sectors] for nm in names]).reshape(
        len(names), n
    )
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
    # most weight the sector caps and max_weight let the book hold
    if c.min_weight >= 0:
        unlimited = n - int(A.sum())
        reach = unlimited * c.max_weight + sum(
            min(cap, row.sum() * c.max_weight) for row, cap in zip(A, caps)
        )
        if reach < 1 - 1e-12:
            raise InfeasibleRequestError(
                f"sector_limits {dict(zip(names, caps.tolist()))} with max_weight "
                f"{c.max_weight} allow at most {reach:.6g} < 1 in total: cannot be fully "
                "invested"
            )

    w_prev = None
    removed = 0.0
    if c.previous_weights is not None:
        pw = c.previous_weights
        w_prev = np.array([float(pw.get(i, 0.0)) for i in ids])
        removed = float(sum(abs(v) for k, v in pw.items() if k not in set(ids)))
        if removed:
            notes.append(f"previous holdings of removed strategies ({removed:.6g}) count as turnover")
    if c.turnover_limit is not None:
        if c.turnover_limit < 0:
            raise InfeasibleRequestError(f"turnover_limit {c.turnover_limit} is negative")
        if w_prev is None:
            notes.append("turnover_limit ignored: no previous_weights")
        elif 0.5 * removed > c.turnover_limit + 1e-12:
            raise InfeasibleRequestError(
                f"turnover_limit {c.turnover_limit} is below the turnover "
                f"{0.5 * removed:.6g} forced by selling previous_weights of removed strategies"
            )

    if rp.max_volatility is not None and rp.max_volatility <= 0:
        raise InfeasibleRequestError(f"max_volatility {rp.max_volatility} must be positive")
    for name in ("turnover_penalty", "l2_penalty", "risk_aversion", "uncertainty"):
        if getattr(rp, name) < 0:
            raise InfeasibleRequestError(f"risk_parameters.{name} must be >= 0")
    sd = np.array([s.expected_return_sd or 0.0 for s in req.strategies], dtype=float)
    if np.any(sd < 0):
        raise InfeasibleRequestError("expected_return_sd must be >= 0")

    return _Data(
        ids=ids, mu=mu, sigma=sigma, min_w=float(c.min_weight), max_w=float(c.max_weight),
        sector_names=names, sector_matrix=A, sector_caps=caps, w_prev=w_prev,
        removed_prev=removed, turnover_limit=c.turnover_limit,
        leverage_limit=c.leverage_limit, max_vol=rp.max_volatility,
        rf=float(rp.risk_free_rate), risk_aversion=float(rp.risk_aversion),
        turnover_penalty=float(rp.turnover_penalty), l2_penalty=float(rp.l2_penalty),
        sd=sd, uncertainty=float(rp.uncertainty), s=s, factor=chol / np.sqrt(s),
        notes=notes,
    )


def _psd_factor(sigma: np.ndarray, tol: float) -> np.ndarray:
    """Lower-triangular ``L`` with ``L L' = sigma``; raises unless ``min eig(sigma) >= -tol``.

    Positive definite ``sigma``: Cholesky (its success bounds the smallest eigenvalue
    below by ``-O(n^2 eps) max diag``, rounding level).  Otherwise ``sigma = V diag(lam) V'``
    with ``lam`` clipped at 0, and the QR decomposition ``(V diag(sqrt(lam)))' = Q R`` gives
    ``sigma = R' R``, so ``L = R'``.  Either way ``L`` is triangular: the risk term then puts
    ``n (n + 1) / 2`` entries, not ``n^2``, through the DPP map and into the solver.
    """
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        pass
    lam, vec = np.linalg.eigh(sigma)
    if lam[0] < -tol:
        raise InfeasibleRequestError(
            f"covariance is not positive semi-definite (min eigenvalue {lam[0]:.3g})"
        )
    return np.linalg.qr((vec * np.sqrt(np.clip(lam, 0.0, None))).T, mode="r").T


# --------------------------------------------------------------------------- checking


def check_constraints(d: _Data, w: np.ndarray, tol: float = TOL) -> list[str]:
    """Every constraint recomputed from the weights; one string per violation."""
    v: list[str] = []
    if abs(w.sum() - 1) > tol:
        v.append(f"budget: sum of weights {w.sum():.8g} != 1")
    for i, x in enumerate(w):
        if x < d.min_w - tol:
            v.append(f"min_weight: {d.ids[i]} = {x:.8g} < {d.min_w}")
        if x > d.max_w + tol:
            v.append(f"max_weight: {d.ids[i]} = {x:.8g} > {d.max_w}")
    for nm, row, cap in zip(d.sector_names, d.sector_matrix, d.sector_caps):
        s = float(row @ w)
        if s > cap + tol:
            v.append(f"sector_limits[{nm!r}]: {s:.8g} > {cap}")
    if d.has_turnover:
        to = 0.5 * (np.abs(w - d.w_prev).sum() + d.removed_prev)
        if to > d.turnover_limit + tol:
            v.append(f"turnover_limit: turnover {to:.8g} > {d.turnover_limit}")
    if d.leverage_limit is not None:
        g = float(np.abs(w).sum())
        if g > d.leverage_limit + tol:
            v.append(f"leverage_limit: gross {g:.8g} > {d.leverage_limit}")
    if d.max_vol is not None:
        vol = float(np.sqrt(max(w @ d.sigma @ w, 0.0)))
        if vol > d.max_vol + tol:
            v.append(f"max_volatility: volatility {vol:.8g} > {d.max_vol}")
    return v


# --------------------------------------------------------------------------- problems


@dataclass
class _Built:
    problem: cp.Problem
    params: dict[str, cp.Parameter]
    w: cp.Variable  # w, or y for homogenised problems
    kappa: cp.Variable | None
    is_qp: bool


def _lower_param(n: int, name: str) -> tuple[cp.Parameter, cp.Expression]:
    """A parameter ``l`` for the lower triangle of an (n, n) factor (``np.tril_indices``
    order) and the factor itself, ``L = reshape(M l)`` with ``M`` a constant 0/1 scatter
    matrix.  DPP, and only ``n (n + 1) / 2`` entries reach the problem data and the solver's
    KKT system (an (n, n) parameter sends all ``n^2``, zeros included)."""
    rows, cols = np.tril_indices(n)
    k = len(rows)
    scatter = sp.csr_array((np.ones(k), (rows + n * cols, np.arange(k))), shape=(n * n, k))
    p = cp.Parameter(k, name=name)
    return p, cp.reshape(scatter @ p, (n, n), order="F")


def _lower(m: np.ndarray) -> np.ndarray:
    """The lower triangle of ``m`` in the order of :func:`_lower_param`."""
    return m[np.tril_indices(m.shape[0])]


def _mv_key(kind: str, d: _Data, robust: bool) -> tuple:
    return (
        kind, d.n, len(d.sector_names), d.has_turnover, d.has_leverage,
        d.max_vol is not None, robust and kind != "MIN_VOLATILITY",
    )


def _build_mv(kind: str, d: _Data, robust: bool) -> _Built:
    """Build the parametrised problem for one (kind, structure)."""
    n, s_count = d.n, len(d.sector_names)
    P: dict[str, cp.Parameter] = {
        "mu": cp.Parameter(n, name="mu"),
        "lo": cp.Parameter(n, name="lo"),
        "hi": cp.Parameter(n, name="hi"),
    }
    homog = kind == "MAX_SHARPE"
    x = cp.Variable(n, name="y" if homog else "w")
    kappa = cp.Variable(nonneg=True, name="kappa") if homog else None
    one = kappa if homog else 1.0

    def scaled(p):  # parameter times kappa (DPP: parameter x variable) or the parameter
        return cp.multiply(p, kappa) if homog else p

    if kind in ("MIN_VOLATILITY", "MAX_SHARPE") or d.max_vol is not None:
        P["F"], L = _lower_param(n, "F")  # risk ||L'x||^2 with L L' = S / s
    cons = [cp.sum(x) == one, x >= scaled(P["lo"]), x <= scaled(P["hi"])]
    qp = True
    if s_count:
        P["A"] = cp.Parameter((s_count, n), name="A")
        P["caps"] = cp.Parameter(s_count, name="caps")
        cons.append(P["A"] @ x <= scaled(P["caps"]))
    if d.has_turnover:
        P["w_prev"] = cp.Parameter(n, name="w_prev")
        P["to_budget"] = cp.Parameter(name="to_budget")  # 2*limit - removed mass
        cons.append(cp.norm1(x - scaled(P["w_prev"])) <= scaled(P["to_budget"]))
    if d.has_leverage:
        P["lev"] = cp.Parameter(nonneg=True, name="lev")
        cons.append(cp.norm1(x) <= scaled(P["lev"]))
    if d.max_vol is not None:
        P["vol"] = cp.Parameter(nonneg=True, name="vol")  # max_vol / sqrt(s)
        cons.append(cp.norm(L.T @ x, 2) <= scaled(P["vol"]))
        qp = False
    ret = P["mu"] @ x
    if robust and kind != "MIN_VOLATILITY":
        P["sd"] = cp.Parameter(n, nonneg=True, name="sd")  # k * sd / mu scale
        ret = ret - cp.norm(cp.multiply(P["sd"], x), 2)
        qp = False
    if kind == "MIN_VOLATILITY":
        obj = cp.Minimize(cp.sum_squares(L.T @ x))
    elif kind == "MAX_RETURN":
        obj = cp.Maximize(ret)
    elif kind == "MAX_SHARPE":
        cons.append(ret >= 1 if robust else ret == 1)
        obj = cp.Minimize(cp.sum_squares(L.T @ x))
    elif kind == "MULTI_OBJECTIVE":
        # DPP: risk_aversion folded into the factor G, turnover_penalty into tp_prev
        P["G"], g = _lower_param(n, "G")  # sqrt(ra * s / m) * L
        P["tp"] = cp.Parameter(nonneg=True, name="tp")
        P["tp_prev"] = cp.Parameter(n, name="tp_prev")  # tp * w_prev
        P["l2"] = cp.Parameter(nonneg=True, name="l2")
        obj = cp.Maximize(
            ret - cp.sum_squares(g.T @ x) - cp.norm1(P["tp"] * x - P["tp_prev"])
            - P["l2"] * cp.sum_squares(x)
        )
    else:  # pragma: no cover
        raise ValueError(kind)
    prob = cp.Problem(obj, cons)
    assert prob.is_dcp(dpp=True), "problem must stay DPP"
    return _Built(prob, P, x, kappa, qp)


def _fill_mv(b: _Built, kind: str, d: _Data, mu: np.ndarray) -> None:
    """Put the request's (scaled) data into the parameters."""
    n, s = d.n, d.s
    P = b.params
    if "F" in P:
        P["F"].value = _lower(d.factor)
    ex = mu - d.rf if kind == "MAX_SHARPE" else mu
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
    if kind == "MULTI_OBJECTIVE":
        # divide the whole utility by m: mu/m - (ra*s/m) risk_s - (tp/m) L1 - (l2/m) L2
        prev = d.w_prev if d.w_prev is not None else np.zeros(n)
        P["G"].value = np.sqrt(d.risk_aversion * s / m) * _lower(d.factor)
        P["tp"].value = d.turnover_penalty / m
        P["tp_prev"].value = d.turnover_penalty / m * prev
        P["l2"].value = d.l2_penalty / m


@cache
def _installed_solvers() -> frozenset[str]:
    """``cp.installed_solvers()`` probes imports on every call (~3 ms): ask once."""
    return frozenset(cp.installed_solvers())


def _solve(problem: cp.Problem, is_qp: bool, notes: list[str]) -> tuple[str, str, int]:
    """Try ``SOLVER_CHAIN`` in order (OSQP only for QPs); every attempt goes to ``notes``.
    Returns (solver, status, iterations)."""
    last = ("none", "solver_error", 0)
    for solver, settings in SOLVER_CHAIN:
        if solver == "OSQP" and not is_qp:
            continue
        if solver not in _installed_solvers():
            continue
        tol = [v for k, v in settings.items() if k.startswith(("tol_", "eps_"))]
        name = f"{solver} (tolerance {max(tol):g})"
        try:
            with warnings.catch_warnings():  # an inaccurate status is recorded and the chain moves on
                warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
                problem.solve(solver=solver, canon_backend=CANON_BACKEND, **settings)
        except (cp.error.SolverError, cp.error.DCPError, ValueError) as exc:
            notes.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
            last = (solver, "solver_error", 0)
            continue
        status = problem.status
        iters = problem.solver_stats.num_iters if problem.solver_stats else None
        notes.append(f"{name}: {status}")
        if status in (cp.OPTIMAL, cp.INFEASIBLE, cp.UNBOUNDED):
            return solver, status, int(iters or 0)
        last = (solver, status, int(iters or 0))
    return last


def _diagnose(d: _Data, objective: str, mu: np.ndarray | None = None) -> str:
    """Name the constraint groups that cannot hold together (plain cvxpy, on failure only)."""
    n = d.n
    w = cp.Variable(n)
    base = [cp.sum(w) == 1, w >= d.min_w, w <= d.max_w]
    groups: dict[str, list] = {}
    if d.sector_names:
        groups["sector_limits"] = [d.sector_matrix @ w <= d.sector_caps]
    if d.has_turnover:
        groups["turnover_limit (from previous_weights)"] = [
            cp.norm1(w - d.w_prev) <= 2 * d.turnover_limit - d.removed_prev
        ]
    if d.leverage_limit is not None:
        groups["leverage_limit"] = [cp.norm1(w) <= d.leverage_limit]
    if d.max_vol is not None:
        groups["max_volatility"] = [cp.norm(np.sqrt(d.s) * d.factor.T @ w, 2) <= d.max_vol]

    def feasible(cons) -> bool:
        p = cp.Problem(cp.Minimize(0), cons)
        try:
            p.solve(solver="CLARABEL")
        except cp.error.SolverError:
            p.solve(solver="SCS")
        return p.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)

    bounds = f"min_weight/max_weight [{d.min_w}, {d.max_w}] with full investment"
    if not feasible(base):
        return f"infeasible: {bounds}"
    alone = [g for g, c in groups.items() if not feasible(base + c)]
    if alone:
        return "infeasible: " + ", ".join(alone) + f" cannot hold with {bounds}"
    names = list(groups)
    pairs = [
        f"{a} + {b}" for k, a in enumerate(names) for b in names[k + 1:]
        if not feasible(base + groups[a] + groups[b])
    ]
    if pairs:
        return "infeasible: " + "; ".join(pairs) + f" cannot hold together with {bounds}"
    all_cons = base + [c for cs in groups.values() for c in cs]
    if not feasible(all_cons):
        return "infeasible: " + " + ".join(groups) + f" together with {bounds}"
    if objective == "MAX_SHARPE":
        p = cp.Problem(cp.Maximize(((d.mu if mu is None else mu) - d.rf) @ w), all_cons)
        p.solve(solver="CLARABEL")
        best = p.value if p.value is not None else float("nan")
        return (
            "MAX_SHARPE: no portfolio allowed by the constraints has expected return above "
            f"risk_free_rate {d.rf} (best excess return {best:.6g}); constraints: "
            + ", ".join([bounds, *groups])
        )
    return "solver reported infeasible/unbounded under: " + ", ".join([bounds, *groups])


# --------------------------------------------------------------------------- risk parity


def _risk_budgets(req: OptimizationRequest, ids: list[str]) -> np.ndarray:
    rb = req.risk_parameters.risk_budgets
    if rb is None:
        return np.full(len(ids), 1.0 / len(ids))
    unknown = sorted(set(rb) - set(ids))
    if unknown:
        raise InfeasibleRequestError(f"risk_budgets name unknown strategies {unknown}")
    b = np.array([float(rb.get(i, 0.0)) for i in ids])
    if np.any(~np.isfinite(b)) or np.any(b <= 0):
        raise InfeasibleRequestError("risk_budgets must be positive for every strategy")
    return b / b.sum()


def _newton_log_barrier(sigma: np.ndarray, b: np.ndarray, max_iter: int = 200) -> tuple[np.ndarray, int]:
    """argmin f(y) = 0.5 y'Sy - b'log y by damped Newton; returns (y, iterations).

    Step ``d = H^-1 g`` with ``g = S y - b / y`` and ``H = S + diag(b / y^2)``; the Newton
    decrement ``dec = g' d`` stops it below 1e-24.  The step is halved until ``y > 0`` and,
    while ``dec > 1e-12``, until ``f`` falls by ``dec t / 4`` (Armijo).  Below 1e-12 full
    steps are taken (quadratic convergence): f's rounding (~1e-16 |f|) hides the decrease
    there, and backtracking on it would stall.
    """
    diag = np.diag(sigma)
    if np.any(diag <= 0):
        raise InfeasibleRequestError("RISK_PARITY needs every strategy to have positive variance")
    y = np.sqrt(b / diag)
    f = lambda z: 0.5 * z @ sigma @ z - b @ np.log(z)  # noqa: E731
    for it in range(1, max_iter + 1):
        g = sigma @ y - b / y
        H = sigma + np.diag(b / y**2)
        step = np.linalg.solve(H, g)
        dec = float(g @ step)
        if dec < 1e-24:
            return y, it
        t = 1.0
        while np.any(y - t * step <= 0):
            t *= 0.5
        if dec > 1e-12:
            f0 = f(y)
            while f(y - t * step) > f0 - 0.25 * t * dec and t > 1e-12:
                t *= 0.5
        y = y - t * step
    return y, max_iter


def _rp_key(d: _Data) -> tuple:
    return ("RISK_PARITY", d.n, len(d.sector_names), d.has_turnover, d.has_leverage)


def _build_rp(d: _Data) -> _Built:
    """The constrained log-barrier problem for one structure, every constraint homogenised
    in ``y`` with ``t = sum(y)``: ``min 0.5 ||L' y||^2 - b' log(y)`` s.t.
    ``lo t <= y <= hi t``, ``A y <= caps t``, ``||y - w_prev t||_1 <= to_budget t``,
    ``||y||_1 <= lev t``; then ``w = y / t``."""
    n, s_count = d.n, len(d.sector_names)
    F, lower = _lower_param(n, "F")
    P: dict[str, cp.Parameter] = {
        "F": F,
        "b": cp.Parameter(n, nonneg=True, name="b"),
        "lo": cp.Parameter(name="lo"),
        "hi": cp.Parameter(name="hi"),
    }
    y = cp.Variable(n, pos=True, name="y")
    t = cp.Variable(nonneg=True, name="t")  # a variable, so each bound row has 2 entries
    cons = [cp.sum(y) == t, y >= P["lo"] * t, y <= P["hi"] * t]
    if s_count:
        P["A"] = cp.Parameter((s_count, n), name="A")
        P["caps"] = cp.Parameter(s_count, name="caps")
        cons.append(P["A"] @ y <= P["caps"] * t)
    if d.has_turnover:
        P["w_prev"] = cp.Parameter(n, name="w_prev")
        P["to_budget"] = cp.Parameter(name="to_budget")
        cons.append(cp.norm1(y - P["w_prev"] * t) <= P["to_budget"] * t)
    if d.has_leverage:
        P["lev"] = cp.Parameter(nonneg=True, name="lev")
        cons.append(cp.norm1(y) <= P["lev"] * t)
    obj = cp.Minimize(0.5 * cp.sum_squares(lower.T @ y) - P["b"] @ cp.log(y))
    prob = cp.Problem(obj, cons)
    assert prob.is_dcp(dpp=True), "problem must stay DPP"
    return _Built(prob, P, y, None, False)


def _fill_linear_limits(P: dict, d: _Data) -> None:
    """Sector caps, the turnover budget ``2 tau - removed`` and leverage, where the problem has them."""
    if "A" in P:
        P["A"].value = d.sector_matrix
        P["caps"].value = d.sector_caps
    if "w_prev" in P:
        P["w_prev"].value = d.w_prev
        P["to_budget"].value = 2 * d.turnover_limit - d.removed_prev
    if "lev" in P:
        P["lev"].value = d.leverage_limit


def _fill_rp(rp: _Built, d: _Data, b: np.ndarray) -> None:
    """Put the request's data into a :func:`_build_rp` problem."""
    P = rp.params
    P["F"].value = _lower(d.factor)
    P["b"].value = b
    P["lo"].value = d.min_w
    P["hi"].value = d.max_w
    _fill_linear_limits(P, d)


def _risk_parity_constrained(
    rp: _Built, d: _Data, b: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, str, str, int]:
    """Solve the cached constrained problem ``rp``; returns (w, solver, status, iterations)."""
    if d.max_vol is not None:
        notes.append("max_volatility is not enforced by RISK_PARITY (only checked)")
    _fill_rp(rp, d, b)
    solver, status, iters = _solve(rp.problem, False, notes)
    if status in (cp.INFEASIBLE, cp.UNBOUNDED) or rp.w.value is None:
        raise InfeasibleRequestError(_diagnose(d, "RISK_PARITY"))
    yv = np.asarray(rp.w.value, dtype=float)
    return yv / yv.sum(), solver, status, iters


# --------------------------------------------------------------------------- HRP


def _clip_redistribute(w: np.ndarray, lo: float, hi: float, max_iter: int = 1000) -> np.ndarray:
    """Clip to [lo, hi] and move the excess/shortfall proportionally onto the free weights."""
    w = w.copy()
    fixed = np.zeros(len(w), dtype=bool)
    for _ in range(max_iter):
        over = (w > hi + 1e-15) & ~fixed
        under = (w < lo - 1e-15) & ~fixed
        if not over.any() and not under.any():
            break
        w[over] = hi
        w[under] = lo
        fixed |= over | under
        free = ~fixed
        gap = 1.0 - w.sum()
        if not free.any():
            break
        base = w[free].sum()
        if base > 0:
            w[free] += gap * w[free] / base
        else:
            w[free] += gap / free.sum()
    return w


def hrp_weights(sigma: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """HRP weights (before bounds) and the quasi-diagonal order (see module docstring)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    n = sigma.shape[0]
    std = np.sqrt(np.diag(sigma))
    if np.any(std <= 0):
        raise InfeasibleRequestError("HIERARCHICAL_RISK_PARITY needs positive variances")
    if n == 1:
        return np.ones(1), [0]
    corr = np.clip(sigma / np.outer(std, std), -1.0, 1.0)
    dist = np.sqrt(np.clip(0.5 * (1.0 - corr), 0.0, None))
    np.fill_diagonal(dist, 0.0)
    link = linkage(squareform(dist, checks=False), method="single")
    order = [int(i) for i in leaves_list(link)]

    def cluster_var(idx: list[int]) -> float:
        sub = sigma[np.ix_(idx, idx)]
        ivp = 1.0 / np.diag(sub)
        ivp /= ivp.sum()
        return float(ivp @ sub @ ivp)

    w = np.ones(n)
    stack = [order]
    while stack:
        items = stack.pop()
        if len(items) < 2:
            continue
        half = len(items) // 2
        left, right = items[:half], items[half:]
        v1, v2 = cluster_var(left), cluster_var(right)
        alpha = 1.0 - v1 / (v1 + v2)
        w[left] *= alpha
        w[right] *= 1.0 - alpha
        stack += [left, right]
    return w / w.sum(), order


# --------------------------------------------------------------------------- BL


def black_litterman_mean(req: OptimizationRequest, d: _Data, tau: float) -> np.ndarray:
    """Posterior mean (module docstring); no views returns the equilibrium prior."""
    sigma = d.sigma
    w_mkt = d.w_prev if d.w_prev is not None and d.w_prev.sum() > 0 else np.full(d.n, 1.0 / d.n)
    w_mkt = w_mkt / w_mkt.sum()
    pi = d.risk_aversion * sigma @ w_mkt
    views = req.views or []
    if not views:
        return pi
    index = {k: i for i, k in enumerate(d.ids)}
    P = np.zeros((len(views), d.n))
    q = np.zeros(len(views))
    om = np.zeros(len(views))
    for k, v in enumerate(views):
        if v.strategy_id not in index:
            raise InfeasibleRequestError(f"views: unknown strategy {v.strategy_id!r}")
        P[k, index[v.strategy_id]] = 1.0
        q[k] = v.expected_return
        if v.variance is not None:
            if v.variance <= 0:
                raise InfeasibleRequestError("views: variance must be positive")
            om[k] = v.variance
        else:
            conf = 0.5 if v.confidence is None else v.confidence
            if not 0 < conf <= 1:
                raise InfeasibleRequestError("views: confidence must be in (0, 1]")
            om[k] = tau * (P[k] @ sigma @ P[k]) / conf
    ts = tau * sigma
    M = P @ ts @ P.T + np.diag(om)
    return pi + ts @ P.T @ np.linalg.solve(M, q - P @ pi)


# --------------------------------------------------------------------------- engine


class Optimizer:
    """Holds a cache of built cvxpy problems; ``problems_built`` counts the builds."""

    def __init__(self) -> None:
        self._cache: dict[tuple, _Built] = {}
        self.problems_built = 0

    def _problem(self, key: tuple, build: Callable[[], _Built]) -> _Built:
        if key not in self._cache:
            self._cache[key] = build()
            self.problems_built += 1
        return self._cache[key]

    def optimize(self, request: OptimizationRequest | dict) -> OptimizationResponse:
        t0 = time.perf_counter()
        req = (
            request if isinstance(request, OptimizationRequest)
            else OptimizationRequest.model_validate(request)
        )
        d = _prepare(req)
        notes = d.notes
        method, objective = req.method, req.objective
        mu = d.mu

        if method == Method.HIERARCHICAL_RISK_PARITY:
            raw, order = hrp_weights(d.sigma)
            w = _clip_redistribute(raw, d.min_w, d.max_w)
            notes.append("HRP order: " + ",".join(d.ids[i] for i in order))
            if objective not in (Objective.RISK_PARITY, Objective.MIN_VOLATILITY):
                notes.append(f"objective {objective.value} ignored by HRP")
            solver, status, iters = "hrp", "optimal", 0
            obj_value = float(w @ d.sigma @ w)
        elif method == Method.RISK_PARITY or objective == Objective.RISK_PARITY:
            b = _risk_budgets(req, d.ids)
            y, iters = _newton_log_barrier(d.sigma / d.s, b)
            w = y / y.sum()
            solver, status = "newton_log_barrier", "optimal"
            if check_constraints(d, w):
                notes.append("constraints bind: re-solved with homogenised constraints; "
                             "risk contributions are not equal to the budgets")
                rp = self._problem(_rp_key(d), lambda: _build_rp(d))
                w, solver, status, iters = _risk_parity_constrained(rp, d, b, notes)
            rc = w * (d.sigma @ w)
            obj_value = float(np.sum((rc / rc.sum() - b) ** 2))
        else:
            robust = method == Method.ROBUST_OPTIMIZATION
            if method == Method.BLACK_LITTERMAN:
                mu = black_litterman_mean(req, d, req.risk_parameters.tau)
                notes.append("Black-Litterman posterior mean: " + ", ".join(
                    f"{i}={m:.6g}" for i, m in zip(d.ids, mu)))
            kind = objective.value
            if kind == "MAX_RETURN" and d.max_vol is None:
                raise InfeasibleRequestError(
                    "MAX_RETURN needs risk_parameters.max_volatility (it is missing)"
                )
            if kind == "MAX_SHARPE" and not np.any(mu > d.rf):
                raise InfeasibleRequestError(
                    f"MAX_SHARPE: no strategy has expected return above risk_free_rate {d.rf}"
                )
            if robust and not np.any(d.sd > 0):
                notes.append("ROBUST_OPTIMIZATION without expected_return_sd equals MEAN_VARIANCE")
            b = self._problem(_mv_key(kind, d, robust), lambda: _build_mv(kind, d, robust))
            _fill_mv(b, kind, d, mu)
            solver, status, iters = _solve(b.problem, b.is_qp, notes)
            if status in (cp.INFEASIBLE, cp.UNBOUNDED) or b.w.value is None:
                raise InfeasibleRequestError(_diagnose(d, kind, mu))
            x = np.asarray(b.w.value, dtype=float)
            if b.kappa is not None:
                kap = float(b.kappa.value)
                if not kap > 0:
                    raise InfeasibleRequestError(_diagnose(d, kind, mu))
                x = x / kap
            w = x
            ret = float(mu @ w)
            var = float(w @ d.sigma @ w)
            if kind == "MIN_VOLATILITY":
                obj_value = var
            elif kind == "MAX_RETURN":
                obj_value = ret - (d.uncertainty * np.linalg.norm(d.sd * w) if robust else 0.0)
            elif kind == "MAX_SHARPE":
                obj_value = (ret - d.rf) / np.sqrt(var) if var > 0 else float("inf")
            else:
                prev = d.w_prev if d.w_prev is not None else np.zeros(d.n)
                obj_value = (
                    ret - d.risk_aversion * var - d.turnover_penalty * np.abs(w - prev).sum()
                    - d.l2_penalty * float(w @ w)
                    - (d.uncertainty * np.linalg.norm(d.sd * w) if robust else 0.0)
                )

        w = np.where(np.abs(w) < 1e-13, 0.0, w)
        violations = check_constraints(d, w)
        ret = float(mu @ w)
        vol = float(np.sqrt(max(float(w @ d.sigma @ w), 0.0)))
        sharpe = (ret - d.rf) / vol if vol > 0 else float("nan")
        meta = OptimizationMetadata(
            convergence_status=status, iterations=int(iters),
            optimization_time_ms=(time.perf_counter() - t0) * 1000.0,
            objective_value=float(obj_value), constraints_satisfied=not violations,
            solver=solver, violations=violations, notes=notes,
        )
        return OptimizationResponse(
            portfolio_id=req.portfolio_id,
            optimal_weights={i: float(x) for i, x in zip(d.ids, w)},
            expected_return=ret, expected_volatility=vol, sharpe_ratio=sharpe,
            optimization_metadata=meta,
        )


def optimize(
    request: OptimizationRequest | dict, optimizer: Optimizer | None = None
) -> OptimizationResponse:
    """Solve one request (see the module docstring); re-use ``optimizer`` to cache problems."""
    return (optimizer or Optimizer()).optimize(request)
