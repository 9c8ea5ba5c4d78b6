"""Alerts: a sensor on new high or critical risk violations and on failed blocking checks,
read from Dagster's event log (sensor.py)."""

from twin_assets.alerts.sensor import ALERT_SENSOR, risk_alerts

__all__ = ["ALERT_SENSOR", "risk_alerts"]
