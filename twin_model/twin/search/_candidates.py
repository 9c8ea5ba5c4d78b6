"""What the policy search tries: its settings (``config/twin.yaml``'s ``policy_search``
section is ``PolicySearchSettings``) and the candidates they generate for a solution.

Per solution the candidates are the incumbent (the solution's configured rules) and
three grids around it, each changing only its own family's rules:

* PFA (the pause, ramp and stop rules): every combination of ``pfa.pause_days`` x
  ``pfa.valley_multiple`` (``stop_valley_multiple``) x ``pfa.ramp_days``;
* CFA (the allocation): for each entry of ``cfa.policies`` (a policy kind and its
  parameters, a list meaning one candidate per value), every combination of its
  parameters x ``cfa.exposure`` (``target_exposure``; empty: the incumbent's) x
  ``cfa.turnover_limit`` (empty: the incumbent's). The step has a turnover *limit* (a
  constraint of the allocation), not a penalty: that is what is searched;
* DLA (a direct lookahead): for each ``dla.fraction``, the fractional Kelly allocation,
  which at every rebalance solves ``max_w mean_p log(1 + R_p w)`` over the day's
  posterior-predictive paths of the next month (the model's own lookahead; the Gaussian
  growth optimum from the day's moments where a day has no paths) and holds ``fraction``
  of it, x ``dla.exposure`` (empty: the incumbent's). Empty ``fraction``: no DLA. A
  cvxpy solve per rebalance on every path (the vectorised evaluator allocates it path by
  path on the rebalance days).

A combination equal to the incumbent is the incumbent (not repeated). The alpha pool's
entry and exit bars are not candidates: on the model's own paths every strategy with
posterior-mean alpha > 0 adds expected P&L, so a lower bar would always win; they are
tuned in the walk-forward back-test on realised returns (DESIGN.md).
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.conventions import CandidateFamily, PolicyKind, ScoreKind
from twin_model.portfolio import allocation_policy
from twin_model.solution import SolutionRules

_STRICT = ConfigDict(extra="forbid")


@validated.dataclass(frozen=True, config=_STRICT)
class PfaGrid:
    """The pause, ramp and stop rules tried (each list one axis of the grid)."""

    pause_days: tuple[int, ...] = Field(default=(5, 10, 20), min_length=1)
    valley_multiple: tuple[float, ...] = Field(default=(1.5, 2.0, 3.0), min_length=1)
    ramp_days: tuple[int, ...] = Field(default=(5,), min_length=1)

    def __post_init__(self) -> None:
        if min(self.pause_days) < 0 or min(self.ramp_days) < 0:
            raise ValueError("pause_days and ramp_days must be >= 0")
        if min(self.valley_multiple) < 1:
            raise ValueError("valley_multiple must be >= 1 (a stop lies at or below the pause level)")


@validated.dataclass(frozen=True, config=_STRICT)
class CfaPolicy:
    """One allocation policy tried: its kind and parameters (a list: one candidate per value)."""

    kind: PolicyKind
    params: Mapping[str, Any] = Field(default_factory=dict)

    def __post_init__(self) -> None:
        policy = allocation_policy(self.kind)
        known = (set(inspect.signature(policy.rule).parameters) - {"inputs", "optimizer"}) | set(policy.aliases)
        unknown = sorted(set(self.params) - known)
        if unknown:
            raise ValueError(f"policy {self.kind.value!r} has no parameters {unknown}; known: {sorted(known)}")


@validated.dataclass(frozen=True, config=_STRICT)
class CfaGrid:
    """The allocations tried: policies, exposures and turnover limits."""

    policies: tuple[CfaPolicy, ...] = (
        CfaPolicy(PolicyKind.INVERSE_VOLATILITY),
        CfaPolicy(PolicyKind.EQUAL_RISK_CONTRIBUTION),
    )
    exposure: tuple[float, ...] = (0.5, 0.75, 1.0)
    turnover_limit: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if any(not 0 < e <= 1.5 for e in self.exposure):
            raise ValueError("exposure values must lie in (0, 1.5]")
        if any(t <= 0 for t in self.turnover_limit):
            raise ValueError("turnover_limit values must be > 0")


@validated.dataclass(frozen=True, config=_STRICT)
class DlaGrid:
    """The lookahead allocations tried: Kelly fractions x exposures (empty: none)."""

    fraction: tuple[float, ...] = ()
    exposure: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if any(not 0 < f <= 1 for f in self.fraction):
            raise ValueError("fraction values must lie in (0, 1]")
        if any(not 0 < e <= 1.5 for e in self.exposure):
            raise ValueError("exposure values must lie in (0, 1.5]")


@validated.dataclass(frozen=True, config=_STRICT)
class PolicySearchSettings:
    """How the month-end search runs: paths, horizon, seed, score, grids, solutions."""

    n_paths: int = Field(default=500, ge=2)
    holdout_paths: int = Field(default=500, ge=2)
    horizon: int = Field(default=21, ge=1)
    seed: int = 20260105
    score: ScoreKind = ScoreKind.MEAN_VARIANCE
    risk_aversion: float = Field(default=2.0, ge=0)
    pfa: PfaGrid = PfaGrid()
    cfa: CfaGrid = CfaGrid()
    dla: DlaGrid = DlaGrid()
    solutions: tuple[str, ...] | None = None


SEARCHED_RULES = (
    "policy_kind",
    "policy_params",
    "target_exposure",
    "turnover_limit",
    "pause_days",
    "ramp_days",
    "stop_valley_multiple",
)
"""The rules a candidate may change (what ``parameters_of`` writes and ``with_parameters`` reads)."""


@dataclass(frozen=True)
class Candidate:
    """A policy tried for a solution: its id, family and rules."""

    candidate_id: str
    family: CandidateFamily
    rules: SolutionRules

    @property
    def parameters(self) -> dict[str, Any]:
        return parameters_of(self.rules)


def parameters_of(rules: SolutionRules) -> dict[str, Any]:
    """The searched rules of ``rules`` (``SEARCHED_RULES``), JSON-ready."""
    out = {name: getattr(rules, name) for name in SEARCHED_RULES}
    out["policy_kind"] = str(out["policy_kind"])
    out["policy_params"] = dict(out["policy_params"])
    return out


def with_parameters(rules: SolutionRules, parameters: Mapping[str, Any]) -> SolutionRules:
    """``rules`` with the searched rules of ``parameters`` (what ``parameters_of`` wrote)."""
    unknown = sorted(set(parameters) - set(SEARCHED_RULES))
    if unknown:
        raise ValueError(f"policy parameters: unknown keys {unknown}; known: {list(SEARCHED_RULES)}")
    return replace(rules, **dict(parameters))


def parameters_json(rules: SolutionRules) -> str:
    """``parameters_of(rules)`` as canonical JSON (sorted keys)."""
    return json.dumps(parameters_of(rules), sort_keys=True)


def candidates(rules: SolutionRules, settings: PolicySearchSettings) -> list[Candidate]:
    """The incumbent first, then the PFA, CFA and DLA grids (duplicates dropped)."""
    out = [Candidate("incumbent", CandidateFamily.INCUMBENT, rules)]
    seen = {parameters_json(rules)}
    for family, changes in [*_pfa(settings.pfa), *_cfa(settings.cfa), *_dla(settings.dla)]:
        trial = replace(rules, **changes)
        key = parameters_json(trial)
        if key not in seen:
            seen.add(key)
            out.append(Candidate(_name(family, changes), family, trial))
    return out


def _pfa(grid: PfaGrid) -> list[tuple[CandidateFamily, dict[str, Any]]]:
    axes = itertools.product(grid.pause_days, grid.valley_multiple, grid.ramp_days)
    return [
        (CandidateFamily.PFA, {"pause_days": p, "stop_valley_multiple": float(v), "ramp_days": r}) for p, v, r in axes
    ]


def _cfa(grid: CfaGrid) -> list[tuple[CandidateFamily, dict[str, Any]]]:
    out = []
    for policy in grid.policies:
        names = sorted(policy.params)
        values = [v if isinstance(v, list | tuple) else [v] for v in (policy.params[n] for n in names)]
        for combo in itertools.product(*values):
            for exposure in grid.exposure or (None,):
                for limit in grid.turnover_limit or (None,):
                    changes: dict[str, Any] = {"policy_kind": policy.kind, "policy_params": dict(zip(names, combo))}
                    if exposure is not None:
                        changes["target_exposure"] = float(exposure)
                    if limit is not None:
                        changes["turnover_limit"] = float(limit)
                    out.append((CandidateFamily.CFA, changes))
    return out


def _dla(grid: DlaGrid) -> list[tuple[CandidateFamily, dict[str, Any]]]:
    out = []
    for fraction, exposure in itertools.product(grid.fraction, grid.exposure or (None,)):
        changes: dict[str, Any] = {"policy_kind": PolicyKind.FRACTIONAL_KELLY, "policy_params": {"fraction": fraction}}
        if exposure is not None:
            changes["target_exposure"] = float(exposure)
        out.append((CandidateFamily.DLA, changes))
    return out


def _name(family: CandidateFamily, changes: Mapping[str, Any]) -> str:
    """``family:key=value,...`` with the policy's parameters spelled out."""
    flat = {k: v for k, v in changes.items() if k != "policy_params"}
    flat.update(changes.get("policy_params", {}))
    return f"{family.value}:" + ",".join(f"{k}={v}" for k, v in sorted(flat.items()))
