"""The Lead time and Constraint sections: where the week's changes spent their time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class FlowWeek:
    """The value stream of the changes deployed to production in one week.

    Attributes:
        by_service: `stage_summary` rows per service (service, stage, order, n_changes,
            wait_mean_h, active_mean_h, time_mean_h, wait_share, time_share ...).
        scope: `stage_summary` rows of the whole scope (no service column).
        constraints: `find_constraints` rows per service, plus one with service None for the
            scope.
        previous: the constraint rows of the week before (same layout; may be empty).
        lead_median: service → median lead time of the week (DORA, hours).
        graph: the scope's value-stream graph (None when nothing was deployed).
        stage_order: the stages in value-stream order.
        changes: how many changes were deployed in the week.
    """

    by_service: pd.DataFrame
    scope: pd.DataFrame
    constraints: pd.DataFrame
    previous: pd.DataFrame
    lead_median: dict[str, float]
    graph: nx.DiGraph | None
    stage_order: tuple[str, ...]
    changes: int


def _empty(key: str, heading: str, scope_name: str) -> Section:
    return Section(
        key,
        heading,
        (f"No change of {scope_name} reached production this week.",),
        {"changes": 0},
    )


def lead_time_section(flow: FlowWeek, scope_name: str) -> Section:
    """Lead time by stage: stacked bars per service and the value-stream map of the scope."""
    if flow.changes == 0 or flow.scope.empty:
        return _empty("lead_time", "Lead time", scope_name)
    scope = flow.scope
    mean_lead = float(scope["time_mean_h"].sum())
    mean_wait = float(scope["wait_mean_h"].sum())
    longest = scope.iloc[int(scope["time_mean_h"].to_numpy(dtype=float).argmax())]
    per = flow.by_service.groupby("service", sort=True)
    table_frame = pd.DataFrame(
        {
            "service": list(per.groups),
            "changes": per["n_changes"].max().to_numpy(),
            "lead_mean_h": per["time_mean_h"].sum().to_numpy(),
            "wait_mean_h": per["wait_mean_h"].sum().to_numpy(),
        }
    )
    table_frame["lead_median_h"] = table_frame["service"].map(flow.lead_median).astype(float)
    table_frame["waiting"] = table_frame["wait_mean_h"] / table_frame["lead_mean_h"]
    idx = flow.by_service.groupby("service", sort=True)["time_mean_h"].idxmax()
    table_frame["longest"] = flow.by_service.loc[idx, "stage"].to_numpy()
    table_frame["longest_h"] = flow.by_service.loc[idx, "time_mean_h"].to_numpy()
    table_frame = table_frame.sort_values("lead_mean_h", ascending=False, kind="stable")
    slow = table_frame.iloc[0]
    summary = (
        f"The {flow.changes:,} changes of {scope_name} deployed this week took "
        f"{fmt.hours(mean_lead)} on average from first commit to production, "
        f"{fmt.rate(mean_wait / mean_lead if mean_lead else math.nan)} of it waiting; "
        f"the longest stage was {longest['stage']} ({fmt.hours(longest['time_mean_h'])} "
        "per change).",
        f"Slowest service: {slow['service']}, {fmt.hours(slow['lead_mean_h'])} per change "
        f"(median {fmt.hours(slow['lead_median_h'])}), most of it in {slow['longest']} "
        f"({fmt.hours(slow['longest_h'])}).",
    )
    table = Table.from_frame(
        "Lead time per service (changes deployed this week)",
        table_frame,
        {
            "service": "service",
            "changes": "changes",
            "lead_median_h": "median lead time",
            "lead_mean_h": "mean lead time",
            "waiting": "share waiting",
            "longest": "longest stage",
            "longest_h": "its mean",
        },
        {
            "lead_median_h": fmt.hours,
            "lead_mean_h": fmt.hours,
            "waiting": fmt.rate,
            "longest_h": fmt.hours,
        },
        note="mean lead time = Σ stage means (wait + active); the median is DORA's",
    )
    plot_list = [
        Plot(
            "lead-time-stages",
            "Lead time by stage, per service",
            plots.stage_bars(flow.by_service, flow.stage_order),
            caption="Mean hours per change in each stage, changes deployed this week.",
            data={"rows": flow.by_service[["service", "stage", "time_mean_h"]].to_dict("records")},
        )
    ]
    constraint = _scope_constraint(flow)
    if flow.graph is not None:
        plot_list.append(
            Plot(
                "value-stream",
                "The value-stream map",
                plots.value_stream(flow.graph, constraint),
                caption="Stages in order; hatched: waiting, solid: working, per change; the "
                "constraint in red; arcs below: rework (failed runs sent back).",
                data={
                    "stages": [str(n) for n in flow.graph.nodes],
                    "constraint": constraint,
                },
            )
        )
    facts: dict[str, Any] = {
        "changes": flow.changes,
        "lead_mean_h": mean_lead,
        "wait_mean_h": mean_wait,
        "longest_stage": str(longest["stage"]),
        "by_service": table_frame.to_dict("records"),
    }
    return Section("lead_time", "Lead time", summary, facts, (table,), tuple(plot_list))


def _scope_constraint(flow: FlowWeek) -> str | None:
    rows = flow.constraints.loc[flow.constraints["service"].isna()]
    return None if rows.empty else str(rows.iloc[0]["constraint"])


def _time_share(summary: pd.DataFrame, stage: str) -> float:
    row = summary.loc[summary["stage"] == stage]
    return math.nan if row.empty else float(row["time_share"].iloc[0])


def constraint_section(flow: FlowWeek, scope_name: str) -> Section:
    """The bottleneck (highest share of waiting) and its share of lead time, per service."""
    if flow.changes == 0 or flow.scope.empty:
        return _empty("constraint", "Constraint", scope_name)
    stage = _scope_constraint(flow)
    scope_row = flow.constraints.loc[flow.constraints["service"].isna()].iloc[0]
    share = _time_share(flow.scope, str(stage))
    prev = flow.previous
    prev_scope = prev.loc[prev["service"].isna(), "constraint"] if not prev.empty else pd.Series()
    before = str(prev_scope.iloc[0]) if len(prev_scope) else None
    moved = (
        "the same as last week"
        if before == stage
        else f"last week it was {before}"
        if before
        else "no deployment last week to compare"
    )
    summary = [
        f"The constraint of {scope_name} this week is {stage}: it holds "
        f"{fmt.rate(scope_row['wait_share'])} of all waiting and {fmt.rate(share)} of the "
        f"lead time ({fmt.hours(scope_row['wait_mean_h'])} waiting per change); {moved}.",
        f"Runner-up: {scope_row['runner_up']} with {fmt.rate(scope_row['runner_up_share'])} "
        f"of the waiting (the constraint leads by {fmt.rate(scope_row['margin'])}).",
    ]
    per = flow.constraints.loc[flow.constraints["service"].notna()].copy()
    per["lead_share"] = [
        _time_share(flow.by_service.loc[flow.by_service["service"] == s], str(c))
        for s, c in zip(per["service"], per["constraint"], strict=True)
    ]
    last = (
        prev.loc[prev["service"].notna()].set_index("service")["constraint"]
        if not prev.empty
        else pd.Series(dtype=object)
    )
    per["last_week"] = per["service"].map(last)
    table = Table.from_frame(
        "The constraint of each service this week",
        per,
        {
            "service": "service",
            "constraint": "constraint",
            "wait_share": "share of waiting",
            "lead_share": "share of lead time",
            "wait_mean_h": "wait per change",
            "runner_up": "runner-up",
            "runner_up_share": "its share",
            "last_week": "last week's",
        },
        {
            "wait_share": fmt.rate,
            "lead_share": fmt.rate,
            "wait_mean_h": fmt.hours,
            "runner_up_share": fmt.rate,
        },
        note="the constraint is the stage with the highest share of waiting (utilisation "
        "breaks near ties), as `vsmml bottlenecks` finds it",
    )
    scope = flow.scope.sort_values("order")
    lead = float(scope["time_mean_h"].sum())
    shares = pd.DataFrame(
        {
            "stage": scope["stage"].to_numpy(),
            "wait_share_of_lead": scope["wait_mean_h"].to_numpy() / lead if lead else 0.0,
            "active_share_of_lead": scope["active_mean_h"].to_numpy() / lead if lead else 0.0,
        }
    )
    plot = Plot(
        "constraint",
        f"Share of lead time per stage ({scope_name})",
        plots.stage_shares(shares, stage),
        caption="Each stage's share of the mean lead time; hatched: waiting; red: constraint.",
        data={"shares": shares.to_dict("records"), "constraint": stage},
    )
    facts = {
        "constraint": stage,
        "wait_share": float(scope_row["wait_share"]),
        "lead_time_share": share,
        "wait_mean_h": float(scope_row["wait_mean_h"]),
        "runner_up": str(scope_row["runner_up"]),
        "last_week": before,
        "by_service": per[["service", "constraint", "wait_share", "lead_share"]].to_dict("records"),
    }
    return Section("constraint", "Constraint", tuple(summary), facts, (table,), (plot,))
