"""The alpha pool's entry bar, tuned walk-forward on realised returns (the back-test).

On the strategy models' own paths a lower entry bar always looks better (every strategy
with posterior-mean alpha > 0 adds expected P&L there), so the month-end search leaves
the pool's bars alone; the back-test tunes them on what was realised instead:

- candidates: each entry probability of ``PoolTuningSettings.enter_probabilities`` (and
  the configured one) above the configured exit probability, the rest of the pool policy
  unchanged (``bar_candidates``);
- each candidate runs the whole span (the pool level, then the solutions on their
  configured policies) from the same state; its realised score up to a month end is
  ``252 mean(R) - lambda 252 var(R)`` of the firm's daily net return
  ``R_t = sum_s A_s,t r_s,t / sum_s A_s,t`` (A the solution's assets at the start of the
  day; ``realised_score``): annual mean minus lambda times annual variance;
- the first month runs the configured bar; after each month end, the bar with the best
  score so far (ties keep the incumbent, ``choose_bar``) runs the next month, from the
  state the tuned run reached. Only days up to the month end inform the choice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from twin_model.conventions import PERIODS_PER_YEAR
from twin_model.strategy import AlphaPoolPolicy


class PoolTuningSettings(BaseModel):
    """``config/twin.yaml``'s ``backtest`` section: the entry bars tried and the score's
    risk aversion lambda (per unit of annual variance)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enter_probabilities: tuple[float, ...] = (0.95, 0.975, 0.99)
    risk_aversion: float = Field(default=2.0, ge=0)


def bar_candidates(policy: AlphaPoolPolicy, settings: PoolTuningSettings) -> dict[float, AlphaPoolPolicy]:
    """The pool policy at each candidate entry bar (the configured bar always among them;
    bars at or below the exit bar dropped), in increasing order."""
    bars = sorted({*settings.enter_probabilities, policy.enter_probability})
    return {bar: dataclasses.replace(policy, enter_probability=bar) for bar in bars if bar > policy.exit_probability}


def firm_returns(performance: pl.DataFrame) -> pl.DataFrame:
    """``date, ret``: the firm's daily net return, ``sum_s aum_start x net_return / sum_s
    aum_start`` over ``portfolio.solution_performance`` rows (0 on a day with no assets)."""
    return (
        performance.group_by("date")
        .agg(
            pl.when(pl.col("aum_start").sum() > 0)
            .then((pl.col("aum_start") * pl.col("net_return")).sum() / pl.col("aum_start").sum())
            .otherwise(0.0)
            .alias("ret")
        )
        .sort("date")
    )


def realised_score(returns: np.ndarray, risk_aversion: float) -> float:
    """``252 mean(r) - lambda 252 var(r, ddof=1)``; -inf below two days (nothing to judge)."""
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return -np.inf
    return float(PERIODS_PER_YEAR * r.mean() - risk_aversion * PERIODS_PER_YEAR * r.var(ddof=1))


def choose_bar(scores: Mapping[float, float], incumbent: float) -> float:
    """The bar with the highest score; the incumbent unless another strictly beats it."""
    best = incumbent
    for bar, score in sorted(scores.items()):
        if score > scores.get(best, -np.inf):
            best = bar
    return best


def bars_by_month(
    candidate_returns: Mapping[float, pl.DataFrame],
    month_ends: Sequence[dt.date],
    configured: float,
    risk_aversion: float,
) -> list[float]:
    """The bar each month runs: the configured one for the first, then for each later month
    the choice on the candidates' realised firm returns up to the previous ``month_ends``."""
    bars = [configured]
    for end in month_ends[:-1]:
        scores = {
            bar: realised_score(frame.filter(pl.col("date") <= end).get_column("ret").to_numpy(), risk_aversion)
            for bar, frame in candidate_returns.items()
        }
        bars.append(choose_bar(scores, configured))
    return bars
