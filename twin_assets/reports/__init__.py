"""The reports layer: the read snapshot built downstream of every warehouse asset
(snapshot.py)."""

from twin_assets.reports.snapshot import SNAPSHOT_KEY, warehouse_snapshot_asset

__all__ = ["SNAPSHOT_KEY", "warehouse_snapshot_asset"]
