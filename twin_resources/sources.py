"""Where strategy returns come from: the bundled real data, a firm's own file, or a
seeded synthetic universe with known truth.

Each source answers three questions for a span of days: market closes (with the
benchmark), strategy returns, and strategy positions (only the bundled source has
positions), and says which days it has data for (``span``). Frames come back in the
table's columns (a file's also carry ``SOURCE_ROW``, its own data row numbers);
validation is the caller's job, so a bad file is reported with the rules of its table.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import polars as pl

from twin_model.contracts import SOURCE_ROW, TABLES
from twin_model.data import signals, synthetic
from twin_resources.config import Shock

MARKET_PRICES = TABLES["raw.market_prices"]
STRATEGY_RETURNS = TABLES["raw.strategy_returns"]
STRATEGY_POSITIONS = TABLES["raw.strategy_positions"]


class SourceError(ValueError):
    """A source cannot be read at all (missing file, unknown format, unparsable dates)."""


class ReturnSource(Protocol):
    description: str
    has_positions: bool

    def span(self) -> tuple[dt.date, dt.date] | None:
        """The first and last day of the source's returns; None when it generates any day asked for."""
        ...

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...


def _between(frame: pl.DataFrame, start: dt.date, end: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("date").is_between(start, end))


def _date_span(frame: pl.DataFrame) -> tuple[dt.date, dt.date]:
    dates = frame.get_column("date")
    return dates.min(), dates.max()


# --- bundled -------------------------------------------------------------------------

BENCHMARK_TICKER = "SP500"


@functools.cache
def bundled_closes() -> pl.DataFrame:
    """Daily closes shipped inside skfolio, long: date, ticker, close, asset_class, is_benchmark.

    20 S&P 500 stocks (1990-2022, 2022 survivors), the S&P 500 index (the benchmark)
    and five US factor ETFs (2014-2022).
    """
    from skfolio import datasets

    panels = (
        (datasets.load_sp500_dataset(), "equity"),
        (datasets.load_sp500_index().rename(columns={"SP500": BENCHMARK_TICKER}), "index"),
        (datasets.load_factors_dataset(), "etf"),
    )
    frames = []
    for prices, asset_class in panels:
        wide = pl.from_pandas(prices.reset_index()).rename({"Date": "date"})
        long = wide.with_columns(pl.col("date").cast(pl.Date)).unpivot(
            index="date", variable_name="ticker", value_name="close"
        )
        frames.append(long.with_columns(asset_class=pl.lit(asset_class)))
    closes = pl.concat(frames).drop_nulls("close").cast({"close": pl.Float64})
    return closes.with_columns(is_benchmark=pl.col("ticker") == BENCHMARK_TICKER).sort("date", "ticker")


