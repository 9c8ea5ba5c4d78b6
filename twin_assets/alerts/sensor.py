"""The alert sensor: new high or critical risk violations and failed blocking checks, read
from Dagster's event log (never from DuckDB), each sent once to the alert webhook.

* Violations: the materialisations of ``portfolio/risk_violations`` after the cursor's
  storage id; each day's event lists the high and critical violations opened that day
  (``ALERT_VIOLATIONS``, written by the solution level).
* Checks: the failed executions of every asset check of the code location after the
  cursor's check-execution id whose evaluation is blocking with severity ERROR. A failed
  check does not fail its run (Dagster issue 29896): this is how anyone hears of it.

The cursor (``twin_model.alerts.AlertCursor``) keeps both ids and the newest sent keys: a
re-run of a day records its violations again under the same key and is not sent twice. A
delivery that fails after its retries is logged as an error and not tried again. The
check-execution id is taken when a check is planned: a check planned before, but failed
after, one already read would be missed; the DuckDB pool runs one writing step at a time,
which keeps planning and failing in order for the checks of the warehouse assets.
"""

import dagster as dg

from twin_assets.portfolio.assets import ALERT_VIOLATIONS, VIOLATIONS
from twin_model.alerts import AlertCursor, check_alert, violation_alert
from twin_resources.alerts import AlertWebhookResource

ALERT_SENSOR = "risk_alerts"
PAGE = 200
"""The most materialisations, and check executions per check, read in one evaluation."""

VIOLATIONS_KEY = dg.AssetKey(VIOLATIONS.path)


@dg.sensor(
    name=ALERT_SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts new high or critical risk violations and failed blocking asset checks to "
    "TWIN_ALERT_WEBHOOK (JSON, retried with back-off) and logs them; each once.",
)
def risk_alerts(context: dg.SensorEvaluationContext, alert_webhook: AlertWebhookResource) -> dg.SkipReason:
    """Read the event log past the cursor, send what is new, advance the cursor."""
    cursor = AlertCursor.decode(context.cursor)
    violations, violations_after = _violation_alerts(context, cursor.violations_after)
    checks, checks_after = _check_alerts(context, cursor.checks_after)
    alerts = cursor.unsent([*violations, *checks])
    for alert in alerts:
        alert_webhook.send(alert, context.log)
    context.update_cursor(cursor.advanced(violations_after, checks_after, [a["key"] for a in alerts]).encode())
    return dg.SkipReason(f"{len(alerts)} alert(s) sent" if alerts else "nothing new to alert")


def _violation_alerts(context: dg.SensorEvaluationContext, after: int | None) -> tuple[list[dict], int | None]:
    """The alerts of the violations materialisations after storage id ``after``, and the
    last storage id read."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=VIOLATIONS_KEY, after_storage_id=after), limit=PAGE, ascending=True
    ).records
    alerts = []
    for record in records:
        metadata = record.asset_materialization.metadata
        listed = metadata[ALERT_VIOLATIONS].value if ALERT_VIOLATIONS in metadata else []
        opened = metadata.get(f"{ALERT_VIOLATIONS}_opened")
        if opened is not None and opened.value > len(listed):
            context.log.warning(
                f"{opened.value} high or critical violations opened on {record.partition_key}, "
                f"{len(listed)} in the event log: the rest are in {VIOLATIONS.qualified_name}"
            )
        asset = VIOLATIONS_KEY.to_user_string()
        alerts += [violation_alert(v, asset, record.partition_key, record.run_id) for v in listed]
    return alerts, records[-1].storage_id if records else after


FAILED = "FAILED"
"""The value of a failed check execution's status (``AssetCheckExecutionRecordStatus``)."""


def _check_alerts(context: dg.SensorEvaluationContext, after: int | None) -> tuple[list[dict], int | None]:
    """The alerts of the failed blocking ERROR check executions with an id after ``after``
    (oldest first), and the last id read."""
    storage = context.instance.event_log_storage
    found = []
    for key in context.repository_def.asset_graph.asset_check_keys:
        history = storage.get_asset_check_execution_history(key, limit=PAGE)
        # the status enum lives in a private module (dagster._core.storage): compared by its value
        found += [r for r in history if r.status.value == FAILED and (after is None or r.id > after)]
    alerts = []
    for record in sorted(found, key=lambda r: r.id):
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        if evaluation is None or not evaluation.blocking or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        metadata = {name: value.value for name, value in evaluation.metadata.items()}
        asset = evaluation.asset_key.to_user_string()
        alerts.append(
            check_alert(asset, evaluation.check_name, record.partition, record.run_id, evaluation.description, metadata)
        )
    return alerts, max([after or 0, *(r.id for r in found)]) if found else after
