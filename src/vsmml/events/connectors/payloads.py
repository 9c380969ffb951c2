"""Shared parsing for JSON connectors: payload text → located records, and rows → Conversion.

Converters stay pure: they receive text (or already-parsed JSON) and return a `Conversion`. This
module turns text into records with a location each (`file.jsonl:12`, `payload.json[3]`), refuses
oversize payloads with a clear reason, and collects canonical rows while checking that each kind
carries the correlation key it cannot be linked without.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.schema import events_from_records

DEFAULT_MAX_PAYLOAD_BYTES: Final = 10 * 2**20
"""Payloads (a whole JSON document, or one JSON Lines line) above this size are refused."""

MAX_RECORD_CHARS: Final = 64 * 1024
"""Quarantined records are cut to this many characters (the raw payload keeps the whole)."""

REQUIRED_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "commit": ("sha",),
    "change.opened": ("change_id",),
    "change.reviewed": ("change_id",),
    "change.merged": ("change_id",),
    "change.closed": ("change_id",),
    "pipeline.started": ("pipeline_id",),
    "pipeline.finished": ("pipeline_id",),
    "stage.started": ("pipeline_id", "stage"),
    "stage.finished": ("pipeline_id", "stage"),
    "artifact.published": ("artifact_id",),
    "artifact.promoted": ("artifact_id",),
    "deploy.started": ("deploy_id",),
    "deploy.finished": ("deploy_id",),
    "rollback": ("deploy_id",),
    "incident.opened": ("incident_id",),
    "incident.resolved": ("incident_id",),
    "flag.toggled": ("flag",),
}
"""The correlation keys without which an event of a kind cannot be linked to anything."""


def clip(text: str, limit: int = MAX_RECORD_CHARS) -> str:
    """Cut `text` to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"


def record_text(record: Any) -> str:
    """A record as (clipped) JSON text for the quarantine."""
    if isinstance(record, str):
        return clip(record)
    try:
        return clip(json.dumps(record, default=str, sort_keys=True))
    except (TypeError, ValueError):
        return clip(repr(record))


