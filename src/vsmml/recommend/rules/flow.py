"""The constraint rule: each service's constraint, how sure we are of it and what cutting it
would give (the effect and confidence the other flow rules in `stages` reuse)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from vsmml.graph.build import graph_for
from vsmml.graph.constraint import critical_path
from vsmml.graph.flow import FlowData
from vsmml.graph.whatif import WhatIfResult, what_if
from vsmml.recommend.context import Context
from vsmml.recommend.effects import lead_time_effect, sufficiency
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records, stage_event_ids

STAGE_ACTION = {
    "review": "cut_review_wait",
    "staging": "automate_promotion",
    "production": "deploy_more_often",
}
"""The action that cuts each stage's wait; CI stages get `cut_stage_queue`."""


def slowest_changes(flow: FlowData, stage: str, column: str = "wait_h") -> list[str]:
    rows = flow.stages.loc[(flow.stages["stage"] == stage).to_numpy(dtype=bool)]
    rows = rows.sort_values(column, ascending=False, kind="stable")
    return [str(c) for c in rows["change_id"]]


def _weeks(ctx: Context, service: str) -> pd.DataFrame:
    w = ctx.weekly_constraints
    return w.loc[(w["service"] == service).to_numpy(dtype=bool)]


def leader_stability(flow: FlowData, stage: str, seed: int, n_boot: int = 200) -> float:
    """Share of bootstrap resamples of the changes in which `stage` still has the most waiting.

    It says how sure the data is of the constraint: near 1 when it leads clearly, near 0.5
    when the runner-up is level, low when a few long waits decide it.
    """
    st = flow.stages
    wait = st.pivot_table(index="change_id", columns="stage", values="wait_h", aggfunc="sum")
    if stage not in wait.columns or wait.empty:
        return 0.0
    w = wait.fillna(0.0).to_numpy(dtype=np.float64)
    col = list(wait.columns).index(stage)
    rng = np.random.default_rng(seed + 7)
    pick = rng.integers(0, w.shape[0], size=(n_boot, w.shape[0]))
    sums = w[pick].sum(axis=1)
    return float(np.mean(np.argmax(sums, axis=1) == col))


def constraint_confidence(ctx: Context, row: dict[str, Any], enough: int) -> tuple[float, int, int]:
    """Stability × persistence × data sufficiency.

    Stability: `leader_stability` over the window's changes. Persistence: 0.5 + 0.5 × the
    share of the window's weeks in which the stage led (a constraint that took over or gave
    way inside the window is less sure to hold next period; sparse weeks are noisy, hence
    not the share alone). Sufficiency: changes / `enough`, capped at 1.
    Returns (confidence, weeks the stage led, weeks).
    """
    service, stage = str(row["service"]), str(row["constraint"])
    weekly = _weeks(ctx, service)
    weeks = len(weekly)
    led = int((weekly["constraint"] == stage).sum())
    persist = 0.5 + 0.5 * (led / weeks if weeks else 0.0)
    stable = leader_stability(ctx.service_flow(service), stage, ctx.seed)
    return stable * persist * sufficiency(float(row["n_changes"]), enough), led, weeks


def lost_lead_since(ctx: Context, service: str, stage: str) -> pd.Timestamp | None:
    """The start of the trailing run of weeks in which `stage` did not lead (None if it led
    the window's last week)."""
    weekly = _weeks(ctx, service).sort_values("week_start")
    since = None
    for week, lead in zip(weekly["week_start"][::-1], weekly["constraint"][::-1], strict=True):
        if lead == stage:
            break
        since = pd.Timestamp(week)
    return since


def _weekly_effects(flow: FlowData, scenario: str, seed: int, min_changes: int) -> list[float]:
    """The scenario's effect on each week's changes alone (weeks with enough changes)."""
    out = []
    for week in sorted(flow.changes["week_start"].unique()):
        keep = (flow.changes["week_start"] == week).to_numpy(dtype=bool)
        if keep.sum() < min_changes:
            continue
        out.append(what_if(_subset(flow, keep), scenario, n_boot=20, seed=seed).delta_pct)
    return out


def _subset(flow: FlowData, keep: np.ndarray) -> FlowData:
    changes = flow.changes.loc[keep].reset_index(drop=True)
    stages = flow.stages.loc[flow.stages["change_id"].isin(changes["change_id"]).to_numpy(bool)]
    return FlowData(changes, stages.reset_index(drop=True), flow.stage_order, flow.ci_stages)


