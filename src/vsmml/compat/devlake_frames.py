"""Shared frame handling for the DevLake tasks: column checks, DevLake's NULLs, times and spans."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.events.schema import TS_DTYPE

_NS_PER_MINUTE = 60_000_000_000

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
DEPLOYMENT = "DEPLOYMENT"
PRODUCTION = "PRODUCTION"
STAGING = "STAGING"
TESTING = "TESTING"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    """Raise `DataError` naming the table and every column DevLake's task reads but is absent."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"table {table!r}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"has {', '.join(map(str, frame.columns)) or 'no columns'}"
        )


def text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as `str` with NULL read as '' (DevLake's SQL treats both alike here)."""
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    values = frame[column]
    out = values.astype("str").where(values.notna(), "")
    return out.fillna("").astype("str")


def times(frame: pd.DataFrame, column: str, table: str) -> pd.Series:
    """Parse a DevLake time column to UTC instants; DevLake stores naive times in UTC.

    Accepts ISO-8601 with or without offset and DevLake's CSV style ``2023-4-11 4:51:47``;
    empty cells become NaT. A value that is not a time raises `DataError` naming the row.
    """
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype=TS_DTYPE)
    raw: pd.Series = frame[column]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        converted: pd.Series = raw.dt.tz_convert("UTC")
        return converted.astype(TS_DTYPE)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        localized: pd.Series = raw.dt.tz_localize("UTC")
        return localized.astype(TS_DTYPE)
    values = text(frame, column).str.strip()
    values = values.mask(values.eq(""))
    try:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True)
    except (ValueError, TypeError):
        parsed = None
    if parsed is None:
        try:
            parsed = pd.to_datetime(values, format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError) as exc:
            bad = _first_unparsable(values)
            raise DataError(
                f"table {table!r}, column {column!r}, row {bad[0]!r}: "
                f"expected a time, got {bad[1]!r}"
            ) from exc
    return parsed.astype(TS_DTYPE)


def _first_unparsable(values: pd.Series) -> tuple[object, object]:
    """Find the first value pandas cannot read as a time (for the error message)."""
    for label, value in values.items():
        if pd.isna(value):
            continue
        try:
            pd.to_datetime(value, utc=True)
        except (ValueError, TypeError, OverflowError):
            return label, value
    return None, None


def numbers(frame: pd.DataFrame, column: str, table: str) -> pd.Series:
    """Parse a numeric column (such as ``duration_sec``) to float; empty cells become NaN."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    cleaned = text(frame, column).str.strip()
    parsed = pd.to_numeric(cleaned.mask(cleaned.eq("")), errors="coerce")
    bad = parsed.isna() & cleaned.ne("")
    if bad.any():
        label = bad.idxmax()
        raise DataError(
            f"table {table!r}, column {column!r}, row {label!r}: "
            f"expected a number, got {cleaned.loc[bad].iloc[0]!r}"
        )
    return parsed.astype("float64")


def span_minutes(start: pd.Series, end: pd.Series) -> pd.Series:
    """DevLake's `computeTimeSpan`: ceil((end − start) in minutes), NULL when missing or < 0.

    Mirrors Go exactly: ``math.Ceil(d.Minutes())`` where ``Minutes`` is the whole minutes
    (truncated toward zero) plus the remainder as a fraction, so −30 s gives ``ceil(−0.5) = 0``
    (kept) while −60 s gives −1 (dropped).
    """
    delta = end.astype(TS_DTYPE) - start.astype(TS_DTYPE)
    missing = delta.isna().to_numpy()
    ns = delta.to_numpy(dtype="timedelta64[ns]", na_value=np.timedelta64(0, "ns")).view("int64")
    whole = np.sign(ns) * (np.abs(ns) // _NS_PER_MINUTE)
    remainder = ns - whole * _NS_PER_MINUTE
    minutes = np.ceil(whole.astype("float64") + remainder.astype("float64") / 60e9)
    result = pd.Series(minutes, index=start.index).astype("Int64")
    return result.mask(missing | (minutes < 0))


def scopes_of_project(
    project_mapping: pd.DataFrame | None, table: str, project_name: str | None
) -> pd.DataFrame | None:
    """Rows (project_name, row_id) of ``project_mapping`` for one DevLake table.

    Returns None when no mapping is given (no project filter); with ``project_name`` only that
    project's rows, otherwise every project's.
    """
    if project_mapping is None:
        return None
    require_columns(project_mapping, ("project_name", "table", "row_id"), "project_mapping")
    mapping = pd.DataFrame(
        {
            "project_name": text(project_mapping, "project_name"),
            "table": text(project_mapping, "table"),
            "row_id": text(project_mapping, "row_id"),
        }
    )
    mapping = mapping[mapping["table"].eq(table)]
    if project_name is not None:
        mapping = mapping[mapping["project_name"].eq(project_name)]
    return mapping[["project_name", "row_id"]].drop_duplicates().reset_index(drop=True)


def format_devlake_times(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Render time columns the way DevLake's CSV snapshots do: ``2022-03-07T06:26:42.109+00:00``.

    NaT becomes ''. Other columns are returned unchanged.
    """
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            continue
        values = out[column].astype(TS_DTYPE)
        rendered = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "+00:00"
        out[column] = rendered.where(values.notna(), "").astype("str")
    return out
