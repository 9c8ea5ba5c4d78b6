"""Rolling posteriors: reweight the last NUTS fit's draws day by day, refit when a rule says so.

The two-year window moves one observed day at a time, so today's posterior is close to
the last full fit's (the *anchor*). ``RollingFitter.step`` takes the anchor (None on the
first day) and today's window and either reweights the anchor's draws by the days that
entered and left (``_reweighting``; method ``reweighted``) or fits with NUTS (method
``nuts``, or ``conjugate`` where it falls back), which becomes the next anchor.

Refit rules (``RefitRule``; all that hold are reported, joined by "; "):

* ``first_day``: there is no anchor;
* ``configured``: ``update: refit``, or the draws or chains configured differ from the anchor's;
* ``universe``: the strategies, the factor regressors or the residual blocks differ from
  the anchor's;
* ``fallback``: a strategy of the anchor fell back to the conjugate model (its draws
  have no tail df to weigh with);
* ``cadence``: ``refit_every`` or more observed days since the anchor;
* ``pareto_k``: a weight column's ``k_hat`` above ``min(1 - 1/log10 S, 0.7)``;
* ``ess``: a weight column's effective sample size below ``min_ess``.

A weight column is a residual block, or a strategy with ``reweight: strategy``.

When NUTS failed for every strategy of the anchor (all fell back) and ``fallback`` is the
only rule that holds, a retry the next day on a window one day apart fails the same way:
until ``retry_after_failure`` observed days have passed since the anchor, the day takes
the exact conjugate fit of its own window (method ``conjugate``, its ``fallback_reason``
naming the failed fit and the retry day, ``refit_reason`` null) and the failed fit stays
the anchor. Such a day uses only the anchor's date, window and methods, which its stored
rows and its own draws give back, so a single day stepped from stored rows agrees.

The anchor's draws are never resampled: a reweighted day's draws artefact is the
anchor's draws with today's weights (normalised per strategy), its derived quantities
(daily mean, vol, Sharpe) recomputed with today's factor moments, and its summaries
weighted (``_summarise_draws``). A reweighted row carries the anchor's seed and sampler
diagnostics. The state is the anchor alone, so a range stepped in memory and its days
stepped one by one from stored anchors (``Anchor`` rebuilt from the previous day's rows
and draws) give identical rows.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from twin_model.contracts import decode_betas, decode_draws, encode_draws
from twin_model.conventions import FitMethod, ModelUpdate, RefitRule, ReweightBy
from twin_model.strategy._conjugate import conjugate_fit, replica_fit
from twin_model.strategy._fitting import StrategyModelFitter
from twin_model.strategy._replication import split_replicas
from twin_model.strategy._results import FitResult, _draw_columns, _summarise_draws, _summary_frame, combine_fits
from twin_model.strategy._reweighting import (
    effective_sample_size,
    khat_threshold,
    log_weights,
    relative_efficiency,
    smoothed_weights,
)
from twin_model.strategy._window import ReturnWindow

CARRIED = ("method", "rhat_max", "ess_bulk_min", "divergences", "sampler", "seed", "chains", "draws")
"""The anchor's row columns a rolling day needs (and a reweighted row carries)."""


@dataclass(frozen=True, eq=False)
class Anchor:
    """The last NUTS fit: its day, window, draws (``DRAW_COLUMNS`` -> ``[S, N]`` in the
    window's strategy order, and ``betas`` ``[S, N, K]`` on the window's regressors), row facts (``CARRIED``, one row per strategy in that order)
    and the number of chains the draws are ordered by."""

    date: dt.date
    window: ReturnWindow
    draws: dict[str, np.ndarray]
    rows: pl.DataFrame
    chains: int

    @classmethod
    def of(cls, day: dt.date, window: ReturnWindow, draws: pl.DataFrame, rows: pl.DataFrame) -> Anchor:
        """The anchor fitted on ``day`` over ``window`` from its draws artefact and its rows
        (``strategy_id`` and ``CARRIED``; any order)."""
        ids = list(window.strategy_ids)
        ordered = rows.filter(pl.col("strategy_id").is_in(ids)).sort(
            pl.col("strategy_id").replace_strict({s: i for i, s in enumerate(ids)}, return_dtype=pl.Int64)
        )
        if ordered.get_column("strategy_id").to_list() != ids:
            raise ValueError(f"the anchor of {day} has no row for some of {ids}")
        arrays = decode_draws(draws, ids)
        arrays["betas"] = decode_betas(draws, ids, window.factor_ids)
        return cls(day, window, arrays, ordered.select(CARRIED), int(ordered.get_column("chains")[0]))

    @property
    def n_draws(self) -> int:
        return self.draws["alpha"].shape[0]

    @property
    def fell_back(self) -> list[str]:
        """The strategies whose anchor draws are the conjugate fallback's."""
        methods = self.rows.get_column("method").to_list()
        return [s for s, m in zip(self.window.strategy_ids, methods) if m == FitMethod.CONJUGATE]


