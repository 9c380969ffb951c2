"""Validation of event frames and records against the contract, reporting every bad record."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from vsmml.deferred import deferred
from vsmml.errors import SchemaError
from vsmml.events.columns import (
    CATEGORY_COLUMNS,
    EVENT_COLUMNS,
    KEY_COLUMNS,
    KINDS,
    REQUIRED_COLUMNS,
    TEXT_COLUMNS,
    attrs_to_json,
    to_canonical,
    to_jsonable,
)

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
    from vsmml.events.dtypes import DEFAULT_FUTURE_TOLERANCE as DEFAULT_FUTURE_TOLERANCE
    from vsmml.events.dtypes import MIN_TS as MIN_TS
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

MIN_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
"""No event happened before this (`MIN_TS` is the same instant as a pandas timestamp)."""
FUTURE_TOLERANCE: Final = timedelta(days=1)
"""How far past now an event time may lie (clock skew); `DEFAULT_FUTURE_TOLERANCE` in pandas."""
_OFFSET_RE: Final = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)\s*$"


@dataclass(frozen=True)
class Rejection:
    """One reason one input record was refused: its position, field and what was wrong."""

    index: int
    field: str
    reason: str
    event_id: str | None = None
    source: str | None = None

    def message(self) -> str:
        """Human-readable line naming the record and the field."""
        where = f"event {self.index}"
        if self.source:
            where += f" ({self.source})"
        if self.event_id:
            where += f" id={self.event_id!r}"
        return f"{where}: {self.field!r} {self.reason}"


@dataclass
class ValidationResult:
    """Valid rows in canonical form plus every rejected record with its reasons."""

    events: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)
    rejected_records: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())

    @property
    def ok(self) -> bool:
        """True when every input record was accepted."""
        return not self.rejections

    def messages(self) -> list[str]:
        """Every rejection as a readable line."""
        return [r.message() for r in self.rejections]

    def quarantine_frame(self) -> pd.DataFrame:
        """One row per rejected record: index, source, field(s), reason(s), record as JSON."""
        cols = ["index", "event_id", "source", "field", "reason", "record"]
        if not self.rejections:
            return pd.DataFrame({c: pd.Series(dtype=_dt.STR_DTYPE) for c in cols}).astype(
                {"index": "int64"}
            )
        by_index: dict[int, list[Rejection]] = {}
        for r in self.rejections:
            by_index.setdefault(r.index, []).append(r)
        rows = []
        for idx, rs in by_index.items():
            record = _record_json(self.rejected_records, idx)
            rows.append(
                {
                    "index": idx,
                    "event_id": rs[0].event_id,
                    "source": rs[0].source,
                    "field": ",".join(dict.fromkeys(r.field for r in rs)),
                    "reason": "; ".join(r.message() for r in rs),
                    "record": record,
                }
            )
        return pd.DataFrame(rows, columns=cols)


def _record_json(records: pd.DataFrame, idx: int) -> str:
    if records.empty or idx not in records.index:
        return "{}"
    row = records.loc[idx]
    return json.dumps({str(k): to_jsonable(v) for k, v in row.items()}, default=str)


def parse_timestamps(values: pd.Series, *, tz: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse a column to UTC microseconds.

    Returns the parsed series (NaT where invalid or null) and, aligned with it, the reason each
    invalid non-null value was refused (null where the value parsed). Naive values need `tz`.
    """
    no_reason = pd.Series(np.nan, index=values.index, dtype=_dt.STR_DTYPE)
    nat = pd.Series(pd.NaT, index=values.index, dtype=_dt.TS_DTYPE)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("us"), no_reason
    if pd.api.types.is_datetime64_dtype(values.dtype):
        if tz is None:
            return nat, no_reason.mask(values.notna(), _NAIVE)
        out = values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        out = out.dt.tz_convert("UTC").dt.as_unit("us")
        return out, no_reason.mask(values.notna() & out.isna(), f"does not exist in {tz}")
    if len(values) == 0:
        return nat, no_reason
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return nat, no_reason.mask(values.notna(), _NOT_ISO)
    text = values.map(lambda v: v if v is None or isinstance(v, str) else _stringify_time(v))
    text = text.astype(_dt.STR_DTYPE)
    present = text.notna() & (text.str.strip() != "")
    has_offset = text.str.contains(_OFFSET_RE, regex=True, na=False)
    aware = pd.to_datetime(text.where(has_offset), utc=True, format="ISO8601", errors="coerce")
    parsed = pd.Series(aware, index=values.index)
    if tz is not None:
        naive = pd.to_datetime(text.where(~has_offset), format="ISO8601", errors="coerce")
        local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        parsed = parsed.where(has_offset, local)
    parsed = parsed.dt.as_unit("us")
    bad = present & parsed.isna()
    reasons = no_reason.mask(bad, _NOT_ISO)
    if tz is None:
        iso_like = text.str.match(r"^\s*\d{4}-\d{2}-\d{2}", na=False)
        reasons = reasons.mask(bad & ~has_offset & iso_like, _NAIVE)
    return parsed, reasons


