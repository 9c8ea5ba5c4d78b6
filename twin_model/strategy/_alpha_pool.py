"""Decision policies X^pi(S_t) -> x_t. Pure: no I/O, so the month-end policy search can
replay them over simulated histories.

Strategy level: ``AlphaPoolPolicy`` decides, for each strategy and day, whether it holds
persistent alpha (in the alpha pool) or not. It is a policy function approximation (PFA)
with hysteresis:

- evidence e_i = P(alpha_i > 0 | data) from the strategy model (or P(Sharpe_i > hurdle)
  when the firm has no benchmark), a deflated Sharpe ratio DSR_i over the last 252
  observed returns, the track record n_i against its minimum track record length
  MinTRL_i, and the maximum drawdown DD_i over the last 252 observed returns;
- enter when e_i >= enter_probability, DSR_i >= min_deflated_sharpe, n_i >= MinTRL_i,
  n_i >= min_history and DD_i >= max_drawdown (all must hold);
- leave when e_i < exit_probability or DD_i < max_drawdown (either suffices);
- otherwise keep the state. enter_probability > exit_probability is the hysteresis band,
  and no switch happens before min_days_in_state days in the current state (a drawdown
  breach overrides that wait);
- the optional metalabel gate (``metalabel_min_probability``, None = off): a strategy
  enters only if its metalabel p_i = P(profitable over its factors next month)
  (``models.metalabels``, the ``p_profitable`` column of the evidence) is >= the bar; a
  missing p blocks entry. When the gate is the only rule that blocks an entry the reason
  begins "metalabel decided". It does not force an exit.

State S_t per strategy: in_pool and days_in_state. A strategy seen for the first time
starts out of the pool with days_in_state 0 (the initialisation rule) and must earn its
way in. A day without new information for a strategy (a holiday, or no usable fit)
carries its state unchanged: days_in_state counts decision days, not calendar days.

As a level of ``twin_model.twin``: S_t is a ``PoolState``, W_{t+1} the day's evidence
frame (``pool_exogenous``), x_{t+1} the decision frame (one row per strategy: its
membership, whether it changed, the reason), S^M reads the new membership off it, and the
pool earns no contribution of its own (``alpha_pool_level``); ``pool_table`` is the
``alpha.alpha_pool`` rows of a trajectory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field

import polars as pl
from pydantic import ConfigDict, Field
from pydantic import dataclasses as validated

from twin_model.conventions import PERIODS_PER_YEAR, PoolSignal, StatisticsWindow
from twin_model.twin import Exogenous, Level, Trajectory, exogenous_path

POOL_STATE_COLUMNS = {"strategy_id": pl.String, "in_pool": pl.Boolean, "days_in_state": pl.Int64}
EVIDENCE_COLUMNS = {
    "strategy_id": pl.String,
    "evidence": pl.Float64,
    "alpha_level": pl.Float64,
    "deflated_sharpe": pl.Float64,
    "n_obs": pl.Int64,
    "min_track_record": pl.Float64,
    "max_drawdown": pl.Float64,
}


@dataclass(frozen=True)
class PoolMembership:
    """One strategy's part of S_t: in the pool or not, and for how many decision days."""

    in_pool: bool
    days_in_state: int


@dataclass(frozen=True)
class PoolState:
    """S_t of the strategy level: each known strategy's pool membership at day t's close."""

    strategies: Mapping[str, PoolMembership] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: pl.DataFrame) -> PoolState:
        """From stored rows with POOL_STATE_COLUMNS (other columns are ignored), e.g. one
        day of ``alpha.alpha_pool`` or a decision frame."""
        ids = rows.get_column("strategy_id")
        if ids.is_duplicated().any():
            raise ValueError(
                f"alpha pool state: strategies with more than one row: {sorted(set(ids.filter(ids.is_duplicated())))}"
            )
        return cls(
            {
                r["strategy_id"]: PoolMembership(r["in_pool"], r["days_in_state"])
                for r in rows.select(list(POOL_STATE_COLUMNS)).iter_rows(named=True)
            }
        )

    def to_rows(self) -> pl.DataFrame:
        """The state as rows with POOL_STATE_COLUMNS, one per strategy in id order."""
        ids = sorted(self.strategies)
        return pl.DataFrame(
            {
                "strategy_id": ids,
                "in_pool": [self.strategies[s].in_pool for s in ids],
                "days_in_state": [self.strategies[s].days_in_state for s in ids],
            },
            schema=POOL_STATE_COLUMNS,
        )


