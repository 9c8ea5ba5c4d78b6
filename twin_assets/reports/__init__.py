"""The reports layer: the dashboard of the run's last day (dashboard.py) and the read
snapshot built downstream of every warehouse asset and the dashboard (snapshot.py)."""

from twin_assets.reports.dashboard import DASHBOARD_KEY, dashboard_asset
from twin_assets.reports.snapshot import SNAPSHOT_KEY, warehouse_snapshot_asset

__all__ = ["DASHBOARD_KEY", "SNAPSHOT_KEY", "dashboard_asset", "warehouse_snapshot_asset"]
