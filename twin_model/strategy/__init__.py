"""The strategy level: what the firm believes about each strategy, and which hold alpha.

For every strategy of the firm, from a trailing window of daily returns (two years by
default), a hierarchical Bayesian model learns the posterior of its alpha over the
factors (the benchmark and the other factors' spreads over it, or cash), its betas, its
residual volatility and tails, and the residual risk it shares with the strategies of
its sector, and from those its daily
mean, its total volatility and its annual Sharpe ratio. The PyMC model is compiled
**once** per padded shape (by nutpie, through numba) and re-used across dates and
strategy sets by swapping its data; where NUTS does not converge for a strategy, an
exact conjugate regression takes its place and says so, as it does for a strategy the
factors replicate (a factor sleeve), which the Student-t model cannot fit. From the posterior, a Monte
Carlo of the next month gives each strategy's forecast and monthly valley; earlier
forecasts are scored against what happened; and the alpha-pool policy decides, day by
day, which strategies hold persistent alpha.

Parts, one idea each:

- ``_window``: ``return_window``, the trailing observed returns a fit sees, with its
  factor regressors and residual blocks;
- ``_factors``: the factor design (benchmark plus spreads over it);
- ``_likelihood``: the model's log density in numpy, draw by draw;
- ``_model``: the PyMC model (priors, padding, masking, the same density in PyTensor);
- ``_results``: ``FitSettings``, ``FitResult`` and the summary table (the draws are
  encoded by ``twin_model.contracts``, whose ``DRAWS_SCHEMA`` is re-exported here);
- ``_fitting``: ``StrategyModelFitter``, NUTS with compile-once and the per-strategy fallback;
- ``_conjugate``: the exact normal-inverse-gamma fit;
- ``_replication``: the strategies the factors replicate (the exact fit, never NUTS);
- ``_reweighting`` and ``_rolling``: rolling posteriors, the anchor's draws weighted by the
  days that entered and left, PSIS diagnostics and the refit rules (``RollingFitter``);
- ``_forecast``: posterior-predictive scenarios and the forecast summary (monthly valley);
- ``_parameter_sets``: named beliefs (the fitted one, an expert's) as seeded scenarios;
- ``_calibration``: the band coverage of earlier forecasts;
- ``_alpha_pool``: the alpha-pool policy (a PFA with hysteresis), its state and evidence,
  and the strategy level for ``twin_model.twin.run``.
"""

from twin_model.contracts import DRAWS_SCHEMA, draws_schema
from twin_model.strategy._alpha_pool import (
    EVIDENCE_COLUMNS,
    POOL_STATE_COLUMNS,
    AlphaPoolPolicy,
    PoolMembership,
    PoolState,
    alpha_pool_level,
    pool_evidence,
    pool_exogenous,
    pool_table,
)
from twin_model.strategy._calibration import forecast_calibration, forecast_calibration_days
from twin_model.strategy._conjugate import conjugate_fit, nig_posterior
from twin_model.strategy._factors import FactorDesign, benchmark_factors, factor_design, spread_over_benchmark
from twin_model.strategy._fitting import StrategyModelFitter
from twin_model.strategy._forecast import (
    MIN_TAIL_DF,
    RETURN_FLOOR,
    PredictiveModel,
    SimulationSettings,
    compounded_returns,
    forecast_summary,
    path_troughs,
    predictive_model,
    simulate_posterior_predictive,
    simulate_predictive,
)
from twin_model.strategy._likelihood import block_loglik
from twin_model.strategy._model import block_slots, build_model, padded_arrays, padded_shape, stored_variables
from twin_model.strategy._parameter_sets import (
    ParameterSet,
    fitted_parameter_set,
    repair_correlation,
    residual_correlation,
    simulate_parameter_set,
)
from twin_model.strategy._replication import REPLICATED, replicated
from twin_model.strategy._results import ROLLING_COLUMNS, SUMMARY_SCHEMA, FitResult, FitSettings
from twin_model.strategy._reweighting import khat_threshold
from twin_model.strategy._rolling import (
    Anchor,
    DayPosterior,
    Reweighting,
    RollingFitter,
    refit_reasons,
    reweigh,
    stored_anchor,
)
from twin_model.strategy._window import ReturnWindow, return_window, sector_blocks

__all__ = [
    # fitting the strategy model
    "ReturnWindow",
    "return_window",
    "sector_blocks",
    "FactorDesign",
    "factor_design",
    "benchmark_factors",
    "spread_over_benchmark",
    "block_loglik",
    "FitSettings",
    "FitResult",
    "StrategyModelFitter",
    "conjugate_fit",
    "nig_posterior",
    "replicated",
    "REPLICATED",
    "build_model",
    "padded_shape",
    "block_slots",
    "padded_arrays",
    "stored_variables",
    "SUMMARY_SCHEMA",
    "DRAWS_SCHEMA",
    # rolling posteriors
    "ROLLING_COLUMNS",
    "Anchor",
    "DayPosterior",
    "Reweighting",
    "RollingFitter",
    "refit_reasons",
    "reweigh",
    "stored_anchor",
    "khat_threshold",
    "draws_schema",
    # forecasting the next month
    "SimulationSettings",
    "simulate_posterior_predictive",
    "PredictiveModel",
    "predictive_model",
    "simulate_predictive",
    "forecast_summary",
    "compounded_returns",
    "path_troughs",
    "RETURN_FLOOR",
    "MIN_TAIL_DF",
    "ParameterSet",
    "fitted_parameter_set",
    "residual_correlation",
    "simulate_parameter_set",
    "repair_correlation",
    "forecast_calibration",
    "forecast_calibration_days",
    # the alpha pool
    "POOL_STATE_COLUMNS",
    "EVIDENCE_COLUMNS",
    "AlphaPoolPolicy",
    "PoolMembership",
    "PoolState",
    "pool_evidence",
    "pool_exogenous",
    "alpha_pool_level",
    "pool_table",
]
