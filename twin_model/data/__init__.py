"""Where strategy returns come from: the bundled signal generators, the synthetic
ground-truth universe, and the market as the firm sees it (benchmark returns, regime).

One module per source, each a public module of this package:

- ``signals``: rule-based strategies run on real daily closes (``run_strategies``, the
  ``BUNDLED_STRATEGIES`` of the default firm);
- ``synthetic``: a seeded universe of strategies with known truth (``SyntheticConfig``,
  ``truth_table``, ``generate``; style factors with premia, ``factor_returns``, and the
  residual-risk truth within a sector, ``residual_truth``);
- ``market``: benchmark returns from closes and the daily market regime.

The names a caller needs most are also here.
"""

from twin_model.data import market, signals, synthetic
from twin_model.data.market import benchmark_returns, market_regime
from twin_model.data.signals import BUNDLED_STRATEGIES, SignalStrategy, run_strategies
from twin_model.data.synthetic import SyntheticConfig, truth_table

__all__ = [
    "market",
    "signals",
    "synthetic",
    "BUNDLED_STRATEGIES",
    "SignalStrategy",
    "run_strategies",
    "SyntheticConfig",
    "truth_table",
    "benchmark_returns",
    "market_regime",
]
