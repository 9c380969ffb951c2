"""The embedded event store: one DuckDB file with raw payloads, canonical events and quarantine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import StoreError, StoreLockedError
from vsmml.events.schema import EVENT_COLUMNS, STR_DTYPE, validate_events
from vsmml.store.schema import migrate
from vsmml.store.sql import (
    MAX_MESSAGES,
    QUARANTINE_COLUMNS,
    from_arrow,
    insert_quarantine,
    merge_batch,
    scalar,
    to_arrow,
    utc,
)

__all__ = ["QUARANTINE_COLUMNS", "Store", "WriteReport"]


@dataclass
class WriteReport:
    """What one write did: rows accepted, duplicates skipped, records quarantined (with reasons)."""

    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, other: WriteReport) -> None:
        """Fold another report into this one."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        room = MAX_MESSAGES - len(self.messages)
        self.messages.extend(other.messages[: max(room, 0)])


class Store:
    """A DuckDB file holding `raw_payloads`, `events` and `quarantine`, migrated on open.

    DuckDB allows one writing process per file and, while it writes, no other process can open
    it: open read-only for reports, and close the store before handing work to other processes.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str = "2GB",
        threads: int | None = None,
        chunk_rows: int = 500_000,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.chunk_rows = chunk_rows
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"no store at {self.path}: run `vsmml demo` or `vsmml ingest` first")
        config: dict[str, Any] = {"memory_limit": memory_limit}
        if threads:
            config["threads"] = threads
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(
                    f"{self.path} is held by another process (DuckDB allows one writer per file);"
                    " stop it, or send writes through the server's admin routes (--server URL)"
                ) from exc
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        if not read_only:
            migrate(self._con)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, read_only: bool = False) -> Store:
        """Open the store under `$VSMML_HOME` with the configured DuckDB limits."""
        s = settings or get_settings()
        return cls(
            s.store_path,
            read_only=read_only,
            memory_limit=s.duckdb_memory_limit,
            threads=s.duckdb_threads,
            chunk_rows=s.ingest_chunk_rows,
        )

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection, for the pipeline's set-based reads."""
        return self._con

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    # -- writes ----------------------------------------------------------------------------
    def write_events(
        self,
        frame: pd.DataFrame,
        *,
        tz: str | None = None,
        rejects: pd.DataFrame | None = None,
        received_at: pd.Timestamp | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> WriteReport:
        """Validate, de-duplicate and store a batch in one transaction (all of it or none).

        Bad rows and `rejects` (connector refusals) go to quarantine with their reasons; a
        re-ingested event is a no-op; an id seen before with different content keeps the first
        and quarantines the conflict.
        """
        now = received_at or pd.Timestamp.now(tz="UTC")
        report = WriteReport()
        with self._transaction():
            if rejects is not None and len(rejects):
                report.add(self._quarantine_rejects(rejects, now))
            for start in range(0, len(frame), self.chunk_rows):
                chunk = frame.iloc[start : start + self.chunk_rows]
                report.add(self._write_chunk(chunk, tz=tz, now=now, first_index=start))
                if on_chunk is not None:
                    on_chunk(start + len(chunk))
        return report

    def _write_chunk(
        self, chunk: pd.DataFrame, *, tz: str | None, now: pd.Timestamp, first_index: int
    ) -> WriteReport:
        result = validate_events(chunk, tz=tz, now=now, first_index=first_index)
        report = WriteReport()
        if result.rejections:
            q = result.quarantine_frame()
            q["location"] = "batch row " + q["index"].astype(str)
            q["source"] = q["source"].fillna("unknown")
            report.add(self._quarantine_rejects(q, now))
        events = result.events
        if events.empty:
            return report
        events["received_at"] = events["received_at"].fillna(now)
        self._con.register("_batch", to_arrow(events))
        try:
            stats = merge_batch(self._con)
        finally:
            self._con.unregister("_batch")
        report.add(WriteReport(stats.accepted, stats.duplicates, stats.conflicts, stats.messages))
        return report

    def _quarantine_rejects(self, rejects: pd.DataFrame, now: pd.Timestamp) -> WriteReport:
        reasons = insert_quarantine(self._con, rejects, now)
        return WriteReport(quarantined=len(reasons), messages=reasons[:MAX_MESSAGES])

    def quarantine(self, rejects: pd.DataFrame) -> WriteReport:
        """Store records a converter refused (columns: source, location, field, reason, record)."""
        with self._transaction():
            return self._quarantine_rejects(rejects, pd.Timestamp.now(tz="UTC"))

    def write_raw(
        self, source: str, payloads: Sequence[str], *, locations: Sequence[str] | None = None
    ) -> list[int]:
        """Keep raw payloads (so a converter fix can be replayed); returns their ids in order."""
        if locations is not None and len(locations) != len(payloads):
            raise StoreError("write_raw: locations must match payloads one to one")
        if not payloads:
            return []
        frame = pd.DataFrame(
            {
                "source": source,
                "location": list(locations) if locations is not None else "",
                "received_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
                "payload": list(payloads),
            }
        )
        self._con.register("_raw", frame)
        try:
            rows = self._con.execute(
                """INSERT INTO raw_payloads (source, location, received_at, payload)
                   SELECT source, location, received_at, payload FROM _raw RETURNING payload_id"""
            ).fetchall()
        finally:
            self._con.unregister("_raw")
        return [int(r[0]) for r in rows]

    def resolve_quarantine(self, ids: Sequence[int]) -> int:
        """Mark quarantined records handled (e.g. retried after a rule fix); returns how many."""
        if not ids:
            return 0
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        rows = self._con.execute(
            """UPDATE quarantine SET resolved_at = ? WHERE quarantine_id IN
               (SELECT unnest(?::BIGINT[])) AND resolved_at IS NULL RETURNING 1""",
            [now, list(ids)],
        ).fetchall()
        return len(rows)

    # -- reads -----------------------------------------------------------------------------
    def read_events(
        self,
        *,
        since: pd.Timestamp | str | None = None,
        until: pd.Timestamp | str | None = None,
        kinds: Sequence[str] | None = None,
        services: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Events in canonical dtypes, ordered by (ts, event_id), filtered on the way out.

        `since` is inclusive, `until` exclusive; both are UTC instants (offsets accepted).
        """
        where, params = [], []
        if since is not None:
            where.append("ts >= ?")
            params.append(utc(since))
        if until is not None:
            where.append("ts < ?")
            params.append(utc(until))
        for col, values in (("kind", kinds), ("service", services), ("source", sources)):
            if values is not None:
                where.append(f"{col} IN (SELECT unnest(?::VARCHAR[]))")
                params.append(list(values))  # type: ignore[arg-type]
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts, event_id"
        table = self._con.sql(sql, params=params).to_arrow_table()
        return from_arrow(table)

    def read_slo_samples(
        self, *, since: pd.Timestamp | str | None = None, services: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """`slo.sample` events as (timestamp, service, good, total), parsed by DuckDB's JSON
        functions (much faster than parsing `attrs` row by row in Python)."""
        where, params = ["kind = 'slo.sample'"], []
        if since is not None:
            where.append("ts >= ?")
            params.append(utc(since))
        if services is not None:
            where.append("service IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(services))  # type: ignore[arg-type]
        frame: pd.DataFrame = self._con.sql(
            f"""SELECT ts AS timestamp, service,
                       CAST(json_extract(attrs, '$.good') AS DOUBLE) AS good,
                       CAST(json_extract(attrs, '$.total') AS DOUBLE) AS total
                FROM events WHERE {" AND ".join(where)} ORDER BY service, ts""",
            params=params,
        ).df()
        frame["timestamp"] = pd.to_datetime(frame["timestamp"]).dt.tz_localize("UTC")
        frame["service"] = frame["service"].astype(STR_DTYPE)
        return frame

    def read_raw(self, *, source: str | None = None) -> pd.DataFrame:
        """Raw payloads as stored, oldest first."""
        sql = "SELECT payload_id, source, location, received_at, payload FROM raw_payloads"
        params: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            params.append(source)
        return self._con.execute(sql + " ORDER BY payload_id", params).df()

    def read_quarantine(
        self, *, source: str | None = None, include_resolved: bool = False
    ) -> pd.DataFrame:
        """Quarantined records with their reasons, oldest first."""
        where, params = [], []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if not include_resolved:
            where.append("resolved_at IS NULL")
        sql = (
            "SELECT quarantine_id, received_at, source, location, field, reason, record,"
            " resolved_at FROM quarantine"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._con.execute(sql + " ORDER BY quarantine_id", params).df()

    def counts(self) -> dict[str, int]:
        """Row counts of the three tables (quarantine counts unresolved records)."""
        return {
            "events": scalar(self._con, "SELECT count(*) FROM events"),
            "raw_payloads": scalar(self._con, "SELECT count(*) FROM raw_payloads"),
            "quarantine": scalar(
                self._con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL"
            ),
        }

    def summary(self) -> dict[str, pd.DataFrame]:
        """Events by kind and by service, and the time range: what `vsmml demo` prints."""
        con = self._con
        by_kind = con.execute(
            "SELECT kind, count(*) AS events FROM events GROUP BY kind ORDER BY events DESC, kind"
        ).df()
        by_service = con.execute(
            """SELECT service, any_value(team) AS team, count(*) AS events,
                      count(*) FILTER (WHERE kind = 'deploy.finished' AND env = 'production')
                        AS prod_deploys,
                      count(*) FILTER (WHERE kind = 'incident.opened') AS incidents
               FROM events GROUP BY service ORDER BY service NULLS LAST"""
        ).df()
        span = con.execute(
            "SELECT min(ts) AS first, max(ts) AS last, count(*) AS events FROM events"
        ).df()
        return {"by_kind": by_kind, "by_service": by_service, "range": span}
