"""Where strategy returns come from: the bundled real data, a firm's own file, or a
seeded synthetic universe with known truth.

Each source answers four questions for a span of days: market closes (with the
benchmark), strategy returns, strategy positions (only the bundled source has
positions) and factor returns (what alpha is measured over), and says which days it
has data for (``span``) and when each factor begins (``factor_starts``). Frames come
back in the table's columns (a file's also carry ``SOURCE_ROW``, its own data row
numbers); validation is the caller's job, so a bad file is reported with the rules of
its table. A factors file (``FactorsFile``), when given, replaces any source's own
factors; a returns file without one has none: alpha over cash.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import polars as pl

from twin_model.contracts import TABLES
from twin_model.data import signals, synthetic
from twin_model.data.factors import SP500, FactorSettings, factor_returns_from_closes
from twin_resources.config import Shock
from twin_resources.source_files import BENCHMARK_KEY, FactorsFile, SourceError, between, read_table_file

MARKET_PRICES = TABLES["raw.market_prices"]
STRATEGY_RETURNS = TABLES["raw.strategy_returns"]
STRATEGY_POSITIONS = TABLES["raw.strategy_positions"]
FACTOR_RETURNS = TABLES["raw.factor_returns"]

__all__ = ["BundledSource", "FactorsFile", "FileSource", "ReturnSource", "SourceError", "SyntheticSource"]


class Factors(Protocol):
    """Where a source's factor returns come from."""

    def returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """``date, factor_id, ret, is_benchmark`` of ``start``..``end``."""
        ...

    def starts(self) -> dict[str, dt.date]:
        """Each factor's first day with a return."""
        ...

    def benchmark_return(self) -> str:
        """How the benchmark's return is made (for metadata): e.g. a price index plus a dividend yield."""
        ...

    @property
    def description(self) -> str:
        """Where the factors come from, for messages (a file by its path)."""
        ...


class _WithFactors:
    """A source's factor questions, answered by its ``factors`` (None: alpha over cash)."""

    factors: Factors | None

    def factor_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self.factors.returns(start, end) if self.factors else FACTOR_RETURNS.empty_frame()

    def factor_starts(self) -> dict[str, dt.date]:
        return self.factors.starts() if self.factors else {}

    def benchmark_return(self) -> str | None:
        """How the benchmark factor's return is made; None when there are no factors."""
        return self.factors.benchmark_return() if self.factors else None

    def factor_origin(self) -> str:
        """Where the factors come from (a factors file by its path), for messages."""
        return self.factors.description if self.factors else "no factors"


class ReturnSource(Protocol):
    description: str
    has_positions: bool

    def span(self) -> tuple[dt.date, dt.date] | None:
        """The first and last day of the source's returns; None when it generates any day asked for."""
        ...

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame: ...

    def factor_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """``date, factor_id, ret, is_benchmark``: empty when alpha is measured over cash."""
        ...

    def factor_starts(self) -> dict[str, dt.date]: ...

    def benchmark_return(self) -> str | None: ...

    def factor_origin(self) -> str: ...


def _date_span(frame: pl.DataFrame) -> tuple[dt.date, dt.date]:
    dates = frame.get_column("date")
    return dates.min(), dates.max()


# --- bundled -------------------------------------------------------------------------

BENCHMARK_TICKER = SP500


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


@functools.cache
def _bundled_factor_returns(settings: FactorSettings) -> pl.DataFrame:
    """The S&P 500 (a price index: plus the settings' dividend yield, a total return) and
    the five factor ETFs (adjusted closes: total returns as they are), all days."""
    closes = bundled_closes().filter(pl.col("asset_class").is_in(["index", "etf"]))
    indices = closes.filter(pl.col("asset_class") == "index").get_column("ticker").unique().to_list()
    ids = sorted(closes.get_column("ticker").unique().to_list())
    if settings.benchmark not in ids:
        raise SourceError(
            f"bundled factors: unknown benchmark id {settings.benchmark!r} ({BENCHMARK_KEY}); "
            f"the bundled factor ids are {ids}"
        )
    return factor_returns_from_closes(closes, settings.benchmark, dict.fromkeys(indices, settings.dividend_yield))


