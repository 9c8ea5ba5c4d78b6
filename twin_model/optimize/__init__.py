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
* Reported figures are unscaled and recomputed from the weights.  An impossible request
  raises :class:`InfeasibleRequestError` naming the constraints that cannot hold together.

Where each part lives
---------------------
``_request`` the models and the bounds declared on them; ``_moments`` the moments,
Ledoit-Wolf and the triangular risk factor; ``_data`` the checked arrays of a request;
``_problems`` the cached DPP problem families; ``_methods`` one object per method and the
registry; ``_risk_parity`` the risk-parity and HRP arithmetic; ``_infeasibility`` naming
the constraints that cannot hold; ``_figures`` what the response reports; ``_engine``
:class:`Optimizer`, the solver chain and :func:`optimize`.
"""

from twin_model.errors import InfeasibleRequestError
from twin_model.optimize._engine import CANON_BACKEND, SOLVER_CHAIN, Optimizer, optimize
from twin_model.optimize._moments import ledoit_wolf_covariance
from twin_model.optimize._request import (
    Constraints,
    Method,
    Objective,
    OptimizationMetadata,
    OptimizationRequest,
    OptimizationResponse,
    RiskParameters,
    StrategyInput,
    View,
)

__all__ = [
    "CANON_BACKEND",
    "SOLVER_CHAIN",
    "Constraints",
    "InfeasibleRequestError",
    "Method",
    "Objective",
    "OptimizationMetadata",
    "OptimizationRequest",
    "OptimizationResponse",
    "Optimizer",
    "RiskParameters",
    "StrategyInput",
    "View",
    "ledoit_wolf_covariance",
    "optimize",
]
