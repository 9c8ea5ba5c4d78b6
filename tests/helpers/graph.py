"""Helpers of the graph tests: resources for each source, one run over a day or a range of
days, a copy of a warehouse, a returns file, and what a run stored or why it failed."""

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from twin_resources.config import DEFAULT_CONFIG_DIR
from twin_resources.io_manager import WarehouseIOManager
from twin_resources.resources import ReturnSourceResource, TwinConfigResource, WarehouseResource

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def resources(
    warehouse: WarehouseResource, config_dir: Path | str = DEFAULT_CONFIG_DIR, returns_file=None, factors_file=None
) -> dict:
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "twin_config": TwinConfigResource(config_dir=str(config_dir)),
        "return_source": ReturnSourceResource(
            config_dir=str(config_dir),
            returns_file=str(returns_file) if returns_file else None,
            factors_file=str(factors_file) if factors_file else None,
        ),
    }


def materialize_days(assets, res: dict, start: str, end: str | None = None, raise_on_error: bool = True, instance=None):
    """One run over ``start`` (or the range ``start``..``end``), in ``instance`` if given
    (else an ephemeral one)."""
    if end is None:
        return dg.materialize(
            assets, resources=res, partition_key=start, raise_on_error=raise_on_error, instance=instance
        )
    return dg.materialize(
        assets,
        resources=res,
        tags={RANGE_START: start, RANGE_END: end},
        raise_on_error=raise_on_error,
        instance=instance,
    )


def copy_warehouse(source: Path, name: str) -> WarehouseResource:
    """A copy of the warehouse file ``source`` in a new folder ``name`` beside it."""
    target = source.parent / name / "twin.duckdb"
    target.parent.mkdir()
    shutil.copy(source, target)
    return WarehouseResource(path=str(target))


def write_returns_file(path: Path, rows: list[tuple]) -> Path:
    """A returns CSV from (date, strategy_id, ret[, available]) tuples."""
    columns = ["date", "strategy_id", "ret", "available"][: len(rows[0])]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    frame.write_csv(path)
    return path


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def failure_message(result) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "the run was expected to fail"
    error = failures[0].step_failure_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def stored(warehouse, spec) -> pl.DataFrame:
    return warehouse.warehouse().read(spec)
