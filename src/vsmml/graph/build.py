"""The value-stream graph: per-stage flow statistics and a networkx DiGraph of stages, hand-offs.

`stage_summary` aggregates `FlowData` per group (service, team or the whole organisation) and
optionally per week; `value_stream_graph` turns one group's rows into a DiGraph whose nodes are
stages (wait, active, throughput, WIP, utilisation, failures) and whose edges are the hand-offs
between consecutive stages plus the rework loops (a failed CI run sends the change back to the
start of the pipeline; a failed production change goes back to coding).

Definitions over a window of ``window_h`` hours (one week, or the group's whole span):
throughput = changes through the stage per week; WIP = Σ (wait + active) / window (Little's law:
the average number of changes in the stage); utilisation = Σ active / window (the share of the
window one server of the stage is busy; above 1 means several servers in parallel, e.g. reviewers).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import networkx as nx
import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.graph.flow import POST_CI, PRE_CI, FlowData

GROUPS: Final = ("service", "team")
WEEK_H: Final = 168.0
NODE_FIELDS: Final = (
    "n_changes",
    "wait_h",
    "active_h",
    "wait_mean_h",
    "active_mean_h",
    "time_mean_h",
    "wait_share",
    "time_share",
    "throughput_per_week",
    "wip",
    "utilisation",
    "failures",
)


def group_keys(by: str | Sequence[str] | None, freq: str | None) -> list[str]:
    """Grouping columns for `by` (service, team or None) and `freq` ("W" or None), checked."""
    cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    bad = [c for c in cols if c not in GROUPS]
    if bad:
        raise DataError(f"by: unknown group(s) {bad}; choose from {list(GROUPS)} or None")
    if freq not in (None, "W"):
        raise DataError(f"freq: must be 'W' (Monday weeks) or None (whole range), got {freq!r}")
    return [*cols, "week_start"] if freq == "W" else cols


def _window_hours(flow: FlowData, keys: list[str]) -> pd.Series | float:
    """Hours each group's window spans: one week per week, else first to last week + 7 days."""
    if "week_start" in keys:
        return WEEK_H
    weeks = flow.changes["week_start"]
    if not keys:
        return float((weeks.max() - weeks.min()).total_seconds() / 3600.0 + WEEK_H)
    span = flow.changes.groupby(keys, sort=False)["week_start"].agg(["min", "max"])
    hours = (span["max"] - span["min"]).dt.total_seconds() / 3600.0 + WEEK_H
    return hours.rename("window_h")


def stage_summary(
    flow: FlowData, by: str | Sequence[str] | None = "service", freq: str | None = "W"
) -> pd.DataFrame:
    """One row per group (and week) and stage with the node statistics of `NODE_FIELDS`.

    Args:
        flow: per-change stage times (`flow_data`).
        by: ``service``, ``team`` or None (the whole organisation).
        freq: ``"W"`` for Monday-based weeks of the first commit, None for the whole range.

    Returns:
        columns: the group keys, ``stage``, ``order`` (position in the value stream),
        ``window_h`` and `NODE_FIELDS`; sorted by group and order.
    """
    keys = group_keys(by, freq)
    st = flow.stages
    reached = st["wait_h"].notna() | st["active_h"].notna()
    data = st.loc[reached.to_numpy(dtype=bool)]
    g = data.groupby([*keys, "stage"], sort=False)
    out = g.agg(
        n_changes=("change_id", "size"),
        wait_h=("wait_h", "sum"),
        active_h=("active_h", "sum"),
        failures=("failures", "sum"),
    ).reset_index()
    rank = {s: i for i, s in enumerate(flow.stage_order)}
    out["order"] = out["stage"].map(rank).astype("int64")
    window = _window_hours(flow, keys)
    if isinstance(window, pd.Series):
        out = out.join(window, on=keys)
    else:
        out["window_h"] = window
    total = out["wait_h"] + out["active_h"]
    n = out["n_changes"].clip(lower=1)
    out["wait_mean_h"] = out["wait_h"] / n
    out["active_mean_h"] = out["active_h"] / n
    out["time_mean_h"] = total / n
    if keys:
        group_wait = out.groupby(keys, sort=False)["wait_h"].transform("sum")
        group_time = total.groupby([out[k] for k in keys], sort=False).transform("sum")
    else:
        group_wait = pd.Series(out["wait_h"].sum(), index=out.index)
        group_time = pd.Series(total.sum(), index=out.index)
    out["wait_share"] = out["wait_h"] / group_wait.where(group_wait > 0)
    out["time_share"] = total / group_time.where(group_time > 0)
    out["wait_share"] = out["wait_share"].fillna(0.0)
    out["time_share"] = out["time_share"].fillna(0.0)
    out["throughput_per_week"] = out["n_changes"] / (out["window_h"] / WEEK_H)
    out["wip"] = total / out["window_h"]
    out["utilisation"] = out["active_h"] / out["window_h"]
    out["failures"] = out["failures"].astype("int64")
    cols = [*keys, "stage", "order", "window_h", *NODE_FIELDS]
    return out[cols].sort_values([*keys, "order"], kind="stable").reset_index(drop=True)


