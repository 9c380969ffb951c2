"""Payload text → located JSON records, with the kit's size limits (part of the connector kit).

Converters stay pure: they receive text (or already-parsed JSON) and return a `Conversion`. This
module turns text into records with a location each (`file.jsonl:12`, `payload.json[3]`), refuses
oversize payloads with a clear reason, and cuts the record text kept in the quarantine to
`MAX_RECORD_CHARS`. Rows are collected by `vsmml.events.connectors.kit.Collector`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from vsmml.events.connectors.base import Reject

DEFAULT_MAX_PAYLOAD_BYTES: Final = 10 * 2**20
"""Payloads (a whole JSON document, or one JSON Lines line) above this size are refused."""

MAX_RECORD_CHARS: Final = 64 * 1024
"""Quarantined records are cut to this many characters (the raw payload keeps the whole)."""


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
    except (TypeError, ValueError, RecursionError):
        return clip(repr(record))


def http_content_type(headers: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The headers keyed by lower-case name, and the media type of ``content-type`` (lower case,
    parameters dropped; ``application/json`` when the header is absent)."""
    low = {k.lower(): v for k, v in headers.items()}
    return low, low.get("content-type", "application/json").split(";")[0].strip().lower()


def body_head(body: str | bytes, limit: int = 2048) -> str:
    """The first `limit` characters (or bytes, decoded leniently) of an HTTP body, for a reject."""
    return body[:limit] if isinstance(body, str) else body[:limit].decode("utf-8", "replace")


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
    located `location[i]`). Text that does not is JSON Lines when it looks like it (see
    `looks_like_json_lines`): every non-blank line is parsed on its own (located
    `location:line`), so one truncated line is refused while its neighbours land. Otherwise it
    is one malformed document: one reject, whose reason gives the parse error's line and column.
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
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if "\n" not in stripped or not looks_like_json_lines(text):
                reason = f"is not valid JSON ({_at_line(exc, first_line)})"
                return [], [Reject(source, location, "payload", reason, clip(text))]
        except ValueError as exc:
            return [], [Reject(source, location, "payload", f"is not valid JSON ({exc})", "")]
        except RecursionError:
            return [], [Reject(source, location, "payload", "is nested too deeply", clip(text))]
        else:
            if isinstance(value, list):
                return [Record(f"{location}[{i}]", v) for i, v in enumerate(value)], []
            return [Record(location, value)], []
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


def _at_line(exc: json.JSONDecodeError, first_line: int) -> str:
    """The parse error with the line counted from `first_line` (the file's own numbering)."""
    return f"{exc.msg}: line {exc.lineno + first_line - 1} column {exc.colno} (char {exc.pos})"


def _parses(line: str, *, objects_only: bool = False) -> bool:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return (isinstance(value, dict) and bool(value)) or not objects_only


def looks_like_json_lines(text: str, sample: int = 1000) -> bool:
    """Whether text that is not one JSON document is JSON Lines (read line by line) rather than
    one malformed, pretty-printed document (refused whole, with the parse error's position).

    JSON Lines when its first non-blank line is a JSON value on its own, or when any of its
    first `sample` non-blank lines is a (non-empty) JSON object on its own (a JSON Lines file
    whose first line is the broken one). A pretty-printed document starts with a lone `{` or
    `[` and spreads every non-empty object over several lines.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    if _parses(lines[0]):
        return True
    return any(_parses(line, objects_only=True) for line in lines[:sample])


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
