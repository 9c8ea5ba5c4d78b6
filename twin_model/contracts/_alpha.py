"""The alpha layer's table: the strategy-level decision and its state."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from twin_model.contracts._fields import PROBABILITY


class AlphaPool(pa.DataFrameModel):
    """alpha.alpha_pool: the strategy-level decision and its state (S_t of the strategy level).

    One row per known strategy every business day (a holiday carries the state), so the
    previous day's state is always there to read. ``alpha_level`` is the posterior mean
    of the annualised alpha (daily alpha x 252); ``evidence`` the policy's probability.
    """

    date: pl.Date = pa.Field(nullable=False)
    strategy_id: pl.String = pa.Field(nullable=False)
    in_pool: pl.Boolean
    days_in_state: pl.Int64 = pa.Field(ge=0)
    changed: pl.Boolean
    alpha_level: pl.Float64 = pa.Field(nullable=True)
    evidence: pl.Float64 = pa.Field(nullable=True, **PROBABILITY)
    reason: pl.String
    policy: pl.String

    class Config:
        strict = True
        unique = ["date", "strategy_id"]
