"""W_1 .. W_H of a simulated month: the solution level's ``DayInputs`` along one path.

The search starts from the close of a month end ``t`` (the base ``DayInputs`` of that
day, as the daily assets built it) and steps the next ``H`` business days. Day ``k`` of
path ``p`` sees

    history = the last HISTORY_ROWS rows of [base history ; r[p, 0] .. r[p, k]]

(the simulated returns appended after the real ones, NaN for a strategy without a
scenario column, i.e. not observed), and the rest of the base day's information held
fixed over the month: the alpha pool and its evidence (the pool is not re-decided on the
model's own paths; see DESIGN.md "Policy search and the back-test"), the posterior
moments, the metalabels, the regime's risk scale; the monthly valley is the one given for
the new month (the forecast made at ``t``); the day's ticker positions are not simulated
(``positions=None``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from twin_model.calendar import next_business_day
from twin_model.solution import HISTORY_ROWS, DayInputs
from twin_model.twin import Exogenous


def month_days(base_day: dt.date, horizon: int) -> tuple[dt.date, ...]:
    """The ``horizon`` business days after ``base_day``."""
    days, day = [], base_day
    for _ in range(horizon):
        day = next_business_day(day)
        days.append(day)
    return tuple(days)


@dataclass(frozen=True)
class SimulatedMonth:
    """The base day's information and the days of the month the paths cover.

    ``scenario_ids`` names the columns of the paths (a subset of the base's strategies);
    ``valley`` is the monthly valley in force over the month (strategy -> valley <= 0).
    """

    base: DayInputs
    days: tuple[dt.date, ...]
    scenario_ids: tuple[str, ...]
    valley: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.scenario_ids) - set(self.base.strategy_ids))
        if unknown:
            raise ValueError(f"SimulatedMonth: scenario strategies {unknown} are not in the base day's strategies")
        if not self.days or self.days[0] <= self.base.day:
            raise ValueError(f"SimulatedMonth: the days must follow the base day {self.base.day}")

    @property
    def horizon(self) -> int:
        return len(self.days)

    def columns(self) -> np.ndarray:
        """Index of each scenario column among the base's strategies."""
        return np.array([self.base.strategy_ids.index(s) for s in self.scenario_ids], dtype=int)

    def full_returns(self, path: np.ndarray) -> np.ndarray:
        """``[H, N_base]``: a path's returns in the base's columns (NaN = no scenario)."""
        path = np.asarray(path, dtype=float)
        if path.shape != (self.horizon, len(self.scenario_ids)):
            raise ValueError(
                f"SimulatedMonth: path has shape {path.shape}, need {(self.horizon, len(self.scenario_ids))}"
            )
        out = np.full((self.horizon, len(self.base.strategy_ids)), np.nan)
        out[:, self.columns()] = path
        return out

    def day_inputs(self, path: np.ndarray, k: int) -> DayInputs:
        """W_k along ``path``: the ``DayInputs`` of the month's day ``k`` (0-based)."""
        return self._day(*self._rows(path), k)

    def exogenous(self, path: np.ndarray) -> list[Exogenous[DayInputs]]:
        """W_1 .. W_H along ``path`` (``[H, len(scenario_ids)]`` daily simple returns)."""
        history, dates = self._rows(path)
        return [Exogenous(day, self._day(history, dates, k)) for k, day in enumerate(self.days)]

    def _rows(self, path: np.ndarray) -> tuple[np.ndarray, tuple[dt.date, ...]]:
        """[base history ; the path's rows] and their dates."""
        return np.vstack([self.base.history, self.full_returns(path)]), (*self.base.history_dates, *self.days)

    def _day(self, history: np.ndarray, dates: tuple[dt.date, ...], k: int) -> DayInputs:
        """Day ``k`` of the month from the rows and dates of ``_rows``."""
        end = len(self.base.history_dates) + k + 1
        start = max(0, end - HISTORY_ROWS)
        return replace(
            self.base,
            valley=dict(self.valley),
            positions=None,
            day=self.days[k],
            history_dates=dates[start:end],
            history=history[start:end],
        )
