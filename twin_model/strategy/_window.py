"""Return windows: the trailing observed returns a day's fit sees.

``return_window`` turns the long ``strategy_returns`` frame into a ``ReturnWindow``: the
last ``window_days`` dates up to ``end`` on which at least one strategy has an observed
return (windows count observed returns, not calendar days or partitions), the strategies
with at least one observed return in it (sorted by id), a ``[T, N]`` matrix of simple
returns with NaN for every cell that is not an observed return
(``conventions.observed_return``: ``available`` False or null, null or NaN ``ret``, or no
row at all), the factor regressors on the same dates (``_factors``: the benchmark and
each other factor's spread over it; NaN where missing, which masks that day for every
strategy) and each strategy's residual block (the strategies of one sector share one).
A flat day (``ret`` 0.0, available) is data, never a mask.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.conventions import UNCLASSIFIED_SECTOR, observed_return
from twin_model.strategy._factors import factor_design


@dataclass(frozen=True, eq=False)
class ReturnWindow:
    """A trailing window of daily strategy returns, NaN where a return is masked.

    ``returns[t, i]`` is strategy ``strategy_ids[i]`` on ``dates[t]``. ``factors[t, k]`` is
    regressor ``factor_ids[k]`` that day (NaN where missing; ``[T, 0]`` measures alpha over
    cash), in the design of ``_factors`` (the benchmark, then spreads over it);
    ``benchmark_id`` names the benchmark's regressor (None without one). ``blocks[i]`` is
    strategy ``i``'s residual block (0..B-1: the strategies of one sector share a block, a
    strategy alone in its sector or unclassified is a block of one), ``block_names[b]`` the
    block's sector (or, for an unclassified strategy, its id). ``notes`` says what the
    window had to leave out (factors dropped or partial).
    """

    strategy_ids: tuple[str, ...]
    dates: tuple[datetime.date, ...]
    returns: np.ndarray
    factors: np.ndarray | None = None
    factor_ids: tuple[str, ...] = ()
    blocks: np.ndarray | None = None
    block_names: tuple[str, ...] | None = None
    benchmark_id: str | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        returns = _frozen(self.returns)
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
        self._set_factors(t)
        self._set_blocks(n)

    def _set_factors(self, t: int) -> None:
        ids = tuple(self.factor_ids)
        factors = _frozen(np.zeros((t, 0)) if self.factors is None else self.factors)
        if factors.ndim != 2 or factors.shape != (t, len(ids)):
            raise ValueError(f"factors has shape {factors.shape}, expected (T, K) = ({t}, {len(ids)}) for {ids}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"factor_ids must be unique: {ids}")
        if np.isinf(factors).any():
            raise ValueError("factors must be finite or NaN (missing)")
        if self.benchmark_id is not None and self.benchmark_id not in ids:
            raise ValueError(f"benchmark_id {self.benchmark_id!r} is not one of factor_ids {ids}")
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "factor_ids", ids)

    def _set_blocks(self, n: int) -> None:
        blocks = np.arange(n) if self.blocks is None else np.asarray(self.blocks)
        blocks = _frozen(blocks, dtype=np.int64)
        if blocks.shape != (n,):
            raise ValueError(f"blocks has shape {blocks.shape}, expected one block per strategy ({n})")
        if n and (blocks.min() < 0 or set(blocks.tolist()) != set(range(int(blocks.max()) + 1))):
            raise ValueError("blocks must number the blocks 0..B-1, each used")
        n_blocks = int(blocks.max()) + 1 if n else 0
        names = tuple(self.strategy_ids) if self.block_names is None and self.blocks is None else self.block_names
        if names is None:
            names = tuple(f"block_{b}" for b in range(n_blocks))
        if len(names) != n_blocks:
            raise ValueError(f"block_names has {len(names)} names, expected one per block ({n_blocks})")
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "block_names", tuple(names))

    @property
    def benchmark(self) -> np.ndarray | None:
        """The benchmark's regressor ``[T]`` (NaN where missing), or None without one."""
        if self.benchmark_id is None:
            return None
        return self.factors[:, self.factor_ids.index(self.benchmark_id)]

    @property
    def alpha_reference(self) -> str:
        """What alpha is measured over: ``"factors: SP500, MTUM-SP500, ..."`` or ``"cash"``."""
        return "factors: " + ", ".join(self.factor_ids) if self.factor_ids else "cash"

    @property
    def n_spreads(self) -> int:
        """How many regressors are spreads over the benchmark: every one after it when it
        comes first (as ``factor_design`` puts it), else none."""
        if self.benchmark_id is None or self.factor_ids[0] != self.benchmark_id:
            return 0
        return len(self.factor_ids) - 1

    @property
    def factor_days(self) -> np.ndarray:
        """``[T]`` bool: the days on which every factor is observed (every day without factors)."""
        return np.isfinite(self.factors).all(axis=1)

    @property
    def mask(self) -> np.ndarray:
        """``[T, N]`` bool: the cells the model sees (return observed, every factor observed)."""
        return ~np.isnan(self.returns) & self.factor_days[:, None]

    @property
    def n_obs(self) -> np.ndarray:
        """Observed returns per strategy that enter the fit (``mask`` column sums)."""
        return self.mask.sum(axis=0).astype(np.int64)

    @property
    def block_sizes(self) -> np.ndarray:
        """``[N]``: how many strategies share each strategy's block (1 alone)."""
        return np.bincount(self.blocks)[self.blocks] if self.blocks.size else np.zeros(0, dtype=np.int64)

    def select(self, strategy_ids, *, shared: bool = True) -> ReturnWindow:
        """The window of ``strategy_ids`` only (kept in this window's order), on the same
        dates and factors. ``shared``: the members keep their sectors' blocks, renumbered (a
        sector left with one member is a block of one); False: every strategy a block of one."""
        keep = [i for i, s in enumerate(self.strategy_ids) if s in set(strategy_ids)]
        ids = [self.strategy_ids[i] for i in keep]
        sectors = {self.strategy_ids[i]: self.block_names[self.blocks[i]] for i in keep} if shared else {}
        blocks, names = sector_blocks(ids, sectors)
        return dataclasses.replace(
            self, strategy_ids=tuple(ids), returns=self.returns[:, keep], blocks=blocks, block_names=names
        )

    def factor_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``[K]`` and sample covariance ``[K, K]`` (ddof = 1) of the regressors over the
        days every factor is observed; empty without factors, zero covariance on one day."""
        x = self.factors[self.factor_days]
        k = x.shape[1]
        if k == 0:
            return np.zeros(0), np.zeros((0, 0))
        if x.shape[0] == 0:
            raise ValueError(f"no window day has every factor {self.factor_ids} observed")
        cov = np.cov(x, rowvar=False, ddof=1).reshape(k, k) if x.shape[0] > 1 else np.zeros((k, k))
        return x.mean(axis=0), cov


def _frozen(values, dtype=np.float64) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


def return_window(
    returns: pl.DataFrame,
    factors: pl.DataFrame | None,
    end: datetime.date,
    window_days: int = 504,
    sectors: Mapping[str, str] | None = None,
) -> ReturnWindow:
    """The trailing window of ``window_days`` observed dates up to and including ``end``.

    ``returns``: long frame ``date, strategy_id, ret`` (nullable) and optionally
    ``available`` (absent means available). ``factors``: the long factor returns ``date,
    factor_id, ret, is_benchmark`` (``raw.factor_returns``) or None for alpha over cash;
    the regressors are ``_factors.factor_design``'s (benchmark, then spreads over it; a
    factor with no return in the window dropped, a day with a factor missing masked for
    every strategy; ``notes`` says so). ``sectors``: strategy id -> sector; the strategies
    of a sector with at least two of them in the window share a residual block, every
    other strategy (alone in its sector, unlisted, or ``UNCLASSIFIED_SECTOR``) is a block
    of one. The window is the last ``window_days`` dates on or before ``end`` on which at
    least one strategy has an observed return (windows count observed returns, not
    calendar days). A row that is not an observed return (``conventions.observed_return``:
    ``available`` False or null, or a null/NaN ``ret``) is masked (NaN), never zero; a flat
    day (``ret`` 0.0, available) is data. The strategies are those with at least one
    observed return in the window, sorted by id.
    Raises ``ValueError`` for duplicate (date, strategy_id) or (date, factor_id) rows, or
    when nothing is observed on or before ``end``.
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
    design = factor_design(factors, date_list)
    blocks, names = sector_blocks(id_list, sectors or {})
    return ReturnWindow(
        tuple(id_list),
        tuple(date_list),
        matrix,
        factors=design.values,
        factor_ids=design.names,
        blocks=blocks,
        block_names=names,
        benchmark_id=design.benchmark_id,
        notes=design.notes,
    )


def sector_blocks(strategy_ids: list[str], sectors: Mapping[str, str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Block number per strategy (numbered by first appearance) and each block's name: a
    sector with two or more of ``strategy_ids`` is one block named by the sector; every
    other strategy -- alone in its sector, unlisted, or ``UNCLASSIFIED_SECTOR`` -- is a
    block of one named by its sector (its id when unclassified)."""
    keys = [sectors.get(s) for s in strategy_ids]
    counts: dict[str, int] = {}
    for key in keys:
        if key is not None and key != UNCLASSIFIED_SECTOR:
            counts[key] = counts.get(key, 0) + 1
    numbers: dict[str, int] = {}
    blocks, names = [], []
    for sid, key in zip(strategy_ids, keys):
        if key is not None and counts.get(key, 0) >= 2:
            if key not in numbers:
                numbers[key] = len(names)
                names.append(key)
            blocks.append(numbers[key])
        else:
            blocks.append(len(names))
            names.append(key if key not in (None, UNCLASSIFIED_SECTOR) else sid)
    return np.asarray(blocks, dtype=np.int64), tuple(names)


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
