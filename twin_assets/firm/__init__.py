"""The firm layer: the firm's daily profit and loss (assets.py); its month-end projection
and initiate-solution decision (month_end.py)."""

from twin_assets.firm.assets import firm_pnl
from twin_assets.firm.month_end import firm_decisions, firm_projections

__all__ = ["firm_decisions", "firm_pnl", "firm_projections"]
