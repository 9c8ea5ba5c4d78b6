"""The bundled strategies: the ``SignalStrategy`` type, the weight rules and the strategies
the default firm runs (their timing, warm-up and exposure rules are in
``twin_model.data.signals``).

Each weight rule returns a float64 array shaped like ``closes``; rows before the warm-up
are zero. Windows are sliding views, so row t only ever reads rows <= t.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
        w[window - 1 :] = np.where(trade[:, None], -dev / np.where(trade, gross, 1.0)[:, None], 0.0)
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


def _cross_sectional_momentum(lookback: int, skip: int, side: int) -> Callable[[np.ndarray], np.ndarray]:
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
            "Each day, hold 50% long in each of the two factor ETFs with the best return over the last 63 trading days."
        ),
        universe="factors",
        sector="equity_factor",
        asset_class="equity",
        warmup=64,
        weights=_rotation(63, 2),
    ),
)
