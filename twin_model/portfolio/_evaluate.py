"""Risk evaluation: one solution on one day against ``config/risk_limits.yaml``.

Pure functions of arrays and plain values (no I/O, no dagster). ``evaluate_risk`` returns
the list of ``Breach`` records, ``classify`` grades each one, ``reduce_to_limits`` turns
the breaches into next target weights and ``blocks_new_risk`` says whether new risk may
be added while they are open.

Conventions (those of ``twin_model.statistics``, whose functions are reused)
---------------------------------------------------------------------------
* Returns are daily simple returns; 252 periods a year; sample std/covariance (ddof=1).
* Drawdowns start from wealth 1 before the first return. The risk rules use the CURRENT
  drawdown ``W_T / max(1, W_1..W_T) - 1`` (how far the latest wealth is below its running
  peak), not the maximum drawdown of the history.
* VaR is numpy's linear-interpolated ``level`` quantile (negative for a loss), CVaR the
  mean of the returns at or below it; the 95 % pair uses level 0.05, the 99 % pair 0.01.
* NaN marks an unobserved return. Portfolio risk of the current weights uses only the
  strategies held (non-zero weight) and DROPS EVERY ROW (day) where any held strategy is
  NaN, then takes the trailing window of the remaining rows (63 rows for volatility,
  correlation and diversification; 252 rows for VaR/CVaR). It is not pairwise-complete:
  all covariances come from the same rows, so the covariance matrix is positive
  semi-definite and ``w' Sigma w`` equals the sample variance of ``w' r_t``.
* A statistic that cannot be computed (too few rows, zero portfolio volatility) is NaN
  and its rule is skipped, never reported as a breach.
* A limit is breached strictly: ``value > limit`` for upper limits, ``value < limit`` for
  lower (negative or floor) limits, with a relative tolerance of 1e-12 against rounding.

The rules are objects (``twin_model.portfolio._rules.RULES``); ``evaluate_risk`` builds
the day's book once and asks each rule about each of its subjects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby

import numpy as np
import polars as pl

from twin_model.portfolio._book import RiskBook
from twin_model.portfolio._limits import RiskLimits
from twin_model.portfolio._rules import RULES, Breach


def evaluate_risk(
    solution_id: str,
    weights: Mapping[str, float],
    strategy_returns: np.ndarray,
    strategy_ids: Sequence[str],
    portfolio_drawdown: float,
    limits: RiskLimits,
    positions: pl.DataFrame | None = None,
) -> list[Breach]:
    """Breaches of ``limits`` by solution ``solution_id`` today (portfolio, strategy, position order).

    Inputs: ``weights`` maps strategy_id -> current weight (missing strategies hold 0);
    ``strategy_returns`` is [T, N] daily returns (NaN = not observed), columns in
    ``strategy_ids`` order; ``portfolio_drawdown`` is the solution's current drawdown
    (``current_drawdown`` of its realised daily returns, or AUM over its peak less 1);
    ``positions`` (strategy_id, ticker, weight) is each strategy's book as
    fractions of its own capital. ``w`` is the weight vector in ``strategy_ids`` order and
    "held" means ``w_i != 0``.

    Portfolio rules (subject = solution_id):

    * ``gross_leverage``: ``G = sum_i |w_i|``; breach when ``G > max_gross_leverage``.
    * ``drawdown_stop``: ``DD = portfolio_drawdown`` (current drawdown, ``W_T / max(1, W_1..W_T) - 1``,
      see ``current_drawdown``); breach when ``DD < drawdown_stop``.
    * ``volatility_target``: ``vol = sqrt(252 * w' Sigma w)`` with ``Sigma`` the ddof=1 sample
      covariance of the held strategies over the last 63 rows where all of them are
      observed (rows with a NaN among held strategies dropped first); needs >= 2 rows;
      breach when ``vol > volatility_target``.
    * ``max_pairwise_correlation``: ``rho_max = max_{i<j held} Sigma_ij / (s_i s_j)`` on the same
      rows (pairs with a constant strategy skipped); needs >= 2 held; breach when
      ``rho_max > max_pairwise_correlation``. The message names the pair.
    * ``min_diversification_ratio``: ``DR = sum_i |w_i| s_i / sqrt(w' Sigma w)``,
      ``s_i = sqrt(Sigma_ii)``, same rows; only with >= 2 held and ``w' Sigma w > 0``;
      breach when ``DR < min_diversification_ratio``. (``|w_i|`` = ``w_i`` for long-only.)
    * ``var_95``/``cvar_95``/``var_99``/``cvar_99``: ``p_t = w' r_t`` over the last 252 rows where
      all held strategies are observed; VaR = numpy quantile of ``p`` at 0.05 / 0.01, CVaR =
      mean of ``p_t <= VaR``; breach when below the (negative) limit.

    Strategy rules (subject = strategy_id; every strategy with ``|w_i| > 0`` is checked,
    ``strategy_weight`` for every key of ``weights``):

    * ``strategy_weight``: breach when ``|w_i| > max_weight`` (value reported: ``|w_i|``).
    * ``strategy_drawdown``: current drawdown of the strategy's observed history (NaN
      dropped) ``< drawdown_stop``.
    * ``strategy_volatility``: ``std(last 63 observed r_i, ddof=1) * sqrt(252) > max_volatility``.

    Position rule (only with ``positions``; subject = ticker):

    * ``net_exposure_per_ticker``: ``net_k = sum_s w_s * p_{s,k}`` (long and short books of
      different strategies net out); breach when ``|net_k| > max_net_exposure_per_ticker``
      (value reported: ``|net_k|``, the message gives the signed net).

    Raises ``ValueError`` on inconsistent shapes, or when a held strategy has no column.
    """
    book = RiskBook(solution_id, weights, strategy_ids, strategy_returns, portfolio_drawdown, limits, positions)
    out: list[Breach] = []
    for subjects, group in groupby(RULES, key=lambda rule: rule.subjects):
        rules = list(group)
        for subject in subjects(book):
            out += [b for b in (rule.check(book, subject) for rule in rules) if b is not None]
    return out
