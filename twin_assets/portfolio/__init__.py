"""The portfolio layer: the solution level writing the six ``portfolio.*`` tables
(assets in assets.py)."""

from twin_assets.portfolio.assets import solution_level

__all__ = ["solution_level"]
