"""State, exogenous information, policy, transition, contribution and the runner.

Timing, for one day: S_t is known at the close of day t; W_{t+1} arrives on day t+1;
the policy decides x_{t+1} = X^pi(S_t, W_{t+1}); the level earns
C(S_t, x_{t+1}, W_{t+1}) and moves to S_{t+1} = S^M(S_t, x_{t+1}, W_{t+1}); the day's
record (the rows a table stores) is written from the same three.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

S = TypeVar("S")
"""A level's state S_t."""
X = TypeVar("X")
"""A level's decision x_t."""
I = TypeVar("I")  # noqa: E741 (Powell's W, named for what it is: information)
"""A level's exogenous information W_t."""
R = TypeVar("R")
"""What a level records of one day."""
S_contra = TypeVar("S_contra", contravariant=True)
I_contra = TypeVar("I_contra", contravariant=True)
X_co = TypeVar("X_co", covariant=True)


class Policy(Protocol[S_contra, I_contra, X_co]):
    """X^pi: a rule from the state and the day's information to a decision.

    ``name`` and ``parameters`` describe the policy so it can be written to a table and
    searched over (the parameters are what a policy search tunes).
    """

    @property
    def name(self) -> str: ...

    @property
    def parameters(self) -> Mapping[str, object]: ...

    def decide(self, state: S_contra, info: I_contra) -> X_co: ...


@dataclass(frozen=True)
class Exogenous(Generic[I]):
    """W_{t+1}: the information ``info`` that arrives on business day ``day``."""

    day: dt.date
    info: I


def exogenous_path(
    days: Iterable[dt.date], info: Callable[[dt.date], I] | Mapping[dt.date, I]
) -> Iterator[Exogenous[I]]:
    """W_1, W_2, ... over ``days``: ``info`` is a day's information from the warehouse
    tables (a function of the day, called lazily, one day at a time) or a hand-built or
    simulated path (a mapping from each day to its information)."""
    of = info.__getitem__ if isinstance(info, Mapping) else info
    for day in days:
        yield Exogenous(day, of(day))


@dataclass(frozen=True)
class Level(Generic[S, X, I, R]):
    """One level of the twin: its policy X^pi, transition S^M, contribution C and the
    record of a day, each a function of (S_t, x_{t+1}, W_{t+1}) but the policy."""

    policy: Policy[S, I, X]
    transition: Callable[[S, X, I], S]
    contribution: Callable[[S, X, I], float]
    record: Callable[[S, X, I], R]


@dataclass(frozen=True)
class Trajectory(Generic[S, R]):
    """A level stepped through ``days``: ``states[k]`` is S at the close of ``days[k]``
    (``initial`` before the first), ``records[k]`` and ``contributions[k]`` that day's."""

    initial: S
    days: tuple[dt.date, ...]
    states: tuple[S, ...]
    records: tuple[R, ...]
    contributions: tuple[float, ...]

    @property
    def final(self) -> S:
        """S at the close of the last day (the initial state when no day was run)."""
        return self.states[-1] if self.states else self.initial

    @property
    def total_contribution(self) -> float:
        """sum_t C(S_t, x_{t+1}, W_{t+1}) over the days run."""
        return float(sum(self.contributions))


def run(level: Level[S, X, I, R], initial_state: S, path: Iterable[Exogenous[I]]) -> Trajectory[S, R]:
    """Step ``level`` from ``initial_state`` through ``path`` (W_1, W_2, ... in day order),
    carrying the state from each day to the next. The days must increase."""
    state, days, states, records, contributions = initial_state, [], [], [], []
    for w in path:
        if days and w.day <= days[-1]:
            raise ValueError(f"run: day {w.day} follows {days[-1]}: the days of a path must increase")
        decision = level.policy.decide(state, w.info)
        records.append(level.record(state, decision, w.info))
        contributions.append(level.contribution(state, decision, w.info))
        state = level.transition(state, decision, w.info)
        days.append(w.day)
        states.append(state)
    return Trajectory(initial_state, tuple(days), tuple(states), tuple(records), tuple(contributions))
