"""The exogenous information of the solution level, assembled from the warehouse tables.

``DayInputs`` is W_{t+1} of the solution level, shared by every solution: built by hand
(a test, a simulated path) or from the tables: ``SolutionHistory`` holds what the tables
say over a run's days (and the trailing window before them) and hands out one
``DayInputs`` per business day (``exogenous`` yields them for ``twin_model.twin.run``).
Pure polars/numpy.

Which figures a day sees:

* returns: ``raw.strategy_returns``, the last 252 days with returns up to and including the
  day (unavailable = not observed), so drawdowns in the risk rules are one-year drawdowns;
* the pool: ``alpha.alpha_pool`` of the day, and each strategy's latest evidence;
* moments: the latest usable (converged) ``models.strategy_posteriors`` row on or before the
  day: expected return ``daily_mean_mean x 252``, its sd ``daily_mean_sd x 252``, Sharpe
  ``sharpe_mean``;
* the monthly valley in force: from the "posterior" forecast made on the last date before
  the month began (the forecast of that month); failing that, the earliest forecast made
  in the month before the day;
* the regime's ``risk_scale`` of the day (1 without a regime row), the day's positions;
* ``p_profitable``: each strategy's latest ``models.metalabels`` probability on or before
  the day (empty unless the history was given the metalabels: a solution sizes by it only
  with ``metalabel_sizing``).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import polars as pl

from twin_model.conventions import (
    PERIODS_PER_YEAR,
    UNCLASSIFIED_SECTOR,
    UNKNOWN_ASSET_CLASS,
    ParameterSetName,
    observed_return,
)
from twin_model.portfolio import complete_rows
from twin_model.twin import Exogenous, exogenous_path


@dataclass(frozen=True)
class DayInputs:
    """The exogenous information W_t of one business day, shared by every solution.

    ``history`` is ``[T, N]`` daily returns (NaN = not observed) over ``history_dates``
    (ascending), columns in ``strategy_ids`` order, ending with ``day`` when it has returns. Moments
    are annual (posterior mean of the daily mean x 252 and its sd); ``valley`` is the
    monthly valley in force (<= 0). ``scenarios(ids)`` returns posterior-predictive daily
    returns ``[paths, horizon, len(ids)]`` or None.
    """

    day: dt.date
    strategy_ids: tuple[str, ...]
    history_dates: tuple[dt.date, ...]
    history: np.ndarray
    in_pool: Mapping[str, bool]
    sectors: Mapping[str, str]
    asset_classes: Mapping[str, str]
    expected_return: Mapping[str, float]
    expected_return_sd: Mapping[str, float]
    sharpe: Mapping[str, float]
    valley: Mapping[str, float]
    evidence: Mapping[str, float] = field(default_factory=dict)
    p_profitable: Mapping[str, float] = field(default_factory=dict)
    risk_scale: float = 1.0
    positions: pl.DataFrame | None = None
    scenarios: Callable[[Sequence[str]], np.ndarray | None] | None = None

    def __post_init__(self) -> None:
        shape = (len(self.history_dates), len(self.strategy_ids))
        if np.shape(self.history) != shape:
            raise ValueError(f"DayInputs {self.day}: history has shape {np.shape(self.history)}, need {shape}")
        if self.history_dates and self.history_dates[-1] > self.day:
            raise ValueError(f"DayInputs {self.day}: history runs past the day ({self.history_dates[-1]})")

    def sector_of(self, strategy_id: str) -> str:
        """The strategy's sector, ``UNCLASSIFIED_SECTOR`` when unknown."""
        return self.sectors.get(strategy_id, UNCLASSIFIED_SECTOR)

    def asset_class_of(self, strategy_id: str) -> str:
        """The strategy's asset class, ``UNKNOWN_ASSET_CLASS`` when unknown."""
        return self.asset_classes.get(strategy_id, UNKNOWN_ASSET_CLASS)

    def column(self, strategy_id: str) -> int | None:
        return self._columns.get(strategy_id)

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.strategy_ids)}

    def returns_today(self) -> dict[str, float]:
        """Today's observed returns (empty on a day without data)."""
        if not self.history_dates or self.history_dates[-1] != self.day:
            return {}
        row = self.history[-1]
        return {s: float(row[i]) for i, s in enumerate(self.strategy_ids) if not math.isnan(row[i])}

    def pnl_since(self, strategy_id: str, start: dt.date) -> float:
        """Compounded return of the strategy's observed returns dated ``start`` .. ``day``."""
        i = self.column(strategy_id)
        if i is None:
            return 0.0
        r = self.history[bisect_left(self.history_dates, start) :, i]  # the dates ascend
        r = r[~np.isnan(r)]
        return float(np.prod(1.0 + r) - 1.0)

    def complete_rows(self, ids: Sequence[str], window: int) -> np.ndarray:
        """The last ``window`` rows of ``ids``' returns where every one of them is observed."""
        return complete_rows(self.history[:, [self._columns[s] for s in ids]], window)


HISTORY_CALENDAR_DAYS = 400
"""Calendar days read before a run's first day: 252 observed returns and some holidays."""
HISTORY_ROWS = 252
"""Each day sees exactly its last 252 days with returns (a fixed window, so a day's figures
never depend on where its run started)."""
POOL_COLUMNS = ("date", "strategy_id", "in_pool", "evidence")
"""The ``alpha.alpha_pool`` columns the solution level reads (membership, and the evidence
a policy may size by), and all ``SolutionHistory`` keeps: two pools equal in these walk
the same."""


def history_start(first_day: dt.date) -> dt.date:
    return first_day - dt.timedelta(days=HISTORY_CALENDAR_DAYS)


