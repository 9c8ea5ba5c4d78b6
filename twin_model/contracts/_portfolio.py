"""The portfolio layer's tables: the solution level's book, decisions, money, attribution,
breaches and trades."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.contracts._fields import WEIGHT, values_of
from twin_model.conventions import (
    AllocationStatus,
    OrderReason,
    RiskAction,
    Severity,
    StrategyStatus,
    Tier,
    ViolationLevel,
    ViolationStatus,
)


class SolutionWeights(pa.DataFrameModel):
    """portfolio.solution_weights: per solution and strategy, the book and the management state.

    ``weight_start`` is yesterday's closing weight, ``weight_held`` the same after today's
    returns (drifted), ``weight_target`` the target in force and ``weight_close`` the weight
    after today's trades (the target when traded, else the held weight). ``target_scale`` is
    what the ramp, incubation sizing and risk actions left of the allocated weight; ``tier``
    says why the strategy is selectable (core: the alpha pool; incubation: below the pool's
    bar but above the solution's incubation evidence). ``pnl_watched`` is the
    strategy's P&L since ``max(month start, watch_from)``, compared with ``monthly_valley``.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    status: pl.String = pa.Field(isin=values_of(StrategyStatus))
    in_pool: pl.Boolean
    tier: pl.String = pa.Field(isin=values_of(Tier))
    weight_start: pl.Float64 = pa.Field(**WEIGHT)
    weight_held: pl.Float64 = pa.Field(**WEIGHT)
    weight_target: pl.Float64 = pa.Field(**WEIGHT)
    weight_close: pl.Float64 = pa.Field(**WEIGHT)
    target_scale: pl.Float64 = pa.Field(ge=0, le=1)
    pause_days_left: pl.Int64 = pa.Field(ge=0)
    ramp_day: pl.Int64 = pa.Field(ge=0)
    pause_count: pl.Int64 = pa.Field(ge=0)
    watch_from: pl.Date = pa.Field(nullable=True)
    pnl_watched: pl.Float64 = pa.Field(ge=-1)
    monthly_valley: pl.Float64 = pa.Field(nullable=True, le=0)
    reason: pl.String

    class Config:
        strict = True
        unique = ["date", "solution_id", "strategy_id"]


class SolutionOptimizations(pa.DataFrameModel):
    """portfolio.solution_optimizations: per solution and day, how its targets were set.

    ``expected_return``/``expected_volatility``/``sharpe_ratio`` (annual) are recomputed from
    the final targets with the moments the allocation used (null on a day the targets were
    held). ``sum(targets) = target_exposure - cash_pauses - cash_risk - cash_other``.
    ``awaiting_allocation``: the last allocation failed and is retried on the next day.
    ``weight_rows`` and ``open_violations`` count the solution-day's rows in solution_weights
    and its open rows in risk_violations: this row is written after them, so a state read
    back can prove it is whole.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    policy: pl.String
    objective: pl.String = pa.Field(nullable=True)
    method: pl.String = pa.Field(nullable=True)
    rebalanced: pl.Boolean
    triggers: pl.String
    status: pl.String = pa.Field(isin=values_of(AllocationStatus))
    expected_return: pl.Float64 = pa.Field(nullable=True)
    expected_volatility: pl.Float64 = pa.Field(nullable=True, ge=0)
    sharpe_ratio: pl.Float64 = pa.Field(nullable=True)
    solver: pl.String = pa.Field(nullable=True)
    convergence_status: pl.String = pa.Field(nullable=True)
    constraints_satisfied: pl.Boolean
    violations: pl.String
    n_strategies: pl.Int64 = pa.Field(ge=0)
    target_exposure: pl.Float64 = pa.Field(ge=0)
    cash_pauses: pl.Float64
    cash_risk: pl.Float64
    cash_other: pl.Float64
    awaiting_allocation: pl.Boolean
    weight_rows: pl.Int64 = pa.Field(ge=0)
    open_violations: pl.Int64 = pa.Field(ge=0)
    message: pl.String

    class Config:
        strict = True
        unique = ["date", "solution_id"]


class SolutionPerformance(pa.DataFrameModel):
    """portfolio.solution_performance: per solution and day, the money.

    ``aum = aum_start x (1 + daily_return) - costs - fees + flows``; ``costs`` are the
    simulated costs of the previous business day's orders (``pending_costs`` then).
    ``drawdown = aum / aum_peak - 1``; the drawdown stop measures from ``risk_peak``.
    Leverage, net exposure, volatility (63 days, annual) and diversification ratio are of
    the book after today's trades.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    cold_start: pl.Boolean
    aum_start: pl.Float64 = pa.Field(gt=0)
    daily_return: pl.Float64 = pa.Field(gt=-1)
    costs: pl.Float64 = pa.Field(ge=0)
    fees: pl.Float64 = pa.Field(ge=0)
    flows: pl.Float64
    pnl: pl.Float64
    aum: pl.Float64 = pa.Field(gt=0)
    aum_peak: pl.Float64 = pa.Field(gt=0)
    drawdown: pl.Float64 = pa.Field(ge=-1, le=0)
    risk_peak: pl.Float64 = pa.Field(gt=0)
    leverage: pl.Float64 = pa.Field(ge=0)
    net_exposure: pl.Float64
    cash_weight: pl.Float64
    volatility_63d: pl.Float64 = pa.Field(nullable=True, ge=0)
    diversification_ratio: pl.Float64 = pa.Field(nullable=True, gt=0)
    pending_costs: pl.Float64 = pa.Field(ge=0)
    cooldown_days_left: pl.Int64 = pa.Field(ge=0)
    rebalanced: pl.Boolean
    last_rebalance: pl.Date = pa.Field(nullable=True)
    n_active: pl.Int64 = pa.Field(ge=0)
    n_paused: pl.Int64 = pa.Field(ge=0)
    n_stopped: pl.Int64 = pa.Field(ge=0)

    class Config:
        strict = True
        unique = ["date", "solution_id"]

    @pa.dataframe_check(name="drawdown_from_peak")
    @classmethod
    def drawdown_from_peak(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("aum") / pl.col("aum_peak") - 1 - pl.col("drawdown")).abs() < 1e-9)