class BundledFactors:
    """The bundled benchmark and factor ETFs (``twin_model.data.factors``): SP500 as a
    total return, its index's price return plus (1 + y)^(1/252) - 1 a business day for
    the configured dividend yield y, and MTUM, QUAL, SIZE, USMV, VLUE as their simple
    returns from the shipped adjusted closes (from 2014-01-03, the day after their first close)."""

    description = "bundled factors (skfolio's S&P 500 index and factor ETFs)"

    def __init__(self, settings: FactorSettings):
        self.settings = settings

    def returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(_bundled_factor_returns(self.settings), start, end)

    def starts(self) -> dict[str, dt.date]:
        firsts = _bundled_factor_returns(self.settings).group_by("factor_id").agg(pl.col("date").min())
        return dict(firsts.iter_rows())

    def benchmark_return(self) -> str:
        if self.settings.benchmark == SP500:
            return self.settings.price_index_label()
        return "total return (dividend-adjusted closes)"


class BundledSource(_WithFactors):
    """Real closes from skfolio turned into strategy returns by ``twin_model.data.signals``;
    its factors are ``BundledFactors`` unless a factors file replaces them."""

    has_positions = True

    def __init__(
        self, cost_bps: float = 5.0, factors: FactorSettings | None = None, factors_file: FactorsFile | None = None
    ):
        self.cost_bps = cost_bps
        self.factors = factors_file or BundledFactors(factors or FactorSettings())
        self.description = f"bundled skfolio closes, signals net of {cost_bps:g} bp cost"

    def span(self) -> tuple[dt.date, dt.date]:
        return _date_span(_bundled_strategies(self.cost_bps)[0])

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(bundled_closes(), start, end).select(list(MARKET_PRICES.columns()))

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(_bundled_strategies(self.cost_bps)[0], start, end)

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(_bundled_strategies(self.cost_bps)[1], start, end)


# --- file ----------------------------------------------------------------------------


class FileSource(_WithFactors):
    """A firm's own returns: CSV or Parquet with ``date, strategy_id, ret[, available]``
    (without ``available``, every row is available).

    The strategies in the file are the universe. A file has no positions and no market
    prices, so position-level risk is off; its factors are the factors file's, and
    without one alpha is measured over cash.
    """

    has_positions = False

    def __init__(self, path: str | Path, factors_file: FactorsFile | None = None):
        self.path = Path(path)
        self.factors = factors_file
        self.description = f"returns file {self.path}"

    def _frame(self) -> pl.DataFrame:
        frame = read_table_file(self.path, "returns", ("ret",))
        return frame if "available" in frame.columns else frame.with_columns(available=pl.lit(True))

    def span(self) -> tuple[dt.date, dt.date]:
        return _date_span(self._frame())

    def market_prices(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return MARKET_PRICES.empty_frame()

    def strategy_returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return between(self._frame(), start, end)

    def strategy_positions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return STRATEGY_POSITIONS.empty_frame()


# --- synthetic -----------------------------------------------------------------------

SYNTHETIC_BENCHMARK = "SYN_MARKET"


class SyntheticSource(_WithFactors):
    """Seeded strategies with known truth (``twin_model.data.synthetic``) and their market,
    which is its one factor and benchmark (unless a factors file replaces it)."""

    has_positions = False

    def __init__(
        self, config: synthetic.SyntheticConfig, shocks: Sequence[Shock] = (), factors_file: FactorsFile | None = None
    ):
        self.config = config
        self.shocks = tuple(shocks)
        self.factors = factors_file or _SyntheticMarket(self)
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


class _SyntheticMarket:
    """The synthetic market as the benchmark factor: its generated return m_t, a total
    return (no dividend adjustment), on every business day from the anchor."""

    description = "the synthetic market"

    def __init__(self, source: SyntheticSource):
        self.source = source

    def returns(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        market = self.source._generate(start, end)[1]
        return market.select(
            "date", factor_id=pl.lit(SYNTHETIC_BENCHMARK), ret=pl.col("market_return"), is_benchmark=pl.lit(True)
        )

    def starts(self) -> dict[str, dt.date]:
        return {SYNTHETIC_BENCHMARK: self.source.config.anchor}

    def benchmark_return(self) -> str:
        return "total return as generated (the synthetic market)"


def _shock_days(shock: Shock) -> list[dt.date]:
    """The ``days`` business days from ``start`` (itself included when a business day)."""
    from twin_model.calendar import business_days

    return business_days(shock.start, shock.start + dt.timedelta(days=7 * shock.days + 7))[: shock.days]
