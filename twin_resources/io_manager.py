"""The warehouse IO manager: asset ``[layer, table]`` <-> DuckDB table ``layer.table``.

An output is validated against its table's schema, then replaces its partition (or its
range of partitions) in one transaction; an input reads only the partitions asked for.
The stock dagster-duckdb polars handler does none of this, and its loads break under
DuckDB 2.0.
"""

import datetime as dt

import dagster as dg
import polars as pl

from twin_model.contracts import TableSpec, table_spec, validate
from twin_resources.resources import WarehouseResource


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The table's columns as Dagster metadata, with each column's nullability."""
    columns = spec.model.to_schema().columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=str(column.dtype),
                description=column.description,
                constraints=dg.TableColumnConstraints(nullable=column.nullable, unique=False),
            )
            for name, column in columns.items()
        ]
    )


def _spec(asset_key: dg.AssetKey) -> TableSpec:
    return table_spec(".".join(asset_key.path))


def _days(context: dg.OutputContext | dg.InputContext) -> list[dt.date] | None:
    if not context.has_asset_partitions:
        return None
    return sorted(dt.date.fromisoformat(key) for key in context.asset_partition_keys)


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Stores polars frames as partitions of DuckDB tables (see module docstring)."""

    warehouse: dg.ResourceDependency[WarehouseResource]

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        spec = _spec(context.asset_key)
        frame = validate(obj, spec)
        days = _days(context)
        written = self.warehouse.warehouse().replace_partitions(spec, frame, days)
        # the table's name is the asset's definition metadata, and the warehouse path a
        # fact of the run the asset puts on its last day: neither is copied to every day
        context.add_output_metadata({"dagster/row_count": written})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        spec = _spec(context.asset_key)
        days = _days(context)
        start, end = (min(days), max(days)) if days else (None, None)
        return self.warehouse.warehouse().read(spec, start, end)
