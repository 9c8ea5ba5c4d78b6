"""The alert sensor over real Dagster event logs (a temporary persistent instance) and a
webhook on 127.0.0.1: one post per new high or critical violation, none on a second
evaluation or a re-run of the day, a retry after a 500, nothing posted (but logged) with
no webhook, one alert for a failed blocking check.

The violations asset here stands in for the solution level's ``portfolio/risk_violations``
with the same per-day metadata (``ALERT_VIOLATIONS`` from ``opened_alert_violations``);
test_solution_layer.py runs the sensor after the real level opens its violations."""

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from tests.helpers.webhook import Webhook
from twin_assets.alerts import risk_alerts
from twin_assets.portfolio.assets import ALERT_VIOLATIONS, VIOLATIONS
from twin_model.alerts import opened_alert_violations
from twin_resources.alerts import AlertWebhookResource

DAY = dt.date(2017, 3, 14)
PARTITIONS = dg.StaticPartitionsDefinition([DAY.isoformat()])


def _row(solution_id, rule, severity, status, opened):
    return {
        "date": DAY,
        "solution_id": solution_id,
        "level": "strategy",
        "rule": rule,
        "subject": "syn_0000",
        "severity": severity,
        "action": "alert",
        "value": -0.5,
        "limit_value": -0.3,
        "status": status,
        "opened_date": opened,
    }


ROWS = pl.DataFrame(
    [
        _row("a", "strategy_drawdown", "critical", "open", DAY),  # alerts
        _row("b", "strategy_drawdown", "high", "open", DAY),  # alerts
        _row("c", "strategy_drawdown", "high", "open", DAY - dt.timedelta(days=1)),  # opened before: no
        _row("d", "strategy_weight", "medium", "open", DAY),  # medium: no
    ]
)
NEW = {("a", "critical"), ("b", "high")}


@dg.asset(key=VIOLATIONS.path, partitions_def=PARTITIONS)
def violations() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={ALERT_VIOLATIONS: dg.MetadataValue.json(opened_alert_violations(ROWS))})


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("sums", asset="book", blocking=True),
        dg.AssetCheckSpec("advisory", asset="book"),
        dg.AssetCheckSpec("warned", asset="book", blocking=True),
    ]
)
def book():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="sums", passed=False, metadata={"problems": 3})
    yield dg.AssetCheckResult(check_name="advisory", passed=False)
    yield dg.AssetCheckResult(check_name="warned", passed=False, severity=dg.AssetCheckSeverity.WARN)


DEFS = dg.Definitions(assets=[violations, book])


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _evaluate(instance, cursor, url=None, backoff=0.01):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=DEFS,
        resources={"alert_webhook": AlertWebhookResource(url=url, backoff_seconds=backoff, timeout_seconds=2)},
    )
    risk_alerts(context)
    return context.cursor


def _materialize_violations(instance):
    assert dg.materialize([violations], instance=instance, partition_key=DAY.isoformat()).success


def test_one_post_per_new_violation_and_none_again(instance):
    _materialize_violations(instance)
    with Webhook() as hook:
        cursor = _evaluate(instance, None, hook.url)
        assert {(a["solution_id"], a["severity"]) for a in hook.delivered} == NEW
        assert len(hook.received) == 2
        assert {a["partition"] for a in hook.delivered} == {DAY.isoformat()}
        cursor = _evaluate(instance, cursor, hook.url)
        assert len(hook.received) == 2  # same events: nothing new
        _materialize_violations(instance)  # a re-run of the day records the same violations
        _evaluate(instance, cursor, hook.url)
        assert len(hook.received) == 2


def test_a_500_is_retried_then_delivered(instance):
    _materialize_violations(instance)
    with Webhook(failures=1) as hook:
        _evaluate(instance, None, hook.url)
    assert [status for status, _ in hook.received] == [500, 200, 200]
    assert hook.received[0][1] == hook.received[1][1]  # the retry posts the same alert
    assert {(a["solution_id"], a["severity"]) for a in hook.delivered} == NEW


def test_a_refused_connection_is_retried_and_logged_as_not_delivered(instance, capfd):
    _materialize_violations(instance)
    with Webhook() as hook:
        closed = hook.url
    capfd.readouterr()
    _evaluate(instance, None, closed)
    assert capfd.readouterr().err.count("not delivered after 4 attempts: URLError") == 2


def test_no_webhook_posts_nothing_but_logs_each_alert(instance, capfd):
    _materialize_violations(instance)
    capfd.readouterr()
    with Webhook() as hook:
        _evaluate(instance, None, None)
    assert hook.received == []
    logged = [line for line in capfd.readouterr().err.splitlines() if " - WARNING - ALERT " in line]
    assert len(logged) == 2 and any("critical strategy_drawdown violation on a" in line for line in logged)


def test_a_failed_blocking_check_alerts_once(instance):
    result = dg.materialize([book], instance=instance, raise_on_error=False)
    with Webhook() as hook:
        cursor = _evaluate(instance, None, hook.url)
        _evaluate(instance, cursor, hook.url)
    assert len(hook.delivered) == 1
    alert = hook.delivered[0]
    assert (alert["kind"], alert["asset"], alert["check_name"]) == ("failed_check", "book", "sums")
    assert alert["metadata"] == {"problems": 3} and alert["run_id"] == result.run_id
