"""One pandera schema per warehouse table, and the one way frames are validated.

Every table carries ``date`` (the business-day partition) and its entity keys. A frame is
validated against its table's schema before it is written (see ``validate``); a failure
raises ``DataQualityError`` whose message names the table, the row (by its keys), the
column and the rule, so a bad input never reaches the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from twin_model.restatements import Resolution

MAX_DAILY_RETURN = 0.5
"""A daily return above +50% is treated as a data error, not a trading result."""

SOURCE_ROW = "source_row"
"""A column a source may add to a frame read from a file: each row's data row in that
file (1-based, the header not counted). ``validate`` names it in messages and drops it."""


class DataQualityError(ValueError):
    """A frame broke its table's contract; ``problems`` lists one line per failure."""

    def __init__(self, table: str, problems: list[str], origin: str | None = None):
        self.table = table
        self.problems = problems
        source = f" (from {origin})" if origin else ""
        shown = "\n  - ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{table}{source}: {len(problems)} data-quality problem(s):\n  - {shown}{more}")


def _finite(data: PolarsData) -> pl.LazyFrame:
    """Column check: no NaN or infinite value (nulls are the nullable flag's business)."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | column.is_finite())


def _business_day(data: PolarsData) -> pl.LazyFrame:
    """Column check: a date is a weekday (Monday to Friday)."""
    return data.lazyframe.select(pl.col(data.key).dt.weekday() <= 5)


def _identifier(data: PolarsData) -> pl.LazyFrame:
    """Column check: an id is not blank and has no leading or trailing whitespace (ids
    are compared as given, never stripped)."""
    column = pl.col(data.key)
    return data.lazyframe.select(column.is_null() | ((column == column.str.strip_chars()) & (column.str.len_chars() > 0)))


def _ret_present_when_available(data: PolarsData) -> pl.LazyFrame:
    """Frame check: a strategy marked available must report a return (masking is explicit)."""
    return data.lazyframe.select(pl.col("ret").is_not_null() | ~pl.col("available"))


class _RawTable(pa.DataFrameModel):
    """What every raw table holds: rows dated on business days (a weekend row is refused)."""

    date: pl.Date = pa.Field(nullable=False)

    @pa.check("date", name="business_day")
    @classmethod
    def business_day(cls, data: PolarsData) -> pl.LazyFrame:
        return _business_day(data)


class MarketPrices(_RawTable):
    """raw.market_prices: one close per instrument and business day."""

    ticker: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    close: pl.Float64 = pa.Field(nullable=False, gt=0)
    asset_class: pl.String = pa.Field(nullable=False)
    is_benchmark: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "ticker"]

    @pa.check("close", name="finite")
    @classmethod
    def close_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.check("ticker", name="not_blank_or_padded")
    @classmethod
    def ticker_identifier(cls, data: PolarsData) -> pl.LazyFrame:
        return _identifier(data)


class StrategyReturns(_RawTable):
    """raw.strategy_returns: W_{t+1} at strategy level.

    ``ret`` is the simple return of the day (net of the strategy's own trading costs);
    ``available`` False marks a day the strategy did not trade, and then ``ret`` may be
    null. A return must be finite, above -100% and at most +50%.
    """

    strategy_id: pl.String = pa.Field(nullable=False, str_length={"min_value": 1})
    ret: pl.Float64 = pa.Field(nullable=True, gt=-1.0, le=MAX_DAILY_RETURN)
    available: pl.Boolean = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]

    @pa.check("ret", name="finite")
    @classmethod
    def ret_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.check("strategy_id", name="not_blank_or_padded")
    @classmethod
    def strategy_identifier(cls, data: PolarsData) -> pl.LazyFrame:
        return _identifier(data)

    @pa.dataframe_check(name="ret_present_when_available")
    @classmethod
    def ret_present_when_available(cls, data: PolarsData) -> pl.LazyFrame:
        return _ret_present_when_available(data)


class StrategyPositions(_RawTable):
    """raw.strategy_positions: the weight of each ticker a bundled strategy holds that day.

    The weight is a fraction of the strategy's capital (negative for a short), held over
    the day's return: it was decided at the previous close.
    """

    strategy_id: pl.String = pa.Field(nullable=False)
    ticker: pl.String = pa.Field(nullable=False)
    weight: pl.Float64 = pa.Field(nullable=False, ge=-1.0, le=1.0)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "ticker"]

    @pa.check("weight", name="finite")
    @classmethod
    def weight_finite(cls, data: PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.check("strategy_id", "ticker", name="not_blank_or_padded")
    @classmethod
    def identifiers(cls, data: PolarsData) -> pl.LazyFrame:
        return _identifier(data)


class InputDigests(pa.DataFrameModel):
    """raw.input_digests: the content digest of each day a raw table stored (twin_model.restatements)."""

    date: pl.Date = pa.Field(nullable=False)
    table: pl.String = pa.Field(nullable=False)
    digest: pl.String = pa.Field(nullable=False, str_length={"min_value": 64, "max_value": 64})
    rows: pl.Int64 = pa.Field(nullable=False, ge=0)
    stored_at: pl.Datetime = pa.Field(nullable=False)
    run_id: pl.String = pa.Field(nullable=False)

    class Config:
        strict = True
        unique = ["date", "table"]


class Restatements(pa.DataFrameModel):
    """raw.restatements: a stored day of raw input whose content changed, and how it was resolved.

    Open (``resolved_by_run`` null) until the layers above raw are replayed from the day,
    or at once when none of them had reached the day (``resolution``).
    """

    date: pl.Date = pa.Field(nullable=False)
    table: pl.String = pa.Field(nullable=False)
    old_digest: pl.String = pa.Field(nullable=False)
    new_digest: pl.String = pa.Field(nullable=False)
    detected_at: pl.Datetime = pa.Field(nullable=False)
    run_id: pl.String = pa.Field(nullable=False)
    resolved_by_run: pl.String = pa.Field(nullable=True)
    resolved_at: pl.Datetime = pa.Field(nullable=True)
    resolution: pl.String = pa.Field(nullable=True, isin=[r.value for r in Resolution])

    class Config:
        strict = True
        unique = ["date", "table", "detected_at"]


_PROBABILITY = {"ge": 0.0, "le": 1.0}
SHA256_PATTERN = r"^[0-9a-f]{64}$"
"""An artefact's content hash as the tables store it: 64 lowercase hex digits."""


class MarketRegime(pa.DataFrameModel):
    """raw.market_regime: the market state behind solution risk budgets (W_{t+1} for solutions).

    From the benchmark: trend (close vs 200-day average) and volatility state (21-day
    realised volatility), their indicators, and the suggested risk_scale of a solution's
    risk budget (twin_model.market). "unknown" while history is too short.
    """

    date: pl.Date = pa.Field(nullable=False)
    regime: pl.String = pa.Field(nullable=False)
    trend: pl.String = pa.Field(nullable=True, isin=["up", "down"])
    volatility_state: pl.String = pa.Field(nullable=True, isin=["low_vol", "normal_vol", "high_vol"])
    vol_21d: pl.Float64 = pa.Field(nullable=True, ge=0)
    vol_63d: pl.Float64 = pa.Field(nullable=True, ge=0)
    trend_ratio: pl.Float64 = pa.Field(nullable=True)
    drawdown_252d: pl.Float64 = pa.Field(nullable=True, ge=-1, le=0)
    risk_scale: pl.Float64 = pa.Field(nullable=False, gt=0, le=1)

    class Config:
        strict = True
        unique = ["date"]


class StrategyPosteriors(pa.DataFrameModel):
    """models.strategy_posteriors: the posterior summary of each strategy's return model.

    Daily units unless named otherwise (sharpe_* are annualised). ``method`` says whether
    NUTS or the exact conjugate fallback produced the row; ``converged`` False means the
    row must not be used downstream. Draws live in the artefact store at ``draws_path``,
    verified on read by ``draws_sha256`` (the sha256 of the file's bytes).
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    n_obs: pl.Int64 = pa.Field(ge=0)
    daily_mean_mean: pl.Float64
    daily_mean_sd: pl.Float64 = pa.Field(ge=0)
    alpha_mean: pl.Float64
    alpha_sd: pl.Float64 = pa.Field(ge=0)
    beta_mean: pl.Float64
    beta_sd: pl.Float64 = pa.Field(ge=0)
    vol_mean: pl.Float64 = pa.Field(gt=0)
    vol_sd: pl.Float64 = pa.Field(ge=0)
    nu_mean: pl.Float64 = pa.Field(gt=2)
    nu_sd: pl.Float64 = pa.Field(nullable=True)
    sharpe_mean: pl.Float64
    sharpe_sd: pl.Float64 = pa.Field(ge=0)
    sharpe_q05: pl.Float64
    sharpe_q95: pl.Float64
    alpha_q05: pl.Float64
    alpha_q95: pl.Float64
    p_alpha_positive: pl.Float64 = pa.Field(**_PROBABILITY)
    p_sharpe_above_hurdle: pl.Float64 = pa.Field(**_PROBABILITY)
    rhat_max: pl.Float64 = pa.Field(nullable=True)
    ess_bulk_min: pl.Float64 = pa.Field(nullable=True)
    divergences: pl.Int64 = pa.Field(nullable=True, ge=0)
    converged: pl.Boolean
    method: pl.String = pa.Field(isin=["nuts", "conjugate"])
    fallback_reason: pl.String = pa.Field(nullable=True)
    sampler: pl.String
    draws: pl.Int64 = pa.Field(gt=0)
    chains: pl.Int64 = pa.Field(gt=0)
    seed: pl.Int64
    window_start: pl.Date
    window_end: pl.Date
    window_days: pl.Int64 = pa.Field(gt=0)
    fit_seconds: pl.Float64 = pa.Field(ge=0)
    draws_path: pl.String
    draws_sha256: pl.String = pa.Field(str_matches=SHA256_PATTERN)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]


class StrategyForecasts(pa.DataFrameModel):
    """models.strategy_forecasts: the next month of each strategy, simulated.

    Returns are the month's compounded return; ``monthly_valley`` is the 5th percentile
    over paths of the running minimum of month-to-date cumulative P&L (<= 0).
    ``parameter_set`` is "posterior" (the model) or a named view such as "expert".
    Scenario matrices live in the artefact store at ``scenarios_path``, verified on read
    by ``scenarios_sha256``.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    parameter_set: pl.String = pa.Field(nullable=False)
    horizon_days: pl.Int64 = pa.Field(gt=0)
    n_paths: pl.Int64 = pa.Field(gt=0)
    mean_return: pl.Float64 = pa.Field(gt=-1)
    p05: pl.Float64 = pa.Field(gt=-1)
    p50: pl.Float64 = pa.Field(gt=-1)
    p95: pl.Float64 = pa.Field(gt=-1)
    prob_loss: pl.Float64 = pa.Field(**_PROBABILITY)
    expected_shortfall_95: pl.Float64 = pa.Field(gt=-1)
    monthly_valley: pl.Float64 = pa.Field(gt=-1, le=0)
    expected_trough: pl.Float64 = pa.Field(gt=-1, le=0)
    scenarios_path: pl.String
    scenarios_sha256: pl.String = pa.Field(str_matches=SHA256_PATTERN)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "parameter_set"]

    @pa.dataframe_check(name="percentiles_ordered")
    @classmethod
    def percentiles_ordered(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("p05") <= pl.col("p50")) & (pl.col("p50") <= pl.col("p95")))


