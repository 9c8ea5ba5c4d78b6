"""The alert webhook: each alert posted as JSON to ``TWIN_ALERT_WEBHOOK`` (when set) with
stdlib ``urllib`` and a timeout, retried with exponential back-off on a 5xx or a
connection error (``twin_model.alerts.deliver``); every alert is logged either way."""

import json
import logging
import urllib.error
import urllib.request

import dagster as dg
from pydantic import Field

from twin_model.alerts import Delivery, backoff_delays, deliver

WEBHOOK_ENV = "TWIN_ALERT_WEBHOOK"


class AlertWebhookResource(dg.ConfigurableResource):
    """Where alerts go: an HTTP(S) URL that takes a JSON POST, or nowhere (logged only)."""

    url: str | None = Field(
        default=None, description=f"The webhook URL ({WEBHOOK_ENV}); unset: alerts are only logged."
    )
    timeout_seconds: float = Field(default=5.0, gt=0, description="Timeout of one POST, in seconds.")
    attempts: int = Field(default=4, ge=1, description="Most POSTs of one alert (the first and its retries).")
    backoff_seconds: float = Field(
        default=1.0, ge=0, description="Wait before the first retry, in seconds; doubled before each next one."
    )

    def send(self, alert: dict, log: logging.Logger) -> Delivery | None:
        """Log ``alert`` (a warning: it is news) and post it when a URL is set; a delivery
        that fails after every attempt is logged as an error (None: nothing posted)."""
        log.warning(f"ALERT {alert['title']}: {json.dumps(alert, default=str)}")
        if not self.url:
            log.info(f"{WEBHOOK_ENV} not set: alert {alert['key']} logged only")
            return None
        body = json.dumps(alert, default=str).encode()
        delivery = deliver(lambda: self._post(body), backoff_delays(self.attempts, self.backoff_seconds))
        if not delivery.delivered:
            log.error(f"alert {alert['key']} not delivered after {delivery.attempts} attempts: {delivery.error}")
        return delivery

    def _post(self, body: bytes) -> tuple[int | None, str | None]:
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, OSError) as error:
            return None, f"{type(error).__name__}: {error}"
