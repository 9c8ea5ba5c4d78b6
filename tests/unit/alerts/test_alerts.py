"""The pure part of the alerts: which violations alert, their keys, the cursor, the
back-off schedule and the retry loop."""

import datetime as dt

import polars as pl
import pytest

from twin_model.alerts import (
    SENT_KEPT,
    AlertCursor,
    backoff_delays,
    deliver,
    opened_alert_violations,
    violation_alert,
    violation_key,
)

D13, D14 = dt.date(2017, 3, 13), dt.date(2017, 3, 14)


def _violations(rows: list[tuple]) -> pl.DataFrame:
    """(solution_id, rule, subject, severity, status, opened_date) rows dated 14 March."""
    return pl.DataFrame(
        [
            {
                "date": D14,
                "solution_id": s,
                "level": "portfolio" if rule == "drawdown_stop" else "strategy",
                "rule": rule,
                "subject": subject,
                "severity": severity,
                "action": "alert",
                "value": -0.2,
                "limit_value": -0.15,
                "status": status,
                "opened_date": opened,
                "resolved_date": D14 if status == "resolved" else None,
                "message": "m",
            }
            for s, rule, subject, severity, status, opened in rows
        ]
    )


def test_only_high_and_critical_breaches_opened_that_day_alert():
    rows = _violations(
        [
            ("b", "strategy_drawdown", "x", "high", "open", D14),  # new high: alerts
            ("a", "strategy_drawdown", "y", "high", "open", D13),  # still open since yesterday: no
            ("a", "strategy_weight", "x", "medium", "open", D14),  # medium: no
            ("a", "strategy_volatility", "x", "high", "resolved", D13),  # resolved today: no
            ("a", "drawdown_stop", "a", "critical", "open", D14),  # new critical: alerts, first
        ]
    )
    opened = opened_alert_violations(rows)
    assert [(v["solution_id"], v["rule"], v["severity"]) for v in opened] == [
        ("a", "drawdown_stop", "critical"),
        ("b", "strategy_drawdown", "high"),
    ]
    assert opened[0]["opened_date"] == "2017-03-14" and opened[0]["date"] == "2017-03-14"
    assert violation_key(opened[0]) == "violation|a|portfolio|drawdown_stop|a|2017-03-14"
    payload = violation_alert(opened[0], "portfolio/risk_violations", "2017-03-14", "run1")
    assert payload["kind"] == "risk_violation" and payload["key"] == violation_key(opened[0])
    assert payload["value"] == -0.2 and payload["limit_value"] == -0.15


def test_the_cursor_round_trips_dedupes_and_keeps_only_the_newest_keys():
    cursor = AlertCursor.decode(None).advanced(7, 3, ["k1", "k2"])
    assert AlertCursor.decode(cursor.encode()) == cursor
    assert cursor.unsent([{"key": "k1"}, {"key": "k3"}, {"key": "k3"}]) == [{"key": "k3"}]
    many = cursor.advanced(8, 4, [f"n{i}" for i in range(SENT_KEPT)])
    assert len(many.sent) == SENT_KEPT and many.sent[0] == "n0" and "k1" not in many.sent


def test_backoff_doubles_from_the_base_before_each_retry():
    assert backoff_delays(4, 0.5) == [0.5, 1.0, 2.0]  # 0.5 x 2^0, 2^1, 2^2
    assert backoff_delays(1, 0.5) == []
    with pytest.raises(ValueError, match="at least one attempt"):
        backoff_delays(0, 0.5)


def _scripted(statuses):
    calls = iter(statuses)
    return lambda: (status := next(calls), None if status else "refused")


def test_deliver_retries_server_errors_and_no_response_then_succeeds():
    slept = []
    delivery = deliver(_scripted([500, None, 200]), [0.5, 1.0, 2.0], slept.append)
    assert (delivery.delivered, delivery.attempts, delivery.status) == (True, 3, 200)
    assert slept == [0.5, 1.0]


def test_deliver_gives_up_after_the_last_attempt_and_never_retries_a_4xx():
    slept = []
    assert deliver(_scripted([503, 503, 503]), [0.1, 0.2], slept.append).attempts == 3
    assert slept == [0.1, 0.2]
    refused = deliver(_scripted([404, 200]), [0.1], slept.append)
    assert (refused.delivered, refused.attempts, refused.error) == (False, 1, "HTTP 404")
