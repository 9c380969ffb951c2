"""Reliability rules about deploys: batched deploys that fail more, failed deploys at full
traffic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.effects import (
    N_BOOT,
    Bootstrap,
    bootstrap_mean,
    prediction_interval,
    sufficiency,
)
from vsmml.recommend.evidence import ids_of
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule


def production_deploys(ctx: Context) -> pd.DataFrame:
    """Production deploys (not rollbacks) that started in the window."""
    deps = ctx.inputs.deployments
    assert deps is not None
    prod = deps.loc[(deps["env"] == "production").to_numpy(dtype=bool)]
    prod = prod.loc[~prod["is_rollback"].fillna(False).astype(bool).to_numpy()]
    return prod.loc[ctx.in_window(prod["started_at"])]


def _batch_gap(n: np.ndarray, failed: np.ndarray, seed: int, n_boot: int = N_BOOT) -> Bootstrap:
    """Share of changes shipped in a failed deploy if every change shipped alone (at the single
    deploys' failure rate) minus the share now; bootstrap over deploys."""

    def gap(nn: np.ndarray, ff: np.ndarray) -> float:
        single = nn == 1
        if not single.any() or nn.sum() == 0:
            return np.nan
        return float(ff[single].mean() - (nn * ff).sum() / nn.sum())

    value = gap(n, failed)
    rng = np.random.default_rng(seed + 4)
    draws = np.array([gap(n[p], failed[p]) for p in rng.integers(0, n.size, (n_boot, n.size))])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.quantile(draws, [0.05, 0.95]) if draws.size else (value, value)
    return Bootstrap(value, float(lo), float(hi), float(np.mean(draws < 0)) if draws.size else 0.0)


@dataclass(frozen=True)
class BatchFailureRule(Rule):
    """Services whose batched production deploys fail more often than single-change ones."""

    name = "batch-failures"
    category = "reliability"
    why = (
        "batch failures: a change shipped in a batch fails with its batch; the effect is the "
        "share of changes in failed deploys if each had shipped alone at the single deploys' "
        "observed failure rate (bootstrap over deploys)"
    )
    needs = ("deployments",)

    min_each: int = 10
    min_support: float = 0.9

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service where batching measurably adds failures."""
        prod = production_deploys(ctx)
        out: list[Recommendation] = []
        for service, rows in prod.groupby("service", sort=True, observed=True):
            rows = rows.loc[(rows["n_changes"] > 0).to_numpy(dtype=bool)]
            n = rows["n_changes"].to_numpy(dtype=np.float64)
            failed = rows["failed"].fillna(False).astype(bool).to_numpy(dtype=np.float64)
            if (n == 1).sum() < self.min_each or (n > 1).sum() < self.min_each:
                continue
            b = _batch_gap(n, failed, ctx.seed)
            if not np.isfinite(b.value) or b.value >= 0 or b.p_better < self.min_support:
                continue
            out.append(self._one(ctx, str(service), rows, n, failed, b))
        return out

    def _one(
        self,
        ctx: Context,
        service: str,
        rows: pd.DataFrame,
        n: np.ndarray,
        failed: np.ndarray,
        b: Bootstrap,
    ) -> Recommendation:
        lo, hi = prediction_interval(b.value, b.low, b.high)
        now = float((n * failed).sum() / n.sum())
        effect = ExpectedEffect(
            "share of changes shipped in a failed deploy",
            b.value,
            lo,
            hi,
            "probability",
            ctx.horizon,
            baseline=now,
            method="single deploys' failure rate against the batched mix; 90% bootstrap over "
            "deploys widened x1.41",
        )
        batched = rows.loc[n > 1].assign(_f=failed[n > 1]).sort_values("_f", ascending=False)
        ids, n_ids = ctx.events.lookup("deploy.started", "deploy_id", batched["deploy_id"].tolist())
        single_rate, batch_rate = float(failed[n == 1].mean()), float(failed[n > 1].mean())
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"batched production deploys of {service} failed {batch_rate:.0%} of the time, "
            f"single-change ones {single_rate:.0%}; {now:.0%} of its changes shipped in a "
            "failed deploy",
            [
                Evidence.of(
                    f"{int((n > 1).sum())} batched deploys (mean {n[n > 1].mean():.1f} changes) "
                    f"failed {batch_rate:.0%}; {int((n == 1).sum())} single deploys "
                    f"{single_rate:.0%}",
                    {
                        "batched_deploys": int((n > 1).sum()),
                        "single_deploys": int((n == 1).sum()),
                        "batched_failure_rate": batch_rate,
                        "single_failure_rate": single_rate,
                        "support": b.p_better,
                    },
                    ctx.since,
                    ctx.until,
                    ids,
                    n_ids,
                )
            ],
            "shrink_deploy_batches",
            effect,
            b.p_better * sufficiency(float(min((n == 1).sum(), (n > 1).sum())), 30),
        )


def _bad_events(samples: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    inside = (samples["timestamp"] > start) & (samples["timestamp"] <= end)
    rows = samples.loc[inside.to_numpy(dtype=bool)]
    return float((rows["total"] - rows["good"]).sum())


@dataclass(frozen=True)
class CanaryRule(Rule):
    """Failed production deploys hit every user until restored: a canary would have caught them
    at a fraction of the traffic."""

    name = "canary"
    category = "reliability"
    why = (
        "canary: failed production deploys served every request until they were restored; "
        "with a canary on `canary_share` of the traffic the same failures reach that share "
        "(effect from the observed impact, bootstrap over the failed deploys)"
    )
    needs = ("deployments",)

    canary_share: float = 0.1
    min_failed: int = 2
    enough_failed: int = 6

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service with at least `min_failed` failed deploys."""
        prod = production_deploys(ctx)
        failed = prod.loc[prod["failed"].fillna(False).astype(bool).to_numpy()]
        failed = failed.loc[failed["restored_at"].notna().to_numpy(dtype=bool)]
        out: list[Recommendation] = []
        for service, rows in failed.groupby("service", sort=True, observed=True):
            if len(rows) >= self.min_failed:
                out.append(self._one(ctx, str(service), rows))
        return out

    def _impact(
        self, ctx: Context, service: str, rows: pd.DataFrame
    ) -> tuple[np.ndarray, str, float | None]:
        """Per failed deploy: its impact, the unit, and the window's error budget (or None)."""
        end = rows["restored_at"]
        start = rows["finished_at"].fillna(rows["started_at"])
        samples = ctx.inputs.slo_samples
        if samples is not None and not samples.empty:
            mine = samples.loc[(samples["service"] == service).to_numpy(dtype=bool)]
            total = float(mine.loc[ctx.in_window(mine["timestamp"]), "total"].sum())
            if total > 0:
                objective = ctx.inputs.slo_objectives.get(service, ctx.inputs.default_objective)
                budget = total * (1.0 - objective)
                bad = np.array([_bad_events(mine, s, e) for s, e in zip(start, end, strict=True)])
                return bad / budget, "share of the window's error budget", budget
        hours = (end - start).dt.total_seconds().to_numpy(dtype=np.float64) / 3600.0
        return np.maximum(hours, 0.0), "hours of failed production", None

    def _one(self, ctx: Context, service: str, rows: pd.DataFrame) -> Recommendation:
        impact, _, budget = self._impact(ctx, service, rows)
        saved = -(1.0 - self.canary_share) * impact
        b = bootstrap_mean(saved, seed=ctx.seed)
        total, scale = float(saved.sum()), float(len(saved))
        lo, hi = prediction_interval(total, b.low * scale, b.high * scale)
        metric = "error budget spent by failed deploys" if budget else "failed production hours"
        effect = ExpectedEffect(
            metric,
            total,
            lo,
            hi,
            "share of budget" if budget else "h",
            ctx.horizon,
            baseline=1.0 if budget else ctx.inputs.weeks * 168.0,
            method=f"observed impact of {len(rows)} failed deploys x {1 - self.canary_share:.0%} "
            "kept from full traffic; bootstrap over deploys widened x1.41",
        )
        rollbacks = ctx.events.in_window(
            "rollback", ctx.since, ctx.until, where={"service": service}
        )
        incidents = rows["incident_id"].dropna().astype(str).tolist()
        inc_ids, n_inc = ctx.events.lookup("incident.opened", "incident_id", incidents)
        dep_ids, n_dep = ctx.events.lookup(
            "deploy.finished", "deploy_id", rows["deploy_id"].tolist()
        )
        shown = (
            f"{impact.sum():.0%} of the window's error budget"
            if budget
            else f"{impact.sum():.1f} h"
        )
        evidence = [
            Evidence.of(
                f"{len(rows)} failed production deploys of {service} cost {shown} before they "
                "were restored",
                {"failed_deploys": len(rows), "impact": float(impact.sum())},
                ctx.since,
                ctx.until,
                dep_ids,
                n_dep,
            ),
            Evidence.of(
                f"{len(rollbacks)} rollbacks and {n_inc} linked incidents",
                {"rollbacks": len(rollbacks), "incidents": n_inc},
                ctx.since,
                ctx.until,
                [*ids_of(rollbacks), *inc_ids][:20],
                len(rollbacks) + n_inc,
            ),
        ]
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{len(rows)} failed deploys of {service} hit all traffic ({shown}); a "
            f"{self.canary_share:.0%} canary would have kept {1 - self.canary_share:.0%} of it",
            evidence,
            "add_canary",
            effect,
            b.p_better * sufficiency(len(rows), self.enough_failed),
            params={"canary_share_pct": round(self.canary_share * 100)},
        )
