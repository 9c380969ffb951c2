"""Store tables and their migrations: a store records its schema version and upgrades on open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

from vsmml.errors import StoreError
from vsmml.events.schema import EVENT_COLUMNS, TIME_COLUMNS

# Columns whose values define an event's content: re-ingesting the same id with other content
# is a conflict. `received_at` is ours, not the source's, so it is left out.
CONTENT_COLUMNS: Final = tuple(c for c in EVENT_COLUMNS if c not in ("event_id", "received_at"))
QUARANTINE_KEY: Final = "hash(source, location, field, reason, record)"
"""A quarantined record is identified by where it was, what was wrong and the record itself."""


def _events_ddl() -> str:
    # Times are TIMESTAMP holding UTC (TIMESTAMPTZ needs DuckDB's ICU extension, not shipped
    # in the wheel and not downloadable offline); the store converts at the boundary.
    cols = [f"{c} {'TIMESTAMP' if c in TIME_COLUMNS else 'VARCHAR'}" for c in EVENT_COLUMNS]
    return f"CREATE TABLE events ({', '.join(cols)}, content_hash UBIGINT)"


_RAW_COLUMNS: Final = """payload_id BIGINT DEFAULT nextval('raw_payload_seq'),
    source VARCHAR NOT NULL, location VARCHAR, received_at TIMESTAMP NOT NULL,
    payload VARCHAR NOT NULL USING COMPRESSION zstd, payload_hash UBIGINT"""
"""raw_payloads from version 5. Payloads are JSON text, often large and alike: zstd keeps them
in about a third of the bytes DuckDB's default string compression leaves (measured on
canonical lines and GitHub webhooks), and writing fewer bytes is most of an ingest's cost."""


@dataclass(frozen=True)
class Migration:
    """One step from `version - 1` to `version`."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "raw_payloads, events (unique event_id enforced by the write path), quarantine",
        (
            "CREATE SEQUENCE raw_payload_seq START 1",
            """CREATE TABLE raw_payloads (
                 payload_id BIGINT DEFAULT nextval('raw_payload_seq'), source VARCHAR NOT NULL,
                 location VARCHAR, received_at TIMESTAMP NOT NULL, payload VARCHAR NOT NULL)""",
            _events_ddl(),
            "CREATE SEQUENCE quarantine_seq START 1",
            """CREATE TABLE quarantine (
                 quarantine_id BIGINT DEFAULT nextval('quarantine_seq'),
                 received_at TIMESTAMP NOT NULL, source VARCHAR, location VARCHAR,
                 field VARCHAR, reason VARCHAR NOT NULL, record VARCHAR)""",
        ),
    ),
    Migration(
        2,
        "quarantine.resolved_at, so records retried after a rule fix leave the open list",
        ("ALTER TABLE quarantine ADD COLUMN resolved_at TIMESTAMP",),
    ),
    Migration(
        3,
        "raw_payloads.payload_hash and quarantine.record_key: re-ingest keeps one copy of each",
        (
            "ALTER TABLE raw_payloads ADD COLUMN payload_hash UBIGINT",
            "UPDATE raw_payloads SET payload_hash = hash(payload)",
            """DELETE FROM raw_payloads WHERE payload_id NOT IN
                 (SELECT min(payload_id) FROM raw_payloads GROUP BY source, payload_hash)""",
            "ALTER TABLE quarantine ADD COLUMN record_key UBIGINT",
            f"UPDATE quarantine SET record_key = {QUARANTINE_KEY}",
            """DELETE FROM quarantine WHERE quarantine_id NOT IN
                 (SELECT min(quarantine_id) FROM quarantine GROUP BY record_key)""",
        ),
    ),
    Migration(
        4,
        "tokens of the HTTP service: scopes and a SHA-256 of the secret, never the secret",
        (
            """CREATE TABLE tokens (
                 token_id VARCHAR NOT NULL, name VARCHAR NOT NULL, scopes VARCHAR NOT NULL,
                 secret_sha256 VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
                 expires_at TIMESTAMP, revoked_at TIMESTAMP, last_used_at TIMESTAMP)""",
        ),
    ),
    Migration(
        5,
        "raw_payloads.payload compressed with zstd: a third of the bytes written, faster ingest",
        (
            f"CREATE TABLE raw_payloads_z ({_RAW_COLUMNS})",
            """INSERT INTO raw_payloads_z (payload_id, source, location, received_at, payload,
                                           payload_hash)
               SELECT payload_id, source, location, received_at, payload, payload_hash
               FROM raw_payloads ORDER BY payload_id""",
            "DROP TABLE raw_payloads",
            "ALTER TABLE raw_payloads_z RENAME TO raw_payloads",
        ),
    ),
)
SCHEMA_VERSION: Final = MIGRATIONS[-1].version
COLUMNS: Final[dict[str, set[str]]] = {
    "raw_payloads": {"payload_id", "source", "location", "received_at", "payload"},
    "events": {*EVENT_COLUMNS, "content_hash"},
    "quarantine": {"quarantine_id", "received_at", "source", "location", "field", "reason"},
    "schema_version": {"version"},
}
"""Columns every store version has (what a read needs); checked on open."""


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The store's schema version (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists[0][0]:
        return 0
    rows = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(rows[0][0]) if rows[0][0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, *, target: int = SCHEMA_VERSION) -> int:
    """Apply every pending migration up to `target`, each in its own transaction."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, description VARCHAR,
             applied_at TIMESTAMP DEFAULT current_localtimestamp())"""
    )
    version = current_version(con)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store schema version {version} is newer than this vsmml ({SCHEMA_VERSION}): upgrade"
        )
    for step in MIGRATIONS:
        if version < step.version <= target:
            con.execute("BEGIN TRANSACTION")
            try:
                for sql in step.statements:
                    con.execute(sql)
                con.execute(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                    [step.version, step.description],
                )
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"migration {step.version} failed: {exc}") from exc
            con.execute("COMMIT")
            version = step.version
    return version