def constraint_effect(
    ctx: Context, service: str, stage: str, scenario: str, min_changes: int = 5
) -> tuple[ExpectedEffect, WhatIfResult]:
    """The what-if effect on the window's changes, its interval widened to what the weeks show.

    The interval also spans the effect on each week's changes alone (weeks differ more than
    resampling the window's changes says: the planted level, release windows, congestion), and,
    when the stage lost the lead in the last weeks, the interval of those weeks' changes (the
    next period may look like them rather than like the window).
    """
    flow = ctx.service_flow(service)
    effect, wi = lead_time_effect(flow, scenario, ctx.horizon, seed=ctx.seed)
    weekly = _weekly_effects(flow, scenario, ctx.seed, min_changes)
    low, high = effect.low, effect.high
    notes = []
    if len(weekly) >= 2:
        low, high = min(low, *weekly), max(high, *weekly)
        notes.append(f"weekly effects {min(weekly):+.1f}% .. {max(weekly):+.1f}%")
    since = lost_lead_since(ctx, service, stage)
    keep = (flow.changes["week_start"] >= since).to_numpy(dtype=bool) if since is not None else None
    if since is not None and keep is not None and keep.sum() >= min_changes:
        late, _ = lead_time_effect(_subset(flow, keep), scenario, ctx.horizon, seed=ctx.seed)
        low, high = min(low, late.low), max(high, late.high)
        notes.append(
            f"{stage} has not led since {since.date()} ({late.value:+.1f}% on those weeks)"
        )
    if notes:
        effect = replace(effect, low=low, high=high, method=f"{effect.method}; {'; '.join(notes)}")
    return effect, wi


def _path_evidence(ctx: Context, flow: FlowData, stage: str) -> Evidence | None:
    graph = graph_for(flow)
    path, total = critical_path(graph)
    if stage not in graph:
        return None
    node = graph.nodes[stage]
    return Evidence.of(
        f"critical path {' → '.join(path)}: {total:.1f} h per change on average; "
        f"{stage} takes {node['time_mean_h']:.1f} h of it ({node['wait_mean_h']:.1f} h waiting)",
        {
            "critical_path_h": total,
            "stage_time_mean_h": node["time_mean_h"],
            "stage_wait_mean_h": node["wait_mean_h"],
            "stage_wip": node["wip"],
        },
        ctx.since,
        ctx.until,
    )


@dataclass(frozen=True)
class ConstraintRule(Rule):
    """The constraint (largest share of the waiting) of each service over the window."""

    name = "constraint"
    category = "flow"
    why = (
        "constraint: the stage with the largest share of the service's waiting limits its flow "
        "(Theory of Constraints); the what-if graph re-times every change of the window with "
        "that wait cut"
    )
    needs = ("flow",)

    cut: float = 0.5
    min_changes: int = 10
    enough_changes: int = 40

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose constraint is clear from enough changes."""
        out: list[Recommendation] = []
        for row in records(ctx.constraints):
            if int(row["n_changes"]) < self.min_changes:
                continue
            rec = self._one(ctx, row)
            if rec is not None:
                out.append(rec)
        return out

    def _one(self, ctx: Context, row: dict[str, Any]) -> Recommendation | None:
        service, stage = str(row["service"]), str(row["constraint"])
        flow = ctx.service_flow(service)
        pct = round(self.cut * 100)
        effect, wi = constraint_effect(ctx, service, stage, f"{stage} wait -{pct}%")
        if effect.benefit() <= 0:
            return None
        weekly = _weeks(ctx, service)
        confidence, led, weeks = constraint_confidence(ctx, row, self.enough_changes)
        ids, n_ids = stage_event_ids(ctx, stage, slowest_changes(flow, stage))
        evidence = [
            Evidence.of(
                f"{stage} holds {row['wait_share']:.0%} of {service}'s waiting "
                f"({row['wait_mean_h']:.1f} h per change), ahead of {row['runner_up']} "
                f"({row['runner_up_share']:.0%}); median lead time {wi.baseline_median_h:.1f} h "
                f"over {int(row['n_changes'])} changes",
                {
                    "wait_share": row["wait_share"],
                    "wait_mean_h": row["wait_mean_h"],
                    "runner_up_share": row["runner_up_share"],
                    "lead_median_h": wi.baseline_median_h,
                    "n_changes": int(row["n_changes"]),
                },
                ctx.since,
                ctx.until,
                ids,
                n_ids,
            ),
            Evidence.of(
                f"{stage} led the waiting in {led} of {weeks} weeks",
                {
                    f"share_{pd.Timestamp(w).date()}": s
                    for w, s, c in zip(
                        weekly["week_start"],
                        weekly["wait_share"],
                        weekly["constraint"],
                        strict=True,
                    )
                    if c == stage
                }
                | {"weeks_led": led, "weeks": weeks},
                ctx.since,
                ctx.until,
            ),
        ]
        path = _path_evidence(ctx, flow, stage)
        if path is not None:
            evidence.append(path)
        action = STAGE_ACTION.get(stage, "cut_stage_queue")
        return self.make(
            Target(service=service, team=ctx.team_of(service), stage=stage),
            f"{stage} is the constraint in {service}: {row['wait_share']:.0%} of the waiting, "
            f"{row['wait_mean_h']:.1f} h per change; cutting it by {pct}% moves the median lead "
            f"time {wi.baseline_median_h:.1f} h → {wi.new_median_h:.1f} h",
            evidence,
            action,
            effect,
            confidence,
            params={"cut_pct": pct},
        )
