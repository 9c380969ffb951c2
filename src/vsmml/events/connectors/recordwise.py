"""Record-by-record conversion for file and API connectors: checked times and located rejects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from vsmml.errors import ConversionError
from vsmml.events.connectors.base import Conversion, Reject
from vsmml.events.schema import (
    DEFAULT_FUTURE_TOLERANCE,
    MIN_TS,
    TS_DTYPE,
    empty_events,
    events_from_records,
)

MAX_RECORD_CHARS: Final = 100_000
Row = dict[str, Any]


class RecordError(ConversionError):
    """One field of one raw record is missing or unusable: that record alone is rejected."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field!r} {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TimeBounds:
    """Plausible event times: not before `min_ts`, not after now + `future_tolerance`."""

    min_ts: pd.Timestamp = MIN_TS
    future_tolerance: pd.Timedelta = DEFAULT_FUTURE_TOLERANCE
    now: pd.Timestamp | None = None

    def check(self, ts: pd.Timestamp, field: str) -> pd.Timestamp:
        """Return `ts` (UTC, microseconds) or raise `RecordError` when it is absurd."""
        if ts < self.min_ts:
            raise RecordError(field, f"is before {self.min_ts.date()} (absurd), got {ts}")
        now = pd.Timestamp.now(tz="UTC") if self.now is None else self.now
        if ts > now + self.future_tolerance:
            raise RecordError(field, f"is in the future, got {ts}")
        return ts


DEFAULT_BOUNDS: Final = TimeBounds()


def epoch_time(
    value: Any, field: str, *, unit: str = "ms", bounds: TimeBounds = DEFAULT_BOUNDS
) -> pd.Timestamp:
    """Parse epoch milliseconds (or `unit`) to a checked UTC timestamp."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(field, f"must be a number of epoch {unit}, got {_show(value)}")
    if value != value or abs(value) > 1e17:
        raise RecordError(field, f"is not a usable epoch time, got {_show(value)}")
    ts = pd.Timestamp(int(value), unit=unit, tz="UTC").as_unit("us")
    return bounds.check(ts, field)


def iso_time(
    value: Any, field: str, *, naive_tz: str | None = None, bounds: TimeBounds = DEFAULT_BOUNDS
) -> pd.Timestamp:
    """Parse an ISO-8601 time to a checked UTC timestamp; naive values need `naive_tz`."""
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


def need(record: Any, *path: str) -> Any:
    """The value at `path` inside nested mappings, or `RecordError` naming the dotted field."""
    value = record
    for i, key in enumerate(path):
        if not isinstance(value, Mapping) or value.get(key) is None:
            raise RecordError(".".join(path[: i + 1]), "is required")
        value = value[key]
    return value


def dig(record: Any, *path: str | int) -> Any:
    """The value at `path` inside nested mappings/lists, or None when any step is missing."""
    value = record
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        elif isinstance(value, Mapping):
            value = value.get(key)
        else:
            return None
    return value


def text(value: Any) -> str | None:
    """A non-empty string, or None."""
    if value is None or isinstance(value, Mapping | list):
        return None
    out = str(value).strip()
    return out or None


def load_json(payload: Any, field: str = "payload", *, max_chars: int | None = None) -> Any:
    """Parse a JSON string (dicts and lists pass through); reject truncated or oversized text."""
    if isinstance(payload, bytes | bytearray):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(field, f"is not UTF-8 text ({exc})") from None
    if not isinstance(payload, str):
        return payload
    if max_chars is not None and len(payload) > max_chars:
        raise RecordError(field, f"is too large ({len(payload):,} characters > {max_chars:,})")
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise RecordError(field, f"is not valid JSON ({exc})") from None


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


def record_json(record: Any) -> str:
    """The raw record as JSON text for the quarantine (very large records are cut)."""
    try:
        out = record if isinstance(record, str) else json.dumps(record, default=str)
    except (ValueError, TypeError, RecursionError):
        out = repr(record)
    if len(out) > MAX_RECORD_CHARS:
        out = out[:MAX_RECORD_CHARS] + f"... (cut, {len(out):,} characters)"
    return out


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
    """Gathers event rows and rejects while a converter walks raw records one by one."""

    source: str
    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def reject(self, location: str, field: str, reason: str, record: Any) -> None:
        """Quarantine one record with the field at fault and why."""
        self.rejects.append(Reject(self.source, location, field, reason, record_json(record)))

    def run(self, location: str, record: Any, convert: Callable[[Any], Iterable[Row]]) -> None:
        """Convert one record; any `RecordError` or malformed-shape error rejects it alone."""
        try:
            rows = list(convert(record))
        except RecordError as exc:
            self.reject(location, exc.field, exc.reason, record)
            return
        except _MALFORMED as exc:
            self.reject(location, "record", f"is malformed ({type(exc).__name__}: {exc})", record)
            return
        for row in rows:
            row.setdefault("source", self.source)
        self.rows.extend(rows)

    def conversion(self) -> Conversion:
        """The collected rows as an (unvalidated) event frame, with the rejects."""
        return Conversion(events=rows_to_frame(self.rows), rejects=list(self.rejects))


def rows_to_frame(rows: list[Row]) -> pd.DataFrame:
    """Event dicts (ts as UTC Timestamps, attrs as dicts) to an event frame."""
    if not rows:
        return empty_events()
    frame = events_from_records(rows)
    for col in ("ts", "received_at"):
        if frame[col].notna().any():
            frame[col] = pd.to_datetime(frame[col], utc=True).astype(TS_DTYPE)
    return frame


def _show(value: Any) -> str:
    out = repr(value)
    return out if len(out) <= 80 else out[:77] + "..."
