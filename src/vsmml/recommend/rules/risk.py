"""Risk rules: large changes, risky changes still on their way, waived release gates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vsmml.recommend.context import Context
from vsmml.recommend.counterfactual import (
    SPLIT_LINES,
    model_trust,
    split_columns,
    what_would_lower,
)
from vsmml.recommend.effects import bootstrap_mean, prediction_interval, sufficiency
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _columns(frame: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    return {
        c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in names if c in frame.columns
    }


def _proba(ctx: Context, cols: dict[str, np.ndarray]) -> np.ndarray:
    scorer = ctx.inputs.scorer
    assert scorer is not None
    return np.asarray(scorer.predict_proba(scorer.matrix(cols)), dtype=np.float64)


def window_features(ctx: Context) -> pd.DataFrame:
    """The change features (one row per change) of changes merged in the window."""
    feats = ctx.inputs.change_features
    assert feats is not None
    return feats.loc[ctx.in_window(feats["merged_at"])].reset_index(drop=True)


@dataclass(frozen=True)
class LargeChangeRule(Rule):
    """Services whose large changes the risk model scores much lower once split."""

    name = "large-changes"
    category = "risk"
    why = (
        "large changes: changes over the size limit are re-scored with the risk model as if "
        "split evenly into changes under it; the effect is the mean change of risk per change"
    )
    needs = ("change_features", "scorer")

    limit: int = SPLIT_LINES
    min_large: int = 5
    enough_large: int = 20

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service with enough large changes in the window."""
        scorer = ctx.inputs.scorer
        assert scorer is not None
        feats = window_features(ctx)
        out: list[Recommendation] = []
        for service, rows in feats.groupby("service", sort=True, observed=True):
            lines = rows["la"].to_numpy(dtype=np.float64, na_value=np.nan) + rows["ld"].to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            large = rows.loc[np.nan_to_num(lines, nan=0.0) > self.limit]
            if len(large) < self.min_large:
                continue
            rec = self._one(ctx, str(service), rows, large)
            if rec is not None:
                out.append(rec)
        return out

    def _one(
        self, ctx: Context, service: str, rows: pd.DataFrame, large: pd.DataFrame
    ) -> Recommendation | None:
        scorer = ctx.inputs.scorer
        assert scorer is not None
        cols = _columns(large, list(scorer.input_columns))
        p = _proba(ctx, cols)
        k, piece = split_columns(cols, self.limit)
        q = _proba(ctx, piece)
        b = bootstrap_mean(q - p, seed=ctx.seed)
        if b.value >= 0:
            return None
        lo, hi = prediction_interval(b.value, b.low, b.high)
        any_piece = float(np.mean(1.0 - (1.0 - q) ** k))
        effect = ExpectedEffect(
            "risk per large change",
            b.value,
            lo,
            hi,
            "probability",
            f"each large change of the {ctx.horizon}",
            baseline=float(p.mean()),
            method=(
                f"re-scored {len(large)} changes with the {ctx.inputs.model_name} model as if "
                f"split evenly under {self.limit} lines; 90% bootstrap interval widened x1.41"
            ),
        )
        failed = large["failed"].fillna(False).astype(bool)
        rest = rows.loc[~rows.index.isin(large.index), "failed"].fillna(False).astype(bool)
        big_first = (large["la"] + large["ld"]).sort_values(ascending=False).index
        ids, n_ids = ctx.events.lookup(
            "change.merged", "change_id", large.loc[big_first, "change_id"].tolist()
        )
        evidence = [
            Evidence.of(
                f"{len(large)} of {len(rows)} changes in {service} were over {self.limit} lines; "
                f"{int(failed.sum())} of them failed in production ({failed.mean():.0%}) against "
                f"{rest.mean() if len(rest) else 0.0:.0%} of the others",
                {
                    "large": len(large),
                    "changes": len(rows),
                    "large_failed": int(failed.sum()),
                    "large_failure_rate": float(failed.mean()),
                    "other_failure_rate": float(rest.mean()) if len(rest) else 0.0,
                },
                ctx.since,
                ctx.until,
                ids,
                n_ids,
            ),
            Evidence.of(
                f"the {ctx.inputs.model_name} model scores them {p.mean():.2f} on average; split "
                f"under {self.limit} lines {q.mean():.2f} per piece ({any_piece:.2f} that any "
                f"piece of a change fails; {float(np.mean(k)):.1f} pieces on average)",
                {
                    "risk_now": float(p.mean()),
                    "risk_per_piece": float(q.mean()),
                    "risk_any_piece": any_piece,
                    "pieces_mean": float(np.mean(k)),
                },
                ctx.since,
                ctx.until,
            ),
        ]
        confidence = b.p_better * sufficiency(len(large), self.enough_large) * model_trust(scorer)
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{len(large)} changes over {self.limit} lines in {service}: risk "
            f"{p.mean():.2f} → {q.mean():.2f} per change if split under {self.limit} lines",
            evidence,
            "split_large_changes",
            effect,
            confidence,
            params={"limit": self.limit},
        )


