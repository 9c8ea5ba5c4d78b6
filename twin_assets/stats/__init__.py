"""The stats layer: risk and performance statistics of every strategy (assets in assets.py)."""

from twin_assets.stats.assets import strategy_statistics

__all__ = ["strategy_statistics"]
