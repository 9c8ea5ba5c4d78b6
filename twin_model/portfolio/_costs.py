"""Trading costs: what a solution pays to move from its held weights to its targets.

A trade of value ``v`` (currency; ``|v|`` = |target - held| x AUM) costs

    rate(v)  = (commission_bps + half_spread_bps) / 1e4 + impact_coefficient * sqrt(|v| / capacity)
    estimate = |v| * rate(v)

the linear part paying commission and half the bid-ask spread, the square-root part the
market impact of a trade that is a share ``|v| / capacity`` of what the strategy can
absorb in a day. The simulated execution adds slippage, a seeded normal draw on the rate:

    simulated = |v| * max(0, rate(v) + slippage_sd_bps / 1e4 * z),   z ~ N(0, 1)

seeded by (seed, day, solution), so re-running a day gives the same fills. The simulated
cost is what the solution's AUM pays, on the next business day.
"""

import datetime as dt
import zlib

import numpy as np
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

BPS = 1e-4


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class CostModel:
    """The cost model (``config/solutions.yaml``'s ``execution`` section is this type, with its defaults)."""

    commission_bps: float = Field(default=1.0, ge=0)
    half_spread_bps: float = Field(default=2.0, ge=0)
    impact_coefficient: float = Field(default=0.001, ge=0)
    capacity: float = Field(default=1e9, gt=0)
    slippage_sd_bps: float = Field(default=1.0, ge=0)
    seed: int = 20260103

    def rate(self, trade_values: np.ndarray) -> np.ndarray:
        """Cost per unit traded: linear fees plus square-root impact."""
        size = np.abs(np.asarray(trade_values, dtype=float))
        return (self.commission_bps + self.half_spread_bps) * BPS + self.impact_coefficient * np.sqrt(
            size / self.capacity
        )

    def estimate(self, trade_values: np.ndarray) -> np.ndarray:
        """Expected cost of each trade, ``|v| * rate(v)``."""
        return np.abs(np.asarray(trade_values, dtype=float)) * self.rate(trade_values)

    def execute(self, trade_values: np.ndarray, day: dt.date, solution_id: str) -> np.ndarray:
        """Simulated cost of each trade with seeded slippage (never negative)."""
        values = np.asarray(trade_values, dtype=float)
        rng = np.random.default_rng([self.seed, day.toordinal(), zlib.crc32(solution_id.encode())])
        z = rng.standard_normal(values.shape)
        return np.abs(values) * np.maximum(0.0, self.rate(values) + self.slippage_sd_bps * BPS * z)