def pool_evidence(
    posteriors: pl.DataFrame, statistics: pl.DataFrame, signal: PoolSignal, metalabels: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Today's evidence per strategy: usable (converged or fallen back) fits only.

    evidence = the posterior probability named by ``signal``; alpha_level = posterior
    mean of daily alpha x 252; the deflated Sharpe and drawdown over 252 observed returns;
    the track record (observed returns since inception) and its minimum length. With
    ``metalabels`` (strategy_id, p_profitable: ``models.metalabels`` of the day) a
    ``p_profitable`` column follows EVIDENCE_COLUMNS (null for a strategy without one).
    """
    usable = posteriors.filter(pl.col("converged"))
    recent = statistics.filter(pl.col("window") == StatisticsWindow.DAYS_252).select(
        "strategy_id", deflated_sharpe="dsr", max_drawdown="max_drawdown"
    )
    record = statistics.filter(pl.col("window") == StatisticsWindow.INCEPTION).select(
        "strategy_id", n_obs="n_obs", min_track_record="min_track_record_length"
    )
    evidence = (
        usable.select("strategy_id", evidence=pl.col(signal), alpha_level=pl.col("alpha_mean") * PERIODS_PER_YEAR)
        .join(recent, on="strategy_id", how="left")
        .join(record, on="strategy_id", how="left")
    )
    evidence = evidence.select(list(EVIDENCE_COLUMNS)).cast(EVIDENCE_COLUMNS)
    if metalabels is None:
        return evidence
    p = metalabels.select("strategy_id", pl.col("p_profitable").cast(pl.Float64))
    return evidence.join(p, on="strategy_id", how="left")


@validated.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class AlphaPoolPolicy:
    """The strategy-level PFA; its parameters are what the policy search tunes
    (``strategies.yaml``'s ``pool_policy`` section is this type, with its defaults)."""

    signal: PoolSignal = PoolSignal.P_ALPHA_POSITIVE
    enter_probability: float = Field(default=0.975, ge=0, le=1)
    exit_probability: float = Field(default=0.80, ge=0, le=1)
    min_deflated_sharpe: float = 0.10
    min_history: int = Field(default=126, ge=0)
    max_drawdown: float = Field(default=-0.35, lt=0)
    min_days_in_state: int = Field(default=5, ge=0)
    metalabel_min_probability: float | None = Field(default=None, ge=0, le=1)

    def __post_init__(self):
        if not self.exit_probability < self.enter_probability:
            raise ValueError(
                f"alpha pool policy: need 0 <= exit_probability < enter_probability <= 1, got "
                f"{self.exit_probability} and {self.enter_probability}"
            )

    @property
    def parameters(self) -> dict[str, object]:
        """The thresholds, by name (the signal as the string the tables store)."""
        return {**asdict(self), "signal": self.signal.value}

    @property
    def name(self) -> str:
        gate = "" if self.metalabel_min_probability is None else f", metalabel>={self.metalabel_min_probability:g}"
        return (
            f"pfa({self.signal}: enter>={self.enter_probability:g}, exit<{self.exit_probability:g}, "
            f"dsr>={self.min_deflated_sharpe:g}, dd>={self.max_drawdown:g}, wait {self.min_days_in_state}d{gate})"
        )

    def decide(self, state: PoolState | pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
        """x_{t+1} = X^pi(S_t, W_{t+1}): each strategy's membership after today's evidence.

        ``state`` is S_t, a ``PoolState`` or its rows (POOL_STATE_COLUMNS; empty on a
        cold start); ``evidence`` (W_{t+1}) has EVIDENCE_COLUMNS for the strategies with
        new information today. Strategies in the state without evidence carry over.
        Returns strategy_id, in_pool, days_in_state, changed, alpha_level, evidence, reason.
        """
        rows = state.to_rows() if isinstance(state, PoolState) else state
        merged = (
            rows.join(evidence, on="strategy_id", how="full", coalesce=True)
            .with_columns(
                in_pool=pl.col("in_pool").fill_null(False),
                days_in_state=pl.col("days_in_state").fill_null(0),
                new=pl.col("days_in_state").is_null(),
                informed=pl.col("evidence").is_not_null(),
            )
            .sort("strategy_id")
        )
        rows = [self._step(row) for row in merged.iter_rows(named=True)]
        return pl.DataFrame(rows, schema=_DECISION_SCHEMA, orient="row")

    def _step(self, row: dict) -> tuple:
        in_pool, days = row["in_pool"], row["days_in_state"]
        if not row["informed"]:
            return (
                row["strategy_id"],
                in_pool,
                days,
                False,
                row["alpha_level"],
                None,
                "no new information: state carried",
            )
        target, reason = self._target(row, in_pool)
        drawdown_exit = (
            in_pool and not target and row["max_drawdown"] is not None and row["max_drawdown"] < self.max_drawdown
        )
        waiting = target != in_pool and days < self.min_days_in_state and not drawdown_exit and not row["new"]
        if waiting:
            reason = f"{reason}; held: only {days} of {self.min_days_in_state} days in state"
            target = in_pool
        changed = target != in_pool
        days_next = 1 if changed or row["new"] else days + 1
        if row["new"]:
            reason = f"new strategy, starts out of the pool; {reason}"
        return (row["strategy_id"], target, days_next, changed, row["alpha_level"], row["evidence"], reason)

    def _target(self, row: dict, in_pool: bool) -> tuple[bool, str]:
        """Where the rules point today, and why, before the minimum-wait rule."""
        e, dd = row["evidence"], row["max_drawdown"]
        shown = f"{self.signal}={e:.2f}"
        if dd is not None and dd < self.max_drawdown:
            return False, f"drawdown {dd:.1%} below {self.max_drawdown:.0%}"
        if in_pool:
            if e < self.exit_probability:
                return False, f"{shown} < exit {self.exit_probability:g}"
            return True, f"{shown} >= exit {self.exit_probability:g}: alpha persists"
        failures = self._entry_failures(row)
        gate = self._metalabel_failure(row)
        if gate and not failures:
            return False, f"metalabel decided: {gate}; {shown} >= enter {self.enter_probability:g} and the rest pass"
        if failures:
            return False, "; ".join(failures + ([gate] if gate else []))
        passed = "" if self.metalabel_min_probability is None else ", metalabel"
        return True, f"{shown} >= enter {self.enter_probability:g}, DSR, track record, drawdown{passed} pass"

    def _metalabel_failure(self, row: dict) -> str | None:
        """Why the metalabel gate blocks entry (None when it is off or passes)."""
        bar = self.metalabel_min_probability
        if bar is None:
            return None
        p = row.get("p_profitable")
        if p is None:
            return f"metalabel p_profitable missing (gate {bar:g})"
        return f"metalabel p_profitable={p:.2f} < {bar:g}" if p < bar else None

    def _entry_failures(self, row: dict) -> list[str]:
        failures = []
        if row["evidence"] < self.enter_probability:
            failures.append(f"{self.signal}={row['evidence']:.2f} < enter {self.enter_probability:g}")
        n = row["n_obs"] or 0
        if n < self.min_history:
            failures.append(f"history {n} < {self.min_history} returns")
        dsr = row["deflated_sharpe"]
        if dsr is None or dsr < self.min_deflated_sharpe:
            failures.append(f"deflated Sharpe {_fmt(dsr)} < {self.min_deflated_sharpe:g}")
        trl = row["min_track_record"]
        if trl is None or n < trl:
            failures.append(f"track record {n} < minimum {_fmt(trl)}")
        return failures


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


_DECISION_SCHEMA = {
    "strategy_id": pl.String,
    "in_pool": pl.Boolean,
    "days_in_state": pl.Int64,
    "changed": pl.Boolean,
    "alpha_level": pl.Float64,
    "evidence": pl.Float64,
    "reason": pl.String,
}


def pool_exogenous(
    posteriors: pl.DataFrame,
    statistics: pl.DataFrame,
    days: Iterable[dt.date],
    signal: PoolSignal,
    metalabels: pl.DataFrame | None = None,
) -> Iterator[Exogenous[pl.DataFrame]]:
    """W_1, W_2, ...: each day's evidence from the posteriors and statistics tables of
    the days (rows of other days are ignored), and the metalabels when given."""

    def evidence(day: dt.date) -> pl.DataFrame:
        gate = None if metalabels is None else _on(metalabels, day)
        return pool_evidence(_on(posteriors, day), _on(statistics, day), signal, gate)

    return exogenous_path(days, evidence)


def _on(frame: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("date") == day)


def carry_membership(state: PoolState, decision: pl.DataFrame, evidence: pl.DataFrame) -> PoolState:
    """S^M: S_{t+1} is the membership the decision states."""
    return PoolState.from_rows(decision)


def no_contribution(state: PoolState, decision: pl.DataFrame, evidence: pl.DataFrame) -> float:
    """C = 0: the pool earns nothing itself; its value shows in the solutions' net P&L
    (which is why its thresholds are judged in the back-test on realised returns)."""
    return 0.0


def decision_rows(state: PoolState, decision: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """The record of a day: the decision frame itself."""
    return decision


def alpha_pool_level(policy: AlphaPoolPolicy) -> Level[PoolState, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The strategy level for ``twin_model.twin.run``."""
    return Level(policy=policy, transition=carry_membership, contribution=no_contribution, record=decision_rows)


def pool_table(trajectory: Trajectory[PoolState, pl.DataFrame], policy: AlphaPoolPolicy) -> pl.DataFrame:
    """Every day's decision rows with its ``date`` and the ``policy`` name (the columns of
    ``alpha.alpha_pool``, in decision order: day by day, strategies by id)."""
    frames = [
        decision.with_columns(date=pl.lit(day), policy=pl.lit(policy.name))
        for day, decision in zip(trajectory.days, trajectory.records)
    ]
    return pl.concat(frames)
