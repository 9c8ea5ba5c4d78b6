"""The ``stats.strategy_statistics`` table: every statistic of every strategy over each
trailing window, from the same kernels as the public functions, vectorised over strategies."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from twin_model.contracts import TABLES
from twin_model.conventions import PERIODS_PER_YEAR, StatisticsWindow, observed_return
from twin_model.statistics._base import _moments, _ratio
from twin_model.statistics._drawdowns import _drawdown, _month_to_date
from twin_model.statistics._ratios import _alpha_beta, _annual_return, _sortino
from twin_model.statistics._sharpe_inference import _expected_max_sharpe, _min_trl, _psr
from twin_model.statistics._tail_risk import _cf_tail_mean, _var_cvar, cornish_fisher_quantile

WINDOWS: dict[StatisticsWindow, int | None] = {
    StatisticsWindow.DAYS_21: 21,
    StatisticsWindow.DAYS_63: 63,
    StatisticsWindow.DAYS_252: 252,
    StatisticsWindow.INCEPTION: None,
}
"""Trailing windows of the statistics table, in observed returns (None: all of them)."""

STATISTICS_SCHEMA: dict[str, pl.DataType] = TABLES["stats.strategy_statistics"].columns()
"""Columns of ``strategy_statistics_table`` in order (the table's). Not computable is null
(never NaN); ``min_track_record_length`` is +inf when the Sharpe does not beat 0."""
_FLOAT_COLUMNS = [name for name, dtype in STATISTICS_SCHEMA.items() if dtype == pl.Float64]


def _window_statistics(X: np.ndarray, B: np.ndarray | None) -> dict[str, np.ndarray]:
    """Every statistic of each row of X (left NaN-padded observed returns)."""
    ppy = PERIODS_PER_YEAR
    m = _moments(X)
    sr = _ratio(m.mean, m.std)
    mdd, duration = _drawdown(X)
    ann = _annual_return(X, ppy)
    var, cvar = _var_cvar(X, 0.05)
    excess_kurt = m.kurt - 3.0
    trials = sr[np.isfinite(sr)]
    alpha, beta = _alpha_beta(X, B, 0.0, ppy) if B is not None else (np.full(len(sr), np.nan),) * 2
    with np.errstate(invalid="ignore"):
        hits = (X > 0).sum(axis=1) / m.n
    return {
        "n_obs": m.n.astype(np.int64),
        "annual_return": ann,
        "annual_volatility": m.std * np.sqrt(ppy),
        "sharpe": sr * np.sqrt(ppy),
        "sortino": _sortino(X, 0.0, ppy),
        "calmar": _ratio(ann, -mdd),
        "max_drawdown": mdd,
        "max_drawdown_duration": duration,
        "var_95": var,
        "cvar_95": cvar,
        "cf_var_95": m.mean + cornish_fisher_quantile(0.05, skew=m.skew, excess_kurtosis=excess_kurt) * m.std,
        "cf_cvar_95": m.mean + _cf_tail_mean(0.05, m.skew, excess_kurt) * m.std,
        "skew": m.skew,
        "kurtosis": m.kurt,
        "alpha": alpha,
        "beta": beta,
        "psr": _psr(sr, m.n, m.skew, m.kurt, 0.0),
        "dsr": _psr(sr, m.n, m.skew, m.kurt, _expected_max_sharpe(trials)),
        "min_track_record_length": np.where(m.n >= 3, _min_trl(sr, m.skew, m.kurt, 0.0, 0.95), np.nan),
        "hit_rate": hits,
    }


def _observed(returns: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Observed rows up to as_of (``conventions.observed_return``), by strategy and date."""
    obs = (
        returns.lazy()
        .with_columns(pl.col("ret").cast(pl.Float64))
        .filter((pl.col("date") <= as_of) & observed_return(returns.columns))
        .select("date", "strategy_id", "ret")
        .sort("strategy_id", "date")
        .collect()
    )
    if obs["ret"].is_infinite().any():
        raise ValueError("returns contain an infinite ret")
    if obs.select(pl.struct("strategy_id", "date").is_duplicated().any()).item():
        raise ValueError("returns hold more than one observed row for a (strategy_id, date)")
    return obs


def _with_benchmark(obs: pl.DataFrame, benchmark: pl.DataFrame) -> pl.DataFrame:
    """``obs`` with the benchmark's return of each date as ``bench`` (null where it has none)."""
    bench = benchmark.select("date", pl.col("ret").cast(pl.Float64).fill_nan(None).alias("bench"))
    if bench["bench"].is_infinite().any():
        raise ValueError("benchmark contains an infinite ret")
    if bench["date"].is_duplicated().any():
        raise ValueError("benchmark holds more than one row for a date")
    return obs.join(bench, on="date", how="left", maintain_order="left")


class _Aligned:
    """The observed rows as a right-aligned ``[strategies, longest record]`` matrix layout."""

    def __init__(self, obs: pl.DataFrame):
        counts = obs.group_by("strategy_id", maintain_order=True).len()
        n = counts["len"].to_numpy().astype(np.int64)
        self.ids = counts["strategy_id"]
        self.strategies, self.length = len(n), int(n.max())
        self._row = np.repeat(np.arange(self.strategies), n)
        self._col = np.arange(obs.height) - np.repeat(np.cumsum(n) - n, n) + np.repeat(self.length - n, n)

    def matrix(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per observed row) in the layout, NaN padding each row on the left."""
        out = np.full((self.strategies, self.length), np.nan)
        out[self._row, self._col] = values
        return out


def _table_frame(per_window: list[dict[str, np.ndarray]], ids: pl.Series, as_of: dt.date) -> pl.DataFrame:
    """One row per (strategy, window), strategy-major, windows in ``WINDOWS`` order."""
    S, k = len(ids), len(WINDOWS)

    def interleave(key: str) -> np.ndarray:
        return np.stack([w[key] for w in per_window], axis=1).ravel()

    frame = pl.DataFrame(
        {
            "date": pl.Series([as_of] * (S * k), dtype=pl.Date),
            "strategy_id": ids.gather(np.repeat(np.arange(S), k)),
            "window": interleave("window"),
            "n_obs": pl.Series(interleave("n_obs"), dtype=pl.Int64),
            **{c: pl.Series(interleave(c), dtype=pl.Float64).fill_nan(None) for c in _FLOAT_COLUMNS},
            "max_drawdown_duration": pl.Series(interleave("max_drawdown_duration"), dtype=pl.Int64),
        }
    )
    return frame.select(list(STATISTICS_SCHEMA))


def strategy_statistics_table(returns: pl.DataFrame, benchmark: pl.DataFrame | None, as_of: dt.date) -> pl.DataFrame:
    """Statistics of every strategy over each trailing window of ``WINDOWS`` as of ``as_of``.

    ``returns`` is long (date, strategy_id, ret, available); a row is *observed* by
    ``conventions.observed_return`` (``available`` True, a missing column meaning
    available, and ``ret`` neither null nor NaN). A window holds the last N observed
    returns up to and including ``as_of`` (fewer when the strategy has fewer;
    ``inception`` holds all), so windows count observed returns, not calendar days.
    ``benchmark`` (date, ret) gives alpha/beta from the dates both have; None (or no
    common date) leaves them null. ``dsr`` deflates against the per-period Sharpe of
    every strategy with a computable Sharpe in the same window that day (null with fewer
    than 2 such trials). ``mtd_pnl`` / ``mtd_trough`` are month to date as of ``as_of``
    and the same in every window. Strategies without an observed return are omitted; one
    row per (strategy_id, window), ordered by strategy_id then window; columns as
    ``STATISTICS_SCHEMA``, not computable values are null.
    """
    obs = _observed(returns, as_of)
    if obs.height == 0:
        return pl.DataFrame(schema={**STATISTICS_SCHEMA, "strategy_id": returns.schema["strategy_id"]})
    if benchmark is not None:
        obs = _with_benchmark(obs, benchmark)
    aligned = _Aligned(obs)
    L = aligned.length
    R = aligned.matrix(obs["ret"].to_numpy())
    B = aligned.matrix(obs["bench"].to_numpy()) if benchmark is not None else None
    in_month = (obs["date"] >= as_of.replace(day=1)).to_numpy()
    mtd_pnl, mtd_trough = _month_to_date(aligned.matrix(np.where(in_month, obs["ret"].to_numpy(), np.nan)))

    per_window = []
    for name, size in WINDOWS.items():
        cut = L if size is None else min(size, L)
        stats = _window_statistics(R[:, L - cut :], None if B is None else B[:, L - cut :])
        stats.update(mtd_pnl=mtd_pnl, mtd_trough=mtd_trough, window=np.full(aligned.strategies, name.value))
        per_window.append(stats)
    return _table_frame(per_window, aligned.ids, as_of)
