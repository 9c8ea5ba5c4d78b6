"""The raw layer: what the firm observes each business day (assets in assets.py)."""

from twin_assets.raw.assets import (
    RAW_ASSETS,
    factor_returns,
    market_prices,
    market_regime,
    strategy_positions,
    strategy_returns,
)

__all__ = ["RAW_ASSETS", "factor_returns", "market_prices", "market_regime", "strategy_positions", "strategy_returns"]
