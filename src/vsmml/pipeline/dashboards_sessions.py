"""Browser sessions of the dashboards: a ``read`` token exchanged for an opaque session id.

The cookie carries only a random session id (256 bits); the server keeps, in memory, the
SHA-256 of that id with the token's id and the session's expiry, never the token. Every page
request checks the token again in the server's token book, so revoking (or the expiry of) the
token ends its sessions at once; a session also ends after `SESSION_LIFETIME`, or when the
server stops. The book of each running service is `sessions(service)`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from vsmml.pipeline.service_errors import InvalidTokenError, ScopeError
from vsmml.pipeline.service_state import Service
from vsmml.pipeline.tokens import TokenBook, TokenInfo

__all__ = [
    "SCOPE",
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "Session",
    "SessionBook",
    "sessions",
]

SESSION_COOKIE: Final = "vsmml_session"
SESSION_LIFETIME: Final = timedelta(hours=12)
"""How long a browser session lasts at most (never past its token's expiry)."""
SCOPE: Final = "read"
"""The scope the dashboards need."""
MAX_SESSIONS: Final = 10_000
"""Beyond this many live sessions the oldest is dropped (a flood of logins cannot fill memory)."""


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the token it signed in with (by id) and when it ends."""

    token_id: str
    created_at: datetime
    expires_at: datetime

    @property
    def max_age(self) -> int:
        """Seconds left, for the cookie's ``Max-Age``."""
        return max(0, int((self.expires_at - _now()).total_seconds()))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class SessionBook:
    """The live sessions of one server."""

    def __init__(self, tokens: TokenBook, lifetime: timedelta = SESSION_LIFETIME) -> None:
        self.tokens = tokens
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._live: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._live)

    def open(self, token: str | None, *, now: datetime | None = None) -> tuple[str, Session]:
        """A new session for a valid token with the ``read`` scope: (session id, session).

        Raises:
            InvalidTokenError: no, unknown, revoked or expired token (401).
            ScopeError: a valid token without ``read`` (403).
        """
        info = self.tokens.check(token, SCOPE)
        when = now or _now()
        ends = when + self.lifetime
        if info.expires_at is not None:
            ends = min(ends, info.expires_at)
        session_id = secrets.token_urlsafe(32)
        session = Session(info.token_id, when, ends)
        with self._lock:
            self._drop_ended(when)
            while len(self._live) >= MAX_SESSIONS:
                self._live.pop(next(iter(self._live)))
            self._live[_digest(session_id)] = session
        return session_id, session

    def check(self, session_id: str | None, *, now: datetime | None = None) -> TokenInfo:
        """The token behind a live session; a session whose token was revoked or has
        expired ends here.

        Raises:
            InvalidTokenError: no session, an unknown or ended one, or its token is no longer
                active (401).
        """
        if not session_id:
            raise InvalidTokenError("not signed in")
        key = _digest(session_id)
        when = now or _now()
        with self._lock:
            session = self._live.get(key)
        if session is None:
            raise InvalidTokenError("the session is unknown or has ended; sign in again")
        info = self._token(session.token_id)
        state = info.state(when) if info is not None else "unknown"
        if info is None or session.expires_at <= when or state != "active":
            with self._lock:
                self._live.pop(key, None)
            why = "has ended" if state == "active" else f"ended: its token is {state}"
            raise InvalidTokenError(f"the session {why}; sign in again")
        if SCOPE not in info.scopes:  # pragma: no cover - a token's scopes never change
            raise ScopeError(f"token {info.token_id} lacks the '{SCOPE}' scope")
        return info

    def close(self, session_id: str | None) -> bool:
        """End a session (sign out); True when there was one."""
        if not session_id:
            return False
        with self._lock:
            return self._live.pop(_digest(session_id), None) is not None

    def _token(self, token_id: str) -> TokenInfo | None:
        return next((t for t in self.tokens.infos() if t.token_id == token_id), None)

    def _drop_ended(self, when: datetime) -> None:
        ended = [k for k, s in self._live.items() if s.expires_at <= when]
        for k in ended:
            del self._live[k]


_BOOKS: weakref.WeakKeyDictionary[Service, SessionBook] = weakref.WeakKeyDictionary()
_BOOKS_LOCK = threading.Lock()


def sessions(service: Service) -> SessionBook:
    """The session book of a running service (made on first use, gone with the service)."""
    with _BOOKS_LOCK:
        book = _BOOKS.get(service)
        if book is None:
            book = _BOOKS[service] = SessionBook(service.tokens)
        book.tokens = service.tokens  # the service's book of the moment
        return book
