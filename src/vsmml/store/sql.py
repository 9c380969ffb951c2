"""The store's write path in SQL: de-duplicating merge of a batch and quarantine inserts."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from vsmml.deferred import deferred
from vsmml.errors import StoreError
from vsmml.events.schema import (
    CATEGORY_COLUMNS,
    EVENT_COLUMNS,
    TIME_COLUMNS,
    Rejection,
    ValidationResult,
)
from vsmml.store.schema import CONTENT_COLUMNS, QUARANTINE_KEY

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

MAX_MESSAGES: Final = 50
CONTENT_COLUMNS_WITH_ID: Final = ("event_id", *CONTENT_COLUMNS)
QUARANTINE_COLUMNS: Final = ("source", "location", "field", "reason", "record")


@dataclass
class MergeStats:
    """Outcome of merging one batch: inserted rows, exact repeats, conflicts (quarantined)."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    messages: list[str] = field(default_factory=list)


def merge_batch(con: duckdb.DuckDBPyConnection) -> MergeStats:
    """Insert the registered `_batch` into `events` with an anti-join; quarantine conflicts.

    A key constraint would make bulk inserts several times slower (STACK.md), so uniqueness of
    `event_id` is enforced here: repeats inside the batch keep the first row, repeats of stored
    ids are skipped, and a repeat whose content differs is quarantined as a conflict.
    """
    typed = ", ".join(
        f"CAST({c} AS {'TIMESTAMP' if c in TIME_COLUMNS else 'VARCHAR'}) AS {c}"
        for c in EVENT_COLUMNS
    )
    hashed = f"*, hash({', '.join(CONTENT_COLUMNS)}) AS content_hash"
    source = f"(SELECT {hashed} FROM (SELECT {typed} FROM _batch))"
    n, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM _batch").fetchall()[0]
    messages: list[str] = []
    duplicates = 0
    if distinct < n:
        # Repeats inside the batch: keep the first, count exact copies, quarantine conflicts.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _staged AS
                SELECT *, row_number() OVER () AS _pos FROM {source}"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _firsts AS SELECT * FROM _staged
               QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _pos) = 1"""
        )
        repeat = "FROM _staged s JOIN _firsts f USING (event_id) WHERE s._pos <> f._pos"
        messages += quarantine_conflicts(
            con,
            f"SELECT s.* {repeat} AND s.content_hash <> f.content_hash",
        )
        duplicates += scalar(con, f"SELECT count(*) {repeat} AND s.content_hash = f.content_hash")
        source = "(SELECT * EXCLUDE (_pos) FROM _firsts)"
        n = distinct
    # One scan of the stored ids per batch, on the ids alone: a fresh batch (the common case)
    # then hashes its rows once, on insert, and needs no join at all.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _seen AS
           SELECT e.event_id, e.content_hash AS stored FROM events e
           SEMI JOIN (SELECT event_id FROM _batch) s USING (event_id)"""
    )
    stored_conflicts: list[str] = []
    rows = source
    if scalar(con, "SELECT count(*) FROM _seen"):
        stored_conflicts = quarantine_conflicts(
            con,
            f"""SELECT s.* FROM {source} s JOIN _seen USING (event_id)
                WHERE s.content_hash <> _seen.stored""",
        )
        rows = f"(SELECT * FROM {source} s ANTI JOIN _seen USING (event_id))"
    messages += stored_conflicts
    accepted = scalar(
        con,
        f"""INSERT INTO events SELECT {", ".join(EVENT_COLUMNS)}, content_hash FROM {rows}""",
    )
    con.execute(
        "DROP TABLE IF EXISTS _staged; DROP TABLE IF EXISTS _firsts; DROP TABLE IF EXISTS _seen"
    )
    return MergeStats(
        accepted=accepted,
        duplicates=duplicates + n - accepted - len(stored_conflicts),
        conflicts=len(messages),
        messages=messages[:MAX_MESSAGES],
    )


CONFLICT: Final = "conflicts with an event of the same id and other content (the first is kept)"


def quarantine_conflicts(con: duckdb.DuckDBPyConnection, select: str) -> list[str]:
    """Quarantine the rows `select` returns as id conflicts; returns their messages.

    The reason and the record (without `received_at`, which is ours) are the same whether the
    first event of the id came earlier in the batch or is stored, so re-ingesting the same
    input adds no quarantine row.
    """
    rows = con.execute(select).df()
    if rows.empty:
        return []
    messages = [f"event_id {eid!r}: 'event_id' {CONFLICT}" for eid in rows["event_id"]]
    records = [
        json.dumps({c: json_value(r[c]) for c in CONTENT_COLUMNS_WITH_ID}, default=str)
        for _, r in rows.iterrows()
    ]
    q = pd.DataFrame(
        {
            "source": rows["source"].astype(str),
            "location": "event_id " + rows["event_id"].astype(str),
            "field": "event_id",
            "reason": messages,
            "record": records,
        }
    )
    insert_quarantine(con, q, pd.Timestamp.now(tz="UTC"))
    return messages


