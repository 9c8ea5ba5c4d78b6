"""Rule-based trading signals that generate the bundled default firm's strategy returns.

The bundled firm trades simple, well-known rules on real daily closes (20 large US stocks
and five US equity factor ETFs, shipped with skfolio). This module is pure computation
(numpy + polars): it does no I/O. The caller loads the closes and passes them in as a long
frame ``date, ticker, close``.

Panels
------
Each universe (``"stocks"``, ``"factors"``, ...) is its own panel: the universe's tickers
are put in sorted order as the columns, the dates in ascending order as the rows, and only
the dates on which *every* ticker of the universe has a close are kept. So the factor panel
starts on 2014-01-02 even though the stock panel starts in 1990. Below, ``c[t, i]`` is the
close of ticker ``i`` on the ``t``-th date of the panel (``t = 0 .. T-1``), ``N`` the number
of tickers, and

    r[t+1, i] = c[t+1, i] / c[t, i] - 1                          (simple daily return)

Timing (no look-ahead)
----------------------
A strategy's weights ``w[t, :]`` are decided at the close of day ``t`` from the closes
``c[0..t, :]`` only (row ``t`` of ``SignalStrategy.weights`` may not read rows ``> t``).
They are held over the next day, so the strategy's return on day ``t+1`` is

    ret[t+1] = sum_i w[t, i] * r[t+1, i]  -  cost_bps / 1e4 * sum_i |w[t, i] - w[t-1, i]|

i.e. the cost of the trade made at the close of ``t`` is charged on day ``t+1``. Weights
before the warm-up are zero (the strategy is flat), so the first traded day pays for
entering its whole book. The position reported for day ``t+1`` is ``w[t, :]``: what is
held over that day's return.

Warm-up and rows
----------------
``warmup`` is the number of closes a rule needs before it can emit its first non-zero
signal; its first signal is ``w[warmup-1]``. A strategy's rows therefore start on the
first panel date ``t+1`` with ``t >= warmup - 1`` (the first return earned by a fully
warmed-up signal), and every later date of its panel gets a row: a flat day (all weights
zero) has ``ret = 0 - costs`` and is data, not a gap. ``available`` is always True here.

Exposure
--------
All weights are finite and the gross exposure ``sum_i |w[t, i]|`` is at most 1 every day
(weights are fractions of the strategy's capital; the remainder is cash earning 0).
Long-only rules have ``w >= 0``. Ties in a ranking are broken by ticker order (among equal
scores the ticker later in sorted order ranks higher).

The bundled strategies and their weight rules are in ``twin_model.data._bundled``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from twin_model.contracts import TABLES
from twin_model.data._bundled import BUNDLED_STRATEGIES, SignalStrategy

__all__ = ["SignalStrategy", "BUNDLED_STRATEGIES", "run_strategies"]

_GROSS_TOLERANCE = 1e-9
"""Rounding slack allowed on the gross-exposure check of a weights function."""

_RETURNS_SCHEMA = TABLES["raw.strategy_returns"].columns()
_POSITIONS_SCHEMA = TABLES["raw.strategy_positions"].columns()


def _check_closes(closes: pl.DataFrame) -> pl.DataFrame:
    """Validate the long frame of closes; drop null closes (a missing close, not an error)."""
    missing = {"date", "ticker", "close"} - set(closes.columns)
    if missing:
        raise ValueError(f"closes is missing column(s) {sorted(missing)}")
    if closes.schema["date"] != pl.Date:
        raise TypeError(f"closes.date must be pl.Date, got {closes.schema['date']}")
    if closes.schema["ticker"] != pl.String:
        raise TypeError(f"closes.ticker must be pl.String, got {closes.schema['ticker']}")
    frame = closes.select("date", "ticker", pl.col("close").cast(pl.Float64)).drop_nulls(["date", "ticker", "close"])
    bad = frame.filter(~pl.col("close").is_finite() | (pl.col("close") <= 0.0))
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"{bad.height} close(s) are not finite and positive, e.g. {row['ticker']} on {row['date']}: {row['close']}"
        )
    dup = frame.filter(pl.struct("date", "ticker").is_duplicated())
    if dup.height:
        row = dup.row(0, named=True)
        raise ValueError(f"duplicate close for {row['ticker']} on {row['date']}")
    return frame


def _panel(frame: pl.DataFrame, name: str, tickers: Sequence[str]) -> tuple[pl.Series, list[str], np.ndarray]:
    """The universe's panel: (dates, sorted tickers, closes[T, N]), ascending dates, keeping
    only the dates on which every ticker of the universe has a close."""
    cols = sorted(set(tickers))
    if not cols:
        raise ValueError(f"universe {name!r} has no tickers")
    if len(cols) != len(tickers):
        raise ValueError(f"universe {name!r} lists a ticker twice: {list(tickers)}")
    sub = frame.filter(pl.col("ticker").is_in(cols))
    absent = sorted(set(cols) - set(sub.get_column("ticker").unique().to_list()))
    if absent:
        raise ValueError(f"universe {name!r}: no closes for ticker(s) {absent}")
    complete = sub.group_by("date").len().filter(pl.col("len") == len(cols)).select("date")
    sub = (
        sub.join(complete, on="date", how="semi")
        .with_columns(
            pl.col("ticker").replace_strict(cols, list(range(len(cols))), return_dtype=pl.Int64).alias("_col")
        )
        .sort("date", "_col")
    )
    values = sub.get_column("close").to_numpy().reshape(-1, len(cols))
    dates = sub.get_column("date").gather_every(len(cols))
    return dates, cols, np.ascontiguousarray(values, dtype=np.float64)


def _strategy_weights(strategy: SignalStrategy, closes: np.ndarray, tickers: list[str]) -> np.ndarray:
    """Call the weights function and check its contract (shape, finite, warm-up, gross <= 1)."""
    sid = strategy.strategy_id
    expected = getattr(strategy.weights, "expected_tickers", None)
    if expected is not None and tuple(expected) != tuple(tickers):
        raise ValueError(
            f"{sid}: written for the panel {tuple(expected)}, but universe {strategy.universe!r} is {tuple(tickers)}"
        )
    w = np.asarray(strategy.weights(closes), dtype=np.float64)
    if w.shape != closes.shape:
        raise ValueError(f"{sid}: weights shape {w.shape} != closes shape {closes.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{sid}: weights are not all finite")
    if np.any(w[: max(strategy.warmup - 1, 0)] != 0.0):
        raise ValueError(f"{sid}: non-zero weight before the warm-up of {strategy.warmup} closes")
    gross = np.abs(w).sum(axis=1)
    if gross.size and gross.max() > 1.0 + _GROSS_TOLERANCE:
        raise ValueError(f"{sid}: gross exposure {gross.max():.6g} > 1")
    return w


def run_strategies(
    closes: pl.DataFrame,
    universes: dict[str, list[str]],
    strategies: Sequence[SignalStrategy] = BUNDLED_STRATEGIES,
    cost_bps: float = 5.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run rule-based strategies over daily closes; return their daily returns and positions.

    closes: long frame ``date`` (pl.Date), ``ticker`` (pl.String), ``close`` (pl.Float64).
        Null closes count as missing; other non-finite or non-positive closes, and a
        duplicated (date, ticker), raise ``ValueError``. Tickers outside every universe
        are ignored.
    universes: name -> tickers, e.g. ``{"stocks": [...20...], "factors": [...5...]}``. Each
        universe a strategy uses becomes a panel: its tickers (sorted) as columns, and only
        the dates on which every one of them has a close, ascending.
    strategies: the strategies to run (ids must be unique); each runs on its own universe.
    cost_bps: one-way trading cost in basis points of the traded notional.

    With ``w[t]`` the weights decided at the close of panel day ``t`` (from closes up to and
    including ``t``; zero before the warm-up) and ``r[t+1, i] = c[t+1, i] / c[t, i] - 1``:

        ret[t+1] = sum_i w[t, i] * r[t+1, i] - cost_bps / 1e4 * sum_i |w[t, i] - w[t-1, i]|

    A strategy has one row for each panel date ``t+1`` with ``t >= warmup - 1`` (through
    the panel's last date), including flat days.

    Returns ``(returns, positions)``:
      returns:   ``date`` (pl.Date), ``strategy_id`` (pl.String), ``ret`` (pl.Float64),
                 ``available`` (pl.Boolean, always True here); one row per strategy and
                 date, ordered by strategy (input order) then date.
      positions: ``date``, ``strategy_id``, ``ticker`` (pl.String), ``weight`` (pl.Float64):
                 the non-zero weights ``w[t]`` held over the return of ``date = t+1``,
                 ordered by strategy, date, ticker.
    """
    _check_strategies(strategies, universes)
    frame = _check_closes(closes)
    panels: dict[str, tuple[pl.Series, list[str], np.ndarray]] = {}
    for name in dict.fromkeys(s.universe for s in strategies):
        panels[name] = _panel(frame, name, universes[name])

    cost = cost_bps / 1e4
    ret_parts: list[pl.DataFrame] = []
    pos_parts: list[pl.DataFrame] = []
    for s in strategies:
        run = _run_strategy(s, *panels[s.universe], cost)
        if run is not None:
            ret_parts.append(run[0])
            pos_parts.append(run[1])

    returns = pl.concat(ret_parts) if ret_parts else pl.DataFrame(schema=_RETURNS_SCHEMA)
    positions = pl.concat(pos_parts) if pos_parts else pl.DataFrame(schema=_POSITIONS_SCHEMA)
    return returns, positions


