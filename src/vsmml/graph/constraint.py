"""Theory of Constraints on the value stream: the constraint per group and week, critical paths.

The constraint is the stage that limits flow. Work queues up in front of it, so the rule is:
the stage with the **highest share of the group's wait time** (the queue in front of a stage is
its wait; by Little's law the queue is where WIP piles up). When the runner-up's wait share is
within `tie` (relative, default 1 %) of the leader's, the busier stage (higher utilisation) wins:
it is the one with no spare capacity. The tie is kept narrow on purpose: on the synthetic
organisation a 2-5 % tie swapped a correct leader for a busier runner-up in about 1 % of sparse
service-weeks, and 0-1 % changed nothing. The longest stage (largest wait + active time per
change) is reported beside it for comparison; it is often not the constraint (coding, or a long but
never-queued test stage, is long without holding anything up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import networkx as nx
import numpy as np
import pandas as pd

from vsmml.errors import DataError
from vsmml.graph.build import stage_summary
from vsmml.graph.flow import FlowData

TIE: Final = 0.01
CONSTRAINT_COLUMNS: Final = (
    "constraint",
    "wait_share",
    "utilisation",
    "wait_mean_h",
    "runner_up",
    "runner_up_share",
    "margin",
    "longest_stage",
    "longest_mean_h",
    "lead_mean_h",
    "n_changes",
)


def _keys(summary: pd.DataFrame) -> list[str]:
    return [c for c in ("service", "team", "week_start") if c in summary.columns]


def find_constraints(summary: pd.DataFrame, *, tie: float = TIE) -> pd.DataFrame:
    """The constraint of every group (and week) of a `stage_summary` frame.

    Args:
        summary: `stage_summary` output (any grouping).
        tie: relative gap of wait shares under which utilisation decides (0 turns it off).

    Returns:
        one row per group with the group keys and `CONSTRAINT_COLUMNS`: the constraint, its
        wait share and utilisation, the runner-up and its share, margin = leader / runner-up - 1
        (how clearly it leads), the longest stage and the mean lead time (Σ stage means).
    """
    if tie < 0:
        raise DataError(f"tie: must be >= 0, got {tie}")
    keys = _keys(summary)
    df = summary.loc[summary["wait_share"].notna()].assign(_g=0)
    gk = [*keys, "_g"]
    df = df.sort_values(
        [*gk, "wait_share", "utilisation"], ascending=[True] * len(gk) + [False, False]
    )
    rank = df.groupby(gk, sort=False).cumcount().to_numpy()
    first = df.loc[rank == 0].set_index(gk)
    second = df.loc[rank == 1].set_index(gk).reindex(first.index)
    swap = (
        (second["wait_share"] >= first["wait_share"] * (1.0 - tie))
        & (second["utilisation"] > first["utilisation"])
    ).to_numpy(dtype=bool)
    keep = pd.Series(~swap, index=first.index)
    win = first.where(keep, second, axis=0)
    lose = second.where(keep, first, axis=0)
    grp = df.groupby(gk, sort=False)
    longest = df.loc[grp["time_mean_h"].idxmax()].set_index(gk).reindex(first.index)
    out = pd.DataFrame(
        {
            "constraint": win["stage"],
            "wait_share": win["wait_share"].astype("float64"),
            "utilisation": win["utilisation"].astype("float64"),
            "wait_mean_h": win["wait_mean_h"].astype("float64"),
            "runner_up": lose["stage"],
            "runner_up_share": lose["wait_share"].astype("float64"),
            "margin": (
                win["wait_share"] / lose["wait_share"].where(lose["wait_share"] > 0) - 1.0
            ).astype("float64"),
            "longest_stage": longest["stage"],
            "longest_mean_h": longest["time_mean_h"].astype("float64"),
            "lead_mean_h": grp["time_mean_h"].sum().reindex(first.index),
            "n_changes": grp["n_changes"].max().reindex(first.index).astype("int64"),
        }
    )
    out = out.reset_index().drop(columns="_g")
    return out.sort_values(keys, kind="stable").reset_index(drop=True) if keys else out


def constraints(
    flow: FlowData,
    by: str | Sequence[str] | None = "service",
    freq: str | None = "W",
    *,
    tie: float = TIE,
) -> pd.DataFrame:
    """`find_constraints` of `stage_summary(flow, by, freq)`: per service-week by default;
    ``by=None, freq=None`` gives the organisation's constraint."""
    return find_constraints(stage_summary(flow, by, freq), tie=tie)