class ForecastCalibration(pa.DataFrameModel):
    """models.forecast_calibration: did the month that just ended fall in the 5-95 band
    forecast a month earlier, and the running coverage of every matured forecast."""

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    forecast_date: pl.Date
    realised_return: pl.Float64 = pa.Field(gt=-1)
    p05: pl.Float64
    p95: pl.Float64
    inside_band: pl.Boolean
    n_evaluated: pl.Int64 = pa.Field(gt=0)
    coverage_rate: pl.Float64 = pa.Field(**_PROBABILITY)

    class Config:
        strict = True
        unique = ["date", "strategy_id"]


class StrategyStatistics(pa.DataFrameModel):
    """stats.strategy_statistics: risk and performance over trailing observed returns.

    Conventions are twin_model.statistics' (252 periods a year, ddof=1, drawdown from
    wealth 1, VaR as the 5% quantile). Null where a statistic is not computable.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    window: pl.String = pa.Field(isin=["21d", "63d", "252d", "inception"])
    n_obs: pl.Int64 = pa.Field(gt=0)
    annual_return: pl.Float64 = pa.Field(nullable=True)
    annual_volatility: pl.Float64 = pa.Field(nullable=True, ge=0)
    sharpe: pl.Float64 = pa.Field(nullable=True)
    sortino: pl.Float64 = pa.Field(nullable=True)
    calmar: pl.Float64 = pa.Field(nullable=True)
    max_drawdown: pl.Float64 = pa.Field(nullable=True, ge=-1, le=0)
    max_drawdown_duration: pl.Int64 = pa.Field(nullable=True, ge=0)
    var_95: pl.Float64 = pa.Field(nullable=True)
    cvar_95: pl.Float64 = pa.Field(nullable=True)
    cf_var_95: pl.Float64 = pa.Field(nullable=True)
    cf_cvar_95: pl.Float64 = pa.Field(nullable=True)
    skew: pl.Float64 = pa.Field(nullable=True)
    kurtosis: pl.Float64 = pa.Field(nullable=True)
    alpha: pl.Float64 = pa.Field(nullable=True)
    beta: pl.Float64 = pa.Field(nullable=True)
    psr: pl.Float64 = pa.Field(nullable=True, **_PROBABILITY)
    dsr: pl.Float64 = pa.Field(nullable=True, **_PROBABILITY)
    min_track_record_length: pl.Float64 = pa.Field(nullable=True)
    hit_rate: pl.Float64 = pa.Field(nullable=True, **_PROBABILITY)
    mtd_pnl: pl.Float64 = pa.Field(nullable=True)
    mtd_trough: pl.Float64 = pa.Field(nullable=True, le=0)

    class Config:
        strict = True
        unique = ["date", "strategy_id", "window"]


class AlphaPool(pa.DataFrameModel):
    """alpha.alpha_pool: the strategy-level decision and its state (S_t of the strategy level).

    One row per known strategy every business day (a holiday carries the state), so the
    previous day's state is always there to read. ``alpha_level`` is the posterior mean
    of the annualised alpha (daily alpha x 252); ``evidence`` the policy's probability.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    in_pool: pl.Boolean
    days_in_state: pl.Int64 = pa.Field(ge=0)
    changed: pl.Boolean
    alpha_level: pl.Float64 = pa.Field(nullable=True)
    evidence: pl.Float64 = pa.Field(nullable=True, **_PROBABILITY)
    reason: pl.String
    policy: pl.String

    class Config:
        strict = True
        unique = ["date", "strategy_id"]


