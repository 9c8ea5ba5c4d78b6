"""``twin.yaml``: the twin's own decisions about its policies (the month-end policy search,
and the back-test's tuning of the alpha pool's entry bar)."""

from __future__ import annotations

from twin_model.twin.pool_tuning import PoolTuningSettings
from twin_model.twin.search import PolicySearchSettings
from twin_resources.config._base import StrictModel


class TwinFileConfig(StrictModel):
    """``policy_search`` is ``twin_model.twin.search.PolicySearchSettings`` itself and
    ``backtest`` is ``twin_model.twin.pool_tuning.PoolTuningSettings`` (their defaults and
    bounds are written there once)."""

    policy_search: PolicySearchSettings = PolicySearchSettings()
    backtest: PoolTuningSettings = PoolTuningSettings()
