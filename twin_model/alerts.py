"""Alerts: which risk violations and check results deserve one, the key that sends each
once, its JSON payload, and the bounded retries of a delivery with exponential back-off.

Pure: the sensor (``twin_assets.alerts``) reads Dagster's event log and keeps the cursor,
the webhook resource (``twin_resources.alerts``) does the HTTP. A violation alerts on the
day it opens: a row of ``portfolio.risk_violations`` with status open, severity high or
critical and ``date == opened_date``. Its key is (solution_id, level, rule, subject,
opened_date): the same breach re-materialised (a re-run of its day) has the same key.
"""

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import polars as pl

from twin_model.conventions import Severity, ViolationStatus


class AlertKind(StrEnum):
    """What an alert is about (its payload's ``kind``)."""

    RISK_VIOLATION = "risk_violation"
    FAILED_CHECK = "failed_check"


ALERT_SEVERITIES = (Severity.CRITICAL, Severity.HIGH)
"""The severities that alert; low and medium are in the table and the dashboard only."""

VIOLATION_FIELDS = (
    "date",
    "solution_id",
    "level",
    "rule",
    "subject",
    "severity",
    "action",
    "value",
    "limit_value",
    "opened_date",
)
"""What an alert names of a violation (the message stays in the table)."""

KEY_FIELDS = ("solution_id", "level", "rule", "subject", "opened_date")
"""What makes a violation the same one: its breach and the day it opened."""

SENT_KEPT = 200
"""How many sent keys the cursor keeps (the newest): enough for every re-run a day sees."""


def opened_alert_violations(rows: pl.DataFrame) -> list[dict]:
    """The rows of ``portfolio.risk_violations`` that open a high or critical breach on
    their day (status open, ``date == opened_date``), as JSON-ready dicts of
    ``VIOLATION_FIELDS`` (dates ISO), ordered critical first, then by solution, rule, subject."""
    opened = rows.filter(
        (pl.col("status") == ViolationStatus.OPEN.value)
        & pl.col("severity").is_in([s.value for s in ALERT_SEVERITIES])
        & (pl.col("date") == pl.col("opened_date"))
    )
    rank = pl.col("severity").replace_strict({s.value: i for i, s in enumerate(ALERT_SEVERITIES)}, default=9)
    ordered = opened.sort(rank, "solution_id", "rule", "subject")
    return [
        {f: (row[f].isoformat() if f in ("date", "opened_date") else row[f]) for f in VIOLATION_FIELDS}
        for row in ordered.iter_rows(named=True)
    ]


def violation_key(violation: Mapping) -> str:
    """``violation|solution_id|level|rule|subject|opened_date``."""
    return "|".join(["violation", *(str(violation[f]) for f in KEY_FIELDS)])


def check_key(run_id: str, asset: str, check_name: str, partition: str | None) -> str:
    """``check|run_id|asset|check_name|partition``: one evaluation of a check in a run."""
    return "|".join(["check", run_id, asset, check_name, partition or ""])


def violation_alert(violation: Mapping, asset: str, partition: str | None, run_id: str) -> dict:
    """The JSON payload of a violation: a one-line title, the violation's fields, where
    Dagster recorded it, and its dedupe key."""
    title = (
        f"{violation['severity']} {violation['rule']} violation on {violation['solution_id']} "
        f"({violation['level']} {violation['subject']}), opened {violation['opened_date']}"
    )
    return {
        "kind": AlertKind.RISK_VIOLATION.value,
        "title": title,
        "severity": violation["severity"],
        **{f: violation[f] for f in VIOLATION_FIELDS if f != "severity"},
        "asset": asset,
        "partition": partition,
        "run_id": run_id,
        "key": violation_key(violation),
    }


def check_alert(
    asset: str, check_name: str, partition: str | None, run_id: str, description: str | None, metadata: Mapping
) -> dict:
    """The JSON payload of a failed blocking check (severity ERROR): Dagster does not fail
    the run for it (Dagster issue 29896), so the alert is how anyone hears of it."""
    return {
        "kind": AlertKind.FAILED_CHECK.value,
        "title": f"blocking check {check_name} failed on {asset}" + (f" ({partition})" if partition else ""),
        "severity": "error",
        "asset": asset,
        "check_name": check_name,
        "partition": partition,
        "run_id": run_id,
        "description": description,
        "metadata": dict(metadata),
        "key": check_key(run_id, asset, check_name, partition),
    }


# --------------------------------------------------------------------------- the cursor


@dataclass(frozen=True)
class AlertCursor:
    """Where the sensor is in the event log: the last materialisation storage id read
    (of ``portfolio/risk_violations``), the last check-execution id read, and the keys of
    the newest ``SENT_KEPT`` alerts sent (a re-run of a day re-records its violations)."""

    violations_after: int | None = None
    checks_after: int | None = None
    sent: tuple[str, ...] = ()

    def encode(self) -> str:
        return json.dumps(
            {"violations_after": self.violations_after, "checks_after": self.checks_after, "sent": self.sent}
        )

    @classmethod
    def decode(cls, text: str | None) -> "AlertCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("violations_after"), data.get("checks_after"), tuple(data.get("sent", ())))

    def unsent(self, alerts: Iterable[dict]) -> list[dict]:
        """``alerts`` whose key was not sent, each key once (the first)."""
        seen, out = set(self.sent), []
        for alert in alerts:
            if alert["key"] not in seen:
                seen.add(alert["key"])
                out.append(alert)
        return out

    def advanced(self, violations_after: int | None, checks_after: int | None, keys: Sequence[str]) -> "AlertCursor":
        """The cursor past the records read, with ``keys`` the newest sent."""
        sent = (*self.sent, *keys)[-SENT_KEPT:]
        return replace(self, violations_after=violations_after, checks_after=checks_after, sent=sent)


# --------------------------------------------------------------------------- delivery


def backoff_delays(attempts: int, base_seconds: float, factor: float = 2.0) -> list[float]:
    """The waits before attempts 2..``attempts``: ``base x factor^(k-1)`` for k = 1..attempts-1."""
    if attempts < 1:
        raise ValueError(f"alert delivery needs at least one attempt, got {attempts}")
    return [base_seconds * factor ** (k - 1) for k in range(1, attempts)]


def is_retryable(status: int | None) -> bool:
    """A connection error or timeout (no status) or a server error (5xx) is worth a retry;
    a 4xx is the request's fault and would fail again."""
    return status is None or status >= 500


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended: delivered or not, the attempts made, the last status (None: no
    response) and the last error."""

    delivered: bool
    attempts: int
    status: int | None
    error: str | None = None


Send = Callable[[], tuple[int | None, str | None]]
"""One attempt: the HTTP status (None when no response came) and an error text."""


def deliver(send: Send, delays: Sequence[float], sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Call ``send`` until a 2xx, a status not worth a retry, or the attempts run out
    (``len(delays) + 1``), sleeping ``delays[k]`` before attempt k + 2."""
    status, error = send()
    attempts = 1
    for delay in delays:
        if (status is not None and 200 <= status < 300) or not is_retryable(status):
            break
        sleep(delay)
        status, error = send()
        attempts += 1
    delivered = status is not None and 200 <= status < 300
    return Delivery(delivered, attempts, status, None if delivered else error or f"HTTP {status}")