class StrategyAttribution(pa.DataFrameModel):
    """portfolio.strategy_attribution: what each strategy added to a solution's day.

    ``return_contribution = weight_start x ret`` (sums to the solution's daily_return);
    ``marginal_risk = (Sigma w)_i / sigma_p`` and ``risk_contribution = w_i x marginal_risk``
    (annual, summing to sigma_p) for the closing book, ``risk_contribution_pct`` its share.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    weight_start: pl.Float64 = pa.Field(**WEIGHT)
    ret: pl.Float64 = pa.Field(nullable=True, gt=-1)
    return_contribution: pl.Float64
    weight_close: pl.Float64 = pa.Field(**WEIGHT)
    marginal_risk: pl.Float64 = pa.Field(nullable=True)
    risk_contribution: pl.Float64 = pa.Field(nullable=True)
    risk_contribution_pct: pl.Float64 = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["date", "solution_id", "strategy_id"]


class RiskViolations(pa.DataFrameModel):
    """portfolio.risk_violations: each breach open on a day, or resolved that day.

    ``opened_date`` is the first day of the breach; ``resolved_date`` the day it no longer
    held (status "resolved", on that day's row only).
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    level: pl.String = pa.Field(isin=values_of(ViolationLevel))
    rule: pl.String
    subject: pl.String
    severity: pl.String = pa.Field(isin=values_of(Severity))
    action: pl.String = pa.Field(isin=values_of(RiskAction))
    value: pl.Float64
    limit_value: pl.Float64
    status: pl.String = pa.Field(isin=values_of(ViolationStatus))
    opened_date: pl.Date
    resolved_date: pl.Date = pa.Field(nullable=True)
    message: pl.String

    class Config:
        strict = True
        unique = ["date", "solution_id", "level", "rule", "subject"]

    @pa.dataframe_check(name="dates_ordered")
    @classmethod
    def dates_ordered(cls, data: PolarsData) -> pl.LazyFrame:
        resolved_today = pl.col("resolved_date").is_null() | (pl.col("resolved_date") == pl.col("date"))
        return data.lazyframe.select((pl.col("opened_date") <= pl.col("date")) & resolved_today)


class RebalanceOrders(pa.DataFrameModel):
    """portfolio.rebalance_orders: the trades of a day, from held to target weight.

    ``trade_value = trade_weight x AUM``; ``estimated_cost`` from the cost model,
    ``simulated_cost`` the fill with slippage (paid from the next business day's AUM).
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    weight_held: pl.Float64 = pa.Field(**WEIGHT)
    weight_target: pl.Float64 = pa.Field(**WEIGHT)
    trade_weight: pl.Float64
    trade_value: pl.Float64
    reason: pl.String = pa.Field(isin=values_of(OrderReason))
    estimated_cost: pl.Float64 = pa.Field(ge=0)
    simulated_cost: pl.Float64 = pa.Field(ge=0)
    slippage: pl.Float64

    class Config:
        strict = True
        unique = ["date", "solution_id", "strategy_id"]