_WEIGHT = {"ge": -10, "le": 10}
"""Weights are fractions of a solution's AUM; anything beyond +-10 is a data error."""


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
    status: pl.String = pa.Field(isin=["active", "paused", "stopped", "out_of_pool"])
    in_pool: pl.Boolean
    tier: pl.String = pa.Field(isin=["core", "incubation", "none"])
    weight_start: pl.Float64 = pa.Field(**_WEIGHT)
    weight_held: pl.Float64 = pa.Field(**_WEIGHT)
    weight_target: pl.Float64 = pa.Field(**_WEIGHT)
    weight_close: pl.Float64 = pa.Field(**_WEIGHT)
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
    status: pl.String = pa.Field(
        isin=["optimal", "turnover_relaxed", "held", "cooldown", "no_strategies", "insufficient_history", "infeasible"]
    )
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
    weight_start: pl.Float64 = pa.Field(**_WEIGHT)
    ret: pl.Float64 = pa.Field(nullable=True, gt=-1)
    return_contribution: pl.Float64
    weight_close: pl.Float64 = pa.Field(**_WEIGHT)
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
    level: pl.String = pa.Field(isin=["portfolio", "strategy", "position"])
    rule: pl.String
    subject: pl.String
    severity: pl.String = pa.Field(isin=["critical", "high", "medium", "low"])
    action: pl.String = pa.Field(isin=["liquidate", "reduce_proportionally", "pause_strategy", "alert"])
    value: pl.Float64
    limit_value: pl.Float64
    status: pl.String = pa.Field(isin=["open", "resolved"])
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
    weight_held: pl.Float64 = pa.Field(**_WEIGHT)
    weight_target: pl.Float64 = pa.Field(**_WEIGHT)
    trade_weight: pl.Float64
    trade_value: pl.Float64
    reason: pl.String = pa.Field(isin=["rebalance", "forced_exit", "liquidation"])
    estimated_cost: pl.Float64 = pa.Field(ge=0)
    simulated_cost: pl.Float64 = pa.Field(ge=0)
    slippage: pl.Float64

    class Config:
        strict = True
        unique = ["date", "solution_id", "strategy_id"]


