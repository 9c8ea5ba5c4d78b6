"""The request and response models (the JSON of DESIGN.md "Public Python surface").

The bounds a single field can break are declared on the field (a non-negative limit, a
finite weight, a view's confidence in (0, 1]) and the rules between fields of one model
are model validators; the rules that need the whole request (the strategy count, the
sectors present, the covariance) are checked when the engine prepares its data.  A broken
bound raises :class:`InfeasibleRequestError`, like every impossible request, whether the
model is built directly or validated from a dict; other validation errors (a missing
field, a wrong type) stay pydantic's ``ValidationError``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError, model_validator

from twin_model.errors import InfeasibleRequestError

LEVERAGE_FLOOR = 1 - 1e-12
"""Least ``leverage_limit`` a fully invested book can meet (``sum|w| >= |sum w| = 1``), less rounding."""

_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than_equal", "finite_number"})


class Objective(str, Enum):
    """What the optimiser maximises or minimises."""

    MAX_SHARPE = "MAX_SHARPE"
    MIN_VOLATILITY = "MIN_VOLATILITY"
    MAX_RETURN = "MAX_RETURN"
    RISK_PARITY = "RISK_PARITY"
    MULTI_OBJECTIVE = "MULTI_OBJECTIVE"


class Method(str, Enum):
    """How the optimiser turns the moments into weights."""

    MEAN_VARIANCE = "MEAN_VARIANCE"
    BLACK_LITTERMAN = "BLACK_LITTERMAN"
    RISK_PARITY = "RISK_PARITY"
    HIERARCHICAL_RISK_PARITY = "HIERARCHICAL_RISK_PARITY"
    ROBUST_OPTIMIZATION = "ROBUST_OPTIMIZATION"


def _infeasible(exc: ValidationError, path: str) -> Exception:
    """``exc`` as an :class:`InfeasibleRequestError` when every error in it is a broken
    bound (a validator's own error keeps its message, the others are named by ``path`` and
    field), else ``exc`` itself."""
    messages = []
    for e in exc.errors():
        own = e.get("ctx", {}).get("error")
        if isinstance(own, InfeasibleRequestError):
            messages.append(own)
        elif e["type"] in _BOUND_ERRORS:
            name = ".".join([path, *map(str, e["loc"])]).lstrip(".")
            messages.append(f"{name}: {e['msg']} (got {e['input']!r})")
        else:
            return exc
    if len(messages) == 1 and isinstance(messages[0], InfeasibleRequestError):
        return messages[0]
    return InfeasibleRequestError("; ".join(map(str, messages)))


class _RequestPart(BaseModel):
    """A model whose broken bounds raise :class:`InfeasibleRequestError`."""

    _path: ClassVar[str] = ""  # where the model sits in a request, to name a broken bound

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _infeasible(exc, self._path) from None

    @classmethod
    def checked(cls, data: Any) -> Any:
        """``cls.model_validate(data)``, a broken bound raised as :class:`InfeasibleRequestError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _infeasible(exc, cls._path) from None


class StrategyInput(_RequestPart):
    _path = "strategies[]"

    strategy_id: str
    expected_return: float | None = None  # annual; from the returns' mean * 252 if None
    sector: str | None = None
    expected_return_sd: float | None = Field(None, ge=0)  # for ROBUST_OPTIMIZATION


class Constraints(_RequestPart):
    _path = "constraints"

    min_weight: float = Field(0.0, allow_inf_nan=False)
    max_weight: float = Field(1.0, allow_inf_nan=False)
    sector_limits: dict[str, float] = Field(default_factory=dict)
    turnover_limit: float | None = Field(None, ge=0)
    leverage_limit: float | None = None
    previous_weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _bounds_hold_together(self) -> Constraints:
        """``min_weight <= max_weight``, and a leverage limit a fully invested book can meet."""
        if self.min_weight > self.max_weight:
            raise InfeasibleRequestError(f"min_weight {self.min_weight} exceeds max_weight {self.max_weight}")
        if self.leverage_limit is not None and self.leverage_limit < LEVERAGE_FLOOR:
            raise InfeasibleRequestError(
                f"leverage_limit {self.leverage_limit} < 1: a fully invested portfolio has gross exposure of at least 1"
            )
        return self


class RiskParameters(_RequestPart):
    _path = "risk_parameters"

    risk_free_rate: float = 0.0
    risk_aversion: float = Field(1.0, ge=0)
    max_volatility: float | None = Field(None, gt=0)
    turnover_penalty: float = Field(0.0, ge=0)
    l2_penalty: float = Field(0.0, ge=0)
    risk_budgets: dict[str, float] | None = None
    uncertainty: float = Field(1.0, ge=0)
    tau: float = 0.05


class View(_RequestPart):
    _path = "views[]"

    strategy_id: str
    expected_return: float
    confidence: float | None = Field(None, gt=0, le=1)
    variance: float | None = Field(None, gt=0)


class OptimizationRequest(_RequestPart):
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
