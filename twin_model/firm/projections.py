"""The firm's 12-month Monte Carlo projection from a day t (DESIGN.md "Firm economics").

Paths: ``returns[p, k, i]``, the daily simple return of strategy i on the k-th business
day after t on path p (``simulate_predictive`` of the strategy model of t: each path its
own posterior draw, bootstrap days shared by the strategies). On each path each solution

* holds money ``h_i = w_i G`` in strategy i and cash ``c = (1 - sum w) G`` at t, ``w`` its
  targets of t and ``G`` its gross assets (``units x GAV`` of its fee state at t);
* each day: ``h <- h (1 + r_k)``, ``c <- c (1 + c_t d_k / 365)`` (the cash rate in force
  at t, held flat; ``d_k`` calendar days), and on the first day of each month ahead
  after the first (every ``MONTH_DAYS`` business days) trades back to ``w`` before the
  day's return, paying ``sum_i CostModel.estimate(w_i G - h_i)``; the day's gross return
  ``R_k = (sum h + c - cost) / G_{k-1} - 1`` goes through ``advance_fees`` (the solution
  step's fee arithmetic, on arrays over paths), with the day's configured flow; the
  holdings are then scaled to the gross assets the fee state holds (the trading cost
  and the fees leave and the flows enter pro rata).

Revenue of a month ahead: the management fees accrued plus the performance fees
crystallised in its ``MONTH_DAYS`` days. Costs are deterministic and sit on the firm's row
(a solution's row carries none, as in ``firm.firm_pnl``): each day
``(fixed + per_strategy x n_in_use + pass_through) / business_days_in_year``, ``n_in_use``
the strategies held by a solution at t. ``profit = revenue - cost``. The firm's AUM,
revenue and profit are summed over solutions path by path before their percentiles
(percentiles do not add). ``P(loss-making year)`` is the share of paths whose firm profit
summed over the months ahead is negative. The break-even AUM is the firm AUM at which the
expected revenue of the projected year equals its costs, revenue scaling linearly with
AUM (the same fee rates and returns on a bigger book, costs fixed):
``AUM_t x annual costs / E[annual revenue]`` (None when the expected revenue is not
positive). Pure numpy; no per-path loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from twin_model.conventions import FIRM_TOTAL
from twin_model.firm.fees import DAY_COUNT, FeeState, FeeTerms, advance_fees
from twin_model.firm.pnl import FirmCosts, business_days_in_year
from twin_model.portfolio import CostModel
from twin_model.strategy import PredictiveModel, simulate_predictive

MONTH_DAYS = 21
"""Business days in a projected month (12 months ahead = 252 days)."""
QUANTILES = (0.05, 0.50, 0.95)
"""The reported percentiles: p05, p50, p95."""


@dataclass(frozen=True)
class ProjectedSolution:
    """One solution at t: its targets (strategy id -> weight), its fee state at t's close
    (floats), its fee terms and its dated flows."""

    solution_id: str
    targets: Mapping[str, float]
    fee_state: FeeState
    terms: FeeTerms
    flows: Mapping[dt.date, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Projection:
    """Per path and month ahead ``[P, M]``: each solution's AUM at the month's end and
    revenue in the month; the firm's deterministic cost per month ``[M]``; the firm's AUM
    at t."""

    aum: dict[str, np.ndarray]
    revenue: dict[str, np.ndarray]
    cost: np.ndarray
    aum_t: float

    @property
    def firm_aum(self) -> np.ndarray:
        return sum(self.aum.values())

    @property
    def firm_revenue(self) -> np.ndarray:
        return sum(self.revenue.values())

    @property
    def firm_profit(self) -> np.ndarray:
        """``[P, M]``: firm revenue less costs."""
        return self.firm_revenue - self.cost[None, :]

    @property
    def p_loss_year(self) -> float:
        """The share of paths whose firm profit over the months ahead is negative."""
        return float(np.mean(self.firm_profit.sum(axis=1) < 0))

    @property
    def breakeven_aum(self) -> float | None:
        """``AUM_t x annual costs / E[annual revenue]`` (module docstring)."""
        expected = float(self.firm_revenue.sum(axis=1).mean())
        return self.aum_t * float(self.cost.sum()) / expected if expected > 0 else None


def project_from_model(
    model: PredictiveModel,
    n_paths: int,
    seed: int,
    days: Sequence[dt.date],
    solutions: Sequence[ProjectedSolution],
    cash_rate: float,
    costs: FirmCosts,
    n_in_use: int,
    cost_model: CostModel | None = None,
) -> Projection:
    """``project`` on ``simulate_predictive(model, n_paths, len(days), seed)``: the same
    seed gives the same projection."""
    returns = simulate_predictive(model, n_paths, len(days), seed)
    return project(returns, list(model.strategy_ids), days, solutions, cash_rate, costs, n_in_use, cost_model)


def project(
    returns: np.ndarray,
    strategy_ids: Sequence[str],
    days: Sequence[dt.date],
    solutions: Sequence[ProjectedSolution],
    cash_rate: float,
    costs: FirmCosts,
    n_strategies_in_use: int,
    cost_model: CostModel | None = None,
) -> Projection:
    """The projection (module docstring) over ``days`` (the business days after t, a
    whole number of ``MONTH_DAYS`` months, ``len(days) == returns.shape[1]``);
    ``strategy_ids`` name the paths' last axis."""
    n_paths, horizon, _ = returns.shape
    if horizon != len(days) or horizon % MONTH_DAYS:
        raise ValueError(f"projection: {horizon} path days for {len(days)} days, not whole {MONTH_DAYS}-day months")
    aum, revenue = {}, {}
    for solution in solutions:
        aum[solution.solution_id], revenue[solution.solution_id] = _solution_paths(
            returns, strategy_ids, days, solution, cash_rate, cost_model
        )
    return Projection(aum, revenue, monthly_costs(days, costs, n_strategies_in_use), _aum_t(solutions))


