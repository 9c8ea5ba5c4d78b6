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
    """portfolio.solution_performance: per solution and day, the money and the fees.

    Money is in the solution's currency; AUM is its NAV (net of fees): ``units x
    nav_per_unit``. ``gav_start`` is the gross assets at the previous close (AUM plus the
    accrued performance fee, which stays invested), of which the strategies' weights are
    fractions. ``aum = aum_start + gav_start x daily_return + cash_interest - costs - fees
    + flows`` with ``fees = management_fee + performance_fee_charge``; ``costs`` are the
    simulated costs of the previous business day's orders (``pending_costs`` then);
    ``gross_return = daily_return + (cash_interest - costs) / gav_start`` (per unit).
    The fees follow DESIGN.md "Firm economics" (``twin_model.firm.fees``); the performance
    fee's charge may be negative (an accrual written back), the balance and the fee
    crystallised never are. ``pnl = aum - aum_start - flows``. ``drawdown = aum / aum_peak
    - 1``; the drawdown stop measures from ``risk_peak``; both peaks follow the units when
    flows change them. Leverage, net exposure, volatility (63 days, annual) and
    diversification ratio are of the book after today's trades.
    """

    date: pl.Date = pa.Field(nullable=False)
    solution_id: pl.String = pa.Field(nullable=False)
    cold_start: pl.Boolean
    aum_start: pl.Float64 = pa.Field(gt=0, description="AUM (NAV) at the previous close, money.")
    gav_start: pl.Float64 = pa.Field(
        gt=0, description="Gross assets at the previous close: AUM plus the accrued performance fee, money."
    )
    daily_return: pl.Float64 = pa.Field(gt=-1, description="The strategies' return: sum of w_i r_i, a fraction.")
    cash_interest: pl.Float64 = pa.Field(
        description="Interest on the uninvested cash at the cash rate, ACT/365, money (negative when short cash)."
    )
    costs: pl.Float64 = pa.Field(ge=0, description="Trading costs of the previous day's orders paid today, money.")
    gross_return: pl.Float64 = pa.Field(
        gt=-1, description="Return per unit before fees (after costs, with the cash interest), a fraction."
    )
    management_fee: pl.Float64 = pa.Field(
        ge=0, description="Management fee accrued today: m x NAV_{t-1} x d_t / 365 x units, money."
    )
    performance_fee_charge: pl.Float64 = pa.Field(
        description="Change in the accrued performance fee before crystallisation and flows, money (negative: written back)."
    )
    fees: pl.Float64 = pa.Field(description="management_fee + performance_fee_charge, money.")
    crystallised_fee: pl.Float64 = pa.Field(
        ge=0, description="Performance fee paid today (period end, redeemed units), money."
    )
    flows: pl.Float64 = pa.Field(description="Subscriptions (positive) and redemptions (negative) at NAV, money.")
    pnl: pl.Float64 = pa.Field(description="aum - aum_start - flows, money.")
    aum: pl.Float64 = pa.Field(gt=0, description="AUM (NAV, net of fees) at the close: units x nav_per_unit, money.")
    net_return: pl.Float64 = pa.Field(gt=-1, description="NAV per unit over the previous one, less 1.")
    units: pl.Float64 = pa.Field(gt=0, description="Units in issue at the close.")
    nav_per_unit: pl.Float64 = pa.Field(gt=0, description="NAV per unit: gav_per_unit - performance_fee_per_unit.")
    gav_per_unit: pl.Float64 = pa.Field(gt=0, description="Gross asset value per unit.")
    performance_fee_per_unit: pl.Float64 = pa.Field(ge=0, description="Accrued performance fee per unit (A).")
    performance_fee_balance: pl.Float64 = pa.Field(ge=0, description="Accrued performance fee, money: units x A.")
    hwm: pl.Float64 = pa.Field(
        gt=0, description="High-water mark, per unit (NAV at the last positive crystallisation)."
    )
    hurdle_return: pl.Float64 = pa.Field(
        description="The hurdle's return since the fee period began (cash rate plus hurdle_rate, ACT/365), a fraction."
    )
    fee_period_start: pl.Date = pa.Field(description="The day the current fee (crystallisation) period began.")
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

    @pa.dataframe_check(name="units_at_nav")
    @classmethod
    def units_at_nav(cls, data: PolarsData) -> pl.LazyFrame:
        """aum = units x nav_per_unit and nav = gav - A per unit (relative 1e-9)."""
        aum = (pl.col("aum") - pl.col("units") * pl.col("nav_per_unit")).abs() <= 1e-9 * pl.col("aum")
        nav = pl.col("gav_per_unit") - pl.col("performance_fee_per_unit") - pl.col("nav_per_unit")
        return data.lazyframe.select(aum & (nav.abs() <= 1e-9 * pl.col("nav_per_unit")))


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
