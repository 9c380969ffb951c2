"""What the rules share: the inputs cut to the window, per-service flows, constraints, events."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from vsmml.events.schema import STR_DTYPE
from vsmml.graph.build import stage_summary
from vsmml.graph.constraint import find_constraints
from vsmml.graph.flow import FlowData
from vsmml.recommend.evidence import EventIndex
from vsmml.recommend.inputs import Inputs


def _between(ts: pd.Series, since: pd.Timestamp, until: pd.Timestamp) -> np.ndarray:
    return np.asarray(((ts >= since) & (ts < until)).fillna(False).to_numpy(dtype=bool))


class Context:
    """Derived data computed once per `recommend` call and shared by every rule.

    Changes belong to the window by their first commit (as the week of a change does in the
    value-stream graph); events, runs and deploys by their own time.
    """

    def __init__(self, inputs: Inputs, *, seed: int = 0) -> None:
        self.inputs = inputs
        self.seed = seed
        self.events = EventIndex(inputs.events)
        self._service_flows: dict[str, FlowData] = {}
        self._columns: dict[str, pd.Series] = {}

    @property
    def since(self) -> pd.Timestamp:
        """Start of the window (inclusive)."""
        return self.inputs.since

    @property
    def until(self) -> pd.Timestamp:
        """End of the window (exclusive)."""
        return self.inputs.until

    @property
    def horizon(self) -> str:
        """The period effects are stated for."""
        return self.inputs.horizon

    def in_window(self, ts: pd.Series) -> np.ndarray:
        """Boolean mask of the timestamps inside [since, until)."""
        return _between(ts, self.since, self.until)

    @cached_property
    def window_flow(self) -> FlowData | None:
        """The deployed changes whose first commit falls in the window."""
        flow = self.inputs.flow
        if flow is None:
            return None
        keep = self.in_window(flow.changes["first_commit_at"])
        changes = flow.changes.loc[keep].reset_index(drop=True)
        ids = changes["change_id"]
        stages = flow.stages.loc[flow.stages["change_id"].isin(ids).to_numpy(dtype=bool)]
        return FlowData(changes, stages.reset_index(drop=True), flow.stage_order, flow.ci_stages)

    def service_flow(self, service: str) -> FlowData:
        """The window's flow of one service."""
        if service not in self._service_flows:
            flow = self.window_flow
            assert flow is not None
            self._service_flows[service] = flow.for_service(service)
        return self._service_flows[service]

    @cached_property
    def constraints(self) -> pd.DataFrame:
        """The constraint of every service over the whole window (`find_constraints`)."""
        flow = self.window_flow
        if flow is None or flow.changes.empty:
            return pd.DataFrame(columns=["service", "constraint"])
        return find_constraints(stage_summary(flow, by="service", freq=None))

    @cached_property
    def weekly_constraints(self) -> pd.DataFrame:
        """The constraint of every service-week in the window."""
        flow = self.window_flow
        if flow is None or flow.changes.empty:
            return pd.DataFrame(columns=["service", "week_start", "constraint"])
        return find_constraints(stage_summary(flow, by="service", freq="W"))

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per service and stage over the window: `stage_summary` rows."""
        flow = self.window_flow
        if flow is None or flow.changes.empty:
            return pd.DataFrame(columns=["service", "stage"])
        return stage_summary(flow, by="service", freq=None)

    @cached_property
    def teams(self) -> dict[str, str]:
        """Service → team, from whatever the inputs carry."""
        out: dict[str, str] = {}
        for frame in (self.inputs.changes, self.inputs.flow.changes if self.inputs.flow else None):
            if frame is None or frame.empty or "team" not in frame.columns:
                continue
            pairs = frame[["service", "team"]].dropna().drop_duplicates("service")
            for s, t in zip(pairs["service"], pairs["team"], strict=True):
                out.setdefault(str(s), str(t))
        return out

    def team_of(self, service: str | None) -> str | None:
        """The team a service belongs to (None when unknown)."""
        return None if service is None else self.teams.get(service)

    @cached_property
    def window_changes(self) -> pd.DataFrame | None:
        """Change records (correlation) whose first commit falls in the window."""
        ch = self.inputs.changes
        if ch is None:
            return None
        when = ch["first_commit_at"].fillna(ch["merged_at"])
        return ch.loc[self.in_window(when)].reset_index(drop=True)

    def change_column(self, column: str) -> pd.Series:
        """change_id → a column of the change records (empty without them)."""
        if column not in self._columns:
            ch = self.inputs.changes
            if ch is None or ch.empty or column not in ch.columns:
                self._columns[column] = pd.Series(dtype=STR_DTYPE)
            else:
                rows = ch[["change_id", column]].dropna().drop_duplicates("change_id")
                self._columns[column] = pd.Series(
                    rows[column].astype(STR_DTYPE).to_numpy(), index=rows["change_id"].to_numpy()
                )
        return self._columns[column]

    def fixed_flakiness(self, service: str, days: int = 14) -> float | None:
        """The service's pipeline failure share once flaky failures are fixed: its non-flaky
        failed runs ÷ runs over the `days` before the window's end (None without runs)."""
        runs = self.inputs.pipeline_runs
        if runs is None or runs.empty:
            return None
        mine = runs.loc[(runs["service"] == service).to_numpy(dtype=bool)]
        mine = mine.loc[
            _between(mine["finished_at"], self.until - pd.Timedelta(days=days), self.until)
        ]
        if mine.empty:
            return None
        failed = ~mine["success"].to_numpy(dtype=bool)
        flaky = mine["flaky"].to_numpy(dtype=bool)
        return float((failed & ~flaky).sum() / len(mine))

    def change_outcomes(self, rows: pd.DataFrame) -> np.ndarray:
        """Per row (with change_id and/or sha): 1 failed in production, 0 shipped fine, NaN
        when the change is unknown or has not reached production."""
        ch = self.inputs.changes
        out = np.full(len(rows), np.nan)
        if ch is None or ch.empty:
            return out
        shipped = ch.loc[ch["production_deployed_at"].notna()]
        fail = shipped["failed"].fillna(False).astype(bool).astype("float64").to_numpy()
        by_id = dict(zip(shipped["change_id"].astype(str), fail, strict=True))
        by_sha = dict(zip(shipped["sha"].astype(str), fail, strict=True))
        ids = rows["change_id"] if "change_id" in rows else pd.Series([None] * len(rows))
        shas = rows["sha"] if "sha" in rows else pd.Series([None] * len(rows))
        for i, (c, s) in enumerate(zip(ids, shas, strict=True)):
            hit = by_id.get(str(c)) if c is not None and not pd.isna(c) else None
            if hit is None and s is not None and not pd.isna(s):
                hit = by_sha.get(str(s))
            if hit is not None:
                out[i] = hit
        return out

    def failed_changes(self, service: str) -> int:
        """Changes of the service, first committed in the window, that failed in production."""
        ch = self.window_changes
        if ch is None or ch.empty:
            return 0
        mine = ch.loc[(ch["service"] == service).to_numpy(dtype=bool)]
        return int(mine["failed"].fillna(False).astype(bool).sum())
