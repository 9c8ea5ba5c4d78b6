r"""Strategies their factors replicate: fitted by the exact conjugate model, never by NUTS.

A strategy that, whenever it is invested, holds exactly a combination of the factors --
the bundled factor sleeves hold one factor ETF or cash -- has a factor residual of exactly
0 on every invested day at the betas of that combination. The Student-t likelihood cannot
hold such a point mass. With a share ``p`` of a window's residuals at exactly 0, each of
them adds ``-log s`` to the log density and each other one about ``+nu log s`` as the
scale ``s -> 0``, so the density grows without bound once ``p > nu / (1 + nu)`` (0.68 at
the floor ``nu = 2.1``); below that share the posterior still has a spike at a vanishing
scale beside the mode the other days make (betas near the share of days invested). NUTS
chains settle in different modes: on every window of H2 2021 and on 5 July 2022 the
bundled firm's fits had R-hat 2-3 for all 13 strategies, whose one run-wide divergence
count then failed the other eight too (benchmarks/RESULTS.md).

The test, per strategy on its observed cells of the window:

* its *flat* days are those whose return equals exactly the return of another day of the
  window (cash, or a day that paid only a trading cost); the others are *active*;
* it is **replicated** when it has at least ``MIN_ACTIVE_DAYS`` active days and the median
  absolute least-squares residual of its active returns on ``[1, factors]`` is at most
  ``tolerance`` times their standard deviation.

The median ignores the few active days that a trade's cost moves off the factors (the
bundled sleeves: about 0.2% of their sd; 5 bp on each entry day), and a strategy that only
tracks its factors is kept in the model: a daily tracking error of 2% of the return's sd
(0.3% a year at 16% volatility) has a median absolute residual of about 1.3% of the sd,
above the default tolerance of 1%; the bundled factor rotation (two ETFs, rebalanced)
sits at about 15%. Without factors nothing is replicated (a constant cannot reproduce
varying returns). A replicated strategy's row says so in ``fallback_reason``; its alpha
over the factors is then the timing gain, measured by the conjugate model's least
squares, which assumes normal residuals of one variance (flagged by ``method``).
"""

from __future__ import annotations

import numpy as np

from twin_model.strategy._window import ReturnWindow

REPLICATED = "replicated by its factors"
"""How a replicated strategy's ``fallback_reason`` starts."""
MIN_ACTIVE_DAYS = 20
"""Fewer active days than this say too little to call a strategy replicated."""


def replicated(window: ReturnWindow, tolerance: float) -> dict[str, str]:
    """The window's replicated strategies (see the module docstring), each with the reason
    its row gives; none when ``tolerance`` is 0 (the test off) or there are no factors."""
    if tolerance <= 0 or not window.factor_ids:
        return {}
    found = {}
    x = np.column_stack([np.ones(len(window.dates)), np.nan_to_num(window.factors)])
    for i, strategy_id in enumerate(window.strategy_ids):
        observed = window.mask[:, i]
        share, active = _residual_share(window.returns[observed, i], x[observed])
        if share is not None and share <= tolerance:
            found[strategy_id] = (
                f"{REPLICATED}: median |residual| {share:.2%} of its sd on {active} "
                f"days not flat (tolerance {tolerance:g}); the Student-t model cannot fit it"
            )
    return found


def _residual_share(y: np.ndarray, x: np.ndarray) -> tuple[float | None, int]:
    """``(median |residual| / sd, active days)`` of the least-squares fit of the active
    returns on ``x``; None as the share when too few days are active or they do not vary."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    active = counts[inverse.reshape(-1)] == 1
    n_active = int(active.sum())
    if n_active < max(MIN_ACTIVE_DAYS, 2 * x.shape[1]):
        return None, n_active
    ya, xa = y[active], x[active]
    spread = float(ya.std(ddof=1))
    if not spread > 0:
        return None, n_active
    coef = np.linalg.lstsq(xa, ya, rcond=None)[0]
    return float(np.median(np.abs(ya - xa @ coef))) / spread, n_active


def split_replicas(window: ReturnWindow, tolerance: float) -> tuple[ReturnWindow, dict[str, str]]:
    """``(modelled, replicas)``: the window of the strategies the model fits (``window``
    itself when nothing is replicated) and the replicated ones with their reasons."""
    replicas = replicated(window, tolerance)
    if not replicas:
        return window, replicas
    return window.select([s for s in window.strategy_ids if s not in replicas]), replicas
