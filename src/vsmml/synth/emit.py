"""Assemble canonical event frames from column arrays, fast (no per-row Python beyond strings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vsmml.events.schema import EVENT_COLUMNS, KIND_DTYPE, STR_DTYPE, TS_DTYPE

_KEYS = (
    "sha",
    "change_id",
    "pipeline_id",
    "stage",
    "artifact_id",
    "deploy_id",
    "incident_id",
    "flag",
)
STATUSES = ("started", "success", "failure")
ENVS = ("production", "staging")


def ts_series(us: np.ndarray) -> pd.Series:
    """Epoch microseconds as a `datetime64[us, UTC]` series (-1 or NaT-like stays NaT)."""
    arr = np.asarray(us, dtype=np.int64).astype("datetime64[us]")
    out = pd.Series(arr).dt.tz_localize("UTC")
    return out.astype(TS_DTYPE)


def ts_or_nat(us: np.ndarray) -> pd.Series:
    """Like `ts_series` but negative values become NaT."""
    s = ts_series(np.where(np.asarray(us) < 0, 0, us))
    return s.mask(np.asarray(us) < 0)


class EventBuilder:
    """Collects events kind by kind for one service as raw column arrays (see `assemble`)."""

    def __init__(self, service: str, team: str, repo: str, categories: dict[str, list[str]]):
        self.service_code = categories["service"].index(service)
        self.team_code = categories["team"].index(team)
        self.repo_code = categories["repo"].index(repo)
        self._parts: list[dict[str, Any]] = []

    def add(
        self,
        kind: str,
        ts: np.ndarray,
        ids: Sequence[str],
        attrs: Sequence[str],
        *,
        env: str | None = None,
        status: str | Sequence[str] | None = None,
        **keys: Any,
    ) -> None:
        """Add one block of events of one kind; `keys` are correlation columns (arrays/scalars)."""
        n = len(ts)
        if n == 0:
            return
        part: dict[str, Any] = {
            "n": n,
            "event_id": _obj([f"synth:{kind}:{i}" for i in ids]),
            "kind": np.full(n, KIND_DTYPE.categories.get_loc(kind), dtype=np.int8),
            "ts": np.asarray(ts, dtype=np.int64),
            "env": _codes(env, n, ENVS),
            "status": _codes(status, n, STATUSES),
            "attrs": _obj(attrs),
        }
        for k in _KEYS:
            value = keys.get(k)
            part[k] = np.full(n, value, dtype=object) if value is None else _obj(value)
        self._parts.append(part)

    def raw(self) -> dict[str, np.ndarray]:
        """All events added so far as unsorted column arrays."""
        n = sum(p["n"] for p in self._parts)
        out = {c: np.concatenate([p[c] for p in self._parts]) for c in _RAW if self._parts}
        if not self._parts:
            out = {c: np.array([], dtype=object) for c in _RAW}
            out["ts"] = np.array([], dtype=np.int64)
            for c in ("kind", "env", "status"):
                out[c] = np.array([], dtype=np.int8)
        out["service"] = np.full(n, self.service_code, dtype=np.int32)
        out["team"] = np.full(n, self.team_code, dtype=np.int32)
        out["repo"] = np.full(n, self.repo_code, dtype=np.int32)
        return out


_RAW = ("event_id", "kind", "ts", "env", "status", "attrs", *_KEYS)


def _obj(values: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values if not isinstance(values, np.ndarray) else values.astype(object)
    return out


def _codes(value: Any, n: int, categories: Sequence[str]) -> np.ndarray:
    if value is None:
        return np.full(n, -1, dtype=np.int8)
    if isinstance(value, str):
        return np.full(n, categories.index(value), dtype=np.int8)
    lookup = {c: i for i, c in enumerate(categories)}
    return np.array([lookup[v] for v in value], dtype=np.int8)


def _text(values: np.ndarray) -> Any:
    arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    return pd.arrays.ArrowStringArray(arr, dtype=STR_DTYPE)  # type: ignore[call-arg]


def assemble(raws: list[dict[str, np.ndarray]], categories: dict[str, list[str]]) -> pd.DataFrame:
    """One canonical frame from several services' raw arrays, sorted by (ts, input order).

    Consumes `raws`: each text column is popped from every raw dict as soon as it is converted,
    so the Python strings are freed column by column (peak memory stays near one frame).
    """

    def take(c: str) -> np.ndarray:
        return np.concatenate([r.pop(c) for r in raws])[order]

    order = np.argsort(np.concatenate([r["ts"] for r in raws]), kind="stable")
    n = order.size
    cat_of = {
        "service": categories["service"],
        "team": categories["team"],
        "repo": categories["repo"],
        "env": list(ENVS),
        "status": list(STATUSES),
    }
    data: dict[str, Any] = {}
    for c in EVENT_COLUMNS:
        if c == "kind":
            data[c] = pd.Categorical.from_codes(take(c), dtype=KIND_DTYPE)
        elif c == "ts":
            data[c] = ts_series(take(c)).array
        elif c == "received_at":
            data[c] = ts_or_nat(np.full(n, -1, dtype=np.int64)).array
        elif c == "source":
            codes = np.zeros(n, dtype=np.int8)
            data[c] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(["synth"]))
        elif c in cat_of:
            data[c] = pd.Categorical.from_codes(take(c), dtype=pd.CategoricalDtype(cat_of[c]))
        else:
            data[c] = _text(take(c))
    return pd.DataFrame(data)
