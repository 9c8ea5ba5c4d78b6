"""A webhook on 127.0.0.1 for the alert tests: an HTTP server in a thread on a free port
that records every POST's JSON body and answers 500 to the first ``failures`` of them."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook:
    """``with Webhook(failures=1) as hook:`` -- ``hook.url``; ``hook.received`` holds
    (status answered, body) of every POST; ``hook.delivered`` the bodies answered 200."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.received: list[tuple[int, dict]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 500 if len(hook.received) < hook.failures else 200
                hook.received.append((status, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    @property
    def delivered(self) -> list[dict]:
        return [body for status, body in self.received if status == 200]

    def __enter__(self) -> "Webhook":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
