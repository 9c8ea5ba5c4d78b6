"""Risk and performance statistics of periodic simple returns (the public surface).

Every function takes a 1-D numpy array, polars Series or sequence of periodic simple
returns ``r_1 .. r_n`` (0.01 = +1 %) and works called with the returns alone; options are
keyword-only. ``strategy_statistics_table`` builds the ``stats.strategy_statistics``
table from the same formulas, vectorised over strategies.

Conventions (pinned in DESIGN.md "Public Python surface")
-------------------------------------------------------
* ``periods_per_year=252`` (``twin_model.conventions.PERIODS_PER_YEAR``); std is the sample std (ddof=1); ``risk_free`` is per period.
* Sharpe uses excess returns ``e = r - risk_free``; Sortino's ``target`` defaults to 0 and
  its downside deviation averages over all N periods.
* Max drawdown starts from wealth 1 before the first return and is <= 0.
* VaR is the ``level`` (5 %) quantile of returns, numpy's linear interpolation, negative
  for a loss; CVaR is the mean of the returns at or below it.
* Skew is scipy's bias-adjusted Fisher-Pearson coefficient (``scipy.stats.skew(bias=False)``),
  kurtosis the bias-adjusted Pearson (non-excess) kurtosis
  (``scipy.stats.kurtosis(bias=False, fisher=False)``); normal data gives 0 and 3.
* PSR, DSR and min TRL use the per-period (not annualised) Sharpe ``mean(r)/std(r)``.
* Alpha is annualised by compounding, as empyrical does: ``(1 + alpha_period)**252 - 1``.

NaN policy
----------
NaN (and polars nulls) mark unavailable periods and are dropped before computing, so the
remaining returns are compounded back to back and windows count observed returns. An
infinite return raises ``ValueError``. ``alpha_beta`` drops a period when either series is
NaN there.

Too-short and degenerate series (the result is NaN, "not computable", never inf)
--------------------------------------------------------------------------------
* no observation: every statistic is NaN (``max_drawdown_duration`` is 0; month-to-date
  P&L and trough are 0: nothing earned yet this month);
* a statistic that needs dispersion (volatility, Sharpe, Sortino, alpha/beta) needs at
  least 2 observations; skewness 3 and kurtosis 4 (the bias adjustment divides by
  ``n - 2`` and ``(n - 2)(n - 3)``), so Cornish-Fisher VaR/CVaR need 4;
* PSR, DSR and min TRL need at least 3 observations, and since they use the adjusted
  kurtosis they are NaN below 4;
* a constant series (every observed value equal) has std exactly 0: volatility 0, and
  Sharpe, Sortino, skew, kurtosis, Cornish-Fisher and PSR are NaN. Sortino is also NaN
  when no return falls below the target (zero downside deviation), alpha/beta when the
  benchmark is constant, Calmar when there is no drawdown.
* ``min_track_record_length`` is +inf (not NaN) when SR <= SR*: no track record suffices.
"""

from twin_model.statistics._drawdowns import (
    max_drawdown,
    max_drawdown_duration,
    month_to_date_pnl,
    month_to_date_trough,
)
from twin_model.statistics._ratios import (
    alpha_beta,
    annual_return,
    annual_volatilities,
    annual_volatility,
    calmar_ratio,
    hit_rate,
    kurtosis,
    sharpe_ratio,
    skewness,
    sortino_ratio,
)
from twin_model.statistics._sharpe_inference import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
)
from twin_model.statistics._table import STATISTICS_SCHEMA, WINDOWS, strategy_statistics_table
from twin_model.statistics._tail_risk import (
    conditional_value_at_risk,
    cornish_fisher_cvar,
    cornish_fisher_quantile,
    cornish_fisher_var,
    historical_tail,
    value_at_risk,
)

__all__ = [
    "WINDOWS",
    "STATISTICS_SCHEMA",
    "annual_return",
    "annual_volatility",
    "annual_volatilities",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar_ratio",
    "alpha_beta",
    "skewness",
    "kurtosis",
    "value_at_risk",
    "conditional_value_at_risk",
    "historical_tail",
    "cornish_fisher_quantile",
    "cornish_fisher_var",
    "cornish_fisher_cvar",
    "probabilistic_sharpe_ratio",
    "expected_maximum_sharpe",
    "deflated_sharpe_ratio",
    "min_track_record_length",
    "hit_rate",
    "month_to_date_pnl",
    "month_to_date_trough",
    "strategy_statistics_table",
]