def forecasts_start(first_day: dt.date) -> dt.date:
    """Forecasts needed for the valleys of a run starting ``first_day``: from ten days
    before the month of ``first_day`` began."""
    return first_day.replace(day=1) - dt.timedelta(days=10)


def valleys_in_force(forecasts: pl.DataFrame, day: dt.date) -> dict[str, float]:
    """strategy_id -> the monthly valley in force on ``day`` (see the module docstring)."""
    month_start = day.replace(day=1)
    posterior = forecasts.filter(pl.col("parameter_set") == ParameterSetName.POSTERIOR.value)
    before = posterior.filter(pl.col("date") < month_start)
    if before.height:
        chosen = before.filter(pl.col("date") == before.get_column("date").max())
    else:
        within = posterior.filter((pl.col("date") >= month_start) & (pl.col("date") < day))
        if within.height == 0:
            return {}
        chosen = within.filter(pl.col("date") == within.get_column("date").min())
    return dict(zip(chosen.get_column("strategy_id").to_list(), chosen.get_column("monthly_valley").to_list()))


class SolutionHistory:
    """The tables a run of the solution level reads, indexed for one-day look-ups."""

    def __init__(
        self,
        returns: pl.DataFrame,
        pool: pl.DataFrame,
        posteriors: pl.DataFrame,
        forecasts: pl.DataFrame,
        regime: pl.DataFrame,
        positions: pl.DataFrame | None,
        sectors: Mapping[str, str],
        asset_classes: Mapping[str, str],
        scenarios: Callable[[dt.date, Sequence[str]], np.ndarray | None] | None = None,
        metalabels: pl.DataFrame | None = None,
    ):
        observed = returns.filter(observed_return(returns.columns))
        wide = observed.pivot(on="strategy_id", index="date", values="ret").sort("date")
        self.strategy_ids = tuple(sorted(c for c in wide.columns if c != "date"))
        self.dates = tuple(wide.get_column("date").to_list())
        self.matrix = (
            wide.select(self.strategy_ids).to_numpy().astype(float)
            if self.strategy_ids
            else np.zeros((len(self.dates), 0))
        )
        self.pool = pool.select(POOL_COLUMNS)
        self.posteriors = posteriors.filter(pl.col("converged")).sort("date")
        self.forecasts = forecasts
        self.regime = regime
        self.positions = positions
        self.sectors = dict(sectors)
        self.asset_classes = dict(asset_classes)
        self.scenarios = scenarios
        self.metalabels = metalabels

    def exogenous(self, days: Iterable[dt.date]) -> Iterator[Exogenous[DayInputs]]:
        """W_1, W_2, ...: the ``DayInputs`` of each of ``days``, built one day at a time."""
        return exogenous_path(days, self.day)

    def day(self, day: dt.date) -> DayInputs:
        """The ``DayInputs`` of one business day."""
        rows = int(np.searchsorted(np.array(self.dates, dtype="datetime64[D]"), np.datetime64(day, "D"), side="right"))
        first = max(0, rows - HISTORY_ROWS)
        pool = self.pool.filter(pl.col("date") == day)
        moments = self._moments(day)
        return DayInputs(
            day=day,
            strategy_ids=self.strategy_ids,
            history_dates=self.dates[first:rows],
            history=self.matrix[first:rows],
            in_pool=dict(zip(pool.get_column("strategy_id").to_list(), pool.get_column("in_pool").to_list())),
            sectors=self.sectors,
            asset_classes=self.asset_classes,
            expected_return=moments["expected_return"],
            expected_return_sd=moments["expected_return_sd"],
            sharpe=moments["sharpe"],
            valley=valleys_in_force(self.forecasts, day),
            evidence=self._evidence(day),
            p_profitable=self._p_profitable(day),
            risk_scale=self._risk_scale(day),
            positions=self._positions(day),
            scenarios=partial(self.scenarios, day) if self.scenarios else None,
        )

    def _moments(self, day: dt.date) -> dict[str, dict[str, float]]:
        latest = self.posteriors.filter(pl.col("date") <= day).group_by("strategy_id").last()
        ids = latest.get_column("strategy_id").to_list()

        def column(expr: pl.Expr) -> dict[str, float]:
            return dict(zip(ids, latest.select(expr).to_series().to_list()))

        return {
            "expected_return": column(pl.col("daily_mean_mean") * PERIODS_PER_YEAR),
            "expected_return_sd": column(pl.col("daily_mean_sd") * PERIODS_PER_YEAR),
            "sharpe": column(pl.col("sharpe_mean")),
        }

    def _evidence(self, day: dt.date) -> dict[str, float]:
        """The latest pool evidence on or before ``day`` (a holiday carries the last one)."""
        known = self.pool.filter((pl.col("date") <= day) & pl.col("evidence").is_not_null()).sort("date")
        latest = known.group_by("strategy_id").last()
        return dict(zip(latest.get_column("strategy_id").to_list(), latest.get_column("evidence").to_list()))

    def _p_profitable(self, day: dt.date) -> dict[str, float]:
        """The latest metalabel on or before ``day`` (a holiday carries the last one)."""
        if self.metalabels is None:
            return {}
        latest = self.metalabels.filter(pl.col("date") <= day).sort("date").group_by("strategy_id").last()
        return dict(zip(latest.get_column("strategy_id").to_list(), latest.get_column("p_profitable").to_list()))

    def _risk_scale(self, day: dt.date) -> float:
        row = self.regime.filter(pl.col("date") == day)
        return float(row.get_column("risk_scale")[0]) if row.height else 1.0

    def _positions(self, day: dt.date) -> pl.DataFrame | None:
        if self.positions is None:
            return None
        today = self.positions.filter(pl.col("date") == day)
        return today if today.height else None
