"""The firm layer: the firm's daily profit and loss (assets in assets.py)."""

from twin_assets.firm.assets import firm_pnl

__all__ = ["firm_pnl"]
