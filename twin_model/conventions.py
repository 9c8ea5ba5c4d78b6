"""The conventions every level shares: periods a year, the vocabularies (as enums) and the
one rule for what counts as an observed return.

A vocabulary that appears in a table (a strategy's status, a violation's severity, why a
day rebalanced) is an enum here, so code compares members, never string literals, and
the table schemas list the members' values.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

PERIODS_PER_YEAR = 252
"""Business days a year: the annualisation of every statistic, model and optimiser."""


def observed_return(columns: list[str] | tuple[str, ...]) -> pl.Expr:
    """The one rule for an observed return, as a polars predicate over a returns frame.

    A row is an observation when the strategy was available (``available`` true; a frame
    without the column is all available, and a null ``available`` is *not* an
    observation) and its ``ret`` is neither null nor NaN. Windows and annualisation count
    these rows, never partitions.
    """
    available = pl.col("available").fill_null(False) if "available" in columns else pl.lit(True)
    return available & pl.col("ret").is_not_null() & pl.col("ret").is_not_nan().fill_null(False)


# --------------------------------------------------------------------------- strategy level


class StatisticsWindow(StrEnum):
    """The trailing windows of ``stats.strategy_statistics`` (column ``window``)."""

    DAYS_21 = "21d"
    DAYS_63 = "63d"
    DAYS_252 = "252d"
    INCEPTION = "inception"


class FitMethod(StrEnum):
    """How a strategy's posterior was obtained (``models.strategy_posteriors.method``)."""

    NUTS = "nuts"
    CONJUGATE = "conjugate"
    REWEIGHTED = "reweighted"


class ModelUpdate(StrEnum):
    """How a day's posterior follows the previous day's (``strategies.yaml`` ``model.update``):
    ``rolling`` reweights the last NUTS fit's draws until a refit rule fires, ``refit``
    fits every day afresh."""

    ROLLING = "rolling"
    REFIT = "refit"


class ReweightBy(StrEnum):
    """Which likelihood weighs an anchor's draws on a rolling day (``strategies.yaml``
    ``model.reweight``): ``block`` the joint density of a residual block's members (exact
    for the block's joint posterior; its weights thin with the block's size), ``strategy``
    each strategy's own marginal density (the one-coordinate marginal of the block's
    multivariate t; see ``strategy._reweighting``)."""

    BLOCK = "block"
    STRATEGY = "strategy"


class MassMatrix(StrEnum):
    """NUTS's mass matrix (``strategies.yaml`` ``model.mass_matrix``): ``diagonal`` adapts
    one scale per parameter; ``low_rank`` adds nutpie's low-rank correction along the
    directions where the draws and gradients disagree most with a diagonal (the
    posterior's correlated directions), so a draw takes fewer leapfrog steps."""

    DIAGONAL = "diagonal"
    LOW_RANK = "low_rank"


class RefitRule(StrEnum):
    """Why a rolling update refitted with NUTS instead of reweighting (the first word of
    ``models.strategy_posteriors.refit_reason``)."""

    FIRST_DAY = "first_day"
    CONFIGURED = "configured"
    UNIVERSE = "universe"
    FALLBACK = "fallback"
    CADENCE = "cadence"
    PARETO_K = "pareto_k"
    ESS = "ess"


class ParameterSetName(StrEnum):
    """The named beliefs a forecast is simulated from (``parameter_set`` of the forecasts)."""

    POSTERIOR = "posterior"
    EXPERT = "expert"


class PoolSignal(StrEnum):
    """The posterior probability the alpha-pool policy reads as its evidence."""

    P_ALPHA_POSITIVE = "p_alpha_positive"
    P_SHARPE_ABOVE_HURDLE = "p_sharpe_above_hurdle"


class MetalabelModelKind(StrEnum):
    """The classifier behind a metalabel (``model`` of its predictions): the purged
    cross-validation chooses among these, and the base rate wins when no model beats it."""

    LOGISTIC = "logistic"
    BOOSTING = "boosting"
    BASE_RATE = "base_rate"


