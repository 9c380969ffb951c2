"""The connector kit: one `Collector`, one `dig`, checked times and located rejects for all sources.

Converters stay pure: they walk raw records (see `vsmml.events.connectors.payloads` for turning
text into located records), derive canonical rows, and hand them to a `Collector`, which checks
that each row carries the correlation key its kind cannot be linked without, remembers each row's
input location, counts records skipped on purpose by type, and quarantines the rest with the
field at fault. Record text in the quarantine is cut to `payloads.MAX_RECORD_CHARS`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from vsmml.deferred import deferred
from vsmml.errors import ConversionError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.connectors.payloads import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    Record,
    record_text,
    records_from,
)
from vsmml.events.schema import (
    empty_events,
    events_from_records,
)

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

Row = dict[str, Any]

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
    "rollback": ("deploy_id|sha",),
    "incident.opened": ("incident_id",),
    "incident.resolved": ("incident_id",),
    "flag.toggled": ("flag",),
}
"""The correlation keys without which an event of a kind cannot be linked to anything
(`a|b`: either will do; a git revert is a rollback known by its commit, not by a deployment)."""


class RecordError(ConversionError):
    """One field of one raw record is missing or unusable: that record alone is rejected."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field!r} {reason}")
        self.field = field
        self.reason = reason


