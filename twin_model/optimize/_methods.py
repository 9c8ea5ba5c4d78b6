"""One object per method and the registry the engine dispatches through.

* MEAN_VARIANCE: the requested objective on the cached mean-variance problem
  (:mod:`twin_model.optimize._problems`).  Objective RISK_PARITY under a mean-variance
  method runs RISK_PARITY.
* BLACK_LITTERMAN: prior ``pi = delta * S * w_mkt`` (``delta = risk_aversion``; ``w_mkt`` =
  previous weights if given, else equal weights), views on single strategies (``P`` rows
  are unit vectors), ``omega_kk = tau * (P S P')_kk / confidence_k`` (or the view's
  ``variance``), ``tau = risk_parameters.tau``.  Posterior mean
  ``mu_BL = pi + tau S P' (P tau S P' + Omega)^-1 (q - P pi)``; the requested objective then
  runs on ``mu_BL`` (the covariance is not updated), and the reported expected return and
  Sharpe use ``mu_BL``.
* ROBUST_OPTIMIZATION: ellipsoidal uncertainty on mu, worst-case return
  ``mu' w - k * ||diag(sd) w||_2`` (``sd`` the strategies' ``expected_return_sd``, ``k =
  risk_parameters.uncertainty``) in place of ``mu' w`` in MAX_RETURN and MULTI_OBJECTIVE and
  of ``(mu - rf)' y`` in MAX_SHARPE (``>= 1``); MIN_VOLATILITY is unchanged.  The reported
  expected return is the nominal ``mu' w``.
* RISK_PARITY: risk budgets ``b`` by damped Newton on the log barrier; if the result breaks
  a bound, sector or turnover limit, the cached homogenised problem is solved instead and
  ``notes`` says the contributions are not equal to the budgets.  ``objective_value`` is
  ``sum_i (RC_i / sum(RC) - b_i)^2``.
* HIERARCHICAL_RISK_PARITY: Lopez de Prado's weights, then min/max weights by clipping and
  redistributing; mu, sectors and turnover are ignored (any breach is a violation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from twin_model.errors import InfeasibleRequestError
from twin_model.optimize._data import ProblemData
from twin_model.optimize._figures import Solution, check_constraints
from twin_model.optimize._infeasibility import diagnose
from twin_model.optimize._problems import build_mv, build_rp, fill_mv, fill_rp, mv_key, rp_key
from twin_model.optimize._request import Method, Objective, OptimizationRequest
from twin_model.optimize._risk_parity import clip_redistribute, hrp_weights, newton_log_barrier, risk_budgets

if TYPE_CHECKING:
    from twin_model.optimize._engine import Optimizer


class OptimizationMethod(Protocol):
    def solve(self, req: OptimizationRequest, d: ProblemData, optimizer: Optimizer) -> Solution: ...


class HierarchicalRiskParity:
    def solve(self, req: OptimizationRequest, d: ProblemData, optimizer: Optimizer) -> Solution:
        raw, order = hrp_weights(d.sigma)
        w = clip_redistribute(raw, d.min_w, d.max_w)
        d.notes.append("HRP order: " + ",".join(d.ids[i] for i in order))
        if req.objective not in (Objective.RISK_PARITY, Objective.MIN_VOLATILITY):
            d.notes.append(f"objective {req.objective.value} ignored by HRP")
        return Solution(w, d.mu, "hrp", "optimal", 0, float(w @ d.sigma @ w))


class RiskParity:
    def solve(self, req: OptimizationRequest, d: ProblemData, optimizer: Optimizer) -> Solution:
        b = risk_budgets(req, d.ids)
        y, iters = newton_log_barrier(d.sigma / d.s, b)
        w = y / y.sum()
        solver, status = "newton_log_barrier", "optimal"
        if check_constraints(d, w):
            d.notes.append(
                "constraints bind: re-solved with homogenised constraints; "
                "risk contributions are not equal to the budgets"
            )
            w, solver, status, iters = self._constrained(d, b, optimizer)
        rc = w * (d.sigma @ w)
        return Solution(w, d.mu, solver, status, iters, float(np.sum((rc / rc.sum() - b) ** 2)))

    @staticmethod
    def _constrained(d: ProblemData, b: np.ndarray, optimizer: Optimizer) -> tuple[np.ndarray, str, str, int]:
        """The cached homogenised problem; returns (w, solver, status, iterations)."""
        if d.max_vol is not None:
            d.notes.append("max_volatility is not enforced by RISK_PARITY (only checked)")
        solved = optimizer.solve(rp_key(d), lambda: build_rp(d), lambda built: fill_rp(built, d, b), d.notes)
        if solved.failed:
            raise InfeasibleRequestError(diagnose(d, Objective.RISK_PARITY))
        return solved.x / solved.x.sum(), solved.solver, solved.status, solved.iterations


def _robust_penalty(d: ProblemData, w: np.ndarray) -> float:
    return d.uncertainty * np.linalg.norm(d.sd * w)


# objective_value from (d, w, mu' w, w' S w, the robust penalty or 0)
_OBJECTIVE_VALUES: dict[Objective, Callable[[ProblemData, np.ndarray, float, float, float], float]] = {
    Objective.MIN_VOLATILITY: lambda d, w, ret, var, pen: var,
    Objective.MAX_RETURN: lambda d, w, ret, var, pen: ret - pen,
    Objective.MAX_SHARPE: lambda d, w, ret, var, pen: (ret - d.rf) / np.sqrt(var) if var > 0 else float("inf"),
    Objective.MULTI_OBJECTIVE: lambda d, w, ret, var, pen: (
        ret
        - d.risk_aversion * var
        - d.turnover_penalty * np.abs(w - (d.w_prev if d.w_prev is not None else np.zeros(d.n))).sum()
        - d.l2_penalty * float(w @ w)
        - pen
    ),
}


class MeanVariance:
    """The requested objective on the mean-variance problem with :meth:`expected_returns`."""

    robust = False

    def expected_returns(self, req: OptimizationRequest, d: ProblemData) -> np.ndarray:
        return d.mu

    def solve(self, req: OptimizationRequest, d: ProblemData, optimizer: Optimizer) -> Solution:
        if req.objective == Objective.RISK_PARITY:
            return METHODS[Method.RISK_PARITY].solve(req, d, optimizer)
        kind = req.objective
        mu = self.expected_returns(req, d)
        if kind == Objective.MAX_RETURN and d.max_vol is None:
            raise InfeasibleRequestError("MAX_RETURN needs risk_parameters.max_volatility (it is missing)")
        if kind == Objective.MAX_SHARPE and not np.any(mu > d.rf):
            raise InfeasibleRequestError(f"MAX_SHARPE: no strategy has expected return above risk_free_rate {d.rf}")
        solved = optimizer.solve(
            mv_key(kind, d, self.robust),
            lambda: build_mv(kind, d, self.robust),
            lambda built: fill_mv(built, kind, d, mu),
            d.notes,
        )
        if solved.failed or (solved.kappa is not None and not solved.kappa > 0):
            raise InfeasibleRequestError(diagnose(d, kind, mu))
        w = solved.x if solved.kappa is None else solved.x / solved.kappa
        pen = _robust_penalty(d, w) if self.robust else 0.0
        value = _OBJECTIVE_VALUES[kind](d, w, float(mu @ w), float(w @ d.sigma @ w), pen)
        return Solution(w, mu, solved.solver, solved.status, solved.iterations, value)


class BlackLitterman(MeanVariance):
    """Mean-variance on the Black-Litterman posterior mean (no views: the prior)."""

    def expected_returns(self, req: OptimizationRequest, d: ProblemData) -> np.ndarray:
        mu = black_litterman_mean(req, d, req.risk_parameters.tau)
        d.notes.append("Black-Litterman posterior mean: " + ", ".join(f"{i}={m:.6g}" for i, m in zip(d.ids, mu)))
        return mu


class RobustOptimization(MeanVariance):
    """Mean-variance with the worst-case return over the ellipsoid of ``expected_return_sd``."""

    robust = True

    def expected_returns(self, req: OptimizationRequest, d: ProblemData) -> np.ndarray:
        if not np.any(d.sd > 0):
            d.notes.append("ROBUST_OPTIMIZATION without expected_return_sd equals MEAN_VARIANCE")
        return d.mu


def black_litterman_mean(req: OptimizationRequest, d: ProblemData, tau: float) -> np.ndarray:
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
        conf = 0.5 if v.confidence is None else v.confidence
        om[k] = v.variance if v.variance is not None else tau * (P[k] @ sigma @ P[k]) / conf
    ts = tau * sigma
    M = P @ ts @ P.T + np.diag(om)
    return pi + ts @ P.T @ np.linalg.solve(M, q - P @ pi)


METHODS: dict[Method, OptimizationMethod] = {
    Method.MEAN_VARIANCE: MeanVariance(),
    Method.BLACK_LITTERMAN: BlackLitterman(),
    Method.RISK_PARITY: RiskParity(),
    Method.HIERARCHICAL_RISK_PARITY: HierarchicalRiskParity(),
    Method.ROBUST_OPTIMIZATION: RobustOptimization(),
}


def method_for(req: OptimizationRequest) -> OptimizationMethod:
    """The method object that solves ``req``."""
    return METHODS[req.method]