@dataclass(frozen=True)
class Reweighting:
    """Today's weights of the anchor's draws ``[S, N]``, per strategy ``k_hat`` and ESS
    (its block's), and the observed days since the anchor."""

    weights: np.ndarray
    pareto_k: np.ndarray
    ess: np.ndarray
    days_since_anchor: int


@dataclass(frozen=True)
class DayPosterior:
    """A day's posterior: its rows (the posterior table's less date and the artefact's
    reference), its draws artefact, and the anchor the next day starts from (None when
    the factors replicate every strategy: nothing was fitted with NUTS)."""

    summary: pl.DataFrame
    draws: pl.DataFrame
    anchor: Anchor | None
    refitted: bool


def stored_anchor(
    day: dt.date, window: ReturnWindow, draws: pl.DataFrame, rows: pl.DataFrame, settings
) -> Anchor | None:
    """The anchor fitted on ``day`` over ``window``, rebuilt from a later day's stored rows
    and draws artefact: its universe is the window's strategies less those the factors
    replicate, which never enter an anchor; None when that leaves none."""
    modelled, _ = split_replicas(window, settings.replication_tolerance)
    return Anchor.of(day, modelled, draws, rows) if modelled.strategy_ids else None


def reweigh(anchor: Anchor, window: ReturnWindow, by: ReweightBy = ReweightBy.BLOCK) -> Reweighting:
    """The anchor's draws weighted for ``window`` (``_reweighting``; by block, or by each
    strategy's marginal density), per strategy."""
    log_w, blocks = log_weights(anchor.window, anchor.draws, window, by)
    r_eff = relative_efficiency(log_w, anchor.chains)
    weights, k_hat = smoothed_weights(log_w, r_eff)
    ess = effective_sample_size(weights, r_eff)
    return Reweighting(weights[:, blocks], k_hat[blocks], ess[blocks], _days_since(anchor, window))


def refit_reasons(anchor: Anchor | None, window: ReturnWindow, settings, reweighting: Reweighting | None) -> list[str]:
    """Every refit rule that holds (see the module docstring), each as ``"<rule>: <detail>"``."""
    if anchor is None:
        return [f"{RefitRule.FIRST_DAY}: no anchor"]
    reasons = []
    if settings.update == ModelUpdate.REFIT:
        reasons.append(f"{RefitRule.CONFIGURED}: update {ModelUpdate.REFIT}")
    if anchor.n_draws != settings.chains * settings.draws or int(anchor.rows["chains"][0]) != settings.chains:
        reasons.append(f"{RefitRule.CONFIGURED}: draws or chains differ from the anchor's")
    if not _same_universe(anchor.window, window):
        reasons.append(f"{RefitRule.UNIVERSE}: strategies, factors or blocks differ from the anchor's")
    if anchor.fell_back:
        reasons.append(f"{RefitRule.FALLBACK}: {', '.join(anchor.fell_back)}")
    if reweighting is None:
        return reasons
    if reweighting.days_since_anchor >= settings.refit_every:
        reasons.append(f"{RefitRule.CADENCE}: {reweighting.days_since_anchor} days since {anchor.date}")
    limit = khat_threshold(anchor.n_draws)
    ids = window.strategy_ids
    high = [f"{ids[i]} {k:.2f}" for i, k in enumerate(reweighting.pareto_k) if k > limit]
    if high:
        reasons.append(f"{RefitRule.PARETO_K}: > {limit:.2f} for {', '.join(high)}")
    low = [f"{ids[i]} {e:.0f}" for i, e in enumerate(reweighting.ess) if e < settings.min_ess]
    if low:
        reasons.append(f"{RefitRule.ESS}: < {settings.min_ess:g} for {', '.join(low)}")
    return reasons


def _awaiting_retry(anchor: Anchor | None, window: ReturnWindow, settings, reasons: list[str]) -> bool:
    """Whether the anchor's NUTS fit failed for every strategy, nothing but that asks for a
    refit, and fewer than ``retry_after_failure`` observed days have passed since it."""
    if anchor is None or len(anchor.fell_back) < len(anchor.window.strategy_ids):
        return False
    only_fallback = all(reason.startswith(f"{RefitRule.FALLBACK}:") for reason in reasons)
    return only_fallback and _days_since(anchor, window) < settings.retry_after_failure


def _days_since(anchor: Anchor, window: ReturnWindow) -> int:
    """Observed days of ``window`` after the anchor's day."""
    return sum(1 for day in window.dates if day > anchor.date)


def _unweighted(anchor_date: dt.date, since: int, refit_reason: str | None) -> dict[str, pl.Expr]:
    """The rolling columns of a row whose draws carry no weights (a fit, not a reweighting)."""
    return {
        "pareto_k": pl.lit(None, dtype=pl.Float64),
        "ess_weighted": pl.lit(None, dtype=pl.Float64),
        "anchor_date": pl.lit(anchor_date),
        "days_since_anchor": pl.lit(since, dtype=pl.Int64),
        "refit_reason": pl.lit(refit_reason, dtype=pl.String),
    }


def _same_universe(before: ReturnWindow, now: ReturnWindow) -> bool:
    return (
        before.strategy_ids == now.strategy_ids
        and before.factor_ids == now.factor_ids
        and np.array_equal(before.blocks, now.blocks)
    )