class SkipRecord(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a converter for a record of a known type it deliberately does not convert:
    `Collector.run` counts it as skipped under `kind` (so every record is accounted for)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# -- reading values out of nested JSON -----------------------------------------------------------


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


def need(record: Any, *path: str) -> Any:
    """The value at `path` inside nested mappings, or `RecordError` naming the dotted field."""
    value = record
    for i, key in enumerate(path):
        if not isinstance(value, Mapping) or value.get(key) is None:
            raise RecordError(".".join(path[: i + 1]), "is required")
        value = value[key]
    return value


def text_of(value: Any) -> str | None:
    """A scalar as text (ids may be numbers in JSON); None for null, containers and blanks."""
    if value is None or isinstance(value, Mapping | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip()
    return text or None


def stable_id(prefix: str, *parts: object) -> str:
    """A short deterministic id from parts (the idempotency key of sources with composite ids)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{prefix}:{hashlib.sha1(text.encode('utf-8')).hexdigest()[:24]}"


def load_json(
    payload: Any, field: str = "payload", *, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> Any:
    """Parse a JSON text (dicts and lists pass through); refuse truncated or oversized text."""
    if isinstance(payload, bytes | bytearray):
        size = len(payload)
        if size > max_bytes:
            raise RecordError(field, _too_large(size, max_bytes))
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(field, f"is not UTF-8 text ({exc})") from None
    if not isinstance(payload, str):
        return payload
    if len(payload) * 4 > max_bytes and len(payload.encode("utf-8")) > max_bytes:
        raise RecordError(field, _too_large(len(payload.encode("utf-8")), max_bytes))
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise RecordError(field, f"is not valid JSON ({exc})") from None


def _too_large(size: int, limit: int) -> str:
    return f"is too large ({size:,} bytes > {limit:,}; raise VSMML_MAX_PAYLOAD_BYTES or split it)"


def located(raw: Any) -> Iterator[tuple[str, Any]]:
    """(location, payload) pairs from a payload, a list of payloads or a list of such pairs."""
    items = [raw] if isinstance(raw, Mapping | str | bytes) else raw
    try:
        iterator = iter(items)
    except TypeError:
        raise ConversionError(
            f"raw input must be payloads or (location, payload) pairs, got {type(raw).__name__}"
        ) from None
    for i, item in enumerate(iterator):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            yield item[0], item[1]
        else:
            yield f"record {i}", item


# -- times ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeBounds:
    """Plausible event times: not before `min_ts`, not after now + `future_tolerance`."""

    min_ts: pd.Timestamp = field(default_factory=lambda: _dt.MIN_TS)
    future_tolerance: pd.Timedelta = field(default_factory=lambda: _dt.DEFAULT_FUTURE_TOLERANCE)
    now: pd.Timestamp | None = None

    def check(self, ts: pd.Timestamp, field: str) -> pd.Timestamp:
        """Return `ts` (UTC, microseconds) or raise `RecordError` when it is absurd."""
        if ts < self.min_ts:
            raise RecordError(field, f"is before {self.min_ts.date()} (absurd), got {ts}")
        now = pd.Timestamp.now(tz="UTC") if self.now is None else self.now
        if ts > now + self.future_tolerance:
            raise RecordError(field, f"is in the future, got {ts}")
        return ts


def epoch_time(
    value: Any, field: str, *, unit: str = "ms", bounds: TimeBounds | None = None
) -> pd.Timestamp:
    """Parse epoch milliseconds (or `unit`) to a checked UTC timestamp."""
    bounds = bounds or TimeBounds()
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(field, f"must be a number of epoch {unit}, got {_show(value)}")
    if value != value or abs(value) > 1e17:
        raise RecordError(field, f"is not a usable epoch time, got {_show(value)}")
    ts = pd.Timestamp(int(value), unit=unit, tz="UTC").as_unit("us")
    return bounds.check(ts, field)


def iso_time(
    value: Any, field: str, *, naive_tz: str | None = None, bounds: TimeBounds | None = None
) -> pd.Timestamp:
    """Parse an ISO-8601 time to a checked UTC timestamp; naive values need `naive_tz`."""
    bounds = bounds or TimeBounds()
    if not isinstance(value, str) or not value.strip():
        raise RecordError(field, f"must be an ISO-8601 timestamp, got {_show(value)}")
    try:
        ts = pd.Timestamp(value.strip())
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecordError(field, f"is not a timestamp ({exc}), got {_show(value)}") from None
    if pd.isna(ts):
        raise RecordError(field, f"is not a timestamp, got {_show(value)}")
    if ts.tzinfo is None:
        if naive_tz is None:
            raise RecordError(field, f"has no UTC offset, got {_show(value)}")
        ts = ts.tz_localize(naive_tz)
    return bounds.check(ts.tz_convert("UTC").as_unit("us"), field)


def _show(value: Any) -> str:
    out = repr(value)
    return out if len(out) <= 80 else out[:77] + "..."


# -- the collector -------------------------------------------------------------------------------

_MALFORMED: Final = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    RecursionError,
)


@dataclass
class Collector:
    """Accumulates canonical rows (with their input locations), rejects and skipped-type counts
    for one conversion."""

    source: str
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row, *, location: str, record: Any, check_keys: bool = True) -> bool:
        """Keep `row` if its kind carries its correlation keys; else reject it naming the key.

        `check_keys=False` is for rows mapped onto an approximate kind, whose keys differ.
        """
        kind = row.get("kind")
        needed = REQUIRED_KEYS.get(str(kind), ()) if check_keys else ()
        missing = [k for k in needed if not any(row.get(a) for a in k.split("|"))]
        if missing:
            wanted = ", ".join(k.replace("|", " or ") for k in missing)
            self.reject(
                location,
                missing[0].split("|")[0],
                f"is missing: a {kind} event needs {wanted} to be correlated",
                record,
            )
            return False
        row.setdefault("source", self.source)
        self.rows.append(row)
        self.locations.append(location)
        return True

    def run(self, location: str, record: Any, convert: Callable[[Any], Iterable[Row]]) -> None:
        """Convert one record; a `RecordError` or a malformed-shape error rejects it alone, a
        `SkipRecord` counts it as skipped by type."""
        try:
            rows = list(convert(record))
        except SkipRecord as exc:
            self.skip(exc.kind)
            return
        except RecordError as exc:
            self.reject(location, exc.field, exc.reason, record)
            return
        except _MALFORMED as exc:
            self.reject(location, "record", f"is malformed ({type(exc).__name__}: {exc})", record)
            return
        for row in rows:
            self.add(row, location=location, record=record)

    def reject(self, location: str, field_name: str, reason: str, record: Any) -> None:
        """Record one refused input with the field at fault."""
        self.rejects.append(Reject(self.source, location, field_name, reason, record_text(record)))

    def skip(self, kind: str, count: int = 1) -> None:
        """Count `count` records of the known type `kind` as deliberately not converted."""
        self.skipped[kind] = self.skipped.get(kind, 0) + count

    def extend_rejects(self, rejects: list[Reject]) -> None:
        """Take over rejects produced while parsing."""
        self.rejects.extend(rejects)

    def result(self) -> Conversion:
        """The rows as an (unvalidated) event frame, with the rejects, each row's location (so
        the pipeline can name the file and line when validation later refuses a row) and the
        skipped counts."""
        return Conversion(
            events=_frame(self.rows),
            rejects=list(self.rejects),
            locations=list(self.locations),
            skipped=dict(self.skipped),
            notes=list(self.notes),
        )


def _frame(rows: list[Row]) -> pd.DataFrame:
    """Event dicts to an event frame; times given as Timestamps become the UTC time dtype (text
    times stay text, for validation to check)."""
    if not rows:
        return empty_events()
    frame = events_from_records(rows)
    for col in ("ts", "received_at"):
        values = frame[col]
        present = values.notna()
        if present.any() and all(isinstance(v, pd.Timestamp) for v in values[present]):
            frame[col] = pd.to_datetime(values, utc=True).astype(_dt.TS_DTYPE)
    return frame


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
    """The JSON objects in `raw` (see `payloads.records_from`), located; what cannot be parsed
    and what is not an object go to `collector` as rejects (parse rejects at once, the others
    as the iteration reaches them)."""
    records, rejects = records_from(
        raw, source=collector.source, location=location, max_bytes=max_bytes
    )
    collector.extend_rejects(rejects)
    return iter_objects(records, collector)
