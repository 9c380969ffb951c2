"""The canonical delivery event's columns, kinds and dtypes, and the casts and normalisers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from vsmml.deferred import deferred

if TYPE_CHECKING:
    import pandas as pd

    from vsmml.events import dtypes as _dt
    from vsmml.events.dtypes import KIND_DTYPE as KIND_DTYPE
    from vsmml.events.dtypes import STR_DTYPE as STR_DTYPE
    from vsmml.events.dtypes import TS_DTYPE as TS_DTYPE
else:
    pd = deferred("pandas")
    _dt = deferred("vsmml.events.dtypes")

KINDS: Final[tuple[str, ...]] = (
    "work.created",
    "work.started",
    "work.done",
    "commit",
    "change.opened",
    "change.reviewed",
    "change.merged",
    "change.closed",
    "pipeline.started",
    "pipeline.finished",
    "stage.started",
    "stage.finished",
    "test.finished",
    "artifact.published",
    "artifact.promoted",
    "deploy.started",
    "deploy.finished",
    "rollback",
    "incident.opened",
    "incident.resolved",
    "flag.toggled",
    "slo.sample",
    "security.finding.opened",
    "security.finding.closed",
    "resource.changed",
    "gate.waived",  # a person passed a failed release gate (`vsmml score --waive`): who and why
)
DELIVERY_KINDS: Final[tuple[str, ...]] = tuple(k for k in KINDS if k != "slo.sample")
"""Every kind but `slo.sample`: what correlation, the value stream and the risk features read."""

EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "kind",
    "ts",
    "received_at",
    "source",
    "service",
    "team",
    "repo",
    "env",
    "sha",
    "change_id",
    "pipeline_id",
    "stage",
    "artifact_id",
    "deploy_id",
    "incident_id",
    "flag",
    "status",
    "attrs",
)
TIME_COLUMNS: Final = ("ts", "received_at")
CATEGORY_COLUMNS: Final = ("source", "service", "team", "repo", "env", "status")
KEY_COLUMNS: Final = (
    "sha",
    "change_id",
    "pipeline_id",
    "stage",
    "artifact_id",
    "deploy_id",
    "incident_id",
    "flag",
)
TEXT_COLUMNS: Final = ("event_id", *KEY_COLUMNS, "attrs")
REQUIRED_COLUMNS: Final = ("kind", "ts", "source")

ENVIRONMENTS: Final = ("production", "staging", "test", "other")
_ENV_ALIASES: Final[dict[str, str]] = {
    **dict.fromkeys(("production", "prod", "prd", "live", "main"), "production"),
    **dict.fromkeys(("staging", "stage", "stg", "preprod", "pre-production", "uat"), "staging"),
    **dict.fromkeys(("test", "testing", "qa", "ci", "dev", "development", "sandbox"), "test"),
}
_STATUS_ALIASES: Final[dict[str, str]] = {
    **dict.fromkeys(("success", "succeeded", "successful", "passed", "pass", "ok"), "success"),
    **dict.fromkeys(("failure", "failed", "fail", "error", "errored", "broken"), "failure"),
    **dict.fromkeys(("cancelled", "canceled", "aborted", "skipped_by_user"), "cancelled"),
    **dict.fromkeys(("started", "running", "in_progress", "pending", "queued"), "started"),
}


def to_jsonable(value: Any) -> Any:
    """A JSON-friendly copy of one cell (NaN/NaT to None, numpy scalars to Python, ISO times)."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def empty_events() -> pd.DataFrame:
    """A zero-row frame with the canonical columns and dtypes."""
    data: dict[str, pd.Series] = {}
    for col in EVENT_COLUMNS:
        data[col] = pd.Series([], dtype=_dtype_of(col))
    return pd.DataFrame(data)


def _dtype_of(col: str) -> Any:
    if col == "kind":
        return _dt.KIND_DTYPE
    if col in TIME_COLUMNS:
        return _dt.TS_DTYPE
    if col in CATEGORY_COLUMNS:
        return "category"
    return _dt.STR_DTYPE


def normalise_env(values: pd.Series) -> pd.Series:
    """Map environment names onto production / staging / test / other (nulls stay null)."""
    low = values.astype(_dt.STR_DTYPE).str.strip().str.lower()
    mapped = low.map(lambda v: _ENV_ALIASES.get(v, "other") if isinstance(v, str) else v)
    return mapped.astype(_dt.STR_DTYPE)


def normalise_status(values: pd.Series) -> pd.Series:
    """Lower-case statuses and fold the common synonyms (passed → success, failed → failure)."""
    low = values.astype(_dt.STR_DTYPE).str.strip().str.lower()
    mapped = low.map(lambda v: _STATUS_ALIASES.get(v, v) if isinstance(v, str) else v)
    return mapped.astype(_dt.STR_DTYPE)


def _categorical_map(values: pd.Series, fn: Any) -> pd.Series:
    """Apply a label normaliser to a categorical's categories only (fast on millions of rows)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        result: pd.Series = fn(values)
        return result
    cats = pd.Series(values.cat.categories, dtype=_dt.STR_DTYPE)
    if cats.empty:
        return pd.Series(np.nan, index=values.index, dtype=_dt.STR_DTYPE)
    new = fn(cats).to_numpy(dtype=str)
    uniq, inverse = np.unique(new, return_inverse=True)
    codes = values.cat.codes.to_numpy()
    mapped = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
    dtype = pd.CategoricalDtype(list(uniq))
    return pd.Series(pd.Categorical.from_codes(mapped, dtype=dtype), index=values.index)


def attrs_to_json(v: Any) -> Any:
    """A mapping as sorted JSON text; anything else unchanged (validation judges it)."""
    if isinstance(v, Mapping):
        return json.dumps(v, sort_keys=True, default=str)
    return v


def to_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast an already-valid frame to the canonical column order and dtypes (no checks)."""
    out: dict[str, pd.Series] = {}
    for col in EVENT_COLUMNS:
        series = frame[col] if col in frame else pd.Series(np.nan, index=frame.index)
        if col == "kind":
            out[col] = series.astype(_dt.KIND_DTYPE)
        elif col in TIME_COLUMNS:
            out[col] = series if series.dtype == _dt.TS_DTYPE else series.astype(_dt.TS_DTYPE)
        elif col in CATEGORY_COLUMNS:
            if col == "env":
                series = _categorical_map(series, normalise_env)
            elif col == "status":
                series = _categorical_map(series, normalise_status)
            out[col] = (
                series
                if isinstance(series.dtype, pd.CategoricalDtype)
                else series.astype(_dt.STR_DTYPE).astype("category")
            )
        else:
            out[col] = series if series.dtype == _dt.STR_DTYPE else series.astype(_dt.STR_DTYPE)
    return pd.DataFrame(out).reset_index(drop=True)


def attrs_of(frame: pd.DataFrame, key: str) -> pd.Series:
    """Extract one key from the JSON `attrs` column (null where absent)."""

    def pick(text: Any) -> Any:
        if not isinstance(text, str):
            return None
        value = json.loads(text)
        return value.get(key) if isinstance(value, dict) else None

    return frame["attrs"].map(pick)


def __getattr__(name: str) -> Any:
    """`KIND_DTYPE`, `TS_DTYPE`, `STR_DTYPE`: pandas objects, built (with pandas) on first use."""
    if name in ("KIND_DTYPE", "TS_DTYPE", "STR_DTYPE"):
        return getattr(_dt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
