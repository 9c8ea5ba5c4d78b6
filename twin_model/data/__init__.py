"""Where strategy returns come from: the bundled signal generators, the synthetic
ground-truth universe, and the market as the firm sees it (benchmark returns, regime).

One module per source, each a public module of this package:

- ``signals``: rule-based strategies run on real daily closes (``run_strategies``, the
  ``BUNDLED_STRATEGIES`` of the default firm);
- ``synthetic``: a seeded universe of strategies with known truth (``SyntheticConfig``,
  ``truth_table``, ``generate``; style factors with premia, ``factor_returns``, and the
  residual-risk truth within a sector, ``residual_truth``);
- ``market``: the daily market regime from the benchmark's closes;
- ``factors``: factor returns from closes (a price index made a total return) and the
  factor settings (``FactorSettings``).

The names a caller needs most are also here.
"""

from twin_model.data import factors, market, signals, synthetic
from twin_model.data.factors import FactorSettings, factor_returns_from_closes
from twin_model.data.market import market_regime
from twin_model.data.signals import BUNDLED_STRATEGIES, SignalStrategy, run_strategies
from twin_model.data.synthetic import SyntheticConfig, truth_table

__all__ = [
    "factors",
    "market",
    "signals",
    "synthetic",
    "BUNDLED_STRATEGIES",
    "SignalStrategy",
    "run_strategies",
    "SyntheticConfig",
    "truth_table",
    "FactorSettings",
    "factor_returns_from_closes",
    "market_regime",
]
