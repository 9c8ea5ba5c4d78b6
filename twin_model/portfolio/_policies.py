"""The allocation policies as objects: each names its rule, the inputs it uses and how
config spells its parameters, so the solution step asks the policy what to prepare.

Every policy takes an :class:`AllocationInputs` and returns an :class:`Allocation` whose
weights sum to ``target_exposure`` (the solution's total exposure), or to less when the
rule leaves cash (fractional Kelly); ``details["cash"]`` always states the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from twin_model.conventions import PolicyKind
from twin_model.portfolio._heuristics import inverse_volatility, performance_based, static
from twin_model.portfolio._inputs import Allocation, AllocationInputs
from twin_model.portfolio._kelly import fractional_kelly
from twin_model.portfolio._optimised import equal_risk_contribution, hierarchical_risk_budget, optimizer_policy


class PolicyInput(StrEnum):
    """What a policy uses beyond the moments every policy is given."""

    COVARIANCE = "covariance"
    """The covariance matrix of the selected strategies."""
    SCENARIOS = "scenarios"
    """Posterior-predictive return paths (``AllocationInputs.scenarios``)."""
    OPTIMIZER = "optimizer"
    """A :class:`twin_model.optimize.Optimizer` (the ``optimizer`` parameter of its rule)."""


@dataclass(frozen=True)
class AllocationPolicy:
    """One allocation policy: its kind, the rule computing its weights, the inputs it uses
    (``without_scenarios``: those it uses only when it is given no scenarios) and the
    config names of its parameters (``aliases``: config name -> rule parameter)."""

    kind: PolicyKind
    rule: Callable[..., Allocation]
    uses: frozenset[PolicyInput] = frozenset()
    without_scenarios: frozenset[PolicyInput] = frozenset()
    aliases: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def needs(self, what: PolicyInput) -> bool:
        """Whether the policy uses ``what`` (the step prepares it only then)."""
        return what in self.uses or what in self.without_scenarios

    def reads_history(self, scenarios: bool) -> bool:
        """Whether its weights depend on the returns history (through the covariance; the
        optimiser also reads the previous weights), given scenarios or not: a policy
        reading only the moments and scenarios gives the same weights for the same
        strategies whatever the history."""
        used = self.uses | (frozenset() if scenarios else self.without_scenarios)
        return bool(used & {PolicyInput.COVARIANCE, PolicyInput.OPTIMIZER})

    def allocate(self, inputs: AllocationInputs, **params: Any) -> Allocation:
        """The policy's allocation; ``None`` parameters mean the rule's defaults."""
        params = {k: v for k, v in params.items() if v is not None}
        for config_name, name in self.aliases.items():
            if config_name in params:
                params[name] = params.pop(config_name)
        for name in self.required:
            if name not in params:
                spelled = [c for c, n in self.aliases.items() if n == name]
                also = f" ({', '.join(spelled)})" if spelled else ""
                raise ValueError(f"allocate: policy {self.kind.value!r} needs {name}{also}")
        return self.rule(inputs, **params)


_COVARIANCE = frozenset({PolicyInput.COVARIANCE})
_OPTIMISED = frozenset({PolicyInput.COVARIANCE, PolicyInput.OPTIMIZER})

POLICIES: Mapping[str, AllocationPolicy] = {
    p.kind.value: p
    for p in (
        AllocationPolicy(PolicyKind.STATIC, static, aliases={"static_weights": "weights"}, required=("weights",)),
        AllocationPolicy(PolicyKind.INVERSE_VOLATILITY, inverse_volatility, _COVARIANCE),
        AllocationPolicy(PolicyKind.EQUAL_RISK_CONTRIBUTION, equal_risk_contribution, _OPTIMISED),
        AllocationPolicy(PolicyKind.PERFORMANCE, performance_based),
        AllocationPolicy(
            PolicyKind.FRACTIONAL_KELLY,
            fractional_kelly,
            frozenset({PolicyInput.SCENARIOS}),
            without_scenarios=_COVARIANCE,  # the Gaussian fallback
        ),
        AllocationPolicy(PolicyKind.HIERARCHICAL_RISK_BUDGET, hierarchical_risk_budget, _OPTIMISED),
        AllocationPolicy(PolicyKind.OPTIMIZER, optimizer_policy, _OPTIMISED),
    )
}
"""Every policy by its kind, in the order of :class:`PolicyKind`."""
POLICY_KINDS = tuple(POLICIES)
"""The policy kinds of ``config/solutions.yaml`` (``SolutionPolicy.kind``)."""


def allocation_policy(kind: str) -> AllocationPolicy:
    """The policy of a ``SolutionPolicy.kind``; unknown kinds raise ValueError naming the known ones."""
    if kind not in POLICIES:
        raise ValueError(f"unknown allocation policy kind {kind!r}; known: {', '.join(POLICY_KINDS)}")
    return POLICIES[kind]


def allocate(inputs: AllocationInputs, policy_kind: str, **params: Any) -> Allocation:
    """Dispatch a ``SolutionPolicy.kind`` to its policy; ``params`` go to its rule.

    ``static`` takes ``weights`` (or the config's ``static_weights``); ``optimizer`` takes
    ``objective``/``method`` (``None`` values mean the defaults).
    """
    return allocation_policy(policy_kind).allocate(inputs, **params)
