"""Anomaly rules: a stage's wait that shifted up (a change point), an SLI anomaly after a deploy.

`Inputs.anomalies` rows: service, metric, ts, value, baseline, score (0-1), kind
("change_point" or "anomaly"), optionally event_id. `wait_shifts` computes the wait change
points from the flow with the CUSUM detector; callers may add SLI anomalies
(metric ``sli_error_ratio``) from any detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.anomaly.changepoint import CusumDetector
from vsmml.graph.flow import FlowData
from vsmml.recommend.context import Context
from vsmml.recommend.effects import lead_time_effect, sufficiency
from vsmml.recommend.evidence import ids_of
from vsmml.recommend.records import Evidence, ExpectedEffect, Note, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records, stage_event_ids
from vsmml.recommend.rules.flow import STAGE_ACTION

ANOMALY_COLUMNS: Final = ("service", "metric", "ts", "value", "baseline", "score", "kind")
WAIT_PREFIX: Final = "wait:"
SLI_METRIC: Final = "sli_error_ratio"


def wait_shifts(
    flow: FlowData,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    window_days: int = 28,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Upward change points of each service's daily mean wait per stage inside [since, until).

    The CUSUM detector (`vsmml.anomaly.changepoint`) runs on the daily series up to `until`
    (causal: a day's score uses earlier days only). For the first day in the window whose
    score reaches `threshold`: value = the mean daily wait from that day on, baseline = the
    mean over the `window_days` before it.
    """
    st = flow.stages.loc[flow.stages["wait_h"].notna().to_numpy(dtype=bool)]
    st = st.merge(flow.changes[["change_id", "first_commit_at"]], on="change_id", how="left")
    st = st.loc[(st["first_commit_at"] < until).to_numpy(dtype=bool)]
    day = st["first_commit_at"].dt.floor("D")
    daily = (
        st.assign(day=day)
        .groupby(["service", "stage", "day"], sort=True, observed=True)["wait_h"]
        .mean()
        .reset_index()
    )
    det = CusumDetector(window=window_days, direction="up")
    rows = []
    for (service, stage), g in daily.groupby(["service", "stage"], sort=True, observed=True):
        if len(g) < window_days // 2:
            continue
        score = det.score(pd.DataFrame({"timestamp": g["day"], "value": g["wait_h"]}))
        inside = (g["day"] >= since).to_numpy(dtype=bool) & (score >= threshold)
        if not inside.any():
            continue
        i = int(np.flatnonzero(inside)[0])
        at = g["day"].iloc[i]
        before = g.loc[
            ((g["day"] < at) & (g["day"] >= at - pd.Timedelta(days=window_days))).to_numpy(bool)
        ]
        after = g.iloc[i:]
        if before.empty:
            continue
        rows.append(
            (str(service), f"{WAIT_PREFIX}{stage}", at, float(after["wait_h"].mean()),
             float(before["wait_h"].mean()), float(score[i]), "change_point")
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(ANOMALY_COLUMNS))


