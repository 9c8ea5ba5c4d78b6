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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["SignalStrategy", "BUNDLED_STRATEGIES", "run_strategies"]

_GROSS_TOLERANCE = 1e-9
"""Rounding slack allowed on the gross-exposure check of a weights function."""

_Z_SPREAD_TOLERANCE = 1e-9
"""Mean reversion: a cross-sectional z spread at or below this is 'all z equal' (rounding)."""

_FLAT_STD_RELATIVE = 1e-12
"""Mean reversion: a window whose std is below this fraction of its mean is flat (z = 0)."""


@dataclass(frozen=True)
class SignalStrategy:
    """A rule-based strategy: a name, a one-sentence rule and a weights function.

    ``weights(closes)`` maps the panel of closes ``c[T, N]`` of the strategy's ``universe``
    (columns = the universe's tickers in sorted order) to weights ``w[T, N]``. Row ``t``
    must depend on rows ``<= t`` only, must be zero for ``t < warmup - 1``, finite, and
    have ``sum_i |w[t, i]| <= 1``.
    """

    strategy_id: str
    rule: str
    universe: str
    sector: str
    asset_class: str
    warmup: int
    weights: Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------------------
# Weight rules. Each returns a float64 array shaped like ``closes``; rows before the
# warm-up are zero. Windows are sliding views, so row t only ever reads rows <= t.
# --------------------------------------------------------------------------------------


def _momentum(lookback: int) -> Callable[[np.ndarray], np.ndarray]:
    """w[t, i] = sign(c[t, i] / c[t-L, i] - 1) / N for t >= L (warm-up L + 1)."""

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        if t_len > lookback:
            w[lookback:] = np.sign(closes[lookback:] / closes[:-lookback] - 1.0) / n
        return w

    return weights


def _mean_reversion(window: int) -> Callable[[np.ndarray], np.ndarray]:
    """z = (c_t - mean) / std(ddof=1) over the last ``window`` closes; w = -(z - mean_i z) / sum|.|.

    A stock whose window is flat (std below 1e-12 of its mean) has z = 0. If the
    cross-sectional spread of z is at most 1e-9 (all z equal up to rounding) the
    weights are 0; otherwise they are dollar neutral with gross exposure 1.
    """

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        if t_len < window:
            return w
        win = sliding_window_view(closes, window, axis=0)  # (T-window+1, N, window)
        mean = win.mean(axis=2)
        std = win.std(axis=2, ddof=1)
        flat = std <= _FLAT_STD_RELATIVE * np.abs(mean)
        z = np.where(flat, 0.0, (closes[window - 1 :] - mean) / np.where(flat, 1.0, std))
        dev = z - z.mean(axis=1, keepdims=True)
        spread = z.max(axis=1) - z.min(axis=1)
        gross = np.abs(dev).sum(axis=1)
        trade = (spread > _Z_SPREAD_TOLERANCE) & (gross > 0.0)
        w[window - 1 :] = np.where(
            trade[:, None], -dev / np.where(trade, gross, 1.0)[:, None], 0.0
        )
        return w

    return weights


def _trend_following(window: int) -> Callable[[np.ndarray], np.ndarray]:
    """Equal weight over the stocks with c_t > SMA_window(c)_t (incl. today); cash if none."""

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        if t_len < window:
            return w
        sma = sliding_window_view(closes, window, axis=0).mean(axis=2)
        above = closes[window - 1 :] > sma
        count = above.sum(axis=1, keepdims=True)
        w[window - 1 :] = np.where(above, 1.0 / np.maximum(count, 1), 0.0)
        return w

    return weights


def _select(scores: np.ndarray, k: int, *, highest: bool) -> np.ndarray:
    """Boolean mask (rows of ``scores``) of the k highest / lowest scores per row.

    Ranking is by (score, column) ascending, so among ties the later column ranks higher.
    """
    order = np.argsort(scores, axis=1, kind="stable")
    picked = order[:, -k:] if highest else order[:, :k]
    mask = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(mask, picked, True, axis=1)
    return mask


