"""Find the events behind a finding: event ids by kind and correlation key, in a given order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from vsmml.events.schema import STR_DTYPE
from vsmml.recommend.records import MAX_EVENT_IDS


class EventIndex:
    """Looks up event ids in the canonical events; each kind is split out once, on first use.

    `None` events give an index that finds nothing (a rule then has only its numbers).
    """

    def __init__(self, events: pd.DataFrame | None) -> None:
        self._events = events
        self._kinds: dict[str, pd.DataFrame] = {}
        self._rows: dict[str, np.ndarray] = {}
        if events is not None and len(events):
            kind = events["kind"].astype(STR_DTYPE).to_numpy()
            order = np.argsort(kind, kind="stable")
            names, starts = np.unique(kind[order], return_index=True)
            ends = [*starts[1:], kind.size]
            self._rows = {str(n): order[s:e] for n, s, e in zip(names, starts, ends, strict=True)}

    def of_kind(self, kind: str) -> pd.DataFrame:
        """The events of one kind (time-ordered, fresh index); empty when there are none."""
        if kind not in self._kinds:
            if self._events is None or kind not in self._rows:
                cols = ["event_id", "ts"] if self._events is None else list(self._events.columns)
                self._kinds[kind] = pd.DataFrame(columns=cols)
            else:
                rows = self._events.iloc[self._rows[kind]]
                self._kinds[kind] = rows.sort_values("ts", kind="stable").reset_index(drop=True)
        return self._kinds[kind]

    def lookup(
        self,
        kind: str,
        column: str,
        keys: Sequence[object],
        *,
        where: Mapping[str, object] | None = None,
        first_only: bool = True,
        limit: int = MAX_EVENT_IDS,
    ) -> tuple[list[str], int]:
        """Ids of `kind` events whose `column` is in `keys`, in the order of `keys`.

        Args:
            kind: the event kind.
            column: the correlation key to match (change_id, sha, deploy_id, pipeline_id ...).
            keys: key values, most telling first (e.g. the changes that waited longest).
            where: further equality filters (stage, env, status ...).
            first_only: one event per key (its earliest), else every matching event.
            limit: how many ids to return.

        Returns:
            (up to `limit` ids, how many matching events there are in all).
        """
        ev = self.of_kind(kind)
        if ev.empty or column not in ev.columns or not len(keys):
            return [], 0
        mask = np.ones(len(ev), dtype=bool)
        for col, value in (where or {}).items():
            if col not in ev.columns:
                return [], 0
            mask &= (ev[col].astype(STR_DTYPE) == str(value)).fillna(False).to_numpy(dtype=bool)
        key_text = [str(k) for k in keys]
        vals = ev[column].astype(STR_DTYPE)
        mask &= vals.isin(key_text).fillna(False).to_numpy(dtype=bool)
        hit = ev.loc[mask, ["event_id"]].assign(_k=vals[mask].to_numpy())
        if first_only:
            hit = hit.drop_duplicates("_k", keep="first")
        total = len(hit)
        rank = {k: i for i, k in enumerate(dict.fromkeys(key_text))}
        hit = hit.assign(_r=hit["_k"].map(rank)).sort_values("_r", kind="stable")
        return [str(i) for i in hit["event_id"].head(limit)], total

    def in_window(
        self,
        kind: str,
        since: pd.Timestamp | None,
        until: pd.Timestamp | None,
        *,
        where: Mapping[str, object] | None = None,
    ) -> pd.DataFrame:
        """The events of `kind` with ts in [since, until) matching the equality filters."""
        ev = self.of_kind(kind)
        if ev.empty:
            return ev
        mask = np.ones(len(ev), dtype=bool)
        if since is not None:
            mask &= (ev["ts"] >= since).to_numpy(dtype=bool)
        if until is not None:
            mask &= (ev["ts"] < until).to_numpy(dtype=bool)
        for col, value in (where or {}).items():
            if col not in ev.columns:
                return ev.iloc[0:0]
            mask &= (ev[col].astype(STR_DTYPE) == str(value)).fillna(False).to_numpy(dtype=bool)
        return ev.loc[mask]

    def count(
        self, since: pd.Timestamp | None, until: pd.Timestamp | None, *, source: str | None = None
    ) -> int:
        """Events of any kind with ts in [since, until), optionally from one source."""
        ev = self._events
        if ev is None or ev.empty:
            return 0
        mask = np.ones(len(ev), dtype=bool)
        if since is not None:
            mask &= (ev["ts"] >= since).to_numpy(dtype=bool)
        if until is not None:
            mask &= (ev["ts"] < until).to_numpy(dtype=bool)
        if source is not None:
            mask &= (ev["source"].astype(STR_DTYPE) == source).fillna(False).to_numpy(dtype=bool)
        return int(mask.sum())


def ids_of(
    frame: pd.DataFrame, order_by: str | None = None, *, descending: bool = True
) -> list[str]:
    """The event ids of a frame's rows (optionally ordered by a column), at most the cap."""
    if frame.empty or "event_id" not in frame.columns:
        return []
    rows = (
        frame.sort_values(order_by, ascending=not descending, kind="stable") if order_by else frame
    )
    return [str(i) for i in rows["event_id"].head(MAX_EVENT_IDS)]


def unique(values: Iterable[object]) -> list[str]:
    """Distinct non-null values as text, first occurrence first."""
    out = [str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return list(dict.fromkeys(out))
