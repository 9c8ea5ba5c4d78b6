"""Pure page data for the dashboard (and any other reader of the twin's state): polars
frames in, frames and dataclasses out; no HTML, no I/O, no dagster.

- ``_measures``: growth of 1, drawdown, historical VaR/CVaR, monthly compounding,
  rolling Sharpe / volatility / beta;
- ``_book``: the headline figures, the solutions', firm's and benchmark's returns, equity
  curves and rebalance events, the strategy table, attribution;
- ``_risk``: correlation, risk contributions, the violation log;
- ``_models``: posterior intervals, forecast bands, the alpha pool's history, metalabel
  reliability and forecast calibration;
- ``_firm``: the fee waterfall, the firm's P&L and projection, the policy search, the back-test;
- ``_stress``: historical windows and parametric shocks applied to today's book.
"""

from twin_model.reports._book import (
    BENCHMARK,
    SERIES,
    Headline,
    attribution_summary,
    book_returns,
    equity_curves,
    firm_returns,
    headline,
    rebalance_events,
    strategy_table,
)
from twin_model.reports._firm import (
    Z_95,
    BacktestView,
    backtest_view,
    fee_waterfall,
    firm_rows,
    latest_projection,
    latest_search,
)
from twin_model.reports._measures import (
    ROLLING_WINDOW,
    TAIL_CONFIDENCE,
    TailRisk,
    drawdown,
    growth,
    monthly_returns,
    rolling_metrics,
    tail_risk,
    tail_risk_table,
)
from twin_model.reports._models import (
    calibration_today,
    forecast_bands,
    pool_history,
    posterior_intervals,
    reliability,
)
from twin_model.reports._risk import CORRELATION_DAYS, correlation, risk_contributions, violation_log
from twin_model.reports._stress import (
    HISTORICAL_WINDOWS,
    MARKET_SHOCKS,
    StressWindow,
    historical_stress,
    parametric_shocks,
    todays_weights,
    windows_inside,
)

__all__ = [
    "BENCHMARK",
    "SERIES",
    "Headline",
    "attribution_summary",
    "book_returns",
    "equity_curves",
    "firm_returns",
    "headline",
    "rebalance_events",
    "strategy_table",
    "Z_95",
    "BacktestView",
    "backtest_view",
    "fee_waterfall",
    "firm_rows",
    "latest_projection",
    "latest_search",
    "ROLLING_WINDOW",
    "TAIL_CONFIDENCE",
    "TailRisk",
    "drawdown",
    "growth",
    "monthly_returns",
    "rolling_metrics",
    "tail_risk",
    "tail_risk_table",
    "calibration_today",
    "forecast_bands",
    "pool_history",
    "posterior_intervals",
    "reliability",
    "CORRELATION_DAYS",
    "correlation",
    "risk_contributions",
    "violation_log",
    "HISTORICAL_WINDOWS",
    "MARKET_SHOCKS",
    "StressWindow",
    "historical_stress",
    "parametric_shocks",
    "todays_weights",
    "windows_inside",
]
