"""Flow rules beside the constraint: run a CI stage in parallel, speed up a slow stage, deploy
in smaller batches; each reuses the constraint rule's effect and confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsmml.graph.flow import FlowData
from vsmml.recommend.context import Context
from vsmml.recommend.effects import lead_time_effect, sufficiency
from vsmml.recommend.records import Evidence, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records, stage_event_ids
from vsmml.recommend.rules.flow import (
    constraint_confidence,
    constraint_effect,
    slowest_changes,
)


def _middle_ci(flow: FlowData, stage: str) -> bool:
    ci = list(flow.ci_stages)
    return stage in ci[1:-1]


@dataclass(frozen=True)
class ParallelStageRule(Rule):
    """A CI stage that is the constraint and could run beside the other CI stages."""

    name = "parallel-stage"
    category = "flow"
    why = (
        "parallel stage: the constraint is a CI stage between the build and the packaging; run "
        "beside the other stages the pipeline takes the longest branch instead of the sum"
    )
    needs = ("flow",)

    min_benefit: float = 0.01
    min_changes: int = 10
    enough_changes: int = 40

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose constraint is a middle CI stage."""
        out: list[Recommendation] = []
        for row in records(ctx.constraints):
            service, stage = str(row["service"]), str(row["constraint"])
            if int(row["n_changes"]) < self.min_changes:
                continue
            flow = ctx.service_flow(service)
            if not _middle_ci(flow, stage):
                continue
            effect, wi = constraint_effect(ctx, service, stage, f"{stage} in parallel")
            if effect.benefit() < self.min_benefit:
                continue
            confidence, _, _ = constraint_confidence(ctx, row, self.enough_changes)
            rows = flow.stages.loc[(flow.stages["stage"] == stage).to_numpy(dtype=bool)]
            ids, n_ids = stage_event_ids(ctx, stage, slowest_changes(flow, stage))
            out.append(
                self.make(
                    Target(service=service, team=ctx.team_of(service), stage=stage),
                    f"{stage} runs in series in {service}'s pipeline "
                    f"({rows['wait_h'].mean() + rows['active_h'].mean():.1f} h per change); "
                    f"in parallel the median lead time moves {wi.baseline_median_h:.1f} h → "
                    f"{wi.new_median_h:.1f} h",
                    [
                        Evidence.of(
                            f"{stage}: {rows['wait_h'].mean():.2f} h queued and "
                            f"{rows['active_h'].mean():.2f} h running per change",
                            {
                                "wait_mean_h": float(rows["wait_h"].mean()),
                                "active_mean_h": float(rows["active_h"].mean()),
                                "n_changes": len(rows),
                            },
                            ctx.since,
                            ctx.until,
                            ids,
                            n_ids,
                        )
                    ],
                    "parallelise_stage",
                    effect,
                    confidence,
                )
            )
        return out


@dataclass(frozen=True)
class SlowStageRule(Rule):
    """The CI stage that runs longest (active time), when speeding it up would matter."""

    name = "slow-stage"
    category = "flow"
    why = (
        "slow stage: the CI stage with the longest run time adds to every change's lead time; "
        "the what-if graph re-times the changes with it running faster"
    )
    needs = ("flow",)

    cut: float = 0.5
    min_benefit: float = 0.02
    min_changes: int = 10

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose slowest CI stage is worth speeding up."""
        out: list[Recommendation] = []
        summary = ctx.summary
        if summary.empty:
            return out
        for service, rows in summary.groupby("service", sort=True):
            flow = ctx.service_flow(str(service))
            ci = rows.loc[rows["stage"].isin(flow.ci_stages).to_numpy(dtype=bool)]
            if ci.empty or int(ci["n_changes"].max()) < self.min_changes:
                continue
            top = ci.iloc[int(np.argmax(ci["active_mean_h"].to_numpy(dtype=np.float64)))]
            stage = str(top["stage"])
            pct = round(self.cut * 100)
            scenario = f"{stage} active -{pct}%"
            effect, wi = lead_time_effect(flow, scenario, ctx.horizon, seed=ctx.seed)
            if effect.benefit() < self.min_benefit:
                continue
            ids, n_ids = stage_event_ids(ctx, stage, slowest_changes(flow, stage, "active_h"))
            out.append(
                self.make(
                    Target(service=str(service), team=ctx.team_of(str(service)), stage=stage),
                    f"{stage} runs {top['active_mean_h']:.2f} h per change in {service}; "
                    f"{pct}% faster moves the median lead time {wi.baseline_median_h:.1f} h → "
                    f"{wi.new_median_h:.1f} h",
                    [
                        Evidence.of(
                            f"{stage} runs {top['active_mean_h']:.2f} h per change, the longest "
                            "CI stage",
                            {"active_mean_h": float(top["active_mean_h"])},
                            ctx.since,
                            ctx.until,
                            ids,
                            n_ids,
                        )
                    ],
                    "speed_up_stage",
                    effect,
                    sufficiency(float(top["n_changes"]), 40),
                    params={"cut_pct": pct, "active_h": f"{top['active_mean_h']:.2f}"},
                )
            )
        return out


@dataclass(frozen=True)
class DeployBatchRule(Rule):
    """Production is the constraint and changes ride along in batches: ship them one by one."""

    name = "deploy-batch"
    category = "flow"
    why = (
        "deploy batches: when production is the constraint and deploys carry several changes, "
        "the what-if graph gives each rider the production wait of a deploy of its own"
    )
    needs = ("flow",)

    min_riders: int = 5
    enough_changes: int = 40

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose production constraint comes with batching."""
        out: list[Recommendation] = []
        for row in records(ctx.constraints):
            if str(row["constraint"]) != "production":
                continue
            service = str(row["service"])
            flow = ctx.service_flow(service)
            ch = flow.changes
            riders = ch.loc[~ch["batch_head"].to_numpy(dtype=bool)]
            if len(riders) < self.min_riders:
                continue
            effect, wi = constraint_effect(ctx, service, "production", "deploy batch size 1")
            if effect.benefit() <= 0:
                continue
            confidence, _, _ = constraint_confidence(ctx, row, self.enough_changes)
            order = riders.sort_values("batch_size", ascending=False, kind="stable")
            deploys = ctx.change_column("production_deploy_id").reindex(order["change_id"])
            ids, n_ids = ctx.events.lookup("deploy.started", "deploy_id", deploys.dropna().tolist())
            out.append(
                self.make(
                    Target(service=service, team=ctx.team_of(service), stage="production"),
                    f"{len(riders)} of {len(ch)} changes in {service} rode along in a batch "
                    f"(mean batch {float(np.mean(ch['batch_size'])):.1f}); one change per deploy "
                    f"moves the median lead time {wi.baseline_median_h:.1f} h → "
                    f"{wi.new_median_h:.1f} h",
                    [
                        Evidence.of(
                            f"{len(riders)} riders in batched production deploys",
                            {
                                "riders": len(riders),
                                "changes": len(ch),
                                "mean_batch_size": float(np.mean(ch["batch_size"])),
                            },
                            ctx.since,
                            ctx.until,
                            ids,
                            n_ids,
                        )
                    ],
                    "shrink_deploy_batches",
                    effect,
                    confidence,
                )
            )
        return out
