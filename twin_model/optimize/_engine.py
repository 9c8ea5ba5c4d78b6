"""The engine: :class:`Optimizer` (its cache of built problems, the solver fallback chain)
and :func:`optimize`.

Solvers (``SOLVER_CHAIN``): Clarabel at tolerance 1e-9, Clarabel at its default 1e-8, then
SCS, then OSQP (where the problem is a QP); the solver that produced the answer is
reported, every attempt is listed in ``notes``.  An infeasible problem raises
:class:`InfeasibleRequestError` naming the constraint groups that cannot hold together,
never weights.

BLAS is pinned to one thread from the first solve on (:class:`OneBlasThread`, through
threadpoolctl), whatever ``OPENBLAS_NUM_THREADS`` the process was started with: on the
shared 2-core box OpenBLAS's default made ``numpy.linalg.eigh`` of a 100 x 100 matrix
~200 ms instead of ~1.5 ms (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import cvxpy as cp
import numpy as np
from threadpoolctl import threadpool_limits

from twin_model.optimize._data import prepare
from twin_model.optimize._figures import response
from twin_model.optimize._methods import method_for
from twin_model.optimize._problems import Built
from twin_model.optimize._request import OptimizationRequest, OptimizationResponse

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


@cache
def _installed_solvers() -> frozenset[str]:
    """``cp.installed_solvers()`` probes imports on every call (~3 ms): ask once."""
    return frozenset(cp.installed_solvers())


def _solve_chain(problem: cp.Problem, is_qp: bool, notes: list[str], warm_start: bool) -> tuple[str, str, int]:
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
                problem.solve(solver=solver, warm_start=warm_start, canon_backend=CANON_BACKEND, **settings)
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


class OneBlasThread:
    """Pins BLAS to one thread, process-wide, from the first solve on.

    OpenBLAS has one thread pool per process, and threadpoolctl lets only one Python
    thread at a time set it (others silently do nothing), while a service solves on
    many threads: so the pin is set once and kept, not set and restored around each
    solve. The libraries are listed (~1 ms) before the first solve and once more after
    it (the first solve may load another BLAS, SCS's); later calls check one counter.
    """

    PASSES = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.passes = 0

    def ensure(self) -> None:
        if self.passes >= self.PASSES:
            return
        with self._lock:
            if self.passes < self.PASSES:
                threadpool_limits(limits=1, user_api="blas")
                self.passes += 1


ONE_BLAS_THREAD = OneBlasThread()


@dataclass(frozen=True)
class Solved:
    """One solve of a cached problem: the variable's value (None without an answer), kappa
    for the homogenised MAX_SHARPE problem, and how the chain ended."""

    x: np.ndarray | None
    kappa: float | None
    solver: str
    status: str
    iterations: int

    @property
    def failed(self) -> bool:
        return self.status in (cp.INFEASIBLE, cp.UNBOUNDED) or self.x is None


class Optimizer:
    """Holds a cache of built cvxpy problems; ``problems_built`` counts the builds.

    Threads may share an optimizer: the cache is guarded by a lock, and each problem by its
    own while it is filled, solved and read.  ``warm_start=False`` hands every solve a
    fresh solver (cvxpy still re-uses the compiled problem), so an answer does not depend
    on the requests solved before it; the default re-uses the solver state, as the
    solution level's optimizer always has.
    """

    def __init__(self, warm_start: bool = True) -> None:
        self._cache: dict[tuple, Built] = {}
        self._lock = threading.Lock()
        self._warm_start = warm_start
        self.problems_built = 0

    def _problem(self, key: tuple, build: Callable[[], Built]) -> Built:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
                self.problems_built += 1
            return self._cache[key]

    def solve(self, key: tuple, build: Callable[[], Built], fill: Callable[[Built], None], notes: list[str]) -> Solved:
        """Fill the problem cached under ``key`` (built by ``build`` the first time) and solve it."""
        built = self._problem(key, build)
        with built.lock:
            fill(built)
            solver, status, iters = _solve_chain(built.problem, built.is_qp, notes, self._warm_start)
            x = None if built.w.value is None else np.asarray(built.w.value, dtype=float)
            kappa = None if built.kappa is None or built.kappa.value is None else float(built.kappa.value)
        return Solved(x, kappa, solver, status, iters)

    def optimize(self, request: OptimizationRequest | dict) -> OptimizationResponse:
        """Solve one request (see the package docstring), BLAS on one thread."""
        t0 = time.perf_counter()
        req = request if isinstance(request, OptimizationRequest) else OptimizationRequest.checked(request)
        ONE_BLAS_THREAD.ensure()
        d = prepare(req)
        solution = method_for(req).solve(req, d, self)
        ONE_BLAS_THREAD.ensure()
        return response(req, d, solution, t0)


_SHARED = Optimizer(warm_start=False)


def optimize(request: OptimizationRequest | dict, optimizer: Optimizer | None = None) -> OptimizationResponse:
    """Solve one request; without ``optimizer`` the process-wide one (thread-safe, its
    answers independent of earlier requests) re-uses the compiled problems."""
    return (optimizer or _SHARED).optimize(request)
