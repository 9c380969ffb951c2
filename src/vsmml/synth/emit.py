"""Assemble canonical event frames from column arrays, fast (no per-row Python beyond strings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

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
    """Collects events kind by kind for one service; `frame()` returns them canonical and sorted."""

    def __init__(self, service: str, team: str, repo: str, categories: dict[str, list[str]]):
        self.service = service
        self.team = team
        self.repo = repo
        self.categories = categories
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
            "event_id": [f"synth:{kind}:{i}" for i in ids],
            "kind": np.full(n, KIND_DTYPE.categories.get_loc(kind), dtype=np.int16),
            "ts": np.asarray(ts, dtype=np.int64),
            "env": env,
            "status": status,
            "attrs": list(attrs),
            "n": n,
        }
        for k in _KEYS:
            part[k] = keys.get(k)
        self._parts.append(part)

    def frame(self) -> pd.DataFrame:
        """All events added so far as one canonical frame, sorted by (ts, insertion order)."""
        if not self._parts:
            from vsmml.events.schema import empty_events

            return empty_events()
        total = sum(p["n"] for p in self._parts)
        cols: dict[str, Any] = {}
        cols["event_id"] = pd.array(
            _cat_lists([p["event_id"] for p in self._parts]), dtype=STR_DTYPE
        )
        codes = np.concatenate([p["kind"] for p in self._parts])
        cols["kind"] = pd.Categorical.from_codes(codes, dtype=KIND_DTYPE)
        ts = np.concatenate([p["ts"] for p in self._parts])
        cols["ts"] = ts
        cols["received_at"] = None
        cols["source"] = _const_cat("synth", total, ["synth"])
        cols["service"] = _const_cat(self.service, total, self.categories["service"])
        cols["team"] = _const_cat(self.team, total, self.categories["team"])
        cols["repo"] = _const_cat(self.repo, total, self.categories["repo"])
        cols["env"] = _cat_column([(p["env"], p["n"]) for p in self._parts], list(ENVS))
        for k in _KEYS:
            cols[k] = pd.array(_text_column([(p[k], p["n"]) for p in self._parts]), dtype=STR_DTYPE)
        cols["status"] = _cat_column([(p["status"], p["n"]) for p in self._parts], list(STATUSES))
        cols["attrs"] = pd.array(_cat_lists([p["attrs"] for p in self._parts]), dtype=STR_DTYPE)
        order = np.argsort(ts, kind="stable")
        data: dict[str, Any] = {}
        for c in EVENT_COLUMNS:
            v = cols[c]
            if c == "ts":
                data[c] = ts_series(ts[order]).array
            elif c == "received_at":
                data[c] = ts_or_nat(np.full(total, -1, dtype=np.int64)).array
            else:
                data[c] = v.take(order) if hasattr(v, "take") else v[order]
        return pd.DataFrame(data)


def _cat_lists(parts: list[list[str]]) -> list[str]:
    out: list[str] = []
    for p in parts:
        out.extend(p)
    return out


def _const_cat(value: str, n: int, categories: list[str]) -> Any:
    code = categories.index(value)
    dtype = pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(np.full(n, code, dtype=np.int32), dtype=dtype)


def _cat_column(parts: list[tuple[Any, int]], categories: list[str]) -> Any:
    chunks = []
    for value, n in parts:
        if value is None:
            chunks.append(np.full(n, -1, dtype=np.int32))
        elif isinstance(value, str):
            chunks.append(np.full(n, categories.index(value), dtype=np.int32))
        else:
            lookup = {c: i for i, c in enumerate(categories)}
            chunks.append(np.array([lookup[v] for v in value], dtype=np.int32))
    return pd.Categorical.from_codes(np.concatenate(chunks), dtype=pd.CategoricalDtype(categories))


def _text_column(parts: list[tuple[Any, int]]) -> list[Any]:
    out: list[Any] = []
    for value, n in parts:
        if value is None:
            out.extend([None] * n)
        elif isinstance(value, str):
            out.extend([value] * n)
        else:
            out.extend(value if isinstance(value, list) else list(value))
    return out
