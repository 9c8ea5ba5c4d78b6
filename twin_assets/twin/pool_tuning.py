"""The back-test's ``pool_tuned`` and ``static`` rows: the alpha pool's entry bar tuned
walk-forward on realised returns (``twin_model.twin.pool_tuning`` holds the rule), and
each solution on its configured policy over the stored pool.

Each candidate bar re-runs the span in memory: the alpha-pool level over the stored
posteriors and statistics (``twin_model.strategy.alpha_pool_level`` through the runner,
from the stored pool state at the close before the span), then the solutions on their
configured policies through the same daily step (``solution_inputs.step_solutions`` with
that pool). The tuned run steps the pool month by month, carrying its state, each month
on the bar chosen from the candidates' realised firm returns up to the month end before
it, then the solutions over the whole span on that pool.

The solutions never feed back into the pool, so their walk is a function of the pool
columns the step reads (membership and evidence, ``POOL_COLUMNS``; not the reason text
or the policy's name): ``PoolReplay.solutions`` walks each distinct pool once. On the
bundled firm the pool is empty at the configured bar and at the stricter one, and the
configured bar's replay is the stored pool, so the static rows and two candidates share
one walk (three walks of seven years instead of five).
"""

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

import polars as pl

from twin_assets.shared import history, solution_inputs
from twin_assets.shared.common import HOLIDAY_LOOKBACK
from twin_model.contracts import TABLES
from twin_model.solution import POOL_COLUMNS
from twin_model.strategy import AlphaPoolPolicy, PoolState, alpha_pool_level, pool_exogenous, pool_table
from twin_model.twin import run
from twin_model.twin.pool_tuning import bar_candidates, bars_by_month, firm_returns
from twin_resources.config import TwinConfig
from twin_resources.resources import WarehouseResource

ALPHA_POOL = TABLES["alpha.alpha_pool"]
PERFORMANCE = "portfolio.solution_performance"


@dataclass(frozen=True)
class TunedRun:
    """The tuned run's ``portfolio.*`` frames and the bar each month ran, by its first day."""

    frames: dict[str, pl.DataFrame]
    bars: list[tuple[dt.date, float]]


class PoolReplay:
    """The stored inputs of the alpha-pool level over a span, read once; the span's pool
    replayed with a given entry bar per month, and the solutions' walk over a pool."""

    def __init__(self, warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date]):
        self.warehouse, self.config, self.days = warehouse, config, days
        self.policy: AlphaPoolPolicy = config.strategies.pool_policy
        first, last = days[0], days[-1]
        self.start_pool = PoolState.from_rows(history.previous_state(warehouse, ALPHA_POOL, first)[0])
        self.before = warehouse.read_history(
            ALPHA_POOL.qualified_name, first - HOLIDAY_LOOKBACK, first - dt.timedelta(1)
        )
        self.posteriors = warehouse.read_history("models.strategy_posteriors", first, last)
        self.statistics = warehouse.read_history("stats.strategy_statistics", first, last)
        gated = self.policy.metalabel_min_probability is not None
        self.metalabels = history.metalabels(warehouse, first, last, "the back-test's pool tuning") if gated else None
        self.walks: list[tuple[pl.DataFrame, dict[str, pl.DataFrame]]] = []

    def stored_pool(self) -> pl.DataFrame:
        """The stored ``alpha.alpha_pool`` rows the daily step reads over the span."""
        return self.warehouse.read_history(ALPHA_POOL.qualified_name, self.days[0] - HOLIDAY_LOOKBACK, self.days[-1])

    def pool(self, months: list[tuple[list[dt.date], AlphaPoolPolicy]]) -> pl.DataFrame:
        """The pool rows from ten days before the span (the stored ones), then each month
        stepped with its pool policy, carrying the pool's state."""
        pool_state, pools = self.start_pool, [self.before]
        for days, policy in months:
            path = pool_exogenous(self.posteriors, self.statistics, days, policy.signal, self.metalabels)
            trajectory = run(alpha_pool_level(policy), pool_state, path)
            pool_state = trajectory.final
            pools.append(pool_table(trajectory, policy).select(list(ALPHA_POOL.columns())))
        return pl.concat(pools)

    def solutions(self, pool: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """The span's ``portfolio.*`` frames, every solution on its configured policy over
        ``pool``: walked once a pool distinct in what the step reads (``POOL_COLUMNS``;
        ``walks`` keeps each such pool and its frames)."""
        read = pool.select(POOL_COLUMNS)
        for walked_pool, frames in self.walks:
            if walked_pool.equals(read):
                return frames
        frames = solution_inputs.step_solutions(
            self.warehouse, self.config, self.days, configured_only=True, pool=read
        ).frames
        self.walks.append((read, frames))
        return frames


@dataclass(frozen=True)
class BaselineRuns:
    """The static rows' frames, the tuned run, and how many walks of the span they took."""

    static: dict[str, pl.DataFrame]
    tuned: TunedRun
    walks: int


def baseline_runs(warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date]) -> BaselineRuns:
    """The static run (the stored pool), every candidate bar over the whole span, then the
    tuned run, each pool's solutions walked once."""
    replay = PoolReplay(warehouse, config, days)
    static = replay.solutions(replay.stored_pool())
    settings = config.twin.backtest
    candidates = bar_candidates(replay.policy, settings)
    months = [list(month) for _, month in groupby(days, key=lambda d: (d.year, d.month))]
    returns = {
        bar: firm_returns(replay.solutions(replay.pool([(days, policy)]))[PERFORMANCE])
        for bar, policy in candidates.items()
    }
    bars = bars_by_month(returns, [m[-1] for m in months], replay.policy.enter_probability, settings.risk_aversion)
    tuned = replay.solutions(replay.pool([(month, candidates[bar]) for month, bar in zip(months, bars)]))
    return BaselineRuns(
        static, TunedRun(tuned, [(month[0], bar) for month, bar in zip(months, bars)]), len(replay.walks)
    )
