"""``twin.yaml``: the twin's own decisions about its policies (the month-end policy search)."""

from __future__ import annotations

from twin_model.twin.search import PolicySearchSettings
from twin_resources.config._base import StrictModel


class TwinFileConfig(StrictModel):
    """``policy_search`` is ``twin_model.twin.search.PolicySearchSettings`` itself (its
    defaults and bounds are written there once)."""

    policy_search: PolicySearchSettings = PolicySearchSettings()
