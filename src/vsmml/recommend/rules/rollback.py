"""Reliability rule: the SLO burns at paging speed since the last production deploy, and nothing
has rolled it back; this service's rollbacks restore faster than its fixes forward."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.effects import prediction_interval
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule
from vsmml.slo import SLO, burn_rate


def restore_hours(deps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Hours from deploy to restored for failed production deploys: (rolled back, fixed forward)."""
    failed = deps.loc[deps["failed"].fillna(False).astype(bool).to_numpy()]
    failed = failed.loc[failed["restored_at"].notna().to_numpy(dtype=bool)]
    hours = (failed["restored_at"] - failed["finished_at"]).dt.total_seconds() / 3600.0
    rolled = failed["rolled_back"].fillna(False).astype(bool).to_numpy()
    h = hours.to_numpy(dtype=np.float64)
    return h[rolled], h[~rolled]


def _median_gap(
    a: np.ndarray, b: np.ndarray, seed: int, n_boot: int = 400
) -> tuple[float, float, float]:
    """median(b) − median(a) with a 90 % bootstrap interval (each side resampled)."""
    rng = np.random.default_rng(seed + 6)
    da = np.median(a[rng.integers(0, a.size, (n_boot, a.size))], axis=1)
    db = np.median(b[rng.integers(0, b.size, (n_boot, b.size))], axis=1)
    lo, hi = np.quantile(db - da, [0.05, 0.95])
    return float(np.median(b) - np.median(a)), float(lo), float(hi)


@dataclass(frozen=True)
class RollBackRule(Rule):
    """The last production deploy started a burn that pages and has not been rolled back."""

    name = "roll-back"
    category = "reliability"
    why = (
        "roll back: the 1 h burn rate at the window's end pages (14.4x) and was below 1x before "
        "the last production deploy, which nothing has rolled back; the effect prices the burn "
        "over the time this service's fixes forward take beyond its rollbacks"
    )
    needs = ("slo_samples", "deployments")

    recent_hours: float = 24.0
    page_factor: float = 14.4
    min_history: int = 3

    def run(self, ctx: Context) -> list[Recommendation]:
        """At most one recommendation per service: its deploy that is burning now."""
        deps = ctx.inputs.deployments
        assert deps is not None
        prod = deps.loc[(deps["env"] == "production").to_numpy(dtype=bool)]
        out: list[Recommendation] = []
        for service, rows in prod.groupby("service", sort=True, observed=True):
            rec = self._one(ctx, str(service), rows)
            if rec is not None:
                out.append(rec)
        return out

    def _one(self, ctx: Context, service: str, rows: pd.DataFrame) -> Recommendation | None:
        samples = ctx.inputs.slo_samples
        assert samples is not None
        mine = samples.loc[(samples["service"] == service).to_numpy(dtype=bool)]
        mine = mine.loc[(mine["timestamp"] < ctx.until).to_numpy(dtype=bool)]
        rows = rows.loc[(rows["started_at"] < ctx.until).to_numpy(dtype=bool)].sort_values(
            "started_at"
        )
        forward = rows.loc[~rows["is_rollback"].fillna(False).astype(bool).to_numpy()]
        if mine.empty or forward.empty:
            return None
        last = forward.iloc[-1]
        if last["started_at"] < ctx.until - pd.Timedelta(hours=self.recent_hours):
            return None
        later = rows.loc[(rows["started_at"] > last["started_at"]).to_numpy(dtype=bool)]
        if later["is_rollback"].fillna(False).astype(bool).any():
            return None
        slo = SLO(service, ctx.inputs.slo_objectives.get(service, ctx.inputs.default_objective))
        now = burn_rate(mine, slo, "1h", at=ctx.until)
        before = burn_rate(mine, slo, "1h", at=last["started_at"])
        if now < self.page_factor or before >= 1.0:
            return None
        rb, fwd = restore_hours(forward)
        if rb.size < self.min_history or fwd.size < self.min_history:
            return None
        gap, lo, hi = _median_gap(rb, fwd, ctx.seed)
        if gap <= 0:
            return None
        period_h = slo.window_days * 24.0
        value = -now * gap / period_h
        low, high = prediction_interval(value, -now * hi / period_h, -now * lo / period_h)
        effect = ExpectedEffect(
            "error budget spent by this deploy",
            value,
            low,
            min(high, 0.0),
            "share of budget",
            "until restored",
            baseline=1.0,
            method=f"1 h burn {now:.1f}x over the median {gap:.1f} h a fix forward takes longer "
            f"than a rollback here ({fwd.size} fixes, {rb.size} rollbacks; bootstrap)",
        )
        deploy = str(last["deploy_id"])
        ids, n_ids = ctx.events.lookup("deploy.finished", "deploy_id", [deploy])
        recent = mine.loc[(mine["timestamp"] > ctx.until - pd.Timedelta(hours=1)).to_numpy(bool)]
        sample_ids = [str(i) for i in recent.get("event_id", pd.Series(dtype=str)).tail(10)]
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{service} burns its error budget at {now:.0f}x since deploy {deploy} "
            f"({before:.1f}x before it); a rollback here restores {gap:.1f} h sooner than a fix",
            [
                Evidence.of(
                    f"1 h burn rate {now:.1f}x at {ctx.until}, {before:.1f}x before {deploy} "
                    "started",
                    {"burn_now": now, "burn_before": before, "restore_gap_h": gap},
                    last["started_at"],
                    ctx.until,
                    [*ids, *sample_ids],
                    n_ids + len(recent),
                )
            ],
            "roll_back",
            effect,
            min(1.0, now / (2 * self.page_factor)),
            params={"deploy": deploy},
        )