@dataclass(frozen=True)
class WaitShiftRule(Rule):
    """A stage whose wait shifted up inside the window: the constraint's shift is its own
    recommendation, another stage's a note on the constraint's record."""

    name = "wait-shift"
    category = "flow"
    why = (
        "wait shift: a change point (CUSUM) in a stage's daily wait inside the window; the "
        "what-if graph re-times the window's changes with that wait cut back towards its level "
        "before (at most by `cut`)"
    )
    needs = ("anomalies", "flow")

    min_score: float = 0.5
    min_rise: float = 0.25
    min_changes: int = 10
    cut: float = 0.5
    """The largest cut proposed (as `ConstraintRule.cut`; a shift back to its old level may
    be deeper)."""

    def _shifts(self, ctx: Context) -> list[tuple[dict[str, Any], str, float, str | None]]:
        """(row, stage, rise, the service's constraint) of every shift worth a look."""
        a = ctx.inputs.anomalies
        assert a is not None
        rows = a.loc[a["metric"].astype(str).str.startswith(WAIT_PREFIX).to_numpy(dtype=bool)]
        rows = rows.loc[
            ctx.in_window(rows["ts"]) & (rows["score"] >= self.min_score).to_numpy(bool)
        ]
        leads = dict(zip(ctx.constraints["service"], ctx.constraints["constraint"], strict=True))
        out = []
        for row in records(rows):
            rise = float(row["value"]) / max(float(row["baseline"]), 1e-9) - 1.0
            if rise >= self.min_rise:
                stage = str(row["metric"])[len(WAIT_PREFIX) :]
                out.append((row, stage, rise, leads.get(str(row["service"]))))
        return out

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service whose constraint's wait shifted up."""
        out: list[Recommendation] = []
        for row, stage, rise, lead in self._shifts(ctx):
            if stage == lead:
                rec = self._one(ctx, row, rise)
                if rec is not None:
                    out.append(rec)
        return out

    def notes(self, ctx: Context) -> list[Note]:
        """A shift in another stage qualifies the constraint's record: it may take over.

        Theory of Constraints: work on the constraint first; a stage whose wait rose is the
        one to watch, and the evidence says so on the constraint's record.
        """
        out: list[Note] = []
        for row, stage, rise, lead in self._shifts(ctx):
            if lead is None or stage == lead:
                continue
            service = str(row["service"])
            at = pd.Timestamp(row["ts"])
            flow = ctx.service_flow(service)
            later = flow.changes.loc[(flow.changes["first_commit_at"] >= at).to_numpy(dtype=bool)]
            ids, n_ids = stage_event_ids(ctx, stage, later["change_id"].astype(str).tolist())
            evidence = Evidence.of(
                f"{stage} wait rose {rise:.0%} on {at.date()} ({row['baseline']:.2f} h → "
                f"{row['value']:.2f} h per change, CUSUM score {row['score']:.2f}): it may "
                f"become the constraint after {lead}",
                {"before_h": float(row["baseline"]), "after_h": float(row["value"])},
                at,
                ctx.until,
                ids,
                n_ids,
            )
            target = Target(service=service, team=ctx.team_of(service), stage=lead)
            out.append(Note(target, STAGE_ACTION.get(lead, "cut_stage_queue"), evidence, self.name))
        return out

    def _one(self, ctx: Context, row: dict[str, Any], rise: float) -> Recommendation | None:
        service = str(row["service"])
        stage = str(row["metric"])[len(WAIT_PREFIX) :]
        flow = ctx.service_flow(service)
        if len(flow.changes) < self.min_changes or stage not in flow.stage_order:
            return None
        pct = round(100.0 * min(1.0 - 1.0 / (1.0 + rise), self.cut))
        if pct < 1:
            return None
        effect, wi = lead_time_effect(flow, f"{stage} wait -{pct}%", ctx.horizon, seed=ctx.seed)
        if effect.benefit() <= 0:
            return None
        at = pd.Timestamp(row["ts"])
        later = flow.changes.loc[(flow.changes["first_commit_at"] >= at).to_numpy(dtype=bool)]
        ids, n_ids = stage_event_ids(ctx, stage, later["change_id"].astype(str).tolist())
        return self.make(
            Target(service=service, team=ctx.team_of(service), stage=stage),
            f"{stage} wait in {service} rose {rise:.0%} on {at.date()} "
            f"({row['baseline']:.1f} h → {row['value']:.1f} h per change); cutting it by {pct}% "
            f"moves the median lead time {wi.baseline_median_h:.1f} h → {wi.new_median_h:.1f} h",
            [
                Evidence.of(
                    f"change point in {stage} wait on {at.date()} (CUSUM score "
                    f"{row['score']:.2f}): {row['baseline']:.2f} h before, "
                    f"{row['value']:.2f} h since",
                    {
                        "before_h": float(row["baseline"]),
                        "after_h": float(row["value"]),
                        "score": float(row["score"]),
                    },
                    at,
                    ctx.until,
                    ids,
                    n_ids,
                )
            ],
            STAGE_ACTION.get(stage, "cut_stage_queue"),
            effect,
            float(row["score"]) * sufficiency(len(later), 2.0 * self.min_changes),
            params={"cut_pct": pct},
        )


