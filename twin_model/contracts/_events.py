"""The events layer's tables: what happened outside the twin's runs, recorded where it happened
and ingested by an asset (DESIGN.md "Reading while the twin writes")."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl


class PortfolioOptimized(pa.DataFrameModel):
    """events.portfolio_optimized: one row per optimisation the HTTP API served.

    ``date`` is the UTC calendar day of ``timestamp`` (the wall clock of the request, not a
    business day of the twin); the figures are those of the response, annual fractions.
    ``optimal_weights`` and ``violations`` are the response's JSON, as served; a figure the
    response served as null (JSON has no NaN) is null.
    """

    date: pl.Date = pa.Field(nullable=False, description="UTC calendar day the optimisation was served.")
    event_id: pl.String = pa.Field(
        nullable=False, str_length={"min_value": 1}, description="The event's unique id (32 hex digits)."
    )
    timestamp: pl.Datetime = pa.Field(nullable=False, description="When the response was served, UTC.")
    portfolio_id: pl.String = pa.Field(nullable=False, description="The request's portfolio_id.")
    objective: pl.String = pa.Field(nullable=False, description="The request's objective (Objective).")
    method: pl.String = pa.Field(nullable=False, description="The request's method (Method).")
    n_strategies: pl.Int64 = pa.Field(ge=1, description="Strategies in the request.")
    optimal_weights: pl.String = pa.Field(
        nullable=False, description="JSON object strategy_id -> weight (fraction of the portfolio)."
    )
    expected_return: pl.Float64 = pa.Field(
        nullable=True, description="Expected return of the weights, annual fraction (null: not a number)."
    )
    expected_volatility: pl.Float64 = pa.Field(
        nullable=True, ge=0, description="Expected volatility of the weights, annual fraction (null: not a number)."
    )
    sharpe_ratio: pl.Float64 = pa.Field(
        nullable=True,
        description="Annual Sharpe ratio of the weights over risk_free_rate (null for a book with no volatility).",
    )
    convergence_status: pl.String = pa.Field(nullable=False, description="The solver's final status.")
    iterations: pl.Int64 = pa.Field(ge=0, description="Solver iterations.")
    optimization_time_ms: pl.Float64 = pa.Field(ge=0, description="Time the engine took, milliseconds.")
    objective_value: pl.Float64 = pa.Field(
        nullable=True, description="The objective's value at the weights, unscaled (null: not finite)."
    )
    constraints_satisfied: pl.Boolean = pa.Field(description="Whether the weights meet every constraint.")
    solver: pl.String = pa.Field(nullable=False, description="The solver that produced the answer.")
    violations: pl.String = pa.Field(nullable=False, description="JSON list of the constraints the weights break.")

    class Config:
        strict = True
        unique = ["event_id"]
