"""Review rules: review waits that grow with the work in review (WIP) or with one reviewer."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.effects import lead_time_effect, sufficiency
from vsmml.recommend.evidence import ids_of
from vsmml.recommend.records import Evidence, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records


def review_wip(changes: pd.DataFrame) -> np.ndarray:
    """Per change: the team's changes waiting for a first review when it was opened."""
    out = np.zeros(len(changes))
    opened = changes["opened_at"]
    for _, rows in changes.groupby("team", sort=False, observed=True).indices.items():
        o = opened.iloc[rows].to_numpy(dtype="datetime64[us]")
        r = changes["first_review_at"].iloc[rows].to_numpy(dtype="datetime64[us]")
        r = np.where(np.isnat(r), np.datetime64("2262-01-01", "us"), r)
        o_sorted, r_sorted = np.sort(o), np.sort(r)
        opened_before = np.searchsorted(o_sorted, o, side="left")
        reviewed_before = np.searchsorted(r_sorted, o, side="right")
        out[rows] = opened_before - reviewed_before
    return np.maximum(out, 0.0)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (0 when either side is constant)."""
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _rho_support(x: np.ndarray, y: np.ndarray, seed: int, n_boot: int = 200) -> float:
    rng = np.random.default_rng(seed + 3)
    picks = rng.integers(0, x.size, size=(n_boot, x.size))
    return float(np.mean([spearman(x[p], y[p]) > 0 for p in picks]))


@dataclass(frozen=True)
class ReviewLoadRule(Rule):
    """Review is the constraint and its wait grows with the changes already waiting (WIP)."""

    name = "review-load"
    category = "flow"
    why = (
        "review load: review is the constraint and changes opened while many others waited for "
        "review waited longer (Spearman); capping the WIP at its median is re-timed by the "
        "what-if graph with the wait the low-WIP changes had"
    )
    needs = ("flow", "changes")

    min_changes: int = 30
    min_rho: float = 0.3
    min_support: float = 0.9
    min_cut: float = 0.05
    concentrated: float = 0.5

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service where review is the constraint and WIP drives it."""
        ch = ctx.window_changes
        if ch is None or ch.empty:
            return []
        ch = ch.loc[ch["opened_at"].notna().to_numpy(dtype=bool)].reset_index(drop=True)
        ch = ch.assign(wip=review_wip(ch))
        out: list[Recommendation] = []
        for row in records(ctx.constraints):
            if str(row["constraint"]) != "review":
                continue
            rec = self._one(ctx, str(row["service"]), ch)
            if rec is not None:
                out.append(rec)
        return out

    def _one(self, ctx: Context, service: str, ch: pd.DataFrame) -> Recommendation | None:
        mine = ch.loc[
            (ch["service"] == service).to_numpy(dtype=bool)
            & ch["first_review_at"].notna().to_numpy(dtype=bool)
        ]
        if len(mine) < self.min_changes:
            return None
        wait = (mine["first_review_at"] - mine["opened_at"]).dt.total_seconds().to_numpy() / 3600.0
        wip = mine["wip"].to_numpy(dtype=np.float64)
        rho = spearman(wip, wait)
        if rho < self.min_rho:
            return None
        support = _rho_support(wip, wait, ctx.seed)
        if support < self.min_support:
            return None
        cap = float(np.median(wip))
        low_wait = float(wait[wip <= cap].mean())
        cut = 1.0 - low_wait / max(float(wait.mean()), 1e-9)
        if cut < self.min_cut:
            return None
        pct = round(cut * 100)
        flow = ctx.service_flow(service)
        effect, wi = lead_time_effect(flow, f"review wait -{pct}%", ctx.horizon, seed=ctx.seed)
        if effect.benefit() <= 0:
            return None
        action, top_share, reviews = self._reviewers(ctx, mine)
        busiest = mine.assign(_w=wait).sort_values("_w", ascending=False)
        ids, n_ids = ctx.events.lookup("change.opened", "change_id", busiest["change_id"].tolist())
        evidence = [
            Evidence.of(
                f"review wait rises with the changes already waiting (Spearman {rho:.2f} over "
                f"{len(mine)} changes): {low_wait:.1f} h at up to {cap:.0f} waiting, "
                f"{float(wait[wip > cap].mean()) if (wip > cap).any() else low_wait:.1f} h above",
                {
                    "spearman": rho,
                    "support": support,
                    "wip_median": cap,
                    "wait_low_wip_h": low_wait,
                    "wait_mean_h": float(wait.mean()),
                },
                ctx.since,
                ctx.until,
                ids,
                n_ids,
            )
        ]
        if not reviews.empty:
            evidence.append(
                Evidence.of(
                    f"the busiest reviewer did {top_share:.0%} of {len(reviews)} first reviews",
                    {"top_reviewer_share": top_share, "first_reviews": len(reviews)},
                    ctx.since,
                    ctx.until,
                    ids_of(reviews),
                    len(reviews),
                )
            )
        return self.make(
            Target(service=service, team=ctx.team_of(service), stage="review"),
            f"review waits in {service} grow with the work in review; at the median WIP they "
            f"would be {pct}% shorter: median lead time {wi.baseline_median_h:.1f} h → "
            f"{wi.new_median_h:.1f} h",
            evidence,
            action,
            effect,
            support * sufficiency(len(mine), 2 * self.min_changes),
            params={"top_share_pct": round(top_share * 100)},
        )

    def _reviewers(self, ctx: Context, mine: pd.DataFrame) -> tuple[str, float, pd.DataFrame]:
        """The action (add reviewers when one person does most first reviews) and the data."""
        reviews = ctx.events.of_kind("change.reviewed")
        if reviews.empty or "change_id" not in reviews.columns:
            return "cut_review_wip", 0.0, reviews
        first = reviews.loc[
            reviews["change_id"].astype(str).isin(set(mine["change_id"].astype(str)))
        ]
        first = first.drop_duplicates("change_id", keep="first")
        who = [
            json.loads(a).get("reviewer") if isinstance(a, str) and a else None
            for a in first["attrs"]
        ]
        named = pd.Series([w for w in who if w])
        if named.empty:
            return "cut_review_wip", 0.0, first
        top_share = float(named.value_counts(normalize=True).iloc[0])
        action = "add_reviewers" if top_share >= self.concentrated else "cut_review_wip"
        return action, top_share, first
