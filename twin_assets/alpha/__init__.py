"""The alpha layer: which strategies hold persistent alpha (assets in assets.py)."""

from twin_assets.alpha.assets import alpha_pool

__all__ = ["alpha_pool"]
