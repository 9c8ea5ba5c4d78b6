"""The request body limit, and how a validation error names its field.

``BodyLimit`` is plain ASGI middleware: a declared ``Content-Length`` over the limit is
answered 413 before the body is read; a body sent without one (chunked) is counted as it
arrives: once it passes the limit the 413 is sent and the app is told the client went
away (it never parses the body, and its own answer is dropped).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def field_path(loc: Sequence[str | int]) -> str:
    """A pydantic error location as a path: ``("body", "strategies", 0, "sector")`` ->
    ``strategies[0].sector``; a path or query parameter is named by itself."""
    path = ""
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or str(loc[0])


class BodyLimit:
    """Answer 413 to a request whose body is over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, int(declared))
            return
        received = 0
        rejected = False

        async def counted() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request" and not rejected:
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    rejected = True
                    await self._too_large(send, received)
                    return {"type": "http.disconnect"}
            return message

        async def unless_rejected(message: Message) -> None:
            if not rejected:  # once the 413 is sent, the app's own answer is dropped
                await send(message)

        await self.app(scope, counted, unless_rejected)

    async def _too_large(self, send: Send, size: int) -> None:
        body = json.dumps(
            {"detail": f"request body of {size} bytes or more: at most {self.max_bytes} bytes", "field": "body"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
