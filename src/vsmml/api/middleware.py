"""One ASGI middleware for every request: request id, body-size limit, metrics, safe headers.

Written against ASGI directly (not `BaseHTTPMiddleware`) because it runs on every request of a
service expected to answer thousands a second. A body announced larger than the limit is refused
before it is read; a chunked body is counted as it arrives and refused once it passes the limit.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vsmml.api.errors import error_body
from vsmml.api.telemetry import Telemetry
from vsmml.pipeline.service_errors import BodyTooLargeError

_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MAX_CHILDREN: Final = 1024
_HEADERS: Final = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


class RequestMiddleware:
    """Request id (``X-Request-ID``), body limit (413), per-route metrics, response headers."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, telemetry: Telemetry) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.telemetry = telemetry
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = [500]
        rid = request_id.encode("ascii")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", rid),
                    *_HEADERS,
                ]
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body:
                await _refuse(send_with_headers, self.max_body)
                return
            await self.app(scope, self._counting(receive), send_with_headers)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            count, latency = self._metrics(scope["method"], name, status[0])
            count.inc()
            latency.observe(time.perf_counter() - start)

    def _metrics(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of (method, route, status), remembered
        (prometheus-client's `labels` takes a lock and checks the values on every call)."""
        key = (method, route, status)
        found = self._children.get(key)
        if found is None:
            found = (
                self.telemetry.requests.labels(method, route, str(status)),
                self.telemetry.latency.labels(method, route),
            )
            if len(self._children) < _MAX_CHILDREN:  # methods are the client's: bounded
                self._children[key] = found
        return found

    def _counting(self, receive: Receive) -> Receive:
        seen = [0]
        limit = self.max_body

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise BodyTooLargeError(_too_large(limit), "body")
            return message

        return counted


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (VSMML_MAX_BODY_BYTES)"


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.match(text):
                return text
    return os.urandom(8).hex()  # 16 hex digits, as uuid4().hex[:16] gave, a fifth the cost


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Any, limit: int) -> None:
    import json

    body = json.dumps(error_body("body_too_large", _too_large(limit), "body")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