def insert_quarantine(
    con: duckdb.DuckDBPyConnection, rejects: pd.DataFrame | pa.Table, now: datetime
) -> list[str]:
    """Append refused records (source, location, field, reason, record); returns the reasons.

    A record already in quarantine (same source, location, field, reason and record, resolved
    or not) is not stored again, so re-ingesting the same input leaves the table unchanged.
    """
    table = rejects if isinstance(rejects, pa.Table) else _reject_table(rejects)
    if table.num_rows == 0:
        return []
    con.register("_q", table)
    try:
        con.execute(
            f"""INSERT INTO quarantine (received_at, source, location, field, reason, record,
                                        record_key)
                SELECT ?::TIMESTAMP, source, location, field, reason, record, k FROM
                  (SELECT * FROM
                     (SELECT *, {QUARANTINE_KEY} AS k, row_number() OVER () AS pos FROM _q)
                   QUALIFY row_number() OVER (PARTITION BY k ORDER BY pos) = 1) q
                WHERE NOT EXISTS (SELECT 1 FROM quarantine s WHERE s.record_key = q.k)
                ORDER BY pos""",
            [now.astimezone(UTC).replace(tzinfo=None)],
        )
    finally:
        unregister(con, "_q")
    return [str(r) for r in table.column("reason").to_pylist()]


def _reject_table(rejects: pd.DataFrame) -> pa.Table:
    missing = set(QUARANTINE_COLUMNS) - set(rejects.columns)
    if missing:
        raise StoreError(f"quarantine rows lack column(s) {sorted(missing)}")
    q = rejects.loc[:, list(QUARANTINE_COLUMNS)].astype(_dt.STR_DTYPE).fillna("")
    return pa.Table.from_pandas(q, preserve_index=False)


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    raw: pa.Table | str,
    now: datetime,
    *,
    computed: bool = False,
) -> int:
    """Keep raw payloads (source, location, payload) not kept before; returns how many were new.

    `raw` is an Arrow table or the name of a relation in DuckDB that also has `pos`, each row's
    place in the input (increasing; gaps allowed). A payload is identified by its source and
    its text: a re-delivered webhook or a re-ingested file adds nothing. `computed`: the
    payloads are built by the query (a CSV row's JSON), so they are built and hashed once,
    into a temporary table, rather than on each read.

    Which rows to keep is decided on (pos, source, 64-bit hash), the text compared only where
    a hash repeats (`_repeated_payloads`), and payload ids are `pos` plus
    a range drawn from the sequence, so ids follow the input without sorting the payloads (a
    sort of 340 MB of webhooks took longer than writing them).
    """
    if isinstance(raw, pa.Table):
        if raw.num_rows == 0:
            return 0
        pos = pa.Array.from_buffers(
            pa.int64(), raw.num_rows, [None, pa.py_buffer(np.arange(raw.num_rows, dtype=np.int64))]
        )
        con.register("_raw", raw.append_column("pos", pos))
        rel = "_raw"
    else:
        rel = raw
    try:
        if computed:  # built once, hashed in the same pass; the insert reads both from here
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _rawh AS SELECT *, hash(payload) AS h FROM {raw}"
            )
            rel = "_rawh"
        else:
            hashes = f"SELECT pos, source, hash(payload) AS h FROM {rel}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE _rawh AS {hashes}")
        n, distinct, low, high, seen = con.execute(
            """SELECT count(*), count(DISTINCT (source, h)), min(pos), max(pos),
                      (SELECT count(*) FROM _rawh SEMI JOIN raw_payloads s
                         ON s.payload_hash = _rawh.h AND s.source = _rawh.source)
               FROM _rawh"""
        ).fetchall()[0]
        if not n:
            return 0
        where = ""
        if n != distinct or seen:  # repeats: keep the first of each, and only new ones
            dropped = _repeated_payloads(con, rel)
            if dropped == n:
                return 0
            if dropped:
                where = "WHERE pos NOT IN (SELECT pos FROM _rawk)"
        span = int(high) - int(low) + 1
        last = scalar(con, f"SELECT max(nextval('raw_payload_seq')) FROM range({span})")
        first = last - span + 1 - int(low)
        return scalar(
            con,
            f"""INSERT INTO raw_payloads (payload_id, source, location, received_at, payload,
                                          payload_hash)
                SELECT {first} + pos, source, location, TIMESTAMP '{_naive(now)}', payload,
                       {"h" if computed else "hash(payload)"}
                FROM {rel} {where}""",
        )
    finally:
        with contextlib.suppress(duckdb.Error):  # a failed transaction: its error wins
            con.execute("; ".join(f"DROP TABLE IF EXISTS {t}" for t in ("_rawh", "_rawk", "_rawc")))
        if isinstance(raw, pa.Table):
            unregister(con, "_raw")


