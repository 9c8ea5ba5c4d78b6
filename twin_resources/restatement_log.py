"""The restatement log in the warehouse: ``raw.input_digests`` (the content digest of each
stored day of each raw table) and ``raw.restatements`` (the days whose content changed).

The digests of a raw write and the restatements they reveal are written in one
transaction, after the raw rows themselves, so a day is only recorded as stored once it
is. An unchanged day writes nothing, so re-running it leaves both tables as they were.
"""

import datetime as dt

import polars as pl

from twin_model.contracts import TABLES, validate
from twin_model.restatements import Resolution, restated_days
from twin_resources.warehouse import Warehouse, qualified_table

INPUT_DIGESTS = TABLES["raw.input_digests"]
RESTATEMENTS = TABLES["raw.restatements"]
RAW_LAYER = "raw"


def utc_now() -> dt.datetime:
    """The current UTC time, naive (how the warehouse stores timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class RestatementLog:
    """Reads and writes the restatement tables of one warehouse."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse

    def record(self, table: str, digests: pl.DataFrame, run_id: str) -> pl.DataFrame:
        """Store the new or changed digests of ``table`` (``date, digest, rows``) and append
        a restatement for each stored day whose digest changed; returns those restatements.

        A restatement of a day after every stored row above raw is resolved at once
        (``not_yet_modelled``): nothing was computed from the old content.
        """
        days = digests.get_column("date")
        stored = self.warehouse.read(INPUT_DIGESTS, days.min(), days.max()).filter(pl.col("table") == table)
        restated = restated_days(stored, digests)
        now = utc_now()
        changed = digests.join(stored.select("date", "digest"), on=["date", "digest"], how="anti")
        new_digests = changed.with_columns(table=pl.lit(table), stored_at=pl.lit(now), run_id=pl.lit(run_id))
        restatements = self._restatements(table, restated, run_id, now)
        with self.warehouse.connect() as connection:
            for spec in (INPUT_DIGESTS, RESTATEMENTS):
                self.warehouse.ensure_table(connection, spec)
            connection.execute("BEGIN TRANSACTION")
            try:
                connection.execute(
                    f'DELETE FROM {qualified_table(connection, INPUT_DIGESTS)} WHERE "table" = ? AND date = ANY(?)',
                    [table, changed.get_column("date").to_list()],
                )
                Warehouse.insert_rows(connection, INPUT_DIGESTS, validate(new_digests, INPUT_DIGESTS))
                Warehouse.insert_rows(connection, RESTATEMENTS, validate(restatements, RESTATEMENTS))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return restatements

    def _restatements(self, table: str, restated: pl.DataFrame, run_id: str, now: dt.datetime) -> pl.DataFrame:
        through = self.modelled_through()
        unmodelled = pl.col("date") > through if through else pl.lit(True)
        return restated.with_columns(
            table=pl.lit(table),
            detected_at=pl.lit(now),
            run_id=pl.lit(run_id),
            resolved_by_run=pl.when(unmodelled).then(pl.lit(run_id)),
            resolved_at=pl.when(unmodelled).then(pl.lit(now)),
            resolution=pl.when(unmodelled).then(pl.lit(Resolution.NOT_YET_MODELLED.value)),
        )

    def restatements(self) -> pl.DataFrame:
        """Every restatement recorded, open and resolved."""
        return self.warehouse.read(RESTATEMENTS)

    def resolve(self, from_day: dt.date, run_id: str) -> int:
        """Mark the open restatements on or after ``from_day`` replayed by ``run_id``."""
        with self.warehouse.connect() as connection:
            self.warehouse.ensure_table(connection, RESTATEMENTS)
            resolved = connection.execute(
                f"UPDATE {qualified_table(connection, RESTATEMENTS)} SET resolved_by_run = ?, resolved_at = ?, resolution = ? "
                "WHERE resolved_by_run IS NULL AND date >= ?",
                [run_id, utc_now(), Resolution.REPLAYED.value, from_day],
            ).fetchall()
        return resolved[0][0] if resolved else 0

    def modelled_spans(self) -> list[tuple[dt.date, dt.date]]:
        """(first, last) stored day of every non-empty table above raw."""
        return [
            (first, last)
            for table, (rows, first, last) in self.warehouse.table_summaries().items()
            if rows and not table.startswith(f"{RAW_LAYER}.")
        ]

    def modelled_through(self) -> dt.date | None:
        """The last day any table above raw holds."""
        spans = self.modelled_spans()
        return max(last for _, last in spans) if spans else None