def http_content_type(headers: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The headers keyed by lower-case name, and the media type of ``content-type`` (lower case,
    parameters dropped; ``application/json`` when the header is absent)."""
    low = {k.lower(): v for k, v in headers.items()}
    return low, low.get("content-type", "application/json").split(";")[0].strip().lower()


def body_head(body: str | bytes, limit: int = 2048) -> str:
    """The first `limit` characters (or bytes, decoded leniently) of an HTTP body, for a reject."""
    return body[:limit] if isinstance(body, str) else body[:limit].decode("utf-8", "replace")


def stable_id(prefix: str, *parts: object) -> str:
    """A short deterministic id from parts (the idempotency key of sources with composite ids)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{prefix}:{hashlib.sha1(text.encode('utf-8')).hexdigest()[:24]}"


def dig(obj: Any, *path: str | int) -> Any:
    """Follow keys/indices into nested JSON; None when any step is missing or of the wrong type."""
    cur = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                return None
            cur = cur[step]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(step)
        if cur is None:
            return None
    return cur


def text_of(value: Any) -> str | None:
    """A scalar as text (ids may be numbers in JSON); None for null, containers and blanks."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class Record:
    """One parsed JSON value and where it came from."""

    location: str
    value: Any


def parse_records(
    text: str | bytes,
    *,
    source: str,
    location: str,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    first_line: int = 1,
) -> tuple[list[Record], list[Reject]]:
    """Parse a JSON document, a JSON array, or JSON Lines into located records.

    A document that parses as one JSON value gives one record (an array gives one per element,
    located `location[i]`); otherwise every non-blank line is parsed on its own (located
    `location:line`), so one truncated line is refused while its neighbours land.
    """
    rejects: list[Reject] = []
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            return [], [oversize(source, location, len(text), max_bytes, text[:2048])]
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [], [Reject(source, location, "payload", f"is not UTF-8 text ({exc})", "")]
    size = len(text.encode("utf-8")) if len(text) * 4 > max_bytes else len(text)
    stripped = text.strip()
    if not stripped:
        return [], [Reject(source, location, "payload", "is empty", "")]
    if size <= max_bytes:
        try:
            value = json.loads(stripped)
        except ValueError:
            value = _NOT_JSON
        except RecursionError:
            return [], [Reject(source, location, "payload", "is nested too deeply", clip(text))]
        if value is not _NOT_JSON:
            if isinstance(value, list):
                return [Record(f"{location}[{i}]", v) for i, v in enumerate(value)], []
            return [Record(location, value)], []
        if "\n" not in stripped:
            try:
                json.loads(stripped)
            except ValueError as exc:
                reason = f"is not valid JSON ({exc})"
                return [], [Reject(source, location, "payload", reason, clip(text))]
    elif "\n" not in stripped:
        return [], [oversize(source, location, size, max_bytes, text[:2048])]
    records: list[Record] = []
    for number, raw_line in enumerate(text.split("\n"), start=first_line):
        line = raw_line.strip()
        if not line:
            continue
        where = f"{location}:{number}"
        if len(line) > max_bytes:
            rejects.append(oversize(source, where, len(line), max_bytes, line[:2048]))
            continue
        try:
            records.append(Record(where, json.loads(line)))
        except ValueError as exc:
            rejects.append(
                Reject(source, where, "payload", f"is not valid JSON ({exc})", clip(line))
            )
        except RecursionError:
            rejects.append(Reject(source, where, "payload", "is nested too deeply", clip(line)))
    return records, rejects


_NOT_JSON: Final = object()


def records_from(
    raw: Any, *, source: str, location: str, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> tuple[list[Record], list[Reject]]:
    """Located records from any raw input a converter accepts.

    `raw` is payload text (JSON, JSON array or JSON Lines), a parsed JSON value, a list of
    values (located `location[i]`), or a list of `(location, payload)` tuples as the pipeline
    passes stored raw payloads (each payload text or an already-parsed value).
    """
    if isinstance(raw, str | bytes):
        return parse_records(raw, source=source, location=location, max_bytes=max_bytes)
    if not isinstance(raw, list | tuple):
        return [Record(location, raw)], []
    records: list[Record] = []
    rejects: list[Reject] = []
    for i, item in enumerate(raw):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            where, value = item
            if isinstance(value, str | bytes):
                found, bad = parse_records(
                    value, source=source, location=where, max_bytes=max_bytes
                )
                records.extend(found)
                rejects.extend(bad)
            else:
                records.append(Record(where, value))
        else:
            records.append(Record(f"{location}[{i}]", item))
    return records, rejects


def oversize(source: str, location: str, size: int, limit: int, head: str | bytes) -> Reject:
    """The reject for a payload above the configured maximum size."""
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    return Reject(
        source,
        location,
        "payload",
        f"is {size:,} bytes, above the maximum payload size of {limit:,} bytes "
        "(raise VSMML_MAX_PAYLOAD_BYTES or split the payload)",
        clip(head, 2048),
    )


@dataclass
class Collector:
    """Accumulates canonical rows and rejects for one conversion."""

    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)

    def add(
        self, row: dict[str, Any], *, location: str, record: Any, check_keys: bool = True
    ) -> bool:
        """Keep `row` if its kind carries its correlation keys; else reject it naming the key.

        `check_keys=False` is for rows mapped onto an approximate kind, whose keys differ.
        """
        kind = row.get("kind")
        needed = REQUIRED_KEYS.get(str(kind), ()) if check_keys else ()
        missing = [k for k in needed if not row.get(k)]
        if missing:
            self.reject(
                location,
                missing[0],
                f"is missing: a {kind} event needs {', '.join(missing)} to be correlated",
                record,
            )
            return False
        row.setdefault("source", self.source)
        self.rows.append(row)
        self.locations.append(location)
        return True

    def reject(self, location: str, field_name: str, reason: str, record: Any) -> None:
        """Record one refused input with the field at fault."""
        self.rejects.append(Reject(self.source, location, field_name, reason, record_text(record)))

    def extend_rejects(self, rejects: list[Reject]) -> None:
        """Take over rejects produced while parsing."""
        self.rejects.extend(rejects)

    def result(self) -> Conversion:
        """The rows as an (unvalidated) event frame, with the rejects and each row's location
        (so the pipeline can name the file and line when validation later refuses a row)."""
        if not self.rows:
            return Conversion(rejects=list(self.rejects), locations=[])
        frame = events_from_records(self.rows)
        return Conversion(events=frame, rejects=list(self.rejects), locations=list(self.locations))


def iter_objects(records: list[Record], collector: Collector) -> Iterator[Record]:
    """Yield the records that are JSON objects; reject the others naming their type."""
    for rec in records:
        if isinstance(rec.value, dict):
            yield rec
        else:
            collector.reject(
                rec.location,
                "payload",
                f"must be a JSON object, got {type(rec.value).__name__}",
                rec.value,
            )


def objects_from(
    raw: Any, collector: Collector, *, location: str, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> Iterator[Record]:
    """The JSON objects in `raw` (see `records_from`), located; what cannot be parsed and what
    is not an object go to `collector` as rejects (parse rejects at once, the others as the
    iteration reaches them)."""
    records, rejects = records_from(
        raw, source=collector.source, location=location, max_bytes=max_bytes
    )
    collector.extend_rejects(rejects)
    return iter_objects(records, collector)
