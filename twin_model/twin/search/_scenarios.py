"""Seeded scenario paths of the next month for the policy search (common random numbers).

Every path is drawn by the strategy models' own forecast machinery
(``twin_model.strategy.simulate_predictive``: a posterior draw per path, history days
bootstrapped jointly for the factors and the residuals) from its own random stream:

    stream of path p in family f = SeedSequence(seed, spawn_key=(f, p))

which is exactly ``SeedSequence(seed).spawn(...)``'s child ``(f, p)`` (numpy builds a
child's key by appending its index). The family ``f`` is 0 for the search paths and 1 for
the hold-out paths (``ScenarioStream``), so the two sets are independent, and path ``p``
can be regenerated alone, without drawing paths ``0 .. p-1``.

Storage: a path set is fully described by ``(seed, stream, n_paths, horizon)`` and the
``PredictiveModel`` it was drawn from (the posterior draws artefact of the day and the
history window, both already stored by the strategy layer); the matrices themselves need
not be kept. ``ScenarioSet.path(model, p)`` rebuilds path ``p`` bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_model.conventions import ScenarioStream
from twin_model.strategy import PredictiveModel, simulate_predictive

STREAM_KEYS = {ScenarioStream.SEARCH: 0, ScenarioStream.HOLDOUT: 1}
"""The first element of a path's spawn key, per family of paths."""


@dataclass(frozen=True)
class ScenarioSet:
    """``n_paths`` seeded paths of ``horizon`` business days in the family ``stream``."""

    seed: int
    stream: ScenarioStream
    n_paths: int
    horizon: int = 21

    def __post_init__(self) -> None:
        if self.n_paths < 1 or self.horizon < 1:
            raise ValueError(f"ScenarioSet: n_paths {self.n_paths} and horizon {self.horizon} must be >= 1")

    def path_seed(self, path: int) -> np.random.SeedSequence:
        """The random stream of path ``path``: ``SeedSequence(seed, spawn_key=(f, path))``."""
        if not 0 <= path < self.n_paths:
            raise ValueError(f"ScenarioSet: path {path} outside 0 .. {self.n_paths - 1}")
        return np.random.SeedSequence(self.seed, spawn_key=(STREAM_KEYS[ScenarioStream(self.stream)], path))

    def path(self, model: PredictiveModel, path: int) -> np.ndarray:
        """Path ``path`` alone: daily simple returns ``[horizon, N]`` (``model``'s columns)."""
        return simulate_predictive(model, 1, self.horizon, self.path_seed(path))[0]

    def simulate(self, model: PredictiveModel) -> np.ndarray:
        """Every path, ``[n_paths, horizon, N]``; row ``p`` equals ``path(model, p)``."""
        return np.stack([self.path(model, p) for p in range(self.n_paths)])

    def describe(self) -> dict[str, object]:
        """What regenerates the set (with the model): seed, stream, n_paths, horizon."""
        return {"seed": self.seed, "stream": str(self.stream), "n_paths": self.n_paths, "horizon": self.horizon}