@dataclass(frozen=True)
class RiskyChangeRule(Rule):
    """Changes merged but not yet in production whose risk is at or above the gate's threshold."""

    name = "risky-change"
    category = "risk"
    why = (
        "risky change: a change not yet in production scores at or above the gate's threshold; "
        "the counterfactual that lowers its re-scored risk most is proposed"
    )
    needs = ("change_features", "scorer")

    per_service: int = 5

    def run(self, ctx: Context) -> list[Recommendation]:
        """Up to `per_service` recommendations per service, riskiest first."""
        scorer = ctx.inputs.scorer
        assert scorer is not None
        feats = window_features(ctx)
        started = feats["production_deploy_started_at"]
        pending = feats.loc[(started.isna() | (started >= ctx.until)).to_numpy(dtype=bool)]
        if pending.empty:
            return []
        cols = _columns(pending, list(scorer.input_columns))
        p = _proba(ctx, cols)
        pending = pending.assign(_p=p).loc[p >= scorer.threshold]
        out: list[Recommendation] = []
        for service, rows in pending.groupby("service", sort=True, observed=True):
            top = rows.sort_values("_p", ascending=False).head(self.per_service)
            for row in records(top):
                rec = self._one(ctx, str(service), row)
                if rec is not None:
                    out.append(rec)
        return out

    def _one(self, ctx: Context, service: str, row: dict[str, Any]) -> Recommendation | None:
        scorer = ctx.inputs.scorer
        assert scorer is not None
        values = {c: _float(row.get(c)) for c in scorer.input_columns}
        options = what_would_lower(scorer, values, fixed_flakiness=ctx.fixed_flakiness(service))
        if not options:
            return None
        best = options[0]
        change = str(row["change_id"])
        ids, n_ids = ctx.events.lookup("change.merged", "change_id", [change])
        effect = ExpectedEffect(
            "risk of this change",
            -best.drop,
            -best.drop,
            -best.drop,
            "probability",
            "this change",
            baseline=best.probability,
            method=f"re-scored with the {ctx.inputs.model_name} model ({best.description})",
        )
        others = "; ".join(
            f"{c.description}: {c.probability:.2f} → {c.new_probability:.2f}" for c in options
        )
        return self.make(
            Target(service=service, team=ctx.team_of(service), change=change),
            f"{change} scores {best.probability:.2f} (gate {scorer.threshold:.2f}); "
            f"{best.description}: {best.probability:.2f} → {best.new_probability:.2f}",
            [
                Evidence.of(
                    f"merged, not yet in production; what would lower the risk: {others}",
                    {"risk": best.probability, "risk_after": best.new_probability},
                    ctx.since,
                    ctx.until,
                    ids,
                    n_ids,
                )
            ],
            best.action,
            effect,
            model_trust(scorer),
            params=dict(best.params),
        )


def _expected_failures(p: np.ndarray) -> tuple[float, float]:
    """Sum and standard deviation of independent Bernoulli outcomes with probabilities `p`."""
    return float(p.sum()), float(math.sqrt(float((p * (1 - p)).sum())))


@dataclass(frozen=True)
class WaiverRule(Rule):
    """Services where people waive the release gate, and what became of the waived changes."""

    name = "gate-waivers"
    category = "risk"
    why = (
        "gate waivers: changes that passed a failed gate by a waiver ship with the risk the "
        "gate flagged; the effect is the failures the gate's own probabilities expect of them"
    )
    needs = ("waivers",)

    min_waivers: int = 2
    enough_waivers: int = 5

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per service with at least `min_waivers` waivers in the window."""
        w = ctx.inputs.waivers
        assert w is not None
        w = w.loc[ctx.in_window(w["ts"])]
        out: list[Recommendation] = []
        for service, rows in w.groupby("service", sort=True, observed=True):
            if len(rows) < self.min_waivers:
                continue
            out.append(self._one(ctx, str(service), rows))
        return out

    def _one(self, ctx: Context, service: str, rows: pd.DataFrame) -> Recommendation:
        failed = ctx.change_outcomes(rows)
        n_failed = int(np.nansum(failed))
        n_known = int(np.isfinite(failed).sum())
        raw = rows["probability"] if "probability" in rows else pd.Series(np.nan, index=rows.index)
        p = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        if np.isfinite(p).any():
            mean, sd = _expected_failures(np.nan_to_num(p[np.isfinite(p)]))
            method = "sum of the gate's probabilities for the waived changes (normal interval)"
        else:
            mean, sd = float(n_failed), math.sqrt(max(n_failed, 1))
            method = "failures observed among the waived changes (Poisson interval)"
        half = 1.645 * math.sqrt(2.0) * sd
        value = -mean
        effect = ExpectedEffect(
            "failed changes",
            value,
            max(value - half, -float(len(rows))),
            min(value + half, 0.0),
            "changes",
            ctx.horizon,
            baseline=float(max(ctx.failed_changes(service), n_failed, 1)),
            method=method,
        )
        who = ", ".join(sorted({str(a) for a in rows.get("actor", pd.Series(dtype=str)).dropna()}))
        return self.make(
            Target(service=service, team=ctx.team_of(service)),
            f"{len(rows)} waived gates in {service} between {ctx.since.date()} and "
            f"{ctx.until.date()}, {n_failed} of them failed in production",
            [
                Evidence.of(
                    f"{len(rows)} waivers ({who or 'actor unknown'}); {n_failed} of {n_known} "
                    "waived changes with a known outcome failed in production",
                    {"waivers": len(rows), "failed": n_failed, "known_outcome": n_known}
                    | {"expected_failures": mean},
                    ctx.since,
                    ctx.until,
                    rows["event_id"].astype(str).tolist(),
                    len(rows),
                )
            ],
            "review_gate_waivers",
            effect,
            sufficiency(len(rows), self.enough_waivers),
        )
