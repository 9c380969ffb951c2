"""The `tokens` table of the HTTP service: rows in, rows out; only a SHA-256 of a secret is kept.

Times are naive `datetime`s holding UTC in the table (like every store timestamp) and aware UTC
`datetime`s at this module's boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

_COLUMNS = "token_id, name, scopes, secret_sha256, created_at, expires_at, revoked_at, last_used_at"


@dataclass(frozen=True)
class TokenRow:
    """One stored token: its public id and name, scopes (comma-separated), the secret's hash and
    its life (created, expires, revoked, last used)."""

    token_id: str
    name: str
    scopes: str
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


def _naive(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.astimezone(UTC).replace(tzinfo=None)


def _aware(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.replace(tzinfo=UTC)


def insert_token(con: duckdb.DuckDBPyConnection, row: TokenRow) -> None:
    """Add a token row."""
    con.execute(
        f"INSERT INTO tokens ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row.token_id,
            row.name,
            row.scopes,
            row.secret_sha256,
            _naive(row.created_at),
            _naive(row.expires_at),
            _naive(row.revoked_at),
            _naive(row.last_used_at),
        ],
    )


def token_rows(con: duckdb.DuckDBPyConnection) -> list[TokenRow]:
    """Every token row, oldest first."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY created_at, rowid").fetchall()
    return [
        TokenRow(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            r[4].replace(tzinfo=UTC),
            _aware(r[5]),
            _aware(r[6]),
            _aware(r[7]),
        )
        for r in rows
    ]


def set_revoked(con: duckdb.DuckDBPyConnection, token_id: str, when: datetime) -> int:
    """Mark a token revoked (a revoked token stays revoked); returns how many rows changed."""
    changed = con.execute(
        "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL RETURNING 1",
        [_naive(when), token_id],
    ).fetchall()
    return len(changed)


def set_last_used(con: duckdb.DuckDBPyConnection, uses: Mapping[str, datetime]) -> None:
    """Record when each token was last used (later times only)."""
    for token_id, when in uses.items():
        con.execute(
            """UPDATE tokens SET last_used_at = ? WHERE token_id = ?
               AND (last_used_at IS NULL OR last_used_at < ?)""",
            [_naive(when), token_id, _naive(when)],
        )