class MetalabelTarget(StrEnum):
    """What a metalabel predicts: the next month's return over the strategy's factors
    (``label``) or its total return (``label_total``, on long-only sleeves mostly market
    direction)."""

    RESIDUAL = "label"
    TOTAL = "label_total"


# --------------------------------------------------------------------------- solution level

UNCLASSIFIED_SECTOR = "unclassified"
"""The sector of a strategy the solution has no sector for."""
UNKNOWN_ASSET_CLASS = "unknown"
"""The asset class of a strategy the solution has no asset class for."""


class StrategyStatus(StrEnum):
    """A strategy's status inside a solution (``portfolio.solution_weights.status``)."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    OUT_OF_POOL = "out_of_pool"


class Tier(StrEnum):
    """How a solution sizes a strategy: the alpha pool's ``core``, ``incubation`` or ``none``."""

    CORE = "core"
    INCUBATION = "incubation"
    NONE = "none"


class PolicyKind(StrEnum):
    """A solution's allocation policy (``config/solutions.yaml`` ``policy.kind``)."""

    STATIC = "static"
    INVERSE_VOLATILITY = "inverse_volatility"
    EQUAL_RISK_CONTRIBUTION = "equal_risk_contribution"
    PERFORMANCE = "performance"
    FRACTIONAL_KELLY = "fractional_kelly"
    HIERARCHICAL_RISK_BUDGET = "hierarchical_risk_budget"
    OPTIMIZER = "optimizer"


class KellyMethod(StrEnum):
    """How fractional Kelly found its growth-optimal book (the optimisation row's ``method``)."""

    SCENARIO = "scenario"
    GAUSSIAN = "gaussian"


class AllocationStatus(StrEnum):
    """What a day's targets came from (``portfolio.solution_optimizations.status``)."""

    OPTIMAL = "optimal"
    TURNOVER_RELAXED = "turnover_relaxed"
    HELD = "held"
    COOLDOWN = "cooldown"
    NO_STRATEGIES = "no_strategies"
    INSUFFICIENT_HISTORY = "insufficient_history"
    INFEASIBLE = "infeasible"


class RebalanceTrigger(StrEnum):
    """Why a day rebalanced (``portfolio.solution_optimizations.triggers``, comma-joined)."""

    LAUNCH = "launch"
    MONTHLY = "monthly"
    DRIFT = "drift"
    RISK = "risk"
    MANUAL = "manual"
    POOL_CHANGE = "pool_change"
    RAMP = "ramp"
    RECOVERY = "recovery"
    RETRY = "retry"


class ManualActionKind(StrEnum):
    """An override in ``config/solutions.yaml``: rebalance a solution, stop or reinstate a strategy."""

    REBALANCE = "rebalance"
    STOP = "stop"
    REINSTATE = "reinstate"


class OrderReason(StrEnum):
    """Why a trade was made (``portfolio.rebalance_orders.reason``)."""

    REBALANCE = "rebalance"
    FORCED_EXIT = "forced_exit"
    LIQUIDATION = "liquidation"


class ViolationLevel(StrEnum):
    """The level of the risk hierarchy a rule watches (``portfolio.risk_violations.level``)."""

    PORTFOLIO = "portfolio"
    STRATEGY = "strategy"
    POSITION = "position"


class RiskRuleName(StrEnum):
    """A rule of ``config/risk_limits.yaml`` (``portfolio.risk_violations.rule``)."""

    GROSS_LEVERAGE = "gross_leverage"
    DRAWDOWN_STOP = "drawdown_stop"
    VOLATILITY_TARGET = "volatility_target"
    MAX_PAIRWISE_CORRELATION = "max_pairwise_correlation"
    MIN_DIVERSIFICATION_RATIO = "min_diversification_ratio"
    VAR_95 = "var_95"
    CVAR_95 = "cvar_95"
    VAR_99 = "var_99"
    CVAR_99 = "cvar_99"
    STRATEGY_WEIGHT = "strategy_weight"
    STRATEGY_DRAWDOWN = "strategy_drawdown"
    STRATEGY_VOLATILITY = "strategy_volatility"
    NET_EXPOSURE_PER_TICKER = "net_exposure_per_ticker"


