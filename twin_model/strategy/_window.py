"""Return windows: the trailing observed returns a day's fit sees.

``return_window`` turns the long ``strategy_returns`` frame into a ``ReturnWindow``: the
last ``window_days`` dates up to ``end`` on which at least one strategy has an observed
return (windows count observed returns, not calendar days or partitions), the strategies
with at least one observed return in it (sorted by id), a ``[T, N]`` matrix of simple
returns with NaN for every cell that is not an observed return
(``conventions.observed_return``: ``available`` False or null, null or NaN ``ret``, or no
row at all), and the benchmark's simple returns on the same dates (NaN where missing).
A flat day (``ret`` 0.0, available) is data, never a mask.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.conventions import observed_return


@dataclass(frozen=True, eq=False)
class ReturnWindow:
    """A trailing window of daily strategy returns, NaN where a return is masked.

    ``returns[t, i]`` is strategy ``strategy_ids[i]`` on ``dates[t]``; ``benchmark[t]`` the
    benchmark's simple return that day (NaN where missing) or ``None`` for no benchmark.
    """

    strategy_ids: tuple[str, ...]
    dates: tuple[datetime.date, ...]
    returns: np.ndarray
    benchmark: np.ndarray | None

    def __post_init__(self) -> None:
        returns = np.array(self.returns, dtype=np.float64, copy=True)
        returns.setflags(write=False)
        n, t = len(self.strategy_ids), len(self.dates)
        if returns.shape != (t, n):
            raise ValueError(f"returns has shape {returns.shape}, expected (T, N) = ({t}, {n})")
        if len(set(self.strategy_ids)) != n:
            raise ValueError("strategy_ids must be unique")
        if t and any(b <= a for a, b in zip(self.dates, self.dates[1:])):
            raise ValueError("dates must be strictly ascending")
        if np.isinf(returns).any():
            raise ValueError("returns must be finite or NaN (masked)")
        object.__setattr__(self, "returns", returns)
        if self.benchmark is not None:
            bench = np.array(self.benchmark, dtype=np.float64, copy=True).reshape(-1)
            bench.setflags(write=False)
            if bench.shape != (t,):
                raise ValueError(f"benchmark has {bench.size} values, expected one per date ({t})")
            if np.isinf(bench).any():
                raise ValueError("benchmark must be finite or NaN (missing)")
            object.__setattr__(self, "benchmark", bench)

    @property
    def mask(self) -> np.ndarray:
        """``[T, N]`` bool: the cells the model sees (return observed, benchmark observed)."""
        observed = ~np.isnan(self.returns)
        if self.benchmark is not None:
            observed &= ~np.isnan(self.benchmark)[:, None]
        return observed

    @property
    def n_obs(self) -> np.ndarray:
        """Observed returns per strategy that enter the fit (``mask`` column sums)."""
        return self.mask.sum(axis=0).astype(np.int64)

    def benchmark_moments(self) -> tuple[float, float]:
        """Mean and sample variance (ddof = 1) of the observed benchmark days; (0, 0) without one."""
        if self.benchmark is None:
            return 0.0, 0.0
        b = self.benchmark[~np.isnan(self.benchmark)]
        if b.size == 0:
            raise ValueError("the benchmark has no observed day in the window; pass benchmark=None to fit without one")
        return float(b.mean()), float(b.var(ddof=1)) if b.size > 1 else 0.0


def return_window(
    returns: pl.DataFrame,
    benchmark: pl.DataFrame | None,
    end: datetime.date,
    window_days: int = 504,
) -> ReturnWindow:
    """The trailing window of ``window_days`` observed dates up to and including ``end``.

    ``returns``: long frame ``date, strategy_id, ret`` (nullable) and optionally
    ``available`` (absent means available). ``benchmark``: long frame ``date, ret``
    (simple returns) or None. The window is the last ``window_days`` dates on or before
    ``end`` on which at least one strategy has an observed return (windows count
    observed returns, not calendar days). A row that is not an observed return
    (``conventions.observed_return``: ``available`` False or null, or a null/NaN ``ret``)
    is masked (NaN), never zero; a flat day (``ret`` 0.0, available) is data. The
    strategies are those with at least one observed return in the window, sorted by id.
    Benchmark days missing (or null) on a window date are NaN.
    Raises ``ValueError`` for duplicate (date, strategy_id) or benchmark dates, or when
    nothing is observed on or before ``end``.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    for column in ("date", "strategy_id", "ret"):
        if column not in returns.columns:
            raise ValueError(f"returns frame lacks column {column!r}")
    observed = _observed_rows(returns, end)
    dates = observed.get_column("date").unique().sort().tail(window_days)
    if dates.len() == 0:
        raise ValueError(f"no observed strategy return on or before {end}")
    observed = observed.filter(pl.col("date").is_in(dates.implode()))
    ids = observed.get_column("strategy_id").unique().sort()

    date_list = dates.to_list()
    id_list = ids.to_list()
    t_index = {d: k for k, d in enumerate(date_list)}
    i_index = {s: k for k, s in enumerate(id_list)}
    matrix = np.full((len(date_list), len(id_list)), np.nan)
    rows = [t_index[d] for d in observed.get_column("date").to_list()]
    cols = [i_index[s] for s in observed.get_column("strategy_id").to_list()]
    matrix[rows, cols] = observed.get_column("ret").to_numpy()
    bench_values = None if benchmark is None else _benchmark_on(benchmark, dates, t_index)
    return ReturnWindow(tuple(id_list), tuple(date_list), matrix, bench_values)


def _observed_rows(returns: pl.DataFrame, end: datetime.date) -> pl.DataFrame:
    """The observed returns on or before ``end`` (date, strategy_id, ret); raises on a
    duplicate (date, strategy_id) row, observed or not."""
    frame = (
        returns.lazy()
        .filter(pl.col("date") <= end)
        .select(
            pl.col("date").cast(pl.Date),
            pl.col("strategy_id").cast(pl.String),
            pl.col("ret").cast(pl.Float64),
            observed_return(returns.columns).alias("observed"),
        )
        .collect()
    )
    if frame.select(pl.struct("date", "strategy_id").is_duplicated().any()).item():
        dup = frame.filter(pl.struct("date", "strategy_id").is_duplicated()).row(0, named=True)
        raise ValueError(f"duplicate return row for {dup['strategy_id']} on {dup['date']}")
    return frame.filter(pl.col("observed"))


def _benchmark_on(benchmark: pl.DataFrame, dates: pl.Series, t_index: dict) -> np.ndarray:
    """The benchmark's simple return on each window date, NaN where missing, null or NaN."""
    for column in ("date", "ret"):
        if column not in benchmark.columns:
            raise ValueError(f"benchmark frame lacks column {column!r}")
    bench = benchmark.select(pl.col("date").cast(pl.Date), pl.col("ret").cast(pl.Float64))
    bench = bench.filter(pl.col("date").is_in(dates.implode()))
    if bench.get_column("date").is_duplicated().any():
        raise ValueError("duplicate benchmark date")
    values = np.full(len(t_index), np.nan)
    ok = bench.filter(pl.col("ret").is_not_null() & pl.col("ret").is_not_nan())
    values[[t_index[d] for d in ok.get_column("date").to_list()]] = ok.get_column("ret").to_numpy()
    return values
