"""The twin layer (DuckDB schema ``twin``): the month-end policy search."""

from twin_assets.twin.assets import policy_evaluations

__all__ = ["policy_evaluations"]