@dataclass(frozen=True)
class TableSpec:
    """Where a table lives in the warehouse, its schema and the keys that name a row."""

    layer: str
    name: str
    model: type[pa.DataFrameModel]
    keys: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def path(self) -> list[str]:
        """The asset key path of the table's asset: [layer, name]."""
        return [self.layer, self.name]

    def columns(self) -> dict[str, pl.DataType]:
        """Column name to polars dtype, in schema order."""
        return {name: column.dtype.type for name, column in self.model.to_schema().columns.items()}

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.columns())


TABLES: dict[str, TableSpec] = {
    spec.qualified_name: spec
    for spec in (
        TableSpec("raw", "market_prices", MarketPrices, ("date", "ticker")),
        TableSpec("raw", "strategy_returns", StrategyReturns, ("date", "strategy_id")),
        TableSpec("raw", "strategy_positions", StrategyPositions, ("date", "strategy_id", "ticker")),
        TableSpec("raw", "market_regime", MarketRegime, ("date",)),
        TableSpec("raw", "input_digests", InputDigests, ("date", "table")),
        TableSpec("raw", "restatements", Restatements, ("date", "table", "detected_at")),
        TableSpec("models", "strategy_posteriors", StrategyPosteriors, ("date", "strategy_id")),
        TableSpec("models", "strategy_forecasts", StrategyForecasts, ("date", "strategy_id", "parameter_set")),
        TableSpec("models", "forecast_calibration", ForecastCalibration, ("date", "strategy_id")),
        TableSpec("stats", "strategy_statistics", StrategyStatistics, ("date", "strategy_id", "window")),
        TableSpec("alpha", "alpha_pool", AlphaPool, ("date", "strategy_id")),
        TableSpec("portfolio", "solution_weights", SolutionWeights, ("date", "solution_id", "strategy_id")),
        TableSpec("portfolio", "solution_optimizations", SolutionOptimizations, ("date", "solution_id")),
        TableSpec("portfolio", "solution_performance", SolutionPerformance, ("date", "solution_id")),
        TableSpec("portfolio", "strategy_attribution", StrategyAttribution, ("date", "solution_id", "strategy_id")),
        TableSpec("portfolio", "risk_violations", RiskViolations, ("date", "solution_id", "level", "rule", "subject")),
        TableSpec("portfolio", "rebalance_orders", RebalanceOrders, ("date", "solution_id", "strategy_id")),
    )
}


