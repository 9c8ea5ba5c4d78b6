r"""The factor design: which regressors a window's fit uses, from the long factor returns.

Input: the long frame of ``raw.factor_returns`` (``date, factor_id, ret, is_benchmark``;
at most one benchmark id), or None to measure alpha over cash (no regressor).

Spread over the benchmark
-------------------------
The six bundled series (the S&P 500 and the MTUM, QUAL, SIZE, USMV, VLUE ETFs) are
long-only US equity with daily correlations of about 0.85-0.95, so a regression on them
directly has nearly collinear columns and betas that trade off against one another. The
design regresses instead on the benchmark ``m`` and each other factor's return minus the
benchmark's::

    x_t = (m_t, f_1t - m_t, ..., f_Jt - m_t)          named  SP500, MTUM-SP500, ...

This is the invertible linear map ``x = f T`` of the raw factors ``f = (m, f_1..f_J)``
(``T`` unit upper-triangular in the first row: ``T[0, 0] = 1``, ``T[0, j] = -1``,
``T[j, j] = 1``), so the column space of ``[1, x]`` is that of ``[1, f]``: the fitted
values, the residuals and **alpha (the intercept) are unchanged**, and the betas map one
to one (``beta_raw = T beta_x``: the benchmark's raw beta is the sum of the spread
regression's betas, each other factor's raw beta its spread beta). The spreads are far
less correlated with the benchmark and with each other than the raw series, which is
what conditions the betas. Without a benchmark id the factors enter raw.

Coverage
--------
A factor with no observed return on any window date is dropped (the ETFs start
2014-01-02, so a window before that has only the benchmark) and the window says so; a
factor observed on only part of the window masks the other days for every strategy (the
model needs every regressor on every day it uses), and the window says how many days that
leaves.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import polars as pl

FACTOR_COLUMNS = ("date", "factor_id", "ret", "is_benchmark")
"""The long factor-returns frame's columns (``raw.factor_returns``)."""
CASH_NOTE = "alpha over cash: no factor returns"
SPREAD_SEPARATOR = "-"
"""A spread regressor is named ``<factor><SPREAD_SEPARATOR><benchmark>``, e.g. ``MTUM-SP500``."""


@dataclass(frozen=True)
class FactorDesign:
    """The regressors on a window's dates: ``values [T, K]`` (NaN where a factor is
    missing), their names, the benchmark's regressor name (None without one) and what the
    design had to say (dropped or partial factors)."""

    values: np.ndarray
    names: tuple[str, ...]
    benchmark_id: str | None
    notes: tuple[str, ...]


def benchmark_factors(benchmark: pl.DataFrame, factor_id: str = "SP500") -> pl.DataFrame:
    """A benchmark-only factors frame from ``date, ret`` benchmark returns (is_benchmark True)."""
    for column in ("date", "ret"):
        if column not in benchmark.columns:
            raise ValueError(f"benchmark frame lacks column {column!r}")
    return benchmark.select(
        pl.col("date").cast(pl.Date),
        factor_id=pl.lit(factor_id, dtype=pl.String),
        ret=pl.col("ret").cast(pl.Float64),
        is_benchmark=pl.lit(True),
    )


def spread_over_benchmark(raw: np.ndarray, ids: list[str], benchmark_id: str | None) -> tuple[np.ndarray, list[str]]:
    """``(x, names)``: the benchmark's column first, then each other factor minus the
    benchmark (see the module docstring); the raw columns unchanged without a benchmark."""
    raw = np.asarray(raw, dtype=float)
    if benchmark_id is None:
        return raw, list(ids)
    j = ids.index(benchmark_id)
    bench = raw[:, j]
    others = [k for k in range(len(ids)) if k != j]
    x = np.column_stack([bench] + [raw[:, k] - bench for k in others]) if ids else raw
    return x, [benchmark_id] + [f"{ids[k]}{SPREAD_SEPARATOR}{benchmark_id}" for k in others]


def factor_design(factors: pl.DataFrame | None, dates: list[datetime.date]) -> FactorDesign:
    """The regressors on ``dates`` from the long factors frame (see the module docstring).

    Raises ``ValueError`` naming the column or key for a frame without the factor columns,
    a duplicate (date, factor_id), a factor flagged benchmark on some rows only, or more
    than one benchmark id."""
    if factors is None or factors.height == 0:
        return FactorDesign(np.zeros((len(dates), 0)), (), None, (CASH_NOTE,))
    absent = [c for c in FACTOR_COLUMNS if c not in factors.columns]
    if absent:
        raise ValueError(f"factor returns lack columns {absent}")
    frame = factors.select(
        pl.col("date").cast(pl.Date),
        pl.col("factor_id").cast(pl.String),
        pl.col("ret").cast(pl.Float64),
        pl.col("is_benchmark").cast(pl.Boolean),
    )
    ids, benchmark_id = _factor_ids(frame)
    window = frame.filter(
        pl.col("date").is_in(pl.Series(dates, dtype=pl.Date).implode())
        & pl.col("ret").is_not_null()
        & pl.col("ret").is_not_nan()
    )
    if window.select(pl.struct("date", "factor_id").is_duplicated().any()).item():
        dup = window.filter(pl.struct("date", "factor_id").is_duplicated()).row(0, named=True)
        raise ValueError(f"duplicate factor return for {dup['factor_id']} on {dup['date']}")
    t_index = {d: k for k, d in enumerate(dates)}
    raw = np.full((len(dates), len(ids)), np.nan)
    for k, factor_id in enumerate(ids):
        rows = window.filter(pl.col("factor_id") == factor_id)
        raw[[t_index[d] for d in rows.get_column("date").to_list()], k] = rows.get_column("ret").to_numpy()
    notes = []
    seen = np.isfinite(raw).sum(axis=0)
    kept = [k for k in range(len(ids)) if seen[k] > 0]
    for k in range(len(ids)):
        if seen[k] == 0:
            notes.append(f"factor {ids[k]} has no return in the window: dropped")
        elif seen[k] < len(dates):
            first = dates[int(np.argmax(np.isfinite(raw[:, k])))]
            notes.append(f"factor {ids[k]} observed on {seen[k]} of {len(dates)} window days (first {first})")
    kept_ids = [ids[k] for k in kept]
    if benchmark_id not in kept_ids:
        benchmark_id = None
    values, names = spread_over_benchmark(raw[:, kept], kept_ids, benchmark_id)
    usable = int(np.isfinite(values).all(axis=1).sum()) if kept else len(dates)
    if usable < len(dates):
        notes.append(f"{usable} of {len(dates)} window days have every factor: the others are masked")
    if not kept:
        notes.append(CASH_NOTE)
    return FactorDesign(values.reshape(len(dates), len(names)), tuple(names), benchmark_id, tuple(notes))


def _factor_ids(frame: pl.DataFrame) -> tuple[list[str], str | None]:
    """The factor ids, the benchmark's first then the others sorted, and the benchmark id."""
    flags = frame.group_by("factor_id").agg(pl.col("is_benchmark").min().alias("lo"), pl.col("is_benchmark").max())
    mixed = flags.filter(pl.col("lo") != pl.col("is_benchmark"))
    if mixed.height:
        raise ValueError(f"factor {mixed['factor_id'][0]}: is_benchmark differs between its rows")
    marked = sorted(flags.filter(pl.col("is_benchmark"))["factor_id"].to_list())
    if len(marked) > 1:
        raise ValueError(f"more than one benchmark factor: {marked}")
    others = sorted(set(flags["factor_id"].to_list()) - set(marked))
    return marked + others, (marked[0] if marked else None)