def _low_volatility(window: int, top: int) -> Callable[[np.ndarray], np.ndarray]:
    """Weight 1/k in the k = min(top, N) stocks with the lowest std (ddof=1) of the last
    ``window`` daily returns (``window + 1`` closes)."""

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        if t_len < window + 1:
            return w
        rets = closes[1:] / closes[:-1] - 1.0  # rets[j] is the return of day j + 1
        vol = sliding_window_view(rets, window, axis=0).std(axis=2, ddof=1)
        k = min(top, n)
        w[window:] = _select(vol, k, highest=False) / k
        return w

    return weights


def _cross_sectional_momentum(
    lookback: int, skip: int, side: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Score c[t-skip] / c[t-lookback] - 1; +0.5/k in the top k, -0.5/k in the bottom k.

    k = min(side, N // 2), so with 20 stocks and side 5 the weights are +-0.1 (gross 1,
    dollar neutral).
    """

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        k = min(side, n // 2)
        if t_len < lookback + 1 or k == 0:
            return w
        score = closes[lookback - skip : t_len - skip] / closes[: t_len - lookback] - 1.0
        order = np.argsort(score, axis=1, kind="stable")
        rows = np.arange(score.shape[0])[:, None]
        block = np.zeros(score.shape)
        block[rows, order[:, :k]] = -0.5 / k
        block[rows, order[:, -k:]] = 0.5 / k
        w[lookback:] = block
        return w

    return weights


def _rotation(lookback: int, top: int) -> Callable[[np.ndarray], np.ndarray]:
    """Weight 1/k in the k = min(top, N) assets with the best c[t] / c[t-lookback] - 1."""

    def weights(closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        w = np.zeros((t_len, n))
        if t_len < lookback + 1:
            return w
        score = closes[lookback:] / closes[:-lookback] - 1.0
        k = min(top, n)
        w[lookback:] = _select(score, k, highest=True) / k
        return w

    return weights


@dataclass(frozen=True)
class _SingleAssetTrend:
    """Weight 1 in one ticker while its close is above its ``window``-day SMA (incl. today).

    The ticker is addressed by its column in the sorted panel, so the rule declares the
    panel it was written for in ``expected_tickers``; ``run_strategies`` refuses to run it
    on a universe with other tickers.
    """

    ticker: str
    expected_tickers: tuple[str, ...]
    window: int

    def __call__(self, closes: np.ndarray) -> np.ndarray:
        t_len, n = closes.shape
        if n != len(self.expected_tickers):
            raise ValueError(
                f"single-asset sleeve on {self.ticker} expects {len(self.expected_tickers)} "
                f"columns {self.expected_tickers}, got {n}"
            )
        col = self.expected_tickers.index(self.ticker)
        w = np.zeros((t_len, n))
        if t_len < self.window:
            return w
        sma = sliding_window_view(closes[:, col], self.window).mean(axis=1)
        w[self.window - 1 :, col] = (closes[self.window - 1 :, col] > sma).astype(float)
        return w


# --------------------------------------------------------------------------------------
# The bundled strategies.
# --------------------------------------------------------------------------------------

_FACTOR_TICKERS: tuple[str, ...] = ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")
_FACTOR_TREND_WINDOW = 100


def _momentum_strategy(lookback: int) -> SignalStrategy:
    return SignalStrategy(
        strategy_id=f"momentum_{lookback}",
        rule=(
            f"Each day, hold 1/N long in every stock whose close is above its close {lookback} "
            f"trading days ago and 1/N short in every stock whose close is below it."
        ),
        universe="stocks",
        sector="equity_momentum",
        asset_class="equity",
        warmup=lookback + 1,
        weights=_momentum(lookback),
    )


def _factor_sleeve(ticker: str) -> SignalStrategy:
    return SignalStrategy(
        strategy_id=f"factor_{ticker.lower()}",
        rule=(
            f"Hold 100% in the {ticker} factor ETF while its close is above its "
            f"{_FACTOR_TREND_WINDOW}-day simple moving average, otherwise hold cash."
        ),
        universe="factors",
        sector="equity_factor",
        asset_class="equity",
        warmup=_FACTOR_TREND_WINDOW,
        weights=_SingleAssetTrend(ticker, _FACTOR_TICKERS, _FACTOR_TREND_WINDOW),
    )


BUNDLED_STRATEGIES: tuple[SignalStrategy, ...] = (
    _momentum_strategy(60),
    _momentum_strategy(120),
    _momentum_strategy(200),
    SignalStrategy(
        strategy_id="mean_reversion_20",
        rule=(
            "Each day, short the stocks that are most stretched above their 20-day mean "
            "(z-score against the 20-day std) and buy the most stretched below it, "
            "in proportion to the z-score's distance from the cross-sectional average, "
            "dollar neutral with gross exposure 1."
        ),
        universe="stocks",
        sector="equity_mean_reversion",
        asset_class="equity",
        warmup=20,
        weights=_mean_reversion(20),
    ),
    SignalStrategy(
        strategy_id="trend_following_50",
        rule=(
            "Each day, hold an equal-weight long portfolio of the stocks that close above "
            "their 50-day simple moving average, and cash if none does."
        ),
        universe="stocks",
        sector="equity_trend",
        asset_class="equity",
        warmup=50,
        weights=_trend_following(50),
    ),
    SignalStrategy(
        strategy_id="low_volatility_63",
        rule=(
            "Each day, hold 20% long in each of the 5 stocks with the lowest standard "
            "deviation of daily returns over the last 63 trading days."
        ),
        universe="stocks",
        sector="equity_low_vol",
        asset_class="equity",
        warmup=64,
        weights=_low_volatility(63, 5),
    ),
    SignalStrategy(
        strategy_id="cross_sectional_momentum_252",
        rule=(
            "Each day, rank the stocks by their return from 252 to 21 trading days ago and "
            "hold 10% long in each of the top 5 and 10% short in each of the bottom 5."
        ),
        universe="stocks",
        sector="equity_momentum",
        asset_class="equity",
        warmup=253,
        weights=_cross_sectional_momentum(252, 21, 5),
    ),
    *(_factor_sleeve(t) for t in _FACTOR_TICKERS),
    SignalStrategy(
        strategy_id="factor_rotation_63",
        rule=(
            "Each day, hold 50% long in each of the two factor ETFs with the best return "
            "over the last 63 trading days."
        ),
        universe="factors",
        sector="equity_factor",
        asset_class="equity",
        warmup=64,
        weights=_rotation(63, 2),
    ),
)


# --------------------------------------------------------------------------------------
# Engine.
# --------------------------------------------------------------------------------------

_RETURNS_SCHEMA = {
    "date": pl.Date,
    "strategy_id": pl.String,
    "ret": pl.Float64,
    "available": pl.Boolean,
}
_POSITIONS_SCHEMA = {
    "date": pl.Date,
    "strategy_id": pl.String,
    "ticker": pl.String,
    "weight": pl.Float64,
}


def _check_closes(closes: pl.DataFrame) -> pl.DataFrame:
    """Validate the long frame of closes; drop null closes (a missing close, not an error)."""
    missing = {"date", "ticker", "close"} - set(closes.columns)
    if missing:
        raise ValueError(f"closes is missing column(s) {sorted(missing)}")
    if closes.schema["date"] != pl.Date:
        raise TypeError(f"closes.date must be pl.Date, got {closes.schema['date']}")
    if closes.schema["ticker"] != pl.String:
        raise TypeError(f"closes.ticker must be pl.String, got {closes.schema['ticker']}")
    frame = (
        closes.select("date", "ticker", pl.col("close").cast(pl.Float64))
        .drop_nulls(["date", "ticker", "close"])
    )
    bad = frame.filter(~pl.col("close").is_finite() | (pl.col("close") <= 0.0))
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"{bad.height} close(s) are not finite and positive, e.g. "
            f"{row['ticker']} on {row['date']}: {row['close']}"
        )
    dup = frame.filter(pl.struct("date", "ticker").is_duplicated())
    if dup.height:
        row = dup.row(0, named=True)
        raise ValueError(f"duplicate close for {row['ticker']} on {row['date']}")
    return frame


def _panel(
    frame: pl.DataFrame, name: str, tickers: Sequence[str]
) -> tuple[pl.Series, list[str], np.ndarray]:
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
            pl.col("ticker")
            .replace_strict(cols, list(range(len(cols))), return_dtype=pl.Int64)
            .alias("_col")
        )
        .sort("date", "_col")
    )
    values = sub.get_column("close").to_numpy().reshape(-1, len(cols))
    dates = sub.get_column("date").gather_every(len(cols))
    return dates, cols, np.ascontiguousarray(values, dtype=np.float64)


def _strategy_weights(
    strategy: SignalStrategy, closes: np.ndarray, tickers: list[str]
) -> np.ndarray:
    """Call the weights function and check its contract (shape, finite, warm-up, gross <= 1)."""
    sid = strategy.strategy_id
    expected = getattr(strategy.weights, "expected_tickers", None)
    if expected is not None and tuple(expected) != tuple(tickers):
        raise ValueError(
            f"{sid}: written for the panel {tuple(expected)}, but universe "
            f"{strategy.universe!r} is {tuple(tickers)}"
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
    ids = [s.strategy_id for s in strategies]
    if len(set(ids)) != len(ids):
        raise ValueError(f"strategy ids are not unique: {ids}")
    for s in strategies:
        if s.universe not in universes:
            raise ValueError(f"{s.strategy_id}: universe {s.universe!r} not in {sorted(universes)}")
        if s.warmup < 1:
            raise ValueError(f"{s.strategy_id}: warmup must be >= 1, got {s.warmup}")

    frame = _check_closes(closes)
    panels: dict[str, tuple[pl.Series, list[str], np.ndarray]] = {}
    for name in dict.fromkeys(s.universe for s in strategies):
        panels[name] = _panel(frame, name, universes[name])

    cost = cost_bps / 1e4
    ret_parts: list[pl.DataFrame] = []
    pos_parts: list[pl.DataFrame] = []
    for s in strategies:
        dates, tickers, c = panels[s.universe]
        t_len = c.shape[0]
        start = s.warmup - 1  # first decision row
        if t_len - 1 <= start:  # no day t+1 after the first decision
            continue
        w = _strategy_weights(s, c, tickers)
        prev = np.vstack([np.zeros((1, c.shape[1])), w[:-1]])
        turnover = np.abs(w - prev).sum(axis=1)
        held = w[start : t_len - 1]  # w[t] for t = start .. T-2
        day_ret = c[start + 1 :] / c[start : t_len - 1] - 1.0  # r[t+1]
        ret = (held * day_ret).sum(axis=1) - cost * turnover[start : t_len - 1]

        ret_parts.append(
            pl.DataFrame(
                {
                    "date": dates.slice(start + 1),
                    "strategy_id": pl.Series([s.strategy_id], dtype=pl.String).gather(
                        np.zeros(ret.size, dtype=np.int64)
                    ),
                    "ret": ret,
                    "available": np.ones(ret.size, dtype=bool),
                },
                schema=_RETURNS_SCHEMA,
            )
        )
        rows, cols = np.nonzero(held)
        pos_parts.append(
            pl.DataFrame(
                {
                    "date": dates.gather(rows + start + 1),
                    "strategy_id": pl.Series([s.strategy_id], dtype=pl.String).gather(
                        np.zeros(rows.size, dtype=np.int64)
                    ),
                    "ticker": pl.Series(tickers, dtype=pl.String).gather(cols),
                    "weight": held[rows, cols],
                },
                schema=_POSITIONS_SCHEMA,
            )
        )

    returns = pl.concat(ret_parts) if ret_parts else pl.DataFrame(schema=_RETURNS_SCHEMA)
    positions = pl.concat(pos_parts) if pos_parts else pl.DataFrame(schema=_POSITIONS_SCHEMA)
    return returns, positions