_NAIVE: Final = "has no UTC offset (naive timestamps are refused unless the source names a zone)"
_NOT_ISO: Final = "must be an ISO-8601 timestamp with a UTC offset"


def _stringify_time(v: Any) -> str | None:
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "isoformat"):
        try:
            return str(pd.Timestamp(v).isoformat())
        except (ValueError, TypeError):
            return str(v)
    if isinstance(v, int | float):
        return f"<number {v}>"
    return str(v)


def derive_event_ids(frame: pd.DataFrame) -> pd.Series:
    """Stable ids from (source, kind, natural keys, ts) for sources that have no id of their own."""
    cols = ["source", "kind", "service", "repo", "env", *KEY_COLUMNS, "status", "ts"]
    part = pd.DataFrame(
        {
            c: (_time_text(frame[c]) if c == "ts" else frame[c].astype(_dt.STR_DTYPE))
            if c in frame
            else pd.Series("", index=frame.index)
            for c in cols
        }
    ).fillna("")
    hashed = pd.util.hash_pandas_object(part, index=False).to_numpy()
    return pd.Series([f"h{h:016x}" for h in hashed], index=frame.index, dtype=_dt.STR_DTYPE)


def _time_text(values: pd.Series) -> pd.Series:
    """Each time as `str(Timestamp)` on its own: pandas formats a whole series to the precision
    of its finest value, which would make a derived id depend on the other rows of the batch."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.astype(_dt.STR_DTYPE)
    utc = values.dt.tz_convert("UTC")
    whole = utc.dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
    fine = utc.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    text: pd.Series = whole.where(utc.dt.microsecond == 0, fine).astype(_dt.STR_DTYPE)
    return text


def validate_events(
    frame: pd.DataFrame,
    *,
    tz: str | None = None,
    now: pd.Timestamp | None = None,
    future_tolerance: pd.Timedelta | None = None,
    min_ts: pd.Timestamp | None = None,
    first_index: int = 0,
) -> ValidationResult:
    """Check and coerce a frame to the canonical contract, reporting every bad record.

    Rows are identified by `first_index` + their position in `frame`. Good rows come back with the
    canonical columns, dtypes and UTC times; each bad row is listed once per faulty field.
    `future_tolerance` and `min_ts` default to `DEFAULT_FUTURE_TOLERANCE` and `MIN_TS`.
    """
    future_tolerance = (
        _dt.DEFAULT_FUTURE_TOLERANCE if future_tolerance is None else future_tolerance
    )
    min_ts = _dt.MIN_TS if min_ts is None else min_ts
    frame = frame.reset_index(drop=True)
    n = len(frame)
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    problems: list[tuple[pd.Series, str, str | pd.Series]] = []
    unknown = set(frame.columns) - set(EVENT_COLUMNS)
    if unknown:
        raise SchemaError(
            f"unknown column(s) {sorted(unknown)}; canonical columns are {list(EVENT_COLUMNS)}"
        )
    out: dict[str, pd.Series] = {}
    for col in REQUIRED_COLUMNS:
        if col not in frame:
            raise SchemaError(
                f"missing required column {col!r} (required: {list(REQUIRED_COLUMNS)})"
            )

    # kind
    kind_raw = frame["kind"]
    kind = (
        kind_raw.astype(_dt.STR_DTYPE)
        if not isinstance(kind_raw.dtype, pd.CategoricalDtype)
        else kind_raw
    )
    kind_ok = kind.isin(KINDS)
    problems.append((kind.isna(), "kind", "is required"))
    problems.append((kind.notna() & ~kind_ok, "kind", "is not a known kind"))
    out["kind"] = kind.where(kind_ok).astype(_dt.KIND_DTYPE)

    # times
    ts, ts_reasons = parse_timestamps(frame["ts"], tz=tz)
    problems.append((ts.isna() & ts_reasons.isna(), "ts", "is required"))
    problems.append((ts_reasons.notna(), "ts", ts_reasons))
    in_range = ts.notna()
    problems.append((in_range & (ts < min_ts), "ts", f"is before {min_ts.date()} (absurd)"))
    limit = now + future_tolerance
    problems.append(
        (in_range & (ts > limit), "ts", f"is in the future (after {limit.isoformat()})")
    )
    out["ts"] = ts
    if "received_at" in frame:
        rec, rec_reasons = parse_timestamps(frame["received_at"], tz=tz)
        problems.append((rec_reasons.notna(), "received_at", rec_reasons))
        out["received_at"] = rec
    else:
        out["received_at"] = pd.Series(pd.NaT, index=frame.index, dtype=_dt.TS_DTYPE)

    # text and category columns
    for col in (*CATEGORY_COLUMNS, *TEXT_COLUMNS):
        if col not in frame:
            out[col] = pd.Series(np.nan, index=frame.index, dtype=_dt.STR_DTYPE)
            continue
        series = frame[col]
        if series.dtype == object:
            if col == "attrs":
                series = series.map(attrs_to_json)
            wrong = series.map(lambda v: v is not None and not isinstance(v, str | int | float))
            problems.append((wrong, col, "must be text"))
            series = series.where(~wrong)
        out[col] = series
    problems.append((_blank(out["source"]), "source", "is required"))
    attrs = out["attrs"].astype(_dt.STR_DTYPE)
    attrs_bad = attrs.notna() & ~attrs.str.lstrip().str.startswith("{")
    problems.append((attrs_bad, "attrs", "must be a JSON object"))

    result = pd.DataFrame(out, index=frame.index)
    ids = result["event_id"].astype(_dt.STR_DTYPE)
    missing_id = ids.isna() | (ids.str.strip() == "")
    if missing_id.any():
        ids = ids.where(~missing_id, derive_event_ids(result[missing_id]))
    result["event_id"] = ids

    bad_any = np.zeros(n, dtype=bool)
    rejections: list[Rejection] = []
    for mask, col, reason in problems:
        m = mask.to_numpy(dtype=bool, na_value=False)
        if not m.any():
            continue
        bad_any |= m
        for i in np.flatnonzero(m):
            why = reason if isinstance(reason, str) else str(reason.iloc[i])
            got = _show(frame[col].iloc[i]) if col in frame else None
            rejections.append(
                Rejection(
                    index=first_index + int(i),
                    field=col,
                    reason=f"{why}, got {got}",
                    event_id=_opt_str(ids.iloc[i]),
                    source=_opt_str(frame["source"].iloc[i]),
                )
            )
    rejections.sort(key=lambda r: r.index)
    good = result.loc[~bad_any]
    return ValidationResult(
        events=to_canonical(good),
        rejections=rejections,
        rejected_records=frame.loc[bad_any].set_axis(np.flatnonzero(bad_any) + first_index),
    )


def _blank(s: pd.Series) -> pd.Series:
    text = s.astype(_dt.STR_DTYPE)
    return text.isna() | (text.str.strip() == "")


def _opt_str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v)


def _show(v: Any) -> str:
    text = repr(to_jsonable(v))
    return text if len(text) <= 80 else text[:77] + "..."


def events_from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build an unvalidated event frame from dicts (attrs may be a dict); missing keys are null."""
    rows = [dict(r) for r in records]
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    if "attrs" in frame:
        frame["attrs"] = frame["attrs"].map(attrs_to_json).astype(object)
    return frame


def validate_record(record: Mapping[str, Any], *, tz: str | None = None) -> dict[str, Any]:
    """Validate one event dict; return it in canonical form or raise `SchemaError` naming fields."""
    unknown = set(record) - set(EVENT_COLUMNS)
    if unknown:
        raise SchemaError(f"event 0: unknown field(s) {sorted(unknown)}")
    result = validate_events(events_from_records([record]), tz=tz)
    if not result.ok:
        raise SchemaError("; ".join(result.messages()))
    return {str(k): v for k, v in result.events.iloc[0].items()}


def ensure_events(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """Validate strictly: the canonical frame, or `SchemaError` listing every problem."""
    result = validate_events(frame, tz=tz)
    if not result.ok:
        msgs = result.messages()
        more = f" (and {len(msgs) - 20} more)" if len(msgs) > 20 else ""
        raise SchemaError("; ".join(msgs[:20]) + more)
    return result.events


def __getattr__(name: str) -> Any:
    """`MIN_TS`, `DEFAULT_FUTURE_TOLERANCE`: pandas objects, built (with pandas) on first use."""
    if name in ("MIN_TS", "DEFAULT_FUTURE_TOLERANCE"):
        return getattr(_dt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