def _repeated_payloads(con: duckdb.DuckDBPyConnection, rel: str) -> int:
    """Fill `_rawk` with the positions of `_rawh` rows whose payload is kept already (earlier in
    the batch, or stored for the same source); returns how many.

    A 64-bit `hash` only nominates: DuckDB's string hash collides on texts that differ in a few
    characters (two pairs of distinct synthetic SLO samples in 250,000 lines), so a payload is a
    repeat only when its text equals the other's. Only rows whose (source, hash) occurs twice
    or is stored are compared, so a fresh batch pays nothing for it. The texts are compared
    pair by pair (a row against the earlier rows and the stored payloads of its hash), not
    grouped by text, and the stored texts are read by row id: only those of the nominated
    hashes are decompressed, not every stored payload the scan passes.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rawc AS
            SELECT r.pos, r.source, r.h, p.payload FROM _rawh r
            SEMI JOIN (SELECT source, h FROM _rawh GROUP BY source, h HAVING count(*) > 1
                       UNION
                       SELECT s.source, s.payload_hash FROM raw_payloads s
                       SEMI JOIN _rawh x ON s.payload_hash = x.h AND s.source = x.source) c
              USING (source, h)
            JOIN {rel} p USING (pos)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rawk AS
           SELECT c.pos FROM _rawc c SEMI JOIN _rawc e
             ON e.source = c.source AND e.h = c.h AND e.pos < c.pos AND e.payload = c.payload
           UNION
           SELECT c.pos FROM _rawc c SEMI JOIN
             (SELECT source, payload_hash AS h, payload FROM raw_payloads WHERE rowid IN
                (SELECT s.rowid FROM raw_payloads s
                 SEMI JOIN _rawc x ON s.payload_hash = x.h AND s.source = x.source)) s
             ON s.h = c.h AND s.source = c.source AND s.payload = c.payload"""
    )
    return scalar(con, "SELECT count(*) FROM _rawk")


def _naive(now: datetime) -> str:
    return now.astimezone(UTC).replace(tzinfo=None).isoformat()


def validation_rejects(
    result: ValidationResult, locate: Sequence[str] | None, *, first: int = 0
) -> pd.DataFrame:
    """Rows validation refused as quarantine rows, one per record, named by their location.

    `locate[i]` names row `i` of the validated frame (`file.jsonl:12`); without it the row is
    `batch row i`. Reasons name the field and the value, never a batch position, so the same
    bad record is the same quarantine row however it is batched.
    """
    by_index: dict[int, list[Rejection]] = {}
    for r in result.rejections:
        by_index.setdefault(r.index, []).append(r)
    rows = []
    for idx, rs in by_index.items():
        where = locate[idx] if locate is not None else f"batch row {first + idx}"
        who = ""
        if locate is None:  # no file and line to name it: name the event by id and source
            who = f"event id={rs[0].event_id!r}" if rs[0].event_id else "event"
            who += f" ({rs[0].source}): " if rs[0].source else ": "
        rows.append(
            {
                "source": rs[0].source or "unknown",
                "location": where,
                "field": ",".join(dict.fromkeys(r.field for r in rs)),
                "reason": "; ".join(f"{who}{r.field!r} {r.reason}" for r in rs),
                "record": record_json(result.rejected_records, idx),
            }
        )
    return pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))


def record_json(records: pd.DataFrame, idx: int) -> str:
    """One refused row as JSON text (what the quarantine keeps)."""
    if records.empty or idx not in records.index:
        return "{}"
    row = records.loc[idx]
    return json.dumps({str(k): json_value(v) for k, v in row.items()}, default=str)


def to_arrow(events: pd.DataFrame) -> pa.Table:
    """Arrow view of a canonical frame; times go in as naive UTC (the store's convention)."""
    naive = events.assign(**{c: events[c].dt.tz_localize(None) for c in TIME_COLUMNS})
    return pa.Table.from_pandas(naive, preserve_index=False)


def from_arrow(table: pa.Table) -> pd.DataFrame:
    """Canonical dtypes from an Arrow result (categories for labels, UTC microseconds)."""
    frame: pd.DataFrame = table.to_pandas()
    for col in [c for c in EVENT_COLUMNS if c in frame.columns]:
        if col == "kind":
            frame[col] = frame[col].astype(_dt.KIND_DTYPE)
        elif col in ("ts", "received_at"):
            frame[col] = pd.to_datetime(frame[col]).dt.tz_localize("UTC").astype(_dt.TS_DTYPE)
        elif col in CATEGORY_COLUMNS:
            frame[col] = frame[col].astype(_dt.STR_DTYPE).astype("category")
        else:
            frame[col] = frame[col].astype(_dt.STR_DTYPE)
    return frame


def unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a registered view; quietly when the transaction already failed (its error wins)."""
    with contextlib.suppress(duckdb.Error):
        con.unregister(name)


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single integer a query returns (0 for NULL)."""
    rows = con.execute(sql).fetchall()  # fetchall: fetchone leaves the result open
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def utc(value: pd.Timestamp | str) -> pd.Timestamp:
    """A filter instant as naive UTC (the store's convention); naive input is refused."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise StoreError(f"time filter {value!r} has no UTC offset; pass e.g. '2026-01-01T00:00Z'")
    return ts.tz_convert("UTC").tz_localize(None)


def json_value(v: Any) -> Any:
    """A JSON-friendly copy of one cell."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v
