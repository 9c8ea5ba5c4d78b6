"""The events layer: what the HTTP API recorded, ingested from its file (assets.py)."""

from twin_assets.events.assets import portfolio_optimized

__all__ = ["portfolio_optimized"]
