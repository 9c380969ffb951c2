"""The hot path of ``POST /v1/risk/score``, answered below FastAPI's routing and dependencies.

A release pipeline scores a new change on every request; FastAPI's route matching, dependency
solving and request object cost about a quarter of a millisecond a request, as much as the
model's explanation. This ASGI layer sits inside `RequestMiddleware` (request id, body limit,
metrics, headers all still apply) and answers the common case itself: a valid bearer token with
the ``read`` scope, a body of at most a few described changes, no query or a plain
``threshold`` / ``top``. It calls the same pipeline functions as the route
(`service_scoring.answer_now`), so the answer is the same bytes. Everything else
(no or bad token, a malformed body, a change named by sha, a long list, odd query parameters,
any error) is handed to the FastAPI app with the body replayed, and the route answers it,
errors in their one JSON shape included. The route stays the documented one in OpenAPI.
"""

from __future__ import annotations

import math
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vsmml.api.schemas import MAX_TOP
from vsmml.pipeline.service_errors import TokenError
from vsmml.pipeline.service_state import Service

PATH: Final = "/v1/risk/score"
_HEADERS: Final = [(b"content-type", b"application/json")]


class ScoreLane:
    """Answers ``POST /v1/risk/score`` for a valid token and a plain body without FastAPI;
    hands every other request (and every failure) to `app`."""

    def __init__(self, app: ASGIApp, *, state: Any, route: Any) -> None:
        """`state`: the FastAPI app's state (its ``service`` once open); `route`: the
        route's object, which the metrics label the request with."""
        self.app = app
        self.state = state
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        service: Service | None = self.state.service
        query = _query(scope.get("query_string", b""))
        token = _bearer(scope)
        if service is None or query is None or token is None or not _allowed(service, token):
            await self.app(scope, receive, send)
            return
        body, messages = await _read(receive)
        text = _answer(service, body, query) if body is not None else None
        if text is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        scope["route"] = self.route
        payload = text.encode()
        headers = [*_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _query(raw: bytes) -> tuple[float | None, int] | None:
    """(threshold, top) of a plain query string; None when the route should judge it."""
    if not raw:
        return None, 5
    threshold: float | None = None
    top = 5
    try:
        pairs = parse_qsl(raw.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            return None
        seen.add(key)
        try:
            if key == "threshold":
                threshold = float(value)
                if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
                    return None
            elif key == "top" and value.isdigit():
                top = int(value)
                if not 1 <= top <= MAX_TOP:
                    return None
            else:
                return None
        except ValueError:
            return None
    return threshold, top


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


def _allowed(service: Service, token: str) -> bool:
    try:
        service.tokens.check(token, "read")
    except TokenError:
        return False
    return True


async def _read(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when the client went away or the limit was passed) and the
    messages read, to hand on unchanged."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        try:
            message = await receive()
        except Exception as exc:  # the body limit: the route raises it again, and answers it
            messages.append({"type": "vsmml.error", "error": exc})
            return None, messages
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read again, then the real ones."""
    pending = list(messages)

    async def again() -> Message:
        if pending:
            message = pending.pop(0)
            if message["type"] == "vsmml.error":
                raise message["error"]
            return message
        return await receive()

    return again


def _answer(service: Service, body: bytes, query: tuple[float | None, int]) -> str | None:
    """The route's answer when it is a plain one, else None (the route then answers)."""
    from vsmml.pipeline.service_scoring import answer_now

    threshold, top = query
    try:
        return answer_now(service, body, threshold=threshold, top=top)
    except Exception:  # the route raises it again and answers it in the errors' JSON shape
        return None
