"""The write half of the store: events, canonical batches, raw payloads and quarantine, each
write one transaction (all of it or none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from vsmml.deferred import deferred
from vsmml.errors import StoreError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.schema import validate_events
from vsmml.store.canonical import CanonicalBatch, Defaults
from vsmml.store.sql import (
    MAX_MESSAGES,
    insert_quarantine,
    insert_raw,
    merge_batch,
    to_arrow,
    unregister,
    validation_rejects,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = deferred("pandas")


@dataclass
class WriteReport:
    """What one write did: rows accepted, duplicates skipped, records quarantined (with reasons),
    and how many raw payloads were new (a re-ingested payload is kept once)."""

    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    messages: list[str] = field(default_factory=list)
    raw_kept: int = 0

    def add(self, other: WriteReport) -> None:
        """Fold another report into this one."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.raw_kept += other.raw_kept
        room = MAX_MESSAGES - len(self.messages)
        self.messages.extend(other.messages[: max(room, 0)])


class StoreWrites:
    """The write half of `Store` (it needs the connection, the chunk size and `_guard`)."""

    _con: duckdb.DuckDBPyConnection
    chunk_rows: int

    def _guard(self, doing: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._guard("writing"):
            self._con.execute("BEGIN TRANSACTION")
        try:
            with self._guard("writing"):
                yield
        except BaseException:
            with suppress(duckdb.Error):
                self._con.execute("ROLLBACK")
            raise
        with self._guard("committing"):
            self._con.execute("COMMIT")

    def write_events(
        self,
        frame: pd.DataFrame,
        *,
        tz: str | None = None,
        rejects: pd.DataFrame | None = None,
        received_at: pd.Timestamp | None = None,
        on_chunk: Callable[[int], None] | None = None,
        raw: pa.Table | None = None,
        locations: Sequence[str] | None = None,
        validated: bool = False,
    ) -> WriteReport:
        """Validate, de-duplicate and store a batch in one transaction (all of it or none).

        `raw` (columns source, location, payload) are the batch's raw payloads, kept in the
        same transaction. Bad rows and `rejects` (connector refusals) go to quarantine with
        their reasons, a row named by `locations[i]` when given; a re-ingested event is a
        no-op; an id seen before with different content keeps the first and quarantines the
        conflict. `validated=True` skips validation (the caller validated the rows already).
        """
        now = received_at or pd.Timestamp.now(tz="UTC")
        report = WriteReport()
        with self._transaction():
            if raw is not None:
                report.raw_kept += insert_raw(self._con, raw, now)
            if rejects is not None and len(rejects):
                report.add(self._quarantine_rejects(rejects, now))
            for start in range(0, len(frame), self.chunk_rows):
                chunk = frame.iloc[start : start + self.chunk_rows]
                where = locations[start : start + len(chunk)] if locations is not None else None
                report.add(
                    self._write_chunk(
                        chunk, tz=tz, now=now, first=start, where=where, validated=validated
                    )
                )
                if on_chunk is not None:
                    on_chunk(start + len(chunk))
        return report

    def _write_chunk(
        self,
        chunk: pd.DataFrame,
        *,
        tz: str | None,
        now: pd.Timestamp,
        first: int,
        where: Sequence[str] | None,
        validated: bool,
    ) -> WriteReport:
        report = WriteReport()
        if validated:
            events = chunk.reset_index(drop=True)
        else:
            result = validate_events(chunk, tz=tz, now=now)
            if result.rejections:
                refused = validation_rejects(result, where, first=first)
                report.add(self._quarantine_rejects(refused, now))
            events = result.events
        if events.empty:
            return report
        events = events.assign(received_at=events["received_at"].fillna(now))
        self._con.register("_batch", to_arrow(events))
        try:
            stats = merge_batch(self._con)
        finally:
            unregister(self._con, "_batch")
        report.add(WriteReport(stats.accepted, stats.duplicates, stats.conflicts, stats.messages))
        return report

    def write_canonical(
        self,
        table: pa.Table,
        *,
        raw_source: str,
        name: str,
        defaults: Defaults,
        fallback: Callable[[list[tuple[str, str]]], Conversion],
        rejects: Sequence[Reject] = (),
        csv_columns: list[str] | None = None,
    ) -> tuple[WriteReport, int, Conversion | None]:
        """Check, normalise and store one batch of canonical rows in SQL, in one transaction.

        `table` holds `line_no` and `line` (JSON Lines) or `line_no` and the CSV cells. Rows
        that are not regular go through `fallback` (the Python reference converter, returning
        validated events and rejects named `name:line`). Returns the write report, how many
        rows took the SQL path, and the fallback's conversion (for its skipped counts; None
        when every row was regular). `rejects` are the reader's refusals (size, encoding).
        A batch of regular rows uses no pandas (nor imports it).
        """
        now = datetime.now(UTC)
        with self._guard("checking canonical rows"):
            batch = CanonicalBatch(
                self._con, table, defaults=defaults, now=now, csv_columns=csv_columns
            )
        try:
            with self._guard("checking canonical rows"):
                regular = batch.scan()
                units = [(f"{name}:{n}", p) for n, p in batch.payloads()]
            conv = fallback(units) if units else None
            with self._guard("checking canonical rows"):
                raw_view = batch.raw(raw_source, name)
                if conv is not None:
                    batch.good_table(_located(conv, pd.Timestamp(now)))
                batch.derive_ids()
            report = WriteReport()
            with self._transaction():
                computed = csv_columns is not None
                report.raw_kept += insert_raw(self._con, raw_view, now, computed=computed)
                refused = [*rejects, *(conv.rejects if conv is not None else [])]
                if refused:
                    frame = Conversion(rejects=refused).rejects_frame()
                    report.add(self._quarantine_rejects(frame, pd.Timestamp(now)))
                if regular or (conv is not None and len(conv.events)):
                    stats = merge_batch(self._con)
                    report.add(
                        WriteReport(
                            stats.accepted, stats.duplicates, stats.conflicts, stats.messages
                        )
                    )
        finally:
            with self._guard("cleaning up"):
                batch.drop()
        return report, regular, conv

    def _quarantine_rejects(
        self, rejects: pd.DataFrame | pa.Table, now: pd.Timestamp
    ) -> WriteReport:
        reasons = insert_quarantine(self._con, rejects, now)
        return WriteReport(quarantined=len(reasons), messages=reasons[:MAX_MESSAGES])

    def quarantine(self, rejects: pd.DataFrame) -> WriteReport:
        """Store records a converter refused (columns: source, location, field, reason, record)."""
        with self._transaction():
            return self._quarantine_rejects(rejects, pd.Timestamp.now(tz="UTC"))

    def write_raw(
        self, source: str, payloads: Sequence[str], *, locations: Sequence[str] | None = None
    ) -> int:
        """Keep raw payloads (so a converter fix can be replayed); returns how many were new."""
        if locations is not None and len(locations) != len(payloads):
            raise StoreError("write_raw: locations must match payloads one to one")
        if not payloads:
            return 0
        table = raw_table(source, payloads, locations)
        with self._transaction():
            return insert_raw(self._con, table, pd.Timestamp.now(tz="UTC"))

    def resolve_quarantine(self, ids: Sequence[int]) -> int:
        """Mark quarantined records handled (e.g. retried after a rule fix); returns how many."""
        if not ids:
            return 0
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        with self._guard("resolving quarantined records"):
            rows = self._con.execute(
                """UPDATE quarantine SET resolved_at = ? WHERE quarantine_id IN
                   (SELECT unnest(?::BIGINT[])) AND resolved_at IS NULL RETURNING 1""",
                [now, list(ids)],
            ).fetchall()
        return len(rows)


def _located(conv: Conversion, now: pd.Timestamp) -> pa.Table | None:
    """The fallback's valid events as Arrow with their line (`name:12` or `name:12[3]`)."""
    if conv.events.empty:
        return None
    lines, subs = [], []
    for where in conv.locations or []:
        tail = where.rsplit(":", 1)[-1]
        line, _, sub = tail.partition("[")
        lines.append(int(line) if line.isdigit() else 0)
        subs.append(int(sub.rstrip("]")) + 1 if sub.rstrip("]").isdigit() else 0)
    events = conv.events.assign(received_at=conv.events["received_at"].fillna(now))
    table = to_arrow(events)
    return table.append_column("line_no", pa.array(lines, pa.int64())).append_column(
        "sub", pa.array(subs, pa.int64())
    )


def raw_table(
    source: str, payloads: Sequence[str], locations: Sequence[str] | None = None
) -> pa.Table:
    """Raw payloads as the Arrow table `write_events(raw=...)` takes."""
    n = len(payloads)
    return pa.table(
        {
            "source": pa.array([source] * n, pa.string()),
            "location": pa.array(list(locations) if locations is not None else [""] * n),
            "payload": text_array(payloads),
        }
    )


def text_array(texts: Sequence[str]) -> pa.Array:
    """Texts as one Arrow string array (64-bit offsets: a batch may pass 2 GiB).

    `pa.array` copies each text's UTF-8 once; joining them into one buffer first, as this did
    before, took six times as long on webhook payloads of 10-30 KB (the slow `pa.array` once
    measured was its first call importing pandas).
    """
    return pa.array(texts if isinstance(texts, list) else list(texts), pa.large_string())
