"""The Strategy Twin asset graph (see definitions.py)."""

import warnings

import dagster as dg

# Every partitioned asset passes ``backfill_policy`` (one run per range: the models are
# compiled once a run), which Dagster 1.13 marks beta and warns about once per asset at
# import: nine and more identical BetaWarnings before anything runs. The parameter is
# pinned with Dagster in constraints.txt, so the warning says nothing we act on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning)