@dataclass(frozen=True)
class SliAnomalyRule(Rule):
    """SLI anomalies that start shortly after a production deploy: a canary would catch them."""

    name = "sli-anomaly"
    category = "reliability"
    why = (
        "SLI anomaly after a deploy: anomalous error ratios starting within `lag_hours` of a "
        "production deploy; a canary on `canary_share` of the traffic keeps the rest from them"
    )
    needs = ("anomalies", "deployments", "slo_samples")

    min_score: float = 0.7
    lag_hours: float = 2.0
    canary_share: float = 0.1
    min_anomalies: int = 2

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service with enough deploy-following SLI anomalies."""
        a, deps = ctx.inputs.anomalies, ctx.inputs.deployments
        samples = ctx.inputs.slo_samples
        assert a is not None and deps is not None and samples is not None
        rows = a.loc[(a["metric"].astype(str) == SLI_METRIC).to_numpy(dtype=bool)]
        rows = rows.loc[
            ctx.in_window(rows["ts"]) & (rows["score"] >= self.min_score).to_numpy(bool)
        ]
        prod = deps.loc[(deps["env"] == "production").to_numpy(dtype=bool)]
        out: list[Recommendation] = []
        for service, mine in rows.groupby("service", sort=True, observed=True):
            d = prod.loc[(prod["service"] == service).to_numpy(dtype=bool)].sort_values(
                "finished_at"
            )
            fin = d["finished_at"].to_numpy(dtype="datetime64[us]")
            ts = mine["ts"].to_numpy(dtype="datetime64[us]")
            j = np.searchsorted(fin, ts, side="right") - 1
            lag = np.timedelta64(int(self.lag_hours * 3600e6), "us")
            hit = (j >= 0) & (ts - fin[np.maximum(j, 0)] <= lag)
            if hit.sum() < self.min_anomalies:
                continue
            out.append(self._one(ctx, str(service), mine.loc[hit], d.iloc[np.unique(j[hit])]))
        return out

    def _one(
        self, ctx: Context, service: str, rows: pd.DataFrame, deploys: pd.DataFrame
    ) -> Recommendation:
        s = ctx.inputs.slo_samples
        assert s is not None
        mine = s.loc[(s["service"] == service).to_numpy(dtype=bool)]
        win = mine.loc[ctx.in_window(mine["timestamp"])]
        objective = ctx.inputs.slo_objectives.get(service, ctx.inputs.default_objective)
        budget = float(win["total"].sum()) * (1.0 - objective)
        excess = np.clip(rows["value"].to_numpy(float) - rows["baseline"].to_numpy(float), 0, None)
        per_sample = float(win["total"].mean()) if len(win) else 0.0
        bad = float(excess.sum() * per_sample)
        share = bad / budget if budget > 0 else 0.0
        value = -(1.0 - self.canary_share) * share
        effect = ExpectedEffect(
            "error budget spent by failed deploys", value, value, value, "share of budget",
            ctx.horizon, baseline=1.0,
            method=f"excess error ratio of {len(rows)} anomalous samples after deploys, "
            f"x {1 - self.canary_share:.0%} kept from full traffic",
        )  # fmt: skip
        ids = [
            *ids_of(rows),
            *ctx.events.lookup("deploy.finished", "deploy_id", deploys["deploy_id"].tolist())[0],
        ]
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{len(rows)} SLI anomalies in {service} began within {self.lag_hours:g} h of a "
            "production deploy",
            [
                Evidence.of(
                    f"{len(rows)} anomalous SLI samples after {len(deploys)} deploys",
                    {"anomalies": len(rows), "deploys": len(deploys), "budget_share": share},
                    ctx.since,
                    ctx.until,
                    ids,
                    len(rows) + len(deploys),
                )
            ],
            "add_canary",
            effect,
            sufficiency(len(deploys), 5.0),
            params={"canary_share_pct": round(self.canary_share * 100)},
        )
