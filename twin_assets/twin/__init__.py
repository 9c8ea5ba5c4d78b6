"""The twin layer (DuckDB schema ``twin``): the month-end policy search and the
walk-forward back-test."""

from twin_assets.twin.assets import policy_evaluations
from twin_assets.twin.backtest import BacktestConfig, backtest_results

__all__ = ["BacktestConfig", "backtest_results", "policy_evaluations"]
