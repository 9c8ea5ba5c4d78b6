"""The contracts of the warehouse: one pandera schema per table, the one way a frame is
validated before it is written, the data-quality rules that span rows or days, and the
artefacts' encodings in both directions.

Every table carries ``date`` (the business-day partition) and its entity keys; a frame
is validated against its table's schema before it is written (``validate``), and a
failure raises ``DataQualityError`` naming the table, the row (by its keys), the column
and the rule, so a bad input never reaches the warehouse.

Where each part lives
---------------------
``_raw``, ``_restatements``, ``_models``, ``_stats``, ``_alpha``, ``_portfolio``, ``_firm`` the
schemas of each layer's tables (``_firm`` also the firm P&L's rules) (``_fields`` the checks and bounds they share); ``_spec``
``TableSpec`` and ``TABLES``; ``_validate`` ``validate``; ``_quality`` the rules of the
raw and models layers, ``_portfolio_rules`` those of the portfolio layer; ``_events``
the events the HTTP API records; ``_artifacts``
the draws and scenario encodings.
"""

from twin_model.contracts._artifacts import (
    DRAW_COLUMNS,
    DRAWS_SCHEMA,
    beta_column,
    decode_betas,
    decode_draws,
    decode_scenarios,
    decode_weights,
    draw_factor_ids,
    draw_quantities,
    draws_schema,
    encode_draws,
    encode_scenarios,
)
from twin_model.contracts._fields import SHA256_PATTERN
from twin_model.contracts._firm import profit_problems, projection_cost_problems, revenue_problems
from twin_model.contracts._portfolio_rules import (
    aum_problems,
    bound_problems,
    constraint_problems,
    contribution_problems,
    order_problems,
    selection_problems,
    targets_sum_problems,
)
from twin_model.contracts._quality import (
    POSTERIOR_BOUNDS,
    forecasts_without_usable_fit,
    implausible_posteriors,
    missing_factor_days,
    unaccounted_days,
    unknown_position_strategies,
    unusable_fits,
    vanished_strategies,
)
from twin_model.contracts._raw import MAX_DAILY_RETURN
from twin_model.contracts._spec import TABLES, TableSpec, table_spec
from twin_model.contracts._validate import SOURCE_ROW, validate

__all__ = [
    "DRAWS_SCHEMA",
    "DRAW_COLUMNS",
    "MAX_DAILY_RETURN",
    "POSTERIOR_BOUNDS",
    "SHA256_PATTERN",
    "SOURCE_ROW",
    "TABLES",
    "TableSpec",
    "aum_problems",
    "bound_problems",
    "constraint_problems",
    "contribution_problems",
    "beta_column",
    "decode_betas",
    "decode_draws",
    "decode_weights",
    "draw_factor_ids",
    "draw_quantities",
    "draws_schema",
    "decode_scenarios",
    "encode_draws",
    "encode_scenarios",
    "forecasts_without_usable_fit",
    "implausible_posteriors",
    "missing_factor_days",
    "order_problems",
    "profit_problems",
    "projection_cost_problems",
    "revenue_problems",
    "selection_problems",
    "table_spec",
    "targets_sum_problems",
    "unaccounted_days",
    "unknown_position_strategies",
    "unusable_fits",
    "validate",
    "vanished_strategies",
]
