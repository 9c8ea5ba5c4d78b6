"""The conventions every level shares: periods a year, the vocabularies (as enums) and the
one rule for what counts as an observed return.

A vocabulary that appears in a table (a strategy's status, a violation's severity, why a
day rebalanced) is an enum here, so code compares members, never string literals, and
the table schemas list the members' values.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

PERIODS_PER_YEAR = 252
"""Business days a year: the annualisation of every statistic, model and optimiser."""


def observed_return(columns: list[str] | tuple[str, ...]) -> pl.Expr:
    """The one rule for an observed return, as a polars predicate over a returns frame.

    A row is an observation when the strategy was available (``available`` true; a frame
    without the column is all available, and a null ``available`` is *not* an
    observation) and its ``ret`` is neither null nor NaN. Windows and annualisation count
    these rows, never partitions.
    """
    available = pl.col("available").fill_null(False) if "available" in columns else pl.lit(True)
    return available & pl.col("ret").is_not_null() & pl.col("ret").is_not_nan().fill_null(False)


# --------------------------------------------------------------------------- strategy level


class StatisticsWindow(StrEnum):
    """The trailing windows of ``stats.strategy_statistics`` (column ``window``)."""

    DAYS_21 = "21d"
    DAYS_63 = "63d"
    DAYS_252 = "252d"
    INCEPTION = "inception"


class FitMethod(StrEnum):
    """How a strategy's posterior was obtained (``models.strategy_posteriors.method``)."""

    NUTS = "nuts"
    CONJUGATE = "conjugate"


class ParameterSetName(StrEnum):
    """The named beliefs a forecast is simulated from (``parameter_set`` of the forecasts)."""

    POSTERIOR = "posterior"
    EXPERT = "expert"


class PoolSignal(StrEnum):
    """The posterior probability the alpha-pool policy reads as its evidence."""

    P_ALPHA_POSITIVE = "p_alpha_positive"
    P_SHARPE_ABOVE_HURDLE = "p_sharpe_above_hurdle"


# --------------------------------------------------------------------------- solution level


# --------------------------------------------------------------------------- firm and twin