def _check_strategies(strategies: Sequence[SignalStrategy], universes: dict[str, list[str]]) -> None:
    """Unique ids, a known universe and a warm-up of at least one close for every strategy."""
    ids = [s.strategy_id for s in strategies]
    if len(set(ids)) != len(ids):
        raise ValueError(f"strategy ids are not unique: {ids}")
    for s in strategies:
        if s.universe not in universes:
            raise ValueError(f"{s.strategy_id}: universe {s.universe!r} not in {sorted(universes)}")
        if s.warmup < 1:
            raise ValueError(f"{s.strategy_id}: warmup must be >= 1, got {s.warmup}")


def _run_strategy(
    s: SignalStrategy, dates: pl.Series, tickers: list[str], c: np.ndarray, cost: float
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """One strategy's (returns, positions) on its panel; None when the panel ends before
    the strategy's first return."""
    t_len = c.shape[0]
    start = s.warmup - 1  # first decision row
    if t_len - 1 <= start:  # no day t+1 after the first decision
        return None
    w = _strategy_weights(s, c, tickers)
    prev = np.vstack([np.zeros((1, c.shape[1])), w[:-1]])
    turnover = np.abs(w - prev).sum(axis=1)
    held = w[start : t_len - 1]  # w[t] for t = start .. T-2
    day_ret = c[start + 1 :] / c[start : t_len - 1] - 1.0  # r[t+1]
    ret = (held * day_ret).sum(axis=1) - cost * turnover[start : t_len - 1]

    returns = pl.DataFrame(
        {
            "date": dates.slice(start + 1),
            "strategy_id": _repeated(s.strategy_id, ret.size),
            "ret": ret,
            "available": np.ones(ret.size, dtype=bool),
        },
        schema=_RETURNS_SCHEMA,
    )
    rows, cols = np.nonzero(held)
    positions = pl.DataFrame(
        {
            "date": dates.gather(rows + start + 1),
            "strategy_id": _repeated(s.strategy_id, rows.size),
            "ticker": pl.Series(tickers, dtype=pl.String).gather(cols),
            "weight": held[rows, cols],
        },
        schema=_POSITIONS_SCHEMA,
    )
    return returns, positions


def _repeated(strategy_id: str, size: int) -> pl.Series:
    """A String series of ``strategy_id`` repeated ``size`` times."""
    return pl.Series([strategy_id], dtype=pl.String).gather(np.zeros(size, dtype=np.int64))