def table_spec(qualified_name: str) -> TableSpec:
    """The spec of ``layer.table``; a clear error for a table the contract does not know."""
    try:
        return TABLES[qualified_name]
    except KeyError:
        raise KeyError(f"no schema for table {qualified_name!r}; known: {sorted(TABLES)}") from None


def validate(frame: pl.DataFrame, spec: TableSpec, origin: str | None = None) -> pl.DataFrame:
    """Validate ``frame`` against ``spec``'s schema, collecting every failure.

    Returns the frame with columns in schema order. ``origin`` (a file, a source) is
    named in the error. Raises ``DataQualityError`` naming, for each failure, the row by
    its keys (and its data row in the file, when the frame carries ``SOURCE_ROW``), the
    column, the rule and the offending value (text quoted, so a stray space shows).
    """
    source_rows = frame.get_column(SOURCE_ROW) if SOURCE_ROW in frame.columns else None
    frame = frame.drop(SOURCE_ROW, strict=False)
    structure = _structure_problems(frame, spec)
    if structure:
        raise DataQualityError(spec.qualified_name, structure, origin)
    try:
        validated = spec.model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        problems = _describe(errors.failure_cases, frame, spec, source_rows)
        raise DataQualityError(spec.qualified_name, problems, origin) from None
    return validated.select(list(spec.columns()))


