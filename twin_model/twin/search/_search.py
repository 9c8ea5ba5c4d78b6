"""The month-end policy search: every candidate on the same paths, scored, compared with
the incumbent, the winner re-measured on independent paths.

Each candidate c gets a net monthly return ``R_cp`` on each search path p (common random
numbers: the same paths for every candidate) and a per-path utility

    mean_variance:  u_cp = R_cp - lambda (R_cp - mean_p R_cp)^2      (mean u = mean R - lambda var R)
    log_growth:     u_cp = log(1 + R_cp)

with ``score_c = mean_p u_cp``, its standard error ``sd_p(u_cp) / sqrt(P)``, and the paired
difference vs the incumbent i, ``mean_p (u_cp - u_ip)`` with SE ``sd_p(u_cp - u_ip) /
sqrt(P)`` (sd with ddof 1). The winner is the best score; being the maximum of K noisy
estimates it overstates its value (by about E[max of K standard normals] x SE when the
candidates are equally good), so the winner and the incumbent are re-measured on
independent hold-out paths, and the winner is *chosen* only when its hold-out paired
difference vs the incumbent is positive beyond rounding (``ROUNDING``); otherwise the
incumbent stays.

A candidate is stepped by the vectorised evaluator when it can be, else by the reference
(the solution step through the runner); the row says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.conventions import CandidateFamily, Evaluator, ScoreKind
from twin_model.firm import NO_FEES, FeeTerms
from twin_model.optimize import Optimizer
from twin_model.portfolio import CostModel, RiskLimits
from twin_model.solution import SolutionRules, SolutionState
from twin_model.twin.search._candidates import Candidate, PolicySearchSettings, parameters_json
from twin_model.twin.search._month import SimulatedMonth
from twin_model.twin.search._reference import reference_returns
from twin_model.twin.search._vectorised import screened_returns, vectorised_obstacles


def utilities(returns: np.ndarray, score: ScoreKind, risk_aversion: float) -> np.ndarray:
    """Per-path utilities ``u`` (last axis = paths) of net returns (see the module docstring)."""
    r = np.asarray(returns, dtype=float)
    if ScoreKind(score) == ScoreKind.LOG_GROWTH:
        return np.log1p(r)
    return r - risk_aversion * (r - r.mean(axis=-1, keepdims=True)) ** 2


ROUNDING = 1e-12
"""A hold-out difference in utility (net monthly return units) this small is rounding: two
candidates that hold the same book (both at their bounds, say) differ by about 1e-15."""


def beats_incumbent(holdout_difference: float) -> bool:
    """Whether the in-sample best is chosen: its hold-out paired difference against the
    incumbent is positive beyond ``ROUNDING`` (a tie keeps the incumbent)."""
    return holdout_difference > ROUNDING


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """``(mean, sd / sqrt(n))`` with ddof 1."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def evaluate(
    rules: SolutionRules,
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
    fees: FeeTerms = NO_FEES,
    shared: dict | None = None,
) -> tuple[np.ndarray, Evaluator]:
    """``([P] net returns, evaluator used)``: vectorised when possible (the paths a risk
    rule could touch through the reference: ``mixed``), else the reference; the solution
    charged ``fees``; ``shared`` keeps the vectorised allocations across the candidates
    evaluated on the same ``paths``."""
    if not vectorised_obstacles(rules, state, month, limits):
        returns, by_reference = screened_returns(rules, state, month, paths, limits, costs, fees, optimizer, shared)
        return returns, Evaluator.MIXED if by_reference.any() else Evaluator.VECTORISED
    return reference_returns(rules, state, month, paths, limits, costs, optimizer, fees), Evaluator.REFERENCE


@dataclass(frozen=True)
class SearchResult:
    """One solution's search: a row per candidate (``table``) and the chosen candidate."""

    table: pl.DataFrame
    chosen: Candidate
    winner: Candidate


def search(
    pool: list[Candidate],
    state: SolutionState,
    month: SimulatedMonth,
    paths: np.ndarray,
    holdout: np.ndarray,
    settings: PolicySearchSettings,
    limits: RiskLimits,
    costs: CostModel,
    optimizer: Optimizer | None = None,
    fees: FeeTerms = NO_FEES,
) -> SearchResult:
    """Score ``pool`` (the incumbent first) on ``paths``, re-measure the winner and the
    incumbent on ``holdout`` (independent paths), choose (see the module docstring); every
    candidate is charged the solution's ``fees``; the candidates share ``optimizer`` (a new
    one when None: the search's rows then depend on nothing solved before it)."""
    if not pool or pool[0].family != CandidateFamily.INCUMBENT:
        raise ValueError("search: the first candidate must be the incumbent")
    optimizer = optimizer or Optimizer()
    on_paths, on_holdout = {}, {}
    measured = [evaluate(c.rules, state, month, paths, limits, costs, optimizer, fees, on_paths) for c in pool]
    u = utilities(np.stack([r for r, _ in measured]), settings.score, settings.risk_aversion)
    scores = u.mean(axis=1)
    best = int(np.argmax(scores))
    held = {
        k: evaluate(pool[k].rules, state, month, holdout, limits, costs, optimizer, fees, on_holdout)[0]
        for k in {0, best}
    }
    u_held = {k: utilities(r, settings.score, settings.risk_aversion) for k, r in held.items()}
    held_diff = mean_and_se(u_held[best] - u_held[0]) if best else (0.0, 0.0)
    chosen = best if best and beats_incumbent(held_diff[0]) else 0
    rows = []
    for k, (candidate, (returns, evaluator)) in enumerate(zip(pool, measured)):
        mean, se = mean_and_se(returns)
        score, score_se = mean_and_se(u[k])
        diff, diff_se = mean_and_se(u[k] - u[0])
        held_score = mean_and_se(u_held[k]) if k in u_held else (None, None)
        rows.append(
            {
                "candidate_id": candidate.candidate_id,
                "family": candidate.family.value,
                "parameters": parameters_json(candidate.rules),
                "incumbent": k == 0,
                "evaluator": evaluator.value,
                "mean_return": mean,
                "se_return": se,
                "score": score,
                "score_se": score_se,
                "diff_vs_incumbent": diff,
                "diff_se": diff_se,
                "best_in_sample": k == best,
                "holdout_score": held_score[0],
                "holdout_se": held_score[1],
                "holdout_diff_vs_incumbent": held_diff[0] if k == best else None,
                "holdout_diff_se": held_diff[1] if k == best else None,
                "chosen": k == chosen,
            }
        )
    return SearchResult(pl.DataFrame(rows, schema=SEARCH_COLUMNS), pool[chosen], pool[best])


SEARCH_COLUMNS = {
    "candidate_id": pl.String,
    "family": pl.String,
    "parameters": pl.String,
    "incumbent": pl.Boolean,
    "evaluator": pl.String,
    "mean_return": pl.Float64,
    "se_return": pl.Float64,
    "score": pl.Float64,
    "score_se": pl.Float64,
    "diff_vs_incumbent": pl.Float64,
    "diff_se": pl.Float64,
    "best_in_sample": pl.Boolean,
    "holdout_score": pl.Float64,
    "holdout_se": pl.Float64,
    "holdout_diff_vs_incumbent": pl.Float64,
    "holdout_diff_se": pl.Float64,
    "chosen": pl.Boolean,
}
"""The columns of a search's table (per candidate), before the caller adds the keys."""