def value_stream_graph(
    summary: pd.DataFrame,
    *,
    rework: pd.DataFrame | None = None,
    parallel: Sequence[str] = (),
    name: str = "value stream",
) -> nx.DiGraph:
    """A DiGraph of one group's stages: nodes carry `NODE_FIELDS`, edges are hand-offs.

    Args:
        summary: the `stage_summary` rows of one group (one row per stage).
        rework: optional `rework_loops` rows (from_stage, to_stage, count) added as edges with
            ``kind="rework"`` (they make the graph cyclic; hand-off edges alone form a DAG).
        parallel: stages that run beside their predecessors instead of after them (a what-if):
            each is fed by the stage before the first CI stage and feeds the stage after them.
        name: stored as the graph's ``name``.
    """
    if summary["stage"].duplicated().any():
        raise DataError("summary: more than one row per stage; pass the rows of one group")
    rows = summary.sort_values("order", kind="stable")
    g = nx.DiGraph(name=name)
    for row in rows.itertuples(index=False):
        attrs = {f: _scalar(getattr(row, f)) for f in ("order", *NODE_FIELDS)}
        g.add_node(str(row.stage), **attrs)
    stages = [str(s) for s in rows["stage"]]
    serial = [s for s in stages if s not in parallel]
    for a, b in itertools.pairwise(serial):
        g.add_edge(a, b, kind="handoff", changes=int(g.nodes[b]["n_changes"]))
    for p in parallel:
        if p not in g:
            raise DataError(f"parallel: stage {p!r} is not in the graph; stages: {stages}")
        i = stages.index(p)
        before = [s for s in stages[:i] if s in PRE_CI] or [s for s in serial if s in stages[:i]]
        after = [s for s in stages[i + 1 :] if s in POST_CI]
        if before:
            g.add_edge(before[-1], p, kind="handoff", changes=int(g.nodes[p]["n_changes"]))
        if after:
            g.add_edge(p, after[0], kind="handoff", changes=int(g.nodes[p]["n_changes"]))
    if rework is not None:
        for a, b, n in zip(rework["from_stage"], rework["to_stage"], rework["count"], strict=True):
            if a in g and b in g and int(n) > 0:
                g.add_edge(str(a), str(b), kind="rework", count=int(n))
    return g


def _scalar(value: object) -> float | int | str:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, int | float | str):
        return value
    return str(value)


def rework_loops(flow: FlowData) -> pd.DataFrame:
    """Rework edges: failed CI runs back to the first CI stage; failed changes back to coding.

    Returns columns from_stage, to_stage, count (aggregated over all of `flow`).
    """
    rows: list[tuple[str, str, int]] = []
    first_ci = flow.ci_stages[0] if flow.ci_stages else None
    if first_ci is not None:
        fails = flow.stages.groupby("stage", sort=False)["failures"].sum()
        for stage in flow.ci_stages:
            n = int(fails.get(stage, 0))
            if n:
                rows.append((stage, first_ci, n))
    n_failed = int(flow.changes["failed"].sum())
    if n_failed:
        rows.append(("production", PRE_CI[0], n_failed))
    return pd.DataFrame(rows, columns=["from_stage", "to_stage", "count"])


def graph_for(
    flow: FlowData, *, service: str | None = None, parallel: Sequence[str] = ()
) -> nx.DiGraph:
    """The value-stream graph of one service (or the whole organisation), whole range."""
    data = flow.for_service(service) if service is not None else flow
    if data.changes.empty:
        raise DataError(f"service: no deployed changes for {service!r}")
    summary = stage_summary(data, by=None, freq=None)
    return value_stream_graph(
        summary,
        rework=rework_loops(data),
        parallel=parallel,
        name=service or "organisation",
    )


def graphs_by_service(flow: FlowData) -> dict[str, nx.DiGraph]:
    """The value-stream graph of every service (whole range), from one grouped pass."""
    summary = stage_summary(flow, by="service", freq=None)
    st = flow.stages
    fails = st.loc[st["failures"] > 0].groupby(["service", "stage"], as_index=False)["failures"]
    fail_rows = fails.sum()
    failed = flow.changes.loc[flow.changes["failed"]].groupby("service").size()
    first_ci = flow.ci_stages[0] if flow.ci_stages else ""
    out: dict[str, nx.DiGraph] = {}
    for service, rows in summary.groupby("service", sort=True):
        name = str(service)
        mine = fail_rows.loc[(fail_rows["service"] == name).to_numpy(dtype=bool)]
        loops = [
            (str(s), first_ci, int(n)) for s, n in zip(mine["stage"], mine["failures"], strict=True)
        ]
        if int(failed.get(name, 0)):
            loops.append(("production", PRE_CI[0], int(failed[name])))
        rework = pd.DataFrame(loops, columns=["from_stage", "to_stage", "count"])
        out[name] = value_stream_graph(rows.drop(columns="service"), rework=rework, name=name)
    return out
