"""Each partition's own metadata, once for every daily asset.

A daily asset materialises one partition or a range of them in one run, and Dagster puts
the metadata of the step's output (and of its IO manager) on every partition's event
alike. What is true of one day goes on that day's event alone, through
``context.add_asset_metadata(..., partition_key=...)``, which Dagster merges over the
output's: the day, its own ``dagster/row_count`` (over the IO manager's count of the whole
write), the count of its entities and the asset's own figures of the day. The facts of
the whole run (its first and last day, how many days had data, where it wrote) go on its
last day's event alone (``on_last_day``): left on the output, Dagster would copy them
into each of a 2,084-day history's events. The output keeps only the provenance every day
carries (``EVERY_DAY``), and no metadata list holds more than ``SHOWN`` items.
"""

import datetime as dt
from collections.abc import Callable, Mapping

import dagster as dg
import polars as pl

from twin_assets.shared.partitions import partition_key

SHOWN = 10
"""The most items a metadata list (or mapping) holds."""

ROW_COUNT = "dagster/row_count"
NO_ROWS = (
    "the source delivered no rows on this weekday (an exchange holiday or no trading); "
    "later layers treat it as no new information"
)
NO_ROWS_IN_RUN = (
    "the source delivered no rows on these weekdays (exchange holiday or no trading); "
    "later layers treat them as no new information"
)

CONFIG_HASH, CODE_VERSION, RUN_ID = "config_hash", "code_version", "run_id"
EVERY_DAY = frozenset({CONFIG_HASH, CODE_VERSION, RUN_ID})
"""The provenance that rides on every day's event (DESIGN.md; ``shared.common.provenance``
writes it): the output's metadata."""

DayFigures = Callable[[dt.date, pl.DataFrame], dict]
"""An asset's own figures of one day, from that day's rows."""


def add_daily_metadata(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    days: list[dt.date],
    entity: str | None = None,
    figures: DayFigures | None = None,
    asset_key: dg.AssetKey | None = None,
) -> None:
    """Attach to each day's partition its own metadata: ``day``, ``dagster/row_count``
    (the rows of ``frame`` on that day: what the write stores for it), the number of
    distinct ``entity`` values (as ``<entity>s``) and ``figures(day, rows)``.
    ``asset_key`` names the asset in a multi-asset."""
    by_day = frame.partition_by("date", as_dict=True) if frame.height else {}
    for day in days:
        rows = by_day.get((day,), frame.clear())
        metadata = {"day": str(day), ROW_COUNT: rows.height}
        if entity:
            metadata[f"{entity}s"] = rows.get_column(entity).n_unique()
        if figures:
            metadata.update(figures(day, rows))
        context.add_asset_metadata(metadata, partition_key=partition_key(day), asset_key=asset_key)


def on_last_day(
    context: dg.AssetExecutionContext,
    days: list[dt.date],
    warehouse_path: str,
    metadata: Mapping,
    asset_key: dg.AssetKey | None = None,
) -> dict:
    """Put the run's facts in ``metadata`` (and the warehouse it wrote) on the event of
    its last day, and return the provenance (``EVERY_DAY``) for the output, which Dagster
    puts on every day's event. A one-day run's day gets both."""
    facts = {key: value for key, value in metadata.items() if key not in EVERY_DAY}
    facts["warehouse"] = dg.MetadataValue.path(warehouse_path)
    context.add_asset_metadata(facts, partition_key=partition_key(days[-1]), asset_key=asset_key)
    return {key: value for key, value in metadata.items() if key in EVERY_DAY}


def run_metadata(days: list[dt.date]) -> dict:
    """What the run covered: its first and last day and how many days."""
    return {"first_day": str(days[0]), "last_day": str(days[-1]), "days": len(days)}


def data_day_metadata(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    days: list[dt.date],
    entity: str | None,
    figures: DayFigures | None = None,
    why_empty: Mapping[dt.date, str] | None = None,
) -> dict:
    """A table of what the data delivered (raw, models, stats): each day's own metadata
    (an empty day says why: ``why_empty`` of that day, or that the source had no rows),
    and the run's metadata returned: which days had data, with the first ``SHOWN`` empty
    ones."""
    reasons = why_empty or {}

    def day_figures(day: dt.date, rows: pl.DataFrame) -> dict:
        empty = {"why_empty": reasons.get(day, NO_ROWS)} if rows.height == 0 else {}
        return {**empty, **(figures(day, rows) if figures else {})}

    add_daily_metadata(context, frame, days, entity, day_figures)
    with_data = set(frame.get_column("date").unique().to_list()) if frame.height else set()
    empty = [str(day) for day in days if day not in with_data]
    metadata = {
        **run_metadata(days),
        "days_with_data": len(with_data),
        "empty_day_count": len(empty),
        "empty_days": dg.MetadataValue.json(empty[:SHOWN]),
    }
    if empty:
        metadata["empty_reason"] = NO_ROWS_IN_RUN
    return metadata


def preview(rows: pl.DataFrame, columns: list[str], sort: list[str] | None = None) -> dg.MetadataValue:
    """The first ``SHOWN`` of ``rows`` (sorted by ``sort``) as a markdown table of
    ``columns``, floats to four significant figures: what a person sees in the UI."""
    shown = (rows.sort(sort) if sort else rows).head(SHOWN).select(columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in shown.iter_rows():
        cells = (f"{v:.4g}" if isinstance(v, float) else "" if v is None else str(v) for v in row)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    if rows.height > SHOWN:
        lines.append(f"\n{rows.height - SHOWN} more rows in the table")
    return dg.MetadataValue.md("\n".join(lines))


def first_items(items: list[str]) -> dg.MetadataValue:
    """At most ``SHOWN`` items of a list, as JSON metadata."""
    return dg.MetadataValue.json(items[:SHOWN])