def monthly_costs(days: Sequence[dt.date], costs: FirmCosts, n_strategies: int) -> np.ndarray:
    """``[M]``: the firm's costs of each month ahead, each day's
    ``(fixed + per_strategy x n + pass_through) / business_days_in_year``."""
    per_year = costs.fixed_per_year + costs.per_strategy_per_year * n_strategies + costs.pass_through_per_year
    daily = np.array([per_year / business_days_in_year(day.year) for day in days])
    return daily.reshape(-1, MONTH_DAYS).sum(axis=1)


def _aum_t(solutions: Sequence[ProjectedSolution]) -> float:
    return float(sum(s.fee_state.aum for s in solutions))


def _solution_paths(
    returns: np.ndarray,
    strategy_ids: Sequence[str],
    days: Sequence[dt.date],
    solution: ProjectedSolution,
    cash_rate: float,
    cost_model: CostModel | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``[P, M]`` AUM at each month's end and revenue in each month of one solution."""
    n_paths, horizon, _ = returns.shape
    w = np.array([solution.targets.get(s, 0.0) for s in strategy_ids])
    state = solution.fee_state.on_paths(n_paths)
    gross = state.assets
    held, cash = np.outer(gross, w), gross * (1.0 - w.sum())
    daily_revenue = np.empty((n_paths, horizon))
    month_end_aum = np.empty((n_paths, horizon // MONTH_DAYS))
    previous = solution.fee_state.day
    for k, day in enumerate(days):
        cost = 0.0
        if k and k % MONTH_DAYS == 0:
            target = np.outer(gross, w)
            cost = cost_model.estimate(target - held).sum(axis=1) if cost_model else 0.0
            held, cash = target, gross * (1.0 - w.sum())
        held = held * (1.0 + returns[:, k, :])
        cash = cash * (1.0 + cash_rate * ((day - previous).days if previous else 0) / DAY_COUNT)
        gross_return = (held.sum(axis=1) + cash - cost) / gross - 1.0
        state, fee_day = advance_fees(solution.terms, state, day, gross_return, solution.flows.get(day, 0.0))
        scale = state.assets / (held.sum(axis=1) + cash)  # the costs, fees and flows, pro rata
        held, cash, gross, previous = held * scale[:, None], cash * scale, state.assets, day
        daily_revenue[:, k] = fee_day.management_fee + fee_day.crystallised_fee
        if (k + 1) % MONTH_DAYS == 0:
            month_end_aum[:, k // MONTH_DAYS] = state.aum
    return month_end_aum, daily_revenue.reshape(n_paths, -1, MONTH_DAYS).sum(axis=2)


def projection_rows(t: dt.date, projection: Projection) -> pl.DataFrame:
    """The rows of ``firm.firm_projections`` for t: per solution and the firm (FIRM), per
    month ahead, the p05/p50/p95 of AUM, revenue and profit and the cost; the firm's rows
    carry ``p_loss_year`` and ``breakeven_aum`` (null on a solution's rows)."""
    months = projection.cost.shape[0]
    zero = np.zeros(months)
    series = {sid: (projection.aum[sid], projection.revenue[sid], zero) for sid in projection.aum}
    series[FIRM_TOTAL] = (projection.firm_aum, projection.firm_revenue, projection.cost)
    frames = []
    for sid, (aum, revenue, cost) in series.items():
        columns = {"date": [t] * months, "solution_id": [sid] * months, "months_ahead": list(range(1, months + 1))}
        for name, values in (("aum", aum), ("revenue", revenue), ("profit", revenue - cost[None, :])):
            low, mid, high = np.quantile(values, QUANTILES, axis=0)
            columns |= {f"{name}_p05": low, f"{name}_p50": mid, f"{name}_p95": high}
        firm = sid == FIRM_TOTAL
        columns |= {
            "cost": cost,
            "p_loss_year": [projection.p_loss_year if firm else None] * months,
            "breakeven_aum": [projection.breakeven_aum if firm else None] * months,
        }
        frames.append(pl.DataFrame(columns, schema_overrides=_SCHEMA))
    return pl.concat(frames).sort("solution_id", "months_ahead")


_SCHEMA = {
    "date": pl.Date,
    "solution_id": pl.String,
    "months_ahead": pl.Int64,
    "p_loss_year": pl.Float64,
    "breakeven_aum": pl.Float64,
}
