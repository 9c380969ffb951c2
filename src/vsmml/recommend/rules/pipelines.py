"""Quality rules: flaky pipelines (runs that fail and pass on retry)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.counterfactual import model_trust
from vsmml.recommend.effects import bootstrap_mean, prediction_interval, retimed_effect, sufficiency
from vsmml.recommend.evidence import ids_of
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule


def retry_hours(runs: pd.DataFrame) -> pd.Series:
    """Per sha: hours from the first run's start to the start of the last successful run (the
    time the retries cost; 0 when the first run passed)."""
    start = runs["finished_at"] - pd.to_timedelta(runs["duration_h"].fillna(0.0), unit="h")
    frame = pd.DataFrame({"sha": runs["sha"].astype(str), "start": start, "ok": runs["success"]})
    first = frame.groupby("sha")["start"].min()
    last_ok = frame.loc[frame["ok"].to_numpy(dtype=bool)].groupby("sha")["start"].max()
    lost = (last_ok - first.reindex(last_ok.index)).dt.total_seconds() / 3600.0
    return lost.clip(lower=0.0)


@dataclass(frozen=True)
class FlakyPipelineRule(Rule):
    """Services whose pipelines fail and then pass on a retry of the same commit."""

    name = "flaky-pipelines"
    category = "quality"
    why = (
        "flaky pipelines: runs that fail and pass on retry of the same commit cost every such "
        "change the retries; each change of the window is re-timed without them"
    )
    needs = ("pipeline_runs", "flow")

    min_flaky: int = 5
    min_share: float = 0.02
    enough_flaky: int = 20

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service with enough flaky runs in the window."""
        runs = ctx.inputs.pipeline_runs
        assert runs is not None
        win = runs.loc[ctx.in_window(runs["finished_at"])]
        out: list[Recommendation] = []
        for service, rows in win.groupby("service", sort=True, observed=True):
            n_flaky = int(rows["flaky"].sum())
            if n_flaky < self.min_flaky or n_flaky / len(rows) < self.min_share:
                continue
            rec = self._one(ctx, str(service), rows, runs)
            if rec is not None:
                out.append(rec)
        return out

    def _failing_stage(self, ctx: Context, flaky_ids: set[str]) -> tuple[str | None, pd.DataFrame]:
        failed = ctx.events.in_window(
            "stage.finished", ctx.since, ctx.until, where={"status": "failure"}
        )
        if failed.empty:
            return None, failed
        mine = failed.loc[failed["pipeline_id"].astype(str).isin(flaky_ids).to_numpy(dtype=bool)]
        if mine.empty:
            return None, mine
        return str(mine["stage"].astype(str).value_counts().idxmax()), mine

    def _one(
        self, ctx: Context, service: str, rows: pd.DataFrame, all_runs: pd.DataFrame
    ) -> Recommendation | None:
        flow = ctx.service_flow(service)
        if flow.changes.empty:
            return None
        lost = retry_hours(all_runs.loc[(all_runs["service"] == service).to_numpy(dtype=bool)])
        shas = ctx.change_column("sha").reindex(flow.changes["change_id"])
        cost = lost.reindex(shas.to_numpy()).fillna(0.0).to_numpy(dtype=np.float64)
        old = flow.changes["lead_h"].to_numpy(dtype=np.float64)
        new = np.maximum(old - cost, 0.0)
        effect, b = retimed_effect(
            old,
            new,
            ctx.horizon,
            f"re-timed {len(old)} changes without their retries",
            seed=ctx.seed,
        )
        if effect.benefit() <= 0:
            return None
        flaky = rows.loc[rows["flaky"].to_numpy(dtype=bool)]
        stage, stage_fails = self._failing_stage(ctx, set(flaky["pipeline_id"].astype(str)))
        fin = ctx.events.in_window("pipeline.finished", ctx.since, ctx.until)
        flaky_events = fin.loc[fin["pipeline_id"].astype(str).isin(set(flaky["pipeline_id"]))]
        evidence = [
            Evidence.of(
                f"{len(flaky)} of {len(rows)} pipeline runs of {service} failed and passed on "
                f"retry ({len(flaky) / len(rows):.0%}); the retries cost {cost.sum():.1f} h",
                {
                    "flaky_runs": len(flaky),
                    "runs": len(rows),
                    "flaky_share": len(flaky) / len(rows),
                    "retry_hours": float(cost.sum()),
                },
                ctx.since,
                ctx.until,
                ids_of(flaky_events),
                len(flaky_events),
            )
        ]
        if stage is not None:
            at_stage = stage_fails.loc[(stage_fails["stage"].astype(str) == stage).to_numpy(bool)]
            evidence.append(
                Evidence.of(
                    f"{len(at_stage)} of the flaky failures were in {stage}",
                    {"stage_failures": len(at_stage), "flaky_failures": len(stage_fails)},
                    ctx.since,
                    ctx.until,
                    ids_of(at_stage),
                    len(at_stage),
                )
            )
        extra = self._risk_effect(ctx, service)
        if extra is not None:
            evidence.append(extra[1])
        return self.make(
            Target(service=service, team=ctx.team_of(service), stage=stage),
            f"{len(flaky)} flaky pipeline runs in {service} ({len(flaky) / len(rows):.0%} of "
            f"runs); without the retries the median lead time moves "
            f"{np.median(old):.1f} h → {np.median(new):.1f} h",
            evidence,
            "fix_flaky_tests",
            effect,
            b.p_better * sufficiency(len(flaky), self.enough_flaky),
            params={"stage": stage or "the pipeline"},
            extra=[extra[0]] if extra is not None else [],
        )

    def _risk_effect(self, ctx: Context, service: str) -> tuple[ExpectedEffect, Evidence] | None:
        """The risk model's view: the service's changes re-scored with the flakiness fixed."""
        scorer, feats = ctx.inputs.scorer, ctx.inputs.change_features
        target = ctx.fixed_flakiness(service)
        if scorer is None or feats is None or target is None:
            return None
        if "pipeline_flakiness" not in scorer.input_columns:
            return None
        rows = feats.loc[
            ctx.in_window(feats["merged_at"]) & (feats["service"] == service).to_numpy(bool)
        ]
        rows = rows.loc[rows["pipeline_flakiness"].notna().to_numpy(dtype=bool)]
        if rows.empty:
            return None
        cols = {
            c: rows[c].to_numpy(dtype=np.float64, na_value=np.nan)
            for c in scorer.input_columns
            if c in rows.columns
        }
        p = np.asarray(scorer.predict_proba(scorer.matrix(cols)), dtype=np.float64)
        cols["pipeline_flakiness"] = np.minimum(cols["pipeline_flakiness"], target)
        q = np.asarray(scorer.predict_proba(scorer.matrix(cols)), dtype=np.float64)
        b = bootstrap_mean(q - p, seed=ctx.seed)
        lo, hi = prediction_interval(b.value, b.low, b.high)
        effect = ExpectedEffect(
            "risk per change",
            b.value,
            lo,
            hi,
            "probability",
            f"each change of the {ctx.horizon}",
            baseline=float(p.mean()),
            method=f"re-scored {len(rows)} changes with pipeline_flakiness at {target:.3f}",
        )
        ev = Evidence.of(
            f"the {ctx.inputs.model_name} model scores {service}'s changes {p.mean():.2f}; with "
            f"the flaky failures fixed {q.mean():.2f} (model trust {model_trust(scorer):.2f})",
            {"risk_now": float(p.mean()), "risk_fixed": float(q.mean()), "flakiness_fixed": target},
            ctx.since,
            ctx.until,
        )
        return effect, ev