def _can_reweigh(anchor: Anchor | None, window: ReturnWindow, settings) -> bool:
    """Whether weights can be computed at all (the rules that need them are judged after)."""
    return anchor is not None and not refit_reasons(anchor, window, settings, None)


class RollingFitter:
    """Steps a day's posterior from the previous day's anchor (``step``), fitting with
    ``fitter`` (its settings hold ``update``, ``refit_every`` and ``min_ess``)."""

    def __init__(self, fitter: StrategyModelFitter):
        self.fitter = fitter

    @property
    def settings(self):
        return self.fitter.settings

    def step(self, anchor: Anchor | None, window: ReturnWindow, day: dt.date, seed: int) -> DayPosterior:
        """Today's posterior from ``anchor`` (None: the first day), NUTS seeded ``seed`` on a
        refit. The strategies the factors replicate (``_replication``) take the exact fit of
        today's window; the rest (the anchor's universe) step as the module docstring says."""
        started = time.perf_counter()
        modelled, replicas = split_replicas(window, self.settings.replication_tolerance)
        if not replicas:
            return self._step(anchor, window, day, seed)
        exact = replica_fit(window, replicas, self.settings, seed)
        if not modelled.strategy_ids:
            rows = exact.summary.with_columns(**_unweighted(day, 0, None))
            return DayPosterior(rows, exact.draws, None, refitted=False)
        posterior = self._step(anchor, modelled, day, seed)
        first = posterior.summary.row(0, named=True)
        rows = exact.summary.with_columns(**_unweighted(first["anchor_date"], first["days_since_anchor"], None))
        parts = [FitResult(rows, exact.draws), FitResult(posterior.summary, posterior.draws)]
        whole = combine_fits(window, parts, time.perf_counter() - started)
        return DayPosterior(whole.summary, whole.draws, posterior.anchor, posterior.refitted)

    def _step(self, anchor: Anchor | None, window: ReturnWindow, day: dt.date, seed: int) -> DayPosterior:
        started = time.perf_counter()
        settings = self.settings
        reweighting = reweigh(anchor, window, settings.reweight) if _can_reweigh(anchor, window, settings) else None
        reasons = refit_reasons(anchor, window, settings, reweighting)
        if reasons and _awaiting_retry(anchor, window, settings, reasons):
            return self._conjugate_until_retry(anchor, window, seed)
        if reasons:
            return self._refit(window, day, seed, "; ".join(reasons))
        return self._reweighted(anchor, window, reweighting, time.perf_counter() - started)

    def _refit(self, window: ReturnWindow, day: dt.date, seed: int, reason: str) -> DayPosterior:
        result = self.fitter.fit(window, seed=seed)
        summary = result.summary.with_columns(**_unweighted(day, 0, reason))
        anchor = Anchor.of(day, window, result.draws, summary)
        return DayPosterior(summary, result.draws, anchor, refitted=True)

    def _conjugate_until_retry(self, anchor: Anchor, window: ReturnWindow, seed: int) -> DayPosterior:
        since = _days_since(anchor, window)
        retry = self.settings.retry_after_failure
        reason = (
            f"NUTS failed for every strategy on {anchor.date}: exact fit until the retry "
            f"{retry} observed days after it ({since} now; retry_after_failure)"
        )
        result = conjugate_fit(window, self.settings, seed, reason)
        summary = result.summary.with_columns(**_unweighted(anchor.date, since, None))
        return DayPosterior(summary, result.draws, anchor, refitted=False)

    def _reweighted(self, anchor: Anchor, window: ReturnWindow, rw: Reweighting, seconds: float) -> DayPosterior:
        settings = self.settings
        a = anchor.draws
        flat = _draw_columns(window, a["alpha"], a["betas"], a["sigma"], a["nu"], a["loading"])
        started = time.perf_counter()
        cols = _summarise_draws(flat, settings.hurdle_sharpe, window.factor_ids, weights=rw.weights)
        n = len(window.strategy_ids)
        rows = anchor.rows
        summary = _summary_frame(
            window,
            cols,
            settings,
            int(rows["seed"][0]),
            rhat_max=rows["rhat_max"].to_list(),
            ess_bulk_min=rows["ess_bulk_min"].to_list(),
            divergences=rows["divergences"].to_list(),
            converged=[True] * n,
            method=[FitMethod.REWEIGHTED.value] * n,
            fallback_reason=[None] * n,
            sampler=rows["sampler"].to_list(),
            fit_seconds=seconds + time.perf_counter() - started,
        ).with_columns(
            pareto_k=pl.Series([None if np.isnan(k) else float(k) for k in rw.pareto_k], dtype=pl.Float64),
            ess_weighted=pl.Series(rw.ess.astype(float)),
            anchor_date=pl.lit(anchor.date),
            days_since_anchor=pl.lit(rw.days_since_anchor, dtype=pl.Int64),
            refit_reason=pl.lit(None, dtype=pl.String),
        )
        draws = encode_draws(window.strategy_ids, flat, window.factor_ids, weights=rw.weights)
        return DayPosterior(summary, draws, anchor, refitted=False)
