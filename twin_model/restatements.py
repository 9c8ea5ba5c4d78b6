"""Restated history: which days of raw input changed after they were stored.

Every day a raw table writes gets a content digest (``day_digests``): sha256 over the
day's rows sorted by the table's keys, in a canonical text encoding. A day whose new
digest differs from the stored one is restated (``restated_days``); an unchanged day
restates nothing, so re-running it is idempotent.

The layers above raw read their inputs by date range, and the self-dependent levels
(the alpha pool, the solution level) carry state from day to day, so a restated day D
makes every stored row of those layers dated D or later stale until they are replayed
from D (``stale_from``, ``replay_span``). A restatement of a day no layer above raw has
reached yet is resolved at once: nothing was computed from the old rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from enum import StrEnum
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # contracts names the resolutions of this module: no import cycle at run time
    from twin_model.contracts import TableSpec


class Resolution(StrEnum):
    """How a restatement stopped being open."""

    REPLAYED = "replayed"
    """The layers above raw were re-run from the restated day (``twin replay``)."""
    NOT_YET_MODELLED = "not_yet_modelled"
    """No layer above raw had rows on or after the day when it was restated."""


DIGEST_COLUMNS = {"date": pl.Date, "digest": pl.String, "rows": pl.Int64}


def _canonical(value: object) -> object:
    """A JSON-ready value whose text is exact: floats by their shortest round-trip repr,
    dates in ISO form; None, bools, ints and strings as they are."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def digest_rows(frame: pl.DataFrame, spec: TableSpec) -> str:
    """sha256 (hex) of ``frame``'s rows in ``spec``'s column order, sorted by its keys.

    The header (column names) is hashed first, then one JSON array per row, so the
    digest is independent of row order and of the frame's column order, and changes
    with any value (a flipped ``available``, a return changed in its last digit).
    """
    columns = list(spec.columns())
    ordered = frame.select(columns).sort(list(spec.keys))
    digest = hashlib.sha256(_line(columns))
    for row in ordered.iter_rows():
        digest.update(b"\n" + _line([_canonical(v) for v in row]))
    return digest.hexdigest()


def _line(values: list) -> bytes:
    return json.dumps(values, separators=(",", ":")).encode()


def day_digests(frame: pl.DataFrame, spec: TableSpec, days: list[dt.date]) -> pl.DataFrame:
    """``date, digest, rows`` for every day of ``days``: a day without rows is digested
    too (as empty), so a late file that fills it is a restatement."""
    by_day = {key[0]: part for key, part in frame.partition_by("date", as_dict=True).items()} if frame.height else {}
    empty = frame.clear() if frame.width else spec.empty_frame()
    records = [
        {
            "date": day,
            "digest": digest_rows(by_day.get(day, empty), spec),
            "rows": by_day[day].height if day in by_day else 0,
        }
        for day in days
    ]
    return pl.DataFrame(records, schema=DIGEST_COLUMNS)


def restated_days(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """``date, old_digest, new_digest`` of the days stored before whose digest changed.

    ``stored`` and ``new`` hold ``date, digest``; a day first seen now is not restated.
    """
    joined = new.select("date", new_digest="digest").join(
        stored.select("date", old_digest="digest"), on="date", how="inner"
    )
    return (
        joined.filter(pl.col("old_digest") != pl.col("new_digest"))
        .select("date", "old_digest", "new_digest")
        .sort("date")
    )


def open_restatements(restatements: pl.DataFrame, replaying_from: dt.date | None = None) -> pl.DataFrame:
    """The restatements not yet resolved, by date.

    ``replaying_from`` is the first day of a replay in progress: the restatements on or
    after it are what that run resolves, so they do not count as open inside it.
    """
    unresolved = restatements.filter(pl.col("resolved_by_run").is_null())
    if replaying_from is not None:
        unresolved = unresolved.filter(pl.col("date") < replaying_from)
    return unresolved.sort("date", "table")


def stale_from(restatements: pl.DataFrame, replaying_from: dt.date | None = None) -> dt.date | None:
    """The earliest day of an open restatement: the layers above raw are stale from it."""
    unresolved = open_restatements(restatements, replaying_from)
    return unresolved.get_column("date").min() if unresolved.height else None


def replay_span(from_day: dt.date, spans: list[tuple[dt.date, dt.date]]) -> tuple[dt.date, dt.date] | None:
    """The days to re-run the layers above raw over, replaying from ``from_day``.

    ``spans`` are the (first, last) stored days of those layers' tables. The replay runs
    to the last stored day; it starts at ``from_day``, or at the first stored day when
    that is later (a level that cold-started after ``from_day`` cold-starts again on the
    same day, as a clean run would). None when nothing stored lies on or after it.
    """
    if not spans:
        return None
    start = max(from_day, min(first for first, _ in spans))
    end = max(last for _, last in spans)
    return (start, end) if start <= end else None