@functools.cache
def _bundled_strategies(cost_bps: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    closes = bundled_closes()
    universes = {
        "stocks": closes.filter(pl.col("asset_class") == "equity").get_column("ticker").unique().sort().to_list(),
        "factors": closes.filter(pl.col("asset_class") == "etf").get_column("ticker").unique().sort().to_list(),
    }
    return signals.run_strategies(closes.select("date", "ticker", "close"), universes, cost_bps=cost_bps)


class BundledSource:
    """Real closes from skfolio turned into strategy returns by ``twin_model.data.signals``."""

    has_positions = True

    def __init__(self, cost_bps: float = 5.0):
        self.cost_bps = cost_bps
        self.description = f"bundled skfolio closes, signals net of {cost_bps:g} bp cost"

    def span(self) -> tuple[dt.date, dt.date]:
        return _date_span(_bundled_strategies(self.cost_bps)[0])

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return _between(bundled_closes(), start, end).select(list(MARKET_PRICES.columns()))

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return _between(_bundled_strategies(self.cost_bps)[0], start, end)

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return _between(_bundled_strategies(self.cost_bps)[1], start, end)


# --- file ----------------------------------------------------------------------------


@functools.cache
def _read_returns_file(path: Path, modified_ns: int) -> pl.DataFrame:
    """The whole file, parsed once per version (``modified_ns`` keys the cache).

    Dates must be ISO (YYYY-MM-DD): an ambiguous 02/03/2021 is refused, never guessed.
    Numbers written as text (``nan``, ``inf`` or a quoted value) are parsed; anything
    else that is not a number is named with its row. A file without data rows is refused:
    it would otherwise empty every day asked for. Each row keeps its data row number in
    ``SOURCE_ROW`` (1-based, the header not counted), for messages.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, schema_overrides={"date": pl.String}, infer_schema_length=None)
        elif suffix in {".parquet", ".pq"}:
            frame = pl.read_parquet(path)
        else:
            raise SourceError(f"{path}: unknown returns file format {suffix!r}; use .csv or .parquet")
    except (pl.exceptions.PolarsError, OSError) as error:
        raise SourceError(f"{path}: cannot read returns file: {error}") from None
    if frame.height == 0:
        raise SourceError(f"{path}: no rows (columns {frame.columns} but no data): a returns file must hold returns")
    if "date" not in frame.columns:
        raise SourceError(f"{path}: missing column 'date' (columns are {frame.columns})")
    if SOURCE_ROW in frame.columns:
        raise SourceError(f"{path}: unexpected column {SOURCE_ROW!r} (the name is reserved for row numbers)")
    frame = frame.with_row_index(SOURCE_ROW, offset=1).cast({SOURCE_ROW: pl.Int64})
    frame = _parse_dates(path, frame)
    if frame.schema.get("ret") == pl.String:
        frame = _parse_numbers(path, frame, "ret")
    if "available" not in frame.columns:
        frame = frame.with_columns(available=pl.lit(True))
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


class FileSource:
    """A firm's own returns: CSV or Parquet with ``date, strategy_id, ret[, available]``.

    The strategies in the file are the universe. A file has no positions and no
    benchmark, so position-level risk and benchmark-relative statistics are off.
    """

    has_positions = False

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.description = f"returns file {self.path}"

    def _frame(self) -> pl.DataFrame:
        try:
            modified = self.path.stat().st_mtime_ns
        except OSError:
            raise SourceError(f"{self.path}: returns file not found (TWIN_RETURNS_FILE or strategies.yaml)") from None
        return _read_returns_file(self.path, modified)

    def span(self) -> tuple[dt.date, dt.date]:
        return _date_span(self._frame())

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return MARKET_PRICES.empty_frame()

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return _between(self._frame(), start, end)

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return STRATEGY_POSITIONS.empty_frame()


# --- synthetic -----------------------------------------------------------------------

SYNTHETIC_BENCHMARK = "SYN_MARKET"


class SyntheticSource:
    """Seeded strategies with known truth (``twin_model.data.synthetic``) and their market."""

    has_positions = False

    def __init__(self, config: synthetic.SyntheticConfig, shocks: Sequence[Shock] = ()):
        self.config = config
        self.shocks = tuple(shocks)
        self.truth = synthetic.truth_table(config)
        self._generated: dict[tuple[dt.date, dt.date], tuple[pl.DataFrame, pl.DataFrame]] = {}
        self.description = f"synthetic: {config.n_strategies} strategies, seed {config.seed}"
        unknown = sorted({s.strategy_id for s in self.shocks} - set(self.truth.get_column("strategy_id")))
        if unknown:
            raise ValueError(f"synthetic shocks name unknown strategies {unknown}")

    def span(self) -> None:
        return None

    def _generate(self, start: dt.date, end: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Returns and benchmark of ``start``..``end``, generated once per span for this source."""
        from twin_model.calendar import business_days

        if (start, end) not in self._generated:
            self._generated[start, end] = synthetic.generate(self.config, business_days(start, end), truth=self.truth)
        return self._generated[start, end]

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        benchmark = self._generate(start, end)[1]
        return benchmark.select(
            "date",
            ticker=pl.lit(SYNTHETIC_BENCHMARK),
            close=pl.col("close"),
            asset_class=pl.lit("index"),
            is_benchmark=pl.lit(True),
        )

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """The generated returns, with each scripted shock's return in place of the draw."""
        returns = self._generate(start, end)[0]
        for shock in self.shocks:
            hit = pl.col("date").is_in(_shock_days(shock)) & (pl.col("strategy_id") == shock.strategy_id)
            returns = returns.with_columns(ret=pl.when(hit).then(pl.lit(shock.daily_return)).otherwise(pl.col("ret")))
        return returns

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return STRATEGY_POSITIONS.empty_frame()


def _shock_days(shock: Shock) -> list[dt.date]:
    """The ``days`` business days from ``start`` (itself included when a business day)."""
    from twin_model.calendar import business_days

    return business_days(shock.start, shock.start + dt.timedelta(days=7 * shock.days + 7))[: shock.days]