class Severity(StrEnum):
    """How bad a breach is (``portfolio.risk_violations.severity``), mildest last."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskAction(StrEnum):
    """What a breach makes the solution do (``portfolio.risk_violations.action``)."""

    LIQUIDATE = "liquidate"
    REDUCE_PROPORTIONALLY = "reduce_proportionally"
    PAUSE_STRATEGY = "pause_strategy"
    ALERT = "alert"


class ViolationStatus(StrEnum):
    """A violation row's state on its day (``portfolio.risk_violations.status``)."""

    OPEN = "open"
    RESOLVED = "resolved"


# --------------------------------------------------------------------------- firm and twin


class ScoreKind(StrEnum):
    """How the policy search scores a candidate's net monthly returns ``R_p`` (``twin.yaml``
    ``policy_search.score``)."""

    MEAN_VARIANCE = "mean_variance"
    """``mean(R) - lambda var(R)`` (lambda = ``risk_aversion``)."""
    LOG_GROWTH = "log_growth"
    """``mean(log(1 + R))``."""


class ScenarioStream(StrEnum):
    """Which independent family of seeded paths a policy-search path belongs to."""

    SEARCH = "search"
    """The paths every candidate is scored on (common random numbers)."""
    HOLDOUT = "holdout"
    """Independent paths the winner is re-measured on."""


class CandidateFamily(StrEnum):
    """A policy-search candidate's family (Powell)."""

    INCUMBENT = "incumbent"
    """The solution's configured policy."""
    PFA = "pfa"
    """A policy function approximation: the pause, ramp and stop rules."""
    CFA = "cfa"
    """A cost function approximation: the allocation policy, its parameters, exposure."""
    DLA = "dla"
    """A direct lookahead: at each rebalance, the weights that maximise the mean log growth
    over the model's own simulated next month (scenario fractional Kelly)."""


class BacktestKind(StrEnum):
    """What a row of ``twin.backtest_results`` measures over the back-test's days."""

    TWIN = "twin"
    """A solution as the twin ran it: the month-end search's choice in force (online mode)."""
    STATIC = "static"
    """The same solution on its configured policy, no search, from the same state and inputs."""
    POOL_TUNED = "pool_tuned"
    """The configured policy with the alpha pool's entry bar tuned walk-forward on realised returns."""
    LAUNCHED = "launched"
    """A solution the firm's initiate-solution decision launched in the span: a copy of its
    template from the business day after the decision, on its configured policy."""
    EQUAL_WEIGHT = "equal_weight"
    """Every strategy with a return, equal weights rebalanced on each month's first day."""
    BENCHMARK = "benchmark"
    """The benchmark (the S&P 500 as a total return for the bundled firm), bought and held."""


class Evaluator(StrEnum):
    """How a policy-search candidate was stepped over the paths."""

    REFERENCE = "reference"
    """The solution step itself, through the runner, one path at a time."""
    VECTORISED = "vectorised"
    """The numpy evaluator stepping every path at once (equal to the step, tested)."""
    MIXED = "mixed"
    """The numpy evaluator on every path, then the reference on the paths where a risk
    rule could act or an allocation failed (``risk_screen``): equal to the step, tested."""


class SolutionDecision(StrEnum):
    """The firm's initiate-solution decision of a day (``firm.firm_decisions``)."""

    LAUNCH = "launch"
    """Propose a new solution from the configured template."""
    HOLD = "hold"
    """Launch nothing (the reason says why)."""


class HurdleKind(StrEnum):
    """A performance fee's hurdle: none (fee on the whole gain above the HWM), hard (fee
    only on the gain above the hurdle) or soft (fee on the whole gain above the HWM once
    the hurdle is cleared)."""

    NONE = "none"
    HARD = "hard"
    SOFT = "soft"


class CrystallisationFrequency(StrEnum):
    """How often a performance fee crystallises: the period ends on the last calendar day
    of every ``months``-th month (annual: 31 December)."""

    ANNUAL = "annual"
    SEMIANNUAL = "semiannual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"

    @property
    def months(self) -> int:
        return {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}[self.value]


FIRM_TOTAL = "FIRM"
"""The ``solution_id`` of the firm's total row in ``firm.firm_pnl``."""
