"""Bearer tokens of the HTTP service: create, list, revoke, and check a request's token and scope.

A token reads ``vsmml_<id>_<secret>``: the id is public (it names the token in lists and logs),
the secret is 256 random bits. Only a SHA-256 of the whole token is stored (a hash of that much
randomness needs no slow KDF); checking compares digests in constant time. `TokenBook` is the
server's in-memory view of the table: checks cost a dictionary lookup and a hash, and the last
use of each token is remembered and written to the store in batches (`TokenBook.flush`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from vsmml.store import Store
    from vsmml.store.tokens import TokenRow

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.pipeline.service_errors import (
    InvalidTokenError,
    ScopeError,
    TokenError,
    UnknownTokenError,
)

__all__ = [
    "SCOPES",
    "InvalidTokenError",
    "NewToken",
    "ScopeError",
    "TokenBook",
    "TokenError",
    "TokenInfo",
    "TokenRequest",
    "UnknownTokenError",
    "create_token",
    "list_tokens",
    "parse_expiry",
    "parse_scopes",
    "revoke_token",
]

SCOPES: Final[tuple[str, ...]] = ("ingest", "read", "admin")
"""``ingest`` may post events, ``read`` may read and score, ``admin`` may manage the service."""
PREFIX: Final[str] = "vsmml_"
_ID: Final = re.compile(r"^[0-9a-f]{12}$")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION: Final = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_LIFETIME: Final = timedelta(days=3660)
"""The longest lifetime a token may be given (about ten years)."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never its secret."""

    token_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or _now()):
            return "expired"
        return "active"

    def to_dict(self, now: datetime | None = None) -> dict[str, object]:
        """JSON-ready fields (ISO-8601 UTC times) and the state."""

        def iso(ts: datetime | None) -> str | None:
            return None if ts is None else ts.astimezone(UTC).isoformat().replace("+00:00", "Z")

        return {
            "token_id": self.token_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "state": self.state(now),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


@dataclass(frozen=True)
class NewToken:
    """A token just created: what is stored about it and, this once, the secret itself."""

    info: TokenInfo
    token: str = field(repr=False)


@dataclass(frozen=True)
class TokenRequest:
    """Scopes (``ingest,read``), an optional name and lifetime (``90d``, ``12h``; None: never)."""

    scopes: str | Sequence[str]
    name: str | None = None
    expires: str | None = None


def _sql() -> Any:
    """The token table's SQL (imported on use: it brings the store, and pandas, with it)."""
    from vsmml.store import tokens

    return tokens


def _store(settings: Settings) -> Store:
    from vsmml.store import Store

    return Store.from_settings(settings)


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Scope names from ``ingest,read`` (or a list), sorted; an unknown or no scope is refused."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    names = {s.strip().lower() for s in items if s.strip()}
    unknown = sorted(names - set(SCOPES))
    if unknown:
        raise DataError(f"--scopes: unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    if not names:
        raise DataError(f"--scopes: give at least one of {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in names)


def parse_expiry(text: str | None) -> timedelta | None:
    """A lifetime such as ``90d``, ``12h``, ``30m`` or ``2w``; None or ``never``: no expiry."""
    if text is None or text.strip().lower() in ("", "never"):
        return None
    m = _DURATION.match(text.lower())
    if m is None or int(m.group(1)) == 0:
        raise DataError(f"--expires: expected a lifetime such as 90d, 12h, 30m or 2w, got {text!r}")
    lifetime = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if lifetime > MAX_LIFETIME:
        raise DataError(f"--expires: at most {MAX_LIFETIME.days} days, got {text!r}")
    return lifetime


def _info(row: TokenRow) -> TokenInfo:
    scopes = tuple(s for s in row.scopes.split(",") if s)
    return TokenInfo(
        row.token_id,
        row.name,
        scopes,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
    )


def _has_table(store: Store) -> bool:
    found = store.connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tokens'"
    ).fetchall()
    return bool(found[0][0])


def create_token(store: Store, request: TokenRequest, *, now: datetime | None = None) -> NewToken:
    """Make a token with the request's scopes, name and lifetime; the secret is returned once."""
    scopes = parse_scopes(request.scopes)
    lifetime = parse_expiry(request.expires)
    rows = _sql().token_rows(store.connection)
    taken = {r.token_id for r in rows}
    token_id = secrets.token_hex(6)
    while token_id in taken:  # pragma: no cover - 48 random bits
        token_id = secrets.token_hex(6)
    name = request.name if request.name is not None else f"token-{token_id[:6]}"
    if not _NAME.match(name):
        raise DataError(
            f"--name: {name!r} must be 1-64 letters, digits, '.', '_' or '-' (no spaces)"
        )
    if any(r.name == name and r.revoked_at is None for r in rows):
        raise DataError(f"--name: a token named {name!r} exists; revoke it or pick another name")
    created = (now or _now()).replace(microsecond=0)
    secret = PREFIX + token_id + "_" + secrets.token_urlsafe(32)
    row = _sql().TokenRow(
        token_id,
        name,
        ",".join(scopes),
        _digest(secret),
        created,
        None if lifetime is None else created + lifetime,
    )
    _sql().insert_token(store.connection, row)
    return NewToken(_info(row), secret)


def list_tokens(store: Store) -> list[TokenInfo]:
    """Every token (revoked and expired ones too), oldest first; never a secret."""
    if not _has_table(store):
        return []
    return [_info(r) for r in _sql().token_rows(store.connection)]


def _find(rows: Sequence[TokenRow], ref: str) -> TokenRow:
    by_id = [r for r in rows if r.token_id == ref]
    if by_id:
        return by_id[0]
    by_name = [r for r in rows if r.name == ref]
    live = [r for r in by_name if r.revoked_at is None]
    if len(live) > 1:  # pragma: no cover - names of live tokens are unique
        raise DataError(f"token name {ref!r} is ambiguous; revoke by id")
    if live or by_name:
        return (live or by_name)[-1]
    raise UnknownTokenError(f"no token with id or name {ref!r} (see `vsmml token list`)")


def revoke_token(store: Store, ref: str, *, now: datetime | None = None) -> TokenInfo:
    """Revoke the token with this id or name (revoking twice is harmless); returns it."""
    row = _find(_sql().token_rows(store.connection) if _has_table(store) else [], ref)
    _sql().set_revoked(store.connection, row.token_id, (now or _now()).replace(microsecond=0))
    return _info(next(r for r in _sql().token_rows(store.connection) if r.token_id == row.token_id))


# -- the CLI's use cases: here (the store under VSMML_HOME) or through a server's API --------
def create(
    request: TokenRequest, *, server: str | None = None, settings: Settings | None = None
) -> tuple[dict[str, object], str]:
    """`vsmml token create`: the new token's fields and its secret (shown this once)."""
    s = settings or get_settings()
    if server is not None:
        from vsmml.pipeline import remote

        doc = remote.connect(server, s).create_token(
            ",".join(parse_scopes(request.scopes)), request.name, request.expires
        )
        return {k: v for k, v in doc.items() if k != "token"}, str(doc["token"])
    with _store(s) as store:
        new = create_token(store, request)
    return new.info.to_dict(), new.token


def listing(
    *, server: str | None = None, settings: Settings | None = None
) -> list[dict[str, object]]:
    """`vsmml token list`: every token's fields (none without a store), never a secret."""
    s = settings or get_settings()
    if server is not None:
        from vsmml.pipeline import remote

        return remote.connect(server, s).list_tokens()
    if not s.store_path.exists():
        return []
    with _store(s) as store:
        return [t.to_dict() for t in list_tokens(store)]


def revoke(
    ref: str, *, server: str | None = None, settings: Settings | None = None
) -> dict[str, object]:
    """`vsmml token revoke`: revoke the token with this id or name; its fields."""
    s = settings or get_settings()
    if server is not None:
        from vsmml.pipeline import remote

        return remote.connect(server, s).revoke_token(ref)
    if not s.store_path.exists():
        raise UnknownTokenError(f"no token with id or name {ref!r}: there is no store yet")
    with _store(s) as store:
        return revoke_token(store, ref).to_dict()


# -- the server's view ----------------------------------------------------------------------
class TokenBook:
    """The tokens a running server accepts, checked in memory; last uses batched to the store."""

    def __init__(self, rows: Iterable[TokenRow]) -> None:
        self._lock = threading.Lock()
        # each row with its info (built once): one dict, replaced whole on a reload, so a
        # check never pairs a new row with an old info
        self._rows: dict[str, tuple[TokenRow, TokenInfo]] = {
            r.token_id: (r, _info(r)) for r in rows
        }
        self._used: dict[str, datetime] = {}

    @classmethod
    def load(cls, store: Store) -> TokenBook:
        """Every token of the store."""
        return cls(_sql().token_rows(store.connection))

    def check(self, token: str | None, scope: str, *, now: datetime | None = None) -> TokenInfo:
        """The token's info when it is valid and holds `scope`.

        Raises:
            InvalidTokenError: missing, malformed, unknown, revoked or expired (401).
            ScopeError: valid, without `scope` (403).
        """
        if not token:
            raise InvalidTokenError("missing bearer token (send 'Authorization: Bearer <token>')")
        parts = token.split("_", 2)
        found = self._rows.get(parts[1]) if len(parts) == 3 and parts[0] + "_" == PREFIX else None
        if found is None or not hmac.compare_digest(found[0].secret_sha256, _digest(token)):
            raise InvalidTokenError("invalid bearer token")
        row, info = found
        when = now or _now()
        state = info.state(when)
        if state != "active":
            raise InvalidTokenError(f"token {row.token_id} is {state}")
        if scope not in info.scopes:
            raise ScopeError(f"token {row.token_id} lacks the '{scope}' scope")
        self._used[row.token_id] = when
        return info

    def add(self, store: Store, request: TokenRequest) -> NewToken:
        """Create a token in the store and accept it from now on."""
        new = create_token(store, request)
        self.reload(store)
        return new

    def revoke(self, store: Store, ref: str) -> TokenInfo:
        """Revoke a token in the store and refuse it from now on."""
        info = revoke_token(store, ref)
        self.reload(store)
        return info

    def reload(self, store: Store) -> None:
        """Read the table again (after a change)."""
        rows = {r.token_id: (r, _info(r)) for r in _sql().token_rows(store.connection)}
        with self._lock:
            self._rows = rows

    def infos(self) -> list[TokenInfo]:
        """Every token, with the last uses not yet written."""
        out = []
        for row, info in list(self._rows.values()):  # the table's order: oldest first
            used = self._used.get(row.token_id)
            if used is not None and (info.last_used_at is None or used > info.last_used_at):
                info = replace(info, last_used_at=used)
            out.append(info)
        return out

    def flush(self, store: Store) -> int:
        """Write the remembered last uses to the store; returns how many tokens were updated."""
        with self._lock:
            used, self._used = self._used, {}
        if not used:
            return 0
        try:
            _sql().set_last_used(store.connection, used)
        except Exception:  # keep the uses for the next flush
            with self._lock:
                self._used = used | self._used
            raise
        return len(used)