def graph_constraint(graph: nx.DiGraph, *, tie: float = TIE) -> str:
    """The constraint stage of a value-stream graph (same rule, from its node attributes)."""
    rows = [
        {"stage": n, **{k: d[k] for k in ("wait_share", "utilisation", "time_mean_h")}}
        | {"n_changes": d["n_changes"], "wait_mean_h": d["wait_mean_h"]}
        for n, d in graph.nodes(data=True)
    ]
    if not rows:
        raise DataError("graph: has no stages")
    return str(find_constraints(pd.DataFrame(rows), tie=tie)["constraint"].iloc[0])


def critical_path(graph: nx.DiGraph, weight: str = "time_mean_h") -> tuple[list[str], float]:
    """The longest path through the hand-off DAG, weighting each stage node by `weight`.

    With serial stages it is every stage; when some stages run in parallel, only the longest
    branch counts. Returns (stages on the path, total hours).
    """
    dag = nx.DiGraph(
        (a, b) for a, b, d in graph.edges(data=True) if d.get("kind", "handoff") == "handoff"
    )
    dag.add_nodes_from(graph.nodes)
    if not nx.is_directed_acyclic_graph(dag):
        raise DataError("graph: hand-off edges form a cycle; the critical path needs a DAG")
    best: dict[str, tuple[float, list[str]]] = {}
    for node in nx.topological_sort(dag):
        w = float(graph.nodes[node].get(weight, 0.0) or 0.0)
        preds = [best[p] for p in dag.predecessors(node)]
        base = max(preds, key=lambda t: t[0]) if preds else (0.0, [])
        best[node] = (base[0] + w, [*base[1], str(node)])
    if not best:
        return [], 0.0
    total, path = max(best.values(), key=lambda t: t[0])
    return path, total


def change_path(flow: FlowData, change_id: str) -> pd.DataFrame:
    """The stages one change went through: stage, wait_h, active_h, time_h, share of its lead
    time, and whether the stage is where it waited longest (its own constraint)."""
    rows = flow.stages.loc[(flow.stages["change_id"] == change_id).to_numpy(dtype=bool)]
    if rows.empty:
        raise DataError(f"change_id: {change_id!r} is not among the deployed changes")
    lead = flow.changes.loc[flow.changes["change_id"] == change_id, "lead_h"].iloc[0]
    out = rows[["stage", "wait_h", "active_h"]].reset_index(drop=True)
    out["time_h"] = out["wait_h"].fillna(0.0) + out["active_h"].fillna(0.0)
    out["share_of_lead"] = out["time_h"] / lead if lead > 0 else np.nan
    out["longest_wait"] = out["wait_h"].fillna(-1.0) == out["wait_h"].max()
    return out


def constraint_accuracy(found: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Join found constraints to planted ones (service, week_start, planted_stage) and flag hits.

    Returns the truth rows with ``constraint``, ``longest_stage``, ``hit`` (constraint equals the
    planted stage) and ``longest_hit``; service-weeks without a found row count as misses.
    """
    cols = ["service", "week_start", "constraint", "longest_stage", "n_changes"]
    merged = truth.merge(
        found[cols].rename(columns={"n_changes": "n_found"}),
        on=["service", "week_start"],
        how="left",
    )
    merged["hit"] = (merged["constraint"] == merged["planted_stage"]).fillna(False).astype(bool)
    merged["longest_hit"] = (merged["longest_stage"] == merged["planted_stage"]).fillna(False)
    merged["longest_hit"] = merged["longest_hit"].astype(bool)
    return merged
