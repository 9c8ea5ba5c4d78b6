"""Tests of the optimize package's own machinery: the process-wide cache, threads sharing
an optimizer, the request bounds declared on the fields, the method registry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from pydantic import ValidationError

from twin_model.optimize import (
    Constraints,
    InfeasibleRequestError,
    Method,
    OptimizationRequest,
    Optimizer,
    View,
    optimize,
)
from twin_model.optimize._engine import _SHARED
from twin_model.optimize._methods import METHODS


def request(seed: int, objective: str = "MIN_VOLATILITY") -> dict:
    """Four strategies with a random positive definite covariance, bounded weights."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, 4)) * 0.1
    return {
        "objective": objective,
        "strategies": [{"strategy_id": f"s{i}", "expected_return": 0.05 + 0.01 * i} for i in range(4)],
        "covariance": (a @ a.T + 0.01 * np.eye(4)).tolist(),
        "constraints": {"max_weight": 0.4},
    }


def test_optimize_without_optimizer_reuses_the_shared_problems():
    optimize(request(0))
    built = _SHARED.problems_built
    answer = optimize(request(1))
    assert _SHARED.problems_built == built
    # the shared optimizer's answer does not depend on what it solved before
    assert answer.optimal_weights == Optimizer().optimize(request(1)).optimal_weights


def test_threads_sharing_an_optimizer_get_their_own_answers():
    seeds = list(range(12))
    alone = [Optimizer().optimize(request(s, "MAX_SHARPE")).optimal_weights for s in seeds]
    shared = Optimizer(warm_start=False)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda s: shared.optimize(request(s, "MAX_SHARPE")).optimal_weights, seeds))
    assert together == alone
    assert shared.problems_built == 1


@pytest.mark.parametrize(
    "build,words",
    [
        (lambda: Constraints(turnover_limit=-0.1), ["constraints.turnover_limit", "greater than or equal to 0"]),
        (lambda: Constraints(min_weight=0.3, max_weight=0.2), ["min_weight 0.3 exceeds max_weight 0.2"]),
        (lambda: Constraints(max_weight=float("nan")), ["constraints.max_weight", "finite"]),
        (
            lambda: View(strategy_id="s0", expected_return=0.1, confidence=1.5),
            ["views[].confidence", "less than or equal to 1"],
        ),
        (
            lambda: OptimizationRequest.checked({**request(0), "risk_parameters": {"max_volatility": 0.0}}),
            ["risk_parameters.max_volatility", "greater than 0"],
        ),
    ],
)
def test_broken_bounds_raise_infeasible_request_error(build, words):
    with pytest.raises(InfeasibleRequestError) as err:
        build()
    for word in words:
        assert word in str(err.value)


def test_bounds_are_declared_in_the_schema_and_other_errors_stay_validation_errors():
    fields = Constraints.model_json_schema()["properties"]
    assert fields["turnover_limit"]["anyOf"][0]["minimum"] == 0
    with pytest.raises(ValidationError):
        OptimizationRequest.checked({"strategies": [{"expected_return": 0.1}]})


def test_every_method_is_registered():
    assert set(METHODS) == set(Method)