def _structure_problems(frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    """Missing, unexpected and mistyped columns: checked first, since row rules need them."""
    expected = spec.columns()
    problems = [f"missing column {name!r} (expected {dtype})" for name, dtype in expected.items() if name not in frame.columns]
    problems += [f"unexpected column {name!r}" for name in frame.columns if name not in expected]
    problems += [
        f"column {name!r} has type {frame.schema[name]}, expected {dtype}"
        for name, dtype in expected.items()
        if name in frame.columns and frame.schema[name] != dtype
    ]
    return problems


_RULE_NAMES = {"multiple_fields_uniqueness": "duplicate key"}


def _describe(
    failures: pl.DataFrame, frame: pl.DataFrame, spec: TableSpec, source_rows: pl.Series | None
) -> list[str]:
    """Turn pandera's failure cases into one readable line each."""
    lines: list[str] = []
    for case in failures.iter_rows(named=True):
        index = case["index"] if case["index"] is not None and case["index"] < frame.height else None
        where = _row_label(frame, spec, index, source_rows)
        column = case["column"] if case["schema_context"] == "Column" else None
        what = f"column {column!r}" if column else "row"
        rule = _RULE_NAMES.get(case["check"], case["check"])
        value = _failed_value(frame, column, index, case["failure_case"])
        lines.append(f"{where}{what}: rule {rule} failed (value: {value})")
    return list(dict.fromkeys(lines))


def _failed_value(frame: pl.DataFrame, column: str | None, index: int | None, failure_case: str | None) -> str:
    """The offending value as pandera gives it, or quoted (repr) for a text column."""
    if column in frame.columns and index is not None and frame.schema[column] == pl.String:
        return repr(frame.get_column(column)[index])
    return str(failure_case)


def _row_label(frame: pl.DataFrame, spec: TableSpec, index: int | None, source_rows: pl.Series | None) -> str:
    """"data row N (keys): " for a frame read from a file (N is the file's own), else
    "row I (keys): " with I the position in ``frame``; "" when the row is not known."""
    if index is None or not all(k in frame.columns for k in spec.keys):
        return ""
    row = frame.row(index, named=True)
    keys = ", ".join(f"{key}={row[key]}" for key in spec.keys)
    position = f"data row {source_rows[index]}" if source_rows is not None else f"row {index}"
    return f"{position} ({keys}): "
