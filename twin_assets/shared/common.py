"""What every daily warehouse asset shares: the pool, partitions, back-fill policy, IO
manager, owner, and the checks that re-read a written range from the warehouse."""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import dagster as dg
import polars as pl

from twin_assets.shared.metadata import CODE_VERSION, CONFIG_HASH, RUN_ID, first_items, on_last_day
from twin_assets.shared.partitions import daily_partitions, partition_days
from twin_assets.shared.restatements import restatement_check_spec
from twin_model.contracts import TableSpec, validate
from twin_model.errors import DataQualityError
from twin_resources.artifacts import REFERENCE_COLUMNS
from twin_resources.config import config_hash
from twin_resources.io_manager import column_schema
from twin_resources.provenance import code_version
from twin_resources.resources import WarehouseResource

DUCKDB_POOL = "duckdb"
"""DuckDB has one writer per file: every asset and check touching it runs in this pool,
limited to one step at a time in ``.dagster/dagster.yaml``."""

OWNER = "team:strategy-twin"
WAREHOUSE_IO = "warehouse_io_manager"
HOLIDAY_LOOKBACK = dt.timedelta(days=10)
"""How far back a day's read reaches for the last stored pool, posterior, forecast or
metalabel: a market holiday (no traded returns, so no model rows) carries the day before."""
RAW_RETURNS = dg.AssetDep(["raw", "strategy_returns"])
RAW_PRICES = dg.AssetDep(["raw", "market_prices"])
RAW_FACTORS = dg.AssetDep(["raw", "factor_returns"])
ROWS_VALID = "rows_valid"


def layer_code_version(layer: str) -> str:
    """The code version of a layer's assets: of the layer's package ``twin_assets.<layer>``
    and every module of this project it imports (twin_resources.provenance.code_version)."""
    return code_version(f"twin_assets.{layer}")


def daily_asset_args(spec: TableSpec, description: str, checks: dict[str, str], self_dependent: bool = False) -> dict:
    """Keyword arguments of ``@dg.asset`` for a daily warehouse table with blocking checks.

    ``checks`` maps check name to description; ``rows_valid`` (the table's schema and
    rules, re-read from the warehouse after the write) is always first. A
    ``self_dependent`` level also warns when restated input made it stale.
    """
    key = dg.AssetKey(spec.path)
    all_checks = {ROWS_VALID: f"Every stored row of the written days passes the {spec.qualified_name} schema."}
    all_checks.update(checks)
    blocking = [
        dg.AssetCheckSpec(name, asset=key, blocking=True, description=text) for name, text in all_checks.items()
    ]
    return dict(
        key=key,
        description=description,
        group_name=spec.layer,
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_POOL,
        io_manager_key=WAREHOUSE_IO,
        owners=[OWNER],
        kinds={"duckdb", "polars"},
        code_version=layer_code_version(spec.layer),
        check_specs=blocking + ([restatement_check_spec(key)] if self_dependent else []),
        metadata={"dagster/table_name": spec.qualified_name, "dagster/column_schema": column_schema(spec)},
    )


def daily_output(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    days: list[dt.date],
    warehouse_path: str,
    config_dir: str,
    metadata: Mapping,
) -> dg.Output:
    """A daily asset's output: ``frame``, the provenance on every day's event and the rest of
    ``metadata`` (the run's facts) on its last day's (``on_last_day``)."""
    facts = {**metadata, **provenance(context, config_dir)}
    return dg.Output(frame, metadata=on_last_day(context, days, warehouse_path, facts))


def provenance(context: dg.AssetExecutionContext, config_dir: str, asset_key: dg.AssetKey | None = None) -> dict:
    """What every daily partition's metadata records: the hash of the config it ran with,
    the code version of its asset (``asset_key`` in a multi-asset) and the run id."""
    key = asset_key or context.asset_key
    return {
        CONFIG_HASH: config_hash(Path(config_dir)),
        CODE_VERSION: context.assets_def.code_versions_by_key[key] or "none",
        RUN_ID: context.run.run_id,
    }


def days_of(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The business days of the run's partition or range, in order."""
    return partition_days(context.partition_keys)


def check_written(
    warehouse: WarehouseResource,
    spec: TableSpec,
    days: list[dt.date],
    rules: dict[str, Callable[[pl.DataFrame], list[str]]],
    asset_key: dg.AssetKey | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """Re-read the written days from the warehouse and evaluate each check on them.

    ``rules`` maps a check name to a function returning problems; ``rows_valid`` (the
    schema) is evaluated first. The checks are the second line and the view in the UI:
    a frame that fails its schema never reaches the warehouse in the first place.
    ``asset_key`` names the asset when the op writes several (a multi-asset).
    """
    stored = warehouse.warehouse().read(spec, days[0], days[-1])
    yield from check_stored(spec, stored, rules, asset_key)


def check_stored(
    spec: TableSpec,
    stored: pl.DataFrame,
    rules: dict[str, Callable[[pl.DataFrame], list[str]]],
    asset_key: dg.AssetKey | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """``rows_valid`` and each of ``rules`` on rows already read back from the warehouse."""
    yield _result(ROWS_VALID, _schema_problems(stored, spec), stored.height, asset_key)
    for name, rule in rules.items():
        yield _result(name, rule(stored), stored.height, asset_key)


def _schema_problems(frame: pl.DataFrame, spec: TableSpec) -> list[str]:
    try:
        validate(frame, spec)
    except DataQualityError as error:
        return error.problems
    return []


def _result(name: str, problems: list[str], rows: int, asset_key: dg.AssetKey | None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_checked": rows, "problems": len(problems), "first_problems": first_items(problems)},
    )


def artifact_problems(warehouse: WarehouseResource, table: str, stored: pl.DataFrame) -> list[str]:
    """Each distinct artefact the rows reference, missing or not matching its hash."""
    artifacts = warehouse.artifacts()
    references = stored.unique(subset=list(REFERENCE_COLUMNS[table]), keep="first", maintain_order=True)
    problems = (artifacts.problem(table, row) for row in references.iter_rows(named=True))
    return [problem for problem in problems if problem]
