"""The firm: the fees it earns on each solution (``fees``) and its profit and loss (``pnl``).

``advance_fees(terms, state, day, gross_return, flow)`` advances one solution's fee state
(``FeeState``) by one business day under its ``FeeTerms``; the solution step calls it, so
a solution's NAV is net of fees, and so may any caller that simulates a solution (policy
search, projections). ``firm_pnl_rows`` adds the solutions' fees up per day and subtracts
the firm's costs (``FirmCosts``).
"""

from twin_model.firm.fees import (
    DAY_COUNT,
    INITIAL_NAV_PER_UNIT,
    NO_FEES,
    CashRate,
    FeeDay,
    FeeState,
    FeeTerms,
    advance_fees,
)
from twin_model.firm.pnl import FirmCosts, business_days_in_year, firm_pnl_rows

__all__ = [
    "DAY_COUNT",
    "INITIAL_NAV_PER_UNIT",
    "NO_FEES",
    "CashRate",
    "FeeDay",
    "FeeState",
    "FeeTerms",
    "FirmCosts",
    "advance_fees",
    "business_days_in_year",
    "firm_pnl_rows",
]
