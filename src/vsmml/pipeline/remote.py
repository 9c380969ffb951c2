"""The CLI's client of a running `vsmml serve`: writes go through the server that owns the store.

DuckDB allows one writing process per file, so while the server runs, `vsmml token ...` (and the
other writing commands) reach the store through its HTTP API with ``--server URL`` and the
bearer token in ``VSMML_TOKEN``. An error answer becomes a `RemoteError` carrying the server's
one-line message; the token is sent only in the ``Authorization`` header and never printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from vsmml.config import Settings, get_settings
from vsmml.errors import ConfigError, VsmmlError

__all__ = ["RemoteError", "Server", "connect"]

TIMEOUT_S: Final[float] = 300.0


class RemoteError(VsmmlError, RuntimeError):
    """The server could not be reached or refused the request (its message is kept)."""


@dataclass(frozen=True)
class Server:
    """A running vsmml service: its base URL and the bearer token sent to it."""

    url: str
    token: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT_S

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer; an error answer is raised."""
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            content = json.dumps(body).encode("utf-8")
            sent.setdefault("Content-Type", "application/json")
        try:
            answer = httpx.request(
                method, self.url + path, content=content, headers=sent, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the server at {self.url}: {exc}") from exc
        try:
            doc = answer.json()
        except ValueError:
            doc = None
        if answer.is_success:
            return doc
        error = doc.get("error") if isinstance(doc, dict) else None
        message = error.get("message") if isinstance(error, dict) else answer.reason_phrase
        raise RemoteError(f"server {self.url} answered {answer.status_code}: {message}")

    # -- tokens ------------------------------------------------------------------------------
    def create_token(self, scopes: str, name: str | None, expires: str | None) -> dict[str, Any]:
        """``POST /v1/admin/tokens``: the new token's fields and, this once, its secret."""
        doc: dict[str, Any] = self.call(
            "POST", "/v1/admin/tokens", body={"scopes": scopes, "name": name, "expires": expires}
        )
        return doc

    def list_tokens(self) -> list[dict[str, Any]]:
        """``GET /v1/admin/tokens``: every token's fields, never a secret."""
        doc: dict[str, Any] = self.call("GET", "/v1/admin/tokens")
        return list(doc["tokens"])

    def revoke_token(self, ref: str) -> dict[str, Any]:
        """``DELETE /v1/admin/tokens/{ref}``: the revoked token's fields."""
        doc: dict[str, Any] = self.call("DELETE", f"/v1/admin/tokens/{quote(ref, safe='')}")
        return doc


def connect(url: str, settings: Settings | None = None) -> Server:
    """A client of the server at `url` (``http(s)://host:port``) with ``VSMML_TOKEN``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--server: expected http(s)://host:port, got {url!r}")
    s = settings or get_settings()
    if not s.token:
        raise ConfigError("--server needs a bearer token in VSMML_TOKEN (`vsmml token create`)")
    return Server(url.strip().rstrip("/"), s.token)
