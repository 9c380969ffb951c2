"""Canonical rows (JSON Lines lines, CSV rows) checked and normalised in DuckDB SQL, vectorised.

A batch arrives as an Arrow table of located lines (`line_no`, `line`) or of CSV cells. One
query parses every line once, decides which rows are *regular* and valid — an object of
canonical keys with text values, a known kind, an ISO-8601 time with an offset inside the
accepted range, `attrs` an object within the nesting limit — and builds their canonical
columns (UTC times, environment and status folded, defaults filled). Everything else (not
JSON, extra keys, numbers in odd places, a bad time, ...) is handed back to the Python
reference converter (`events.connectors.files`) so its reason names the field and the record
exactly as for every other source; such rows are rare, so the batch keeps DuckDB's speed.

The rules mirror `events.validate.validate_events` and `files.to_events`; a property test
checks both paths give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import duckdb
import pyarrow as pa

from vsmml.deferred import deferred
from vsmml.events.columns import EVENT_COLUMNS, KEY_COLUMNS, KINDS
from vsmml.events.validate import FUTURE_TOLERANCE, MIN_TIME, derive_event_ids
from vsmml.store.sql import scalar, unregister

TEXT_FIELDS: Final = tuple(c for c in EVENT_COLUMNS if c not in ("ts", "received_at", "attrs"))
_TYPED: Final = {c: "TIMESTAMP" if c in ("ts", "received_at") else "VARCHAR" for c in EVENT_COLUMNS}
_WS: Final = " \t\n\r\x0b\x0c"
_TS_RE: Final = (
    r"^\d{4}-[01]\d-[0-3]\d[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
    r"(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)$"
)

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")
_ENV: Final = {
    "production": ("production", "prod", "prd", "live", "main"),
    "staging": ("staging", "stage", "stg", "preprod", "pre-production", "uat"),
    "test": ("test", "testing", "qa", "ci", "dev", "development", "sandbox"),
}
_STATUS: Final = {
    "success": ("success", "succeeded", "successful", "passed", "pass", "ok"),
    "failure": ("failure", "failed", "fail", "error", "errored", "broken"),
    "cancelled": ("cancelled", "canceled", "aborted", "skipped_by_user"),
    "started": ("started", "running", "in_progress", "pending", "queued"),
}


def _lit(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _fold(col: str, table: dict[str, tuple[str, ...]], other: str | None) -> str:
    low = f"lower(trim({col}, '{_WS}'))"
    cases = " ".join(f"WHEN list_contains({_lit(v)}, {low}) THEN '{k}'" for k, v in table.items())
    rest = f"'{other}'" if other else low
    return f"CASE WHEN {col} IS NULL THEN NULL {cases} ELSE {rest} END"


@dataclass(frozen=True)
class Defaults:
    """What a row that names no source, service or team gets, and the limits it must meet."""

    source: str = "file"
    service: str | None = None
    team: str | None = None
    max_depth: int = 64


def _jsonl_front() -> str:
    """Lines → candidate fields (text) and whether the shape is regular.

    Extra keys are found cheaply first: when the line has as many keys as canonical fields
    came out non-null, there is none; only other lines (explicit nulls, extras) compare names.
    """
    struct = "{" + ", ".join(f'"{c}": "VARCHAR"' for c in (*TEXT_FIELDS, "ts", "received_at"))
    struct += ', "attrs": "JSON"}'
    names = ", ".join(f"'{c}'" for c in EVENT_COLUMNS)
    fields = ", ".join(f"s.{c} AS {c}" for c in (*TEXT_FIELDS, "ts", "received_at"))
    present = " + ".join(f"(s.{c} IS NOT NULL)::INT" for c in EVENT_COLUMNS)
    return f"""
        SELECT line_no, {fields},
               CASE WHEN s.attrs IS NULL THEN NULL ELSE s.attrs::VARCHAR END AS attrs,
               CASE WHEN s IS NULL THEN false
                    WHEN s.attrs IS NOT NULL AND ord(s.attrs::VARCHAR) <> 123 THEN false
                    WHEN len(json_keys(line)) = {present} THEN true
                    ELSE list_bool_and(list_transform(json_keys(line),
                                                      lambda k: k IN ({names})))
               END AS shape_ok
        FROM (SELECT line_no, line,
                     CASE WHEN ord(line) = 123 THEN try(json_transform(line, '{struct}')) END AS s
              FROM _lines)"""


def payload_sql(columns: list[str] | None) -> str:
    """The raw payload of a row of `_lines`: the line itself, or a CSV row as the JSON object
    of its cells (what `vsmml replay` reads back)."""
    if columns is None:
        return "line"
    pairs = ", ".join(f"'{c}', coalesce(\"{c}\", '')" for c in columns)
    return f"json_object({pairs})::VARCHAR" if columns else "'{}'"


def _csv_front(columns: list[str]) -> str:
    """CSV cells (text, null for an empty cell) → the same candidate fields."""
    present = set(columns)
    fields = ", ".join(
        f'"{c}" AS {c}' if c in present else f"NULL::VARCHAR AS {c}"
        for c in (*TEXT_FIELDS, "ts", "received_at")
    )
    extra = [c for c in columns if c not in EVENT_COLUMNS]
    attrs = '"attrs"' if "attrs" in present else "NULL::VARCHAR"
    shape = "false" if extra else "true"
    return f"""
        SELECT line_no, {fields},
               CASE WHEN {attrs} IS NULL THEN NULL
                    WHEN ord({attrs}) = 123 AND json_valid({attrs}) THEN json({attrs})::VARCHAR
               END AS attrs,
               {shape} AND ({attrs} IS NULL OR ord({attrs}) = 123 AND json_valid({attrs}))
                 AS shape_ok
        FROM _lines"""


def _checked(front: str, d: Defaults) -> str:
    """Candidate fields → regular flag and canonical columns (see module docstring)."""
    text_ok = " AND ".join(
        f"coalesce(ord({c}) > 32 AND ord({c}) NOT IN (91, 123), true)" for c in TEXT_FIELDS
    )
    deep = (
        f"CASE WHEN attrs IS NULL OR length(attrs) < {d.max_depth} THEN true ELSE"
        f" length(attrs) - length(replace(replace(attrs, '{{', ''), '[', ''))"
        f" < {d.max_depth} END"
    )
    svc = "NULL" if d.service is None else "'" + d.service.replace("'", "''") + "'"
    team = "NULL" if d.team is None else "'" + d.team.replace("'", "''") + "'"
    src = "'" + d.source.replace("'", "''") + "'"
    return f"""
        SELECT *, coalesce(shape_ok AND {text_ok} AND {deep}
                  AND list_contains({_lit(KINDS)}, kind)
                  AND ts_utc IS NOT NULL AND ts_utc >= $min_ts AND ts_utc <= $max_ts
                  AND (received_at IS NULL OR rec_utc IS NOT NULL), false)
                  AS regular,
               coalesce(source, {src}) AS c_source,
               coalesce(service, {svc}) AS c_service,
               coalesce(team, {team}) AS c_team,
               {_fold("env", _ENV, "other")} AS c_env,
               {_fold("status", _STATUS, None)} AS c_status
        FROM (SELECT *,
                CASE WHEN regexp_full_match(ts, '{_TS_RE}')
                     THEN try_cast(ts AS TIMESTAMPTZ)::TIMESTAMP END AS ts_utc,
                CASE WHEN regexp_full_match(received_at, '{_TS_RE}')
                     THEN try_cast(received_at AS TIMESTAMPTZ)::TIMESTAMP END AS rec_utc
              FROM ({front}))"""


class CanonicalBatch:
    """One batch of canonical rows inside DuckDB: classify, then hand out what Python needs.

    Use: `CanonicalBatch(con, lines, ...)` (registers the batch and the checking view),
    `scan()` stages the regular rows and finds those the Python converter must judge,
    `payloads()` gives their text, `good_table()` adds the converter's events (in file order),
    then `derive_ids()` and `drop()`. The JSON of each line is parsed in one pass (classify
    and stage together); the staged rows are the only copy made before the insert.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: pa.Table,
        *,
        defaults: Defaults,
        now: datetime,
        csv_columns: list[str] | None = None,
    ) -> None:
        self.con = con
        self.rows = int(table.num_rows)
        self.payload = payload_sql(csv_columns)
        self.csv = csv_columns is not None
        self.now = now
        con.register("_lines", table)
        front = _jsonl_front() if csv_columns is None else _csv_front(csv_columns)
        limit = now.astimezone(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE
        checked = _checked(front, defaults)
        low = MIN_TIME.replace(tzinfo=None).isoformat()
        checked = checked.replace("$min_ts", f"TIMESTAMP '{low}'")
        checked = checked.replace("$max_ts", f"TIMESTAMP '{limit.isoformat()}'")
        con.execute(f"CREATE OR REPLACE TEMP VIEW _cv AS {checked}")
        self.fallback_lines: list[int] = []

    def scan(self) -> int:
        """Stage the regular rows in canonical columns into `_batch` (the one pass that parses
        each line) and find the others (`fallback_lines`); returns how many are regular."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS {self._regular_sql()}")
        regular = scalar(self.con, "SELECT count(*) FROM _batch")
        if regular == self.rows:
            self.fallback_lines = []
            return regular
        rows = self.con.execute(
            "SELECT line_no FROM _lines ANTI JOIN _batch USING (line_no) ORDER BY line_no"
        ).fetchall()
        self.fallback_lines = [int(r[0]) for r in rows]
        return regular

    def payloads(self) -> list[tuple[int, str]]:
        """(line number, payload) of the rows the Python reference converter must judge."""
        if not self.fallback_lines:
            return []
        rows = self.con.execute(
            f"""SELECT line_no, {self.payload} FROM _lines
                WHERE line_no IN (SELECT unnest(?::BIGINT[])) ORDER BY line_no""",
            [self.fallback_lines],
        ).fetchall()
        return [(int(n), str(p)) for n, p in rows]

    def raw(self, source: str, name: str) -> str:
        """The view `_craw` (pos, source, location, payload) of every non-blank row; returns
        its name."""
        quoted = "'" + name.replace("'", "''") + ":'"
        src = "'" + source.replace("'", "''") + "'"
        # A CSV row's payload is a JSON object, never blank: filtering it would build it twice.
        # A CASE, not `ord(...) > 32 OR trim(...) <> ''`: DuckDB evaluates both sides of an OR
        # on every row, so each read of the view trimmed every line (0.1 s CPU per 250 k).
        kept = f"CASE WHEN ord(payload) > 32 THEN true ELSE trim(payload, '{_WS}') <> '' END"
        blank = "" if self.csv else f"WHERE {kept}"
        self.con.execute(
            f"""CREATE OR REPLACE TEMP VIEW _craw AS
                SELECT line_no AS pos, {src} AS source, {quoted} || line_no AS location,
                       payload FROM
                  (SELECT line_no, {self.payload} AS payload FROM _lines)
                {blank}"""
        )
        return "_craw"

    def _regular_sql(self) -> str:
        now = self.now.astimezone(UTC).replace(tzinfo=None).isoformat()
        cols = {
            "kind": "kind",
            "ts": "ts_utc",
            "received_at": f"coalesce(rec_utc, TIMESTAMP '{now}')",
            "source": "c_source",
            "service": "c_service",
            "team": "c_team",
            "env": "c_env",
            "status": "c_status",
        }
        mine = ", ".join(f"CAST({cols.get(c, c)} AS {_TYPED[c]}) AS {c}" for c in EVENT_COLUMNS)
        return f"""SELECT line_no, 0::BIGINT AS sub, env AS raw_env, status AS raw_status, {mine}
                   FROM _cv WHERE regular"""

    def good_table(self, fallback: pa.Table | None = None) -> None:
        """Complete `_batch` (the regular rows `scan` staged) with the fallback's valid events
        (columns of the canonical frame plus `line_no`, `sub`), in file order, so the first of
        two rows with one id is the first in the file whichever path judged it."""
        if fallback is None or not fallback.num_rows:
            return
        self.con.register("_fb", fallback)
        theirs = ", ".join(f"CAST({c} AS {_TYPED[c]}) AS {c}" for c in EVENT_COLUMNS)
        try:
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _batch AS
                    SELECT * FROM (SELECT * FROM _batch UNION ALL
                                   SELECT line_no, sub, NULL, NULL, {theirs} FROM _fb)
                    ORDER BY line_no, sub"""
            )
        finally:
            unregister(self.con, "_fb")

    def derive_ids(self) -> None:
        """Give regular rows without an `event_id` the id `derive_event_ids` would give them."""
        where = "FROM _batch WHERE event_id IS NULL"
        if not scalar(self.con, f"SELECT count(*) {where}"):
            return
        cols = ["source", "kind", "service", "repo", "raw_env", *KEY_COLUMNS, "raw_status", "ts"]
        frame = self.con.execute(f"SELECT line_no, sub, {', '.join(cols)} {where}").df()
        part = frame[cols].rename(columns={"raw_env": "env", "raw_status": "status"})
        part["ts"] = pd.to_datetime(part["ts"]).dt.tz_localize("UTC").astype(_dt.TS_DTYPE)
        ids = pd.DataFrame(
            {
                "line_no": frame["line_no"],
                "sub": frame["sub"],
                "id": derive_event_ids(part).to_numpy(),
            }
        )
        self.con.register("_ids", pa.Table.from_pandas(ids, preserve_index=False))
        try:
            self.con.execute(
                """UPDATE _batch SET event_id = _ids.id FROM _ids
                   WHERE _batch.line_no = _ids.line_no AND _batch.sub = _ids.sub"""
            )
        finally:
            unregister(self.con, "_ids")

    def drop(self) -> None:
        """Drop the batch's temporary tables and views."""
        self.con.execute(
            "DROP TABLE IF EXISTS _batch; DROP VIEW IF EXISTS _craw; DROP VIEW IF EXISTS _cv"
        )
        unregister(self.con, "_lines")
