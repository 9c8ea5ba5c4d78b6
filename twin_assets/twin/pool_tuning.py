"""The back-test's ``pool_tuned`` rows: the alpha pool's entry bar tuned walk-forward on
realised returns (``twin_model.twin.pool_tuning`` holds the rule).

Each candidate bar re-runs the span in memory: the alpha-pool level over the stored
posteriors and statistics (``twin_model.strategy.alpha_pool_level`` through the runner,
from the stored pool state at the close before the span), then the solutions on their
configured policies through the same daily step (``solution_inputs.step_solutions`` with
that pool). The tuned run then steps month by month, carrying both levels' states, each
month on the bar chosen from the candidates' realised firm returns up to the month end
before it.
"""

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

import polars as pl

from twin_assets.shared import history, solution_inputs
from twin_assets.shared.common import HOLIDAY_LOOKBACK
from twin_model.contracts import TABLES
from twin_model.solution import SolutionsState
from twin_model.strategy import AlphaPoolPolicy, PoolState, alpha_pool_level, pool_exogenous, pool_table
from twin_model.twin import run
from twin_model.twin.pool_tuning import bar_candidates, bars_by_month, firm_returns
from twin_resources.config import TwinConfig
from twin_resources.resources import WarehouseResource

ALPHA_POOL = TABLES["alpha.alpha_pool"]
PERFORMANCE, ORDERS = "portfolio.solution_performance", "portfolio.rebalance_orders"


@dataclass(frozen=True)
class TunedRun:
    """The tuned run's ``portfolio.*`` frames and the bar each month ran, by its first day."""

    frames: dict[str, pl.DataFrame]
    bars: list[tuple[dt.date, float]]


class PoolReplay:
    """The stored inputs of the alpha-pool level over a span, read once, and the span's
    replay with a given entry bar per month."""

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

    def replay(self, months: list[tuple[list[dt.date], AlphaPoolPolicy]]) -> dict[str, pl.DataFrame]:
        """Step the pool, then the solutions, month by month with each month's pool policy,
        carrying both states; the ``portfolio.*`` frames of the whole span."""
        solutions: SolutionsState | None = None
        pool_state, pools, frames = self.start_pool, [self.before], []
        for days, policy in months:
            path = pool_exogenous(self.posteriors, self.statistics, days, policy.signal, self.metalabels)
            trajectory = run(alpha_pool_level(policy), pool_state, path)
            pool_state = trajectory.final
            pools.append(pool_table(trajectory, policy).select(list(ALPHA_POOL.columns())))
            stepped = solution_inputs.step_solutions(
                self.warehouse, self.config, days, configured_only=True, pool=pl.concat(pools), start=solutions
            )
            solutions = stepped.final
            frames.append(stepped.frames)
        return {table: pl.concat([f[table] for f in frames]) for table in frames[0]}


def tuned_run(warehouse: WarehouseResource, config: TwinConfig, days: list[dt.date]) -> TunedRun:
    """Every candidate bar over the whole span, then the tuned run month by month."""
    replay = PoolReplay(warehouse, config, days)
    settings = config.twin.backtest
    candidates = bar_candidates(replay.policy, settings)
    months = [list(month) for _, month in groupby(days, key=lambda d: (d.year, d.month))]
    returns = {bar: firm_returns(replay.replay([(days, policy)])[PERFORMANCE]) for bar, policy in candidates.items()}
    bars = bars_by_month(returns, [m[-1] for m in months], replay.policy.enter_probability, settings.risk_aversion)
    frames = replay.replay([(month, candidates[bar]) for month, bar in zip(months, bars)])
    return TunedRun(frames, [(month[0], bar) for month, bar in zip(months, bars)])
