"""A firm's own files: the returns file (``TWIN_RETURNS_FILE``) and the factors file
(``TWIN_FACTORS_FILE``), CSV or Parquet, read once per version of the file.

Reading only parses: dates must be ISO (YYYY-MM-DD; an ambiguous 02/03/2021 is refused,
never guessed), and numbers written as text (``nan``, ``inf`` or a quoted value) are
parsed, anything else that is not a number named with its row. Each row keeps its data
row number in ``SOURCE_ROW`` (1-based, the header not counted), so the table's schema
(validated by the caller) names a bad row by the file's own numbering.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import polars as pl

from twin_model.contracts import SOURCE_ROW


class SourceError(ValueError):
    """A source cannot be read at all (missing file, unknown format, unparsable dates)."""


def read_table_file(path: Path, kind: str, numeric: tuple[str, ...]) -> pl.DataFrame:
    """The whole ``kind`` file (``"returns"``, ``"factors"``) at ``path``, parsed; a missing
    file is named with where it was configured."""
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        setting = f"TWIN_{kind.upper()}_FILE or strategies.yaml"
        raise SourceError(f"{path}: {kind} file not found ({setting})") from None
    return _read(path, modified, kind, numeric)


@functools.cache
def _read(path: Path, modified_ns: int, kind: str, numeric: tuple[str, ...]) -> pl.DataFrame:
    """The file parsed once per version (``modified_ns`` keys the cache). A file without
    data rows is refused: it would otherwise empty every day asked for."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, schema_overrides={"date": pl.String}, infer_schema_length=None)
        elif suffix in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
        else:
            raise SourceError(f"{path}: unknown {kind} file format {suffix!r}; use .csv or .parquet")
    except (pl.exceptions.PolarsError, OSError) as error:
        raise SourceError(f"{path}: cannot read {kind} file: {error}") from None
    if frame.height == 0:
        raise SourceError(f"{path}: no rows (columns {frame.columns} but no data): a {kind} file must hold {kind}")
    if "date" not in frame.columns:
        raise SourceError(f"{path}: missing column 'date' (columns are {frame.columns})")
    if SOURCE_ROW in frame.columns:
        raise SourceError(f"{path}: unexpected column {SOURCE_ROW!r} (the name is reserved for row numbers)")
    frame = frame.with_row_index(SOURCE_ROW, offset=1).cast({SOURCE_ROW: pl.Int64})
    frame = _parse_dates(path, frame)
    for column in numeric:
        if frame.schema.get(column) == pl.String:
            frame = _parse_numbers(path, frame, column)
    return frame


def _parse_dates(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """``date`` as dates; an empty or unparsable cell is named with its data row."""
    if frame.schema["date"] not in (pl.Date, pl.String):
        raise SourceError(f"{path}: column 'date' has type {frame.schema['date']}, expected a date")
    dates = frame.get_column("date")
    parsed = dates if dates.dtype == pl.Date else dates.str.to_date("%Y-%m-%d", strict=False)
    bad = frame.filter(parsed.is_null())
    if bad.height:
        row, value = bad.select(SOURCE_ROW, "date").row(0)
        what = "is empty" if value is None else f"{value!r} is not a YYYY-MM-DD date"
        raise SourceError(f"{path}: column 'date', data row {row}: {what} ({bad.height} such row(s))")
    return frame.with_columns(date=parsed)


def _parse_numbers(path: Path, frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """A numeric column read as text: parse it; leave it as text if any cell is not a number,
    so validation names the column's type (and we name the first bad cell here)."""
    parsed = frame.get_column(column).str.strip_chars().cast(pl.Float64, strict=False)
    bad = frame.filter(parsed.is_null() & pl.col(column).is_not_null())
    if bad.height:
        row, day, value = bad.select(SOURCE_ROW, "date", column).row(0)
        raise SourceError(
            f"{path}: column '{column}' has type String, expected Float64: data row {row} "
            f"(date {day}) holds {value!r}, which is not a number ({bad.height} such row(s))"
        )
    return frame.with_columns(parsed.alias(column))


def between(frame: pl.DataFrame, start: dt.date, end: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("date").is_between(start, end))


BENCHMARK_KEY = "strategies.yaml key 'factors.benchmark'"


class FactorsFile:
    """A firm's own factors: CSV or Parquet with ``date, factor_id, ret``, one row per
    factor and day; the config's benchmark id names the benchmark among them.

    The file's ids must include ``benchmark`` (else "unknown benchmark id", naming the
    config key and the ids the file has); ``is_benchmark`` is added here, so a file that
    carries its own is refused. Everything else (finite returns, unique keys, ids,
    business days) is the table's schema's to say, with the file's data rows.
    """

    def __init__(self, path: str | Path, benchmark: str):
        self.path = Path(path)
        self.benchmark = benchmark
        self.description = f"factors file {self.path}"

    def _frame(self) -> pl.DataFrame:
        frame = read_table_file(self.path, "factors", ("ret",))
        if "is_benchmark" in frame.columns:
            raise SourceError(
                f"{self.path}: unexpected column 'is_benchmark' (the benchmark is named by {BENCHMARK_KEY})"
            )
        if frame.schema.get("factor_id") != pl.String:
            return frame.with_columns(is_benchmark=pl.lit(False))  # the schema names the column's problem
        ids = sorted(frame.get_column("factor_id").drop_nulls().unique().to_list())
        if self.benchmark not in ids:
            raise SourceError(
                f"{self.path}: unknown benchmark id {self.benchmark!r} ({BENCHMARK_KEY}); "
                f"the file's factor ids are {ids}"
            )
        return frame.with_columns(is_benchmark=pl.col("factor_id") == self.benchmark)

    def returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(self._frame(), start, end)

    def starts(self) -> dict[str, dt.date]:
        """Each factor's first day in the file."""
        frame = self._frame()
        if frame.schema.get("factor_id") != pl.String:
            return {}
        firsts = frame.drop_nulls("factor_id").group_by("factor_id").agg(pl.col("date").min())
        return dict(firsts.iter_rows())

    def benchmark_return(self) -> str:
        return f"as given in {self.path} (benchmark {self.benchmark})"
