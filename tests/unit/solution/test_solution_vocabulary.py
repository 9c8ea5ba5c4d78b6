"""The solution-level vocabularies: the enums of twin_model.conventions are exactly what
the portfolio tables accept, the risk rules and allocation policies cover them, and the
step prepares for a policy what the policy declares it uses."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tests.helpers.solutions import LAUNCH, Market, rules, run
from twin_model.contracts import TABLES
from twin_model.conventions import (
    AllocationStatus,
    OrderReason,
    PolicyKind,
    RiskAction,
    RiskRuleName,
    Severity,
    StrategyStatus,
    Tier,
    ViolationLevel,
    ViolationStatus,
)
from twin_model.portfolio import POLICIES, POLICY_KINDS, RULES, PolicyInput, allocate


def _allowed(table: str, column: str) -> set[str]:
    (values,) = [
        check.statistics["allowed_values"]
        for check in TABLES[table].model.to_schema().columns[column].checks
        if "allowed_values" in check.statistics
    ]
    return set(values)


@pytest.mark.parametrize(
    ("table", "column", "enum"),
    [
        ("portfolio.solution_weights", "status", StrategyStatus),
        ("portfolio.solution_weights", "tier", Tier),
        ("portfolio.solution_optimizations", "status", AllocationStatus),
        ("portfolio.risk_violations", "level", ViolationLevel),
        ("portfolio.risk_violations", "severity", Severity),
        ("portfolio.risk_violations", "action", RiskAction),
        ("portfolio.risk_violations", "status", ViolationStatus),
        ("portfolio.rebalance_orders", "reason", OrderReason),
    ],
)
def test_each_enum_is_what_its_table_column_accepts(table, column, enum):
    assert {member.value for member in enum} == _allowed(table, column)


def test_one_rule_per_rule_name_and_one_policy_per_kind():
    assert [r.name for r in RULES] == list(RiskRuleName)
    assert POLICY_KINDS == tuple(k.value for k in PolicyKind)
    assert [p.kind for p in POLICIES.values()] == list(PolicyKind)


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_a_policy_uses_an_optimizer_exactly_when_its_rule_takes_one(kind):
    policy = POLICIES[kind]
    assert policy.needs(PolicyInput.OPTIMIZER) == ("optimizer" in inspect.signature(policy.rule).parameters)


# what the step hands each policy, by hand: scenarios only to fractional Kelly, an optimiser
# only to the three optimiser-backed policies
_GIVEN = {
    "static": (False, False),
    "inverse_volatility": (False, False),
    "equal_risk_contribution": (False, True),
    "performance": (False, False),
    "fractional_kelly": (True, False),
    "hierarchical_risk_budget": (False, True),
    "optimizer": (False, True),
}


@pytest.mark.parametrize("kind", POLICY_KINDS)
def test_the_step_prepares_what_the_policy_declares(monkeypatch, kind):
    import twin_model.solution._targets as solutions

    seen = []

    def spy(inputs, policy_kind, **params):
        seen.append((inputs.scenarios is not None, "optimizer" in params))
        return allocate(inputs, policy_kind, **params)

    monkeypatch.setattr(solutions, "allocate", spy)
    params = {"static_weights": {"A": 0.5, "B": 0.5}} if kind == "static" else {}
    scenarios = np.random.default_rng(1).normal(0.0, 0.01, (50, 5, 2))
    rule = rules({}, policy_kind=kind, policy_params=params)
    run(rule, Market("AB"), [LAUNCH], per_day=lambda d: {"scenarios": lambda ids: scenarios})
    assert seen == [_GIVEN[kind]]
