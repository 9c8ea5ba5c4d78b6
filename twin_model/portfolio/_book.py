"""What the risk rules look at: one solution's book on one day, checked once, with the
views several rules share (the held strategies' complete rows, their covariance, the
portfolio's returns and the look-through net exposure per ticker) computed on first use."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from twin_model.portfolio._limits import RiskLimits
from twin_model.portfolio._measures import TAIL_WINDOW, VOLATILITY_WINDOW, complete_rows
from twin_model.statistics import annual_volatilities, annual_volatility, historical_tail


@dataclass(frozen=True)
class RiskBook:
    """One solution's weights, its strategies' returns ``R`` [T, N] (columns in ``ids``
    order, NaN = not observed), its current drawdown, limits and look-through positions
    (``None`` without them)."""

    solution_id: str
    weights: Mapping[str, float]
    ids: Sequence[str]
    R: np.ndarray
    portfolio_drawdown: float
    limits: RiskLimits
    positions: pl.DataFrame | None

    def __post_init__(self) -> None:
        """Check shapes, ids and weights (ValueError naming what is wrong)."""
        ids = [str(s) for s in self.ids]
        R = np.asarray(self.R, dtype=float)
        if R.ndim != 2 or R.shape[1] != len(ids):
            raise ValueError(f"strategy_returns must be [T, {len(ids)}], got shape {R.shape}")
        if len(set(ids)) != len(ids):
            raise ValueError("strategy_ids contains duplicates")
        if np.isinf(R).any():
            raise ValueError("strategy_returns contains an infinite value")
        missing = sorted(s for s, v in self.weights.items() if v != 0 and s not in ids)
        if missing:
            raise ValueError(f"held strategies without returns: {missing}")
        for s, v in self.weights.items():
            if not math.isfinite(float(v)):
                raise ValueError(f"weight of {s!r} is not finite: {v!r}")
        object.__setattr__(self, "solution_id", str(self.solution_id))
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "portfolio_drawdown", float(self.portfolio_drawdown))

    @cached_property
    def w(self) -> np.ndarray:
        """The weights in ``ids`` order (0 for a strategy without a weight)."""
        return np.array([float(self.weights.get(s, 0.0)) for s in self.ids])

    @cached_property
    def held(self) -> np.ndarray:
        """Which columns are held (``w_i != 0``)."""
        return self.w != 0

    @cached_property
    def held_ids(self) -> list[str]:
        return [s for s, h in zip(self.ids, self.held, strict=True) if h]

    @cached_property
    def held_weights(self) -> np.ndarray:
        return self.w[self.held]

    @cached_property
    def recent_rows(self) -> np.ndarray:
        """The held strategies' last 63 rows where all of them are observed."""
        return complete_rows(self.R[:, self.held], VOLATILITY_WINDOW)

    @cached_property
    def volatility(self) -> float:
        """``sqrt(252 w' Sigma w)`` over ``recent_rows`` (ddof=1)."""
        return annual_volatility(self.recent_rows @ self.held_weights)

    @cached_property
    def covariance(self) -> np.ndarray:
        """The daily sample covariance (ddof=1) of the held strategies over ``recent_rows``."""
        return np.atleast_2d(np.cov(self.recent_rows, rowvar=False, ddof=1))

    @cached_property
    def tail_rows(self) -> np.ndarray:
        """The held strategies' last 252 rows where all of them are observed."""
        return complete_rows(self.R[:, self.held], TAIL_WINDOW)

    @cached_property
    def tail_returns(self) -> np.ndarray:
        """The portfolio's returns ``w' r_t`` over ``tail_rows``."""
        return self.tail_rows @ self.held_weights

    def tail(self, level: float) -> tuple[float, float]:
        """Historical ``(VaR, CVaR)`` of ``tail_returns`` at ``level`` (one sort a level)."""
        if level not in self._tails:
            self._tails[level] = historical_tail(self.tail_returns, level=level)
        return self._tails[level]

    @cached_property
    def _tails(self) -> dict[float, tuple[float, float]]:
        return {}

    @cached_property
    def strategy_volatility(self) -> dict[str, tuple[float, int]]:
        """Each held strategy's ``annual_volatility`` of its last 63 observed returns and
        their count (at least 2; fewer leave it out), all held strategies at once."""
        tails = [self.observed(s)[-VOLATILITY_WINDOW:] for s in self.held_ids]
        rows = np.full((len(tails), VOLATILITY_WINDOW), np.nan)
        for row, tail in zip(rows, tails):
            row[VOLATILITY_WINDOW - tail.size :] = tail
        vols = annual_volatilities(rows) if tails else np.empty(0)
        return {s: (float(v), t.size) for s, v, t in zip(self.held_ids, vols, tails) if t.size >= 2}

    def observed(self, strategy_id: str) -> np.ndarray:
        """The strategy's observed returns (NaN dropped)."""
        r = self.R[:, self.ids.index(strategy_id)]
        return r[~np.isnan(r)]

    @cached_property
    def net_exposure(self) -> dict[str, float]:
        """Ticker -> ``net_k = sum_s w_s p_{s,k}`` (sorted by ticker; empty without positions)."""
        positions = self.positions
        if positions is None or positions.height == 0:
            return {}
        need = {"strategy_id", "ticker", "weight"}
        if not need <= set(positions.columns):
            raise ValueError(f"positions needs columns {sorted(need)}, got {positions.columns}")
        wf = pl.DataFrame(
            {"strategy_id": list(self.weights.keys()), "w": [float(v) for v in self.weights.values()]},
            schema={"strategy_id": pl.String, "w": pl.Float64},
        )
        net = (
            positions.select(
                pl.col("strategy_id").cast(pl.String),
                pl.col("ticker").cast(pl.String),
                pl.col("weight").cast(pl.Float64).fill_null(0.0),
            )
            .join(wf, on="strategy_id", how="inner")
            .group_by("ticker")
            .agg((pl.col("w") * pl.col("weight")).sum().alias("net"))
            .sort("ticker")
        )
        return dict(net.iter_rows())
