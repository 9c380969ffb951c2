"""Data rules: events that do not link (missing correlation keys), quarantined records, and a
risk model whose predictions no longer match the outcomes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.correlate.coverage import DEPLOY_KINDS, INCIDENT_KINDS
from vsmml.events.schema import STR_DTYPE
from vsmml.recommend.context import Context
from vsmml.recommend.effects import prediction_interval, sufficiency
from vsmml.recommend.records import Evidence, ExpectedEffect, Recommendation, Target
from vsmml.recommend.rules.base import Rule, records
from vsmml.recommend.rules.risk import window_features

Z90: Final = 1.645


def key_fields(kind: str) -> tuple[str, ...]:
    """The correlation keys an event of `kind` links by."""
    if kind in DEPLOY_KINDS:
        return ("sha", "artifact_id", "deploy_id")
    if kind in INCIDENT_KINDS:
        return ("deploy_id", "service")
    return ("sha", "change_id")


def wilson(k: float, n: float, z: float = Z90) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


@dataclass(frozen=True)
class CoverageRule(Rule):
    """A source whose events of one kind often lack the key they would link by."""

    name = "link-coverage"
    category = "data"
    why = (
        "link coverage: events that do not link to a change, deploy or incident drop out of "
        "every metric; the effect is the coverage the source would reach if its events missing "
        "the key linked as often as its events that carry it"
    )
    needs = ("coverage", "events")

    max_share: float = 0.9
    min_unlinked: int = 20
    min_missing: float = 0.2

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per source and kind whose coverage is low for a nameable reason."""
        cov = ctx.inputs.coverage
        assert cov is not None
        rows = cov.loc[(cov["kind"] != "*").to_numpy(dtype=bool)]
        totals = cov.loc[(cov["kind"] == "*").to_numpy(dtype=bool)].set_index("source")
        out: list[Recommendation] = []
        for row in records(rows):
            unlinked = int(row["events"]) - int(row["linked"])
            if row["share"] >= self.max_share or unlinked < self.min_unlinked:
                continue
            rec = self._one(ctx, row, totals)
            if rec is not None:
                out.append(rec)
        return out

    def _one(
        self, ctx: Context, row: dict[str, Any], totals: pd.DataFrame
    ) -> Recommendation | None:
        source, kind = str(row["source"]), str(row["kind"])
        ev = ctx.events.in_window(kind, ctx.since, ctx.until, where={"source": source})
        if ev.empty:
            return None
        keys = [f for f in key_fields(kind) if f in ev.columns]
        if not keys:
            return None
        present = {f: float(ev[f].notna().mean()) for f in keys}
        best = max(keys, key=lambda f: present[f])  # the key this source already sends at times
        lacking_all = np.ones(len(ev), dtype=bool)
        for f in keys:
            lacking_all &= ev[f].isna().to_numpy(dtype=bool)
        share = float(lacking_all.mean())
        if share < self.min_missing:
            return None
        n_src, linked_src = float(len(ev)), 0.0
        if source in totals.index:
            n_src = float(totals["events"].to_dict()[source])
            linked_src = float(totals["linked"].to_dict()[source])
        have = int(row["events"]) - round(share * int(row["events"]))
        rate = min(float(row["linked"]) / have, 1.0) if have > 0 else 0.0
        lo_r, hi_r = wilson(rate * have, have) if have > 0 else (0.0, 1.0)
        missing = share * int(row["events"])
        gain, lo, hi = (missing * r / n_src for r in (rate, lo_r, hi_r))
        if gain <= 0:
            return None
        lacking = ev.loc[lacking_all]
        effect = ExpectedEffect(
            f"link coverage of {source}",
            gain,
            min(lo, gain),
            max(hi, gain),
            "share",
            ctx.horizon,
            baseline=linked_src / n_src if n_src else 0.0,
            method=f"events without {best} linking at the rate of {kind} events with it "
            "(Wilson 90% interval)",
            better="higher",
        )
        return self.make(
            Target(source=source),
            f"{share:.0%} of {source}'s {kind} events carry no {' or '.join(keys)}; "
            f"{int(row['events']) - int(row['linked'])} of {int(row['events'])} do not link",
            [
                Evidence.of(
                    f"{len(lacking)} {kind} events from {source} without {best} in the window",
                    {
                        "events": int(row["events"]),
                        "linked": int(row["linked"]),
                        "missing_share": share,
                    },
                    ctx.since,
                    ctx.until,
                    [str(i) for i in lacking["event_id"].head(20)],
                    len(lacking),
                )
            ],
            "fix_correlation_metadata",
            effect,
            sufficiency(missing, 100.0),
            params={"field": best, "kind": kind},
        )


@dataclass(frozen=True)
class QuarantineRule(Rule):
    """A source whose records keep landing in quarantine for the same field."""

    name = "quarantine"
    category = "data"
    why = (
        "quarantine: records refused at ingest are missing from every metric until the source "
        "sends them right; the effect is the records the next period would lose at this rate"
    )
    needs = ("quarantine",)

    min_records: int = 5

    def run(self, ctx: Context) -> list[Recommendation]:
        """One recommendation per source and field with at least `min_records` open records."""
        q = ctx.inputs.quarantine
        assert q is not None
        if q.empty:
            return []
        q = q.loc[ctx.in_window(pd.to_datetime(q["received_at"], utc=True))]
        if "resolved_at" in q.columns:
            q = q.loc[q["resolved_at"].isna().to_numpy(dtype=bool)]
        field = q["field"].astype(STR_DTYPE).fillna("record") if "field" in q else "record"
        q = q.assign(_field=field, _source=q["source"].astype(STR_DTYPE).fillna("unknown"))
        out: list[Recommendation] = []
        for (source, fld), rows in q.groupby(["_source", "_field"], sort=True):
            if len(rows) >= self.min_records:
                out.append(self._one(ctx, str(source), str(fld), rows))
        return out

    def _one(self, ctx: Context, source: str, field: str, rows: pd.DataFrame) -> Recommendation:
        n = float(len(rows))
        reason = str(rows["reason"].astype(STR_DTYPE).value_counts().index[0])
        accepted = ctx.events.count(ctx.since, ctx.until, source=source)
        half = Z90 * math.sqrt(2.0 * n)
        effect = ExpectedEffect(
            f"records from {source} lost to quarantine",
            -n,
            -n - half,
            min(-n + half, 0.0),
            "records",
            ctx.horizon,
            baseline=n + accepted,
            method="the window's open quarantine count, repeated (Poisson interval)",
        )
        ids = [f"quarantine:{i}" for i in rows.get("quarantine_id", pd.Series(dtype=str)).head(20)]
        return self.make(
            Target(source=source),
            f"{int(n)} records from {source} were quarantined ({field}): {reason}",
            [
                Evidence.of(
                    f"{int(n)} open quarantined records from {source} for {field}; "
                    f"{accepted} events accepted from it in the window",
                    {"quarantined": int(n), "accepted": accepted},
                    ctx.since,
                    ctx.until,
                    ids,
                    int(n),
                )
            ],
            "fix_source_records",
            effect,
            sufficiency(n, 20.0),
            params={"reason": reason if len(reason) <= 120 else reason[:117] + "..."},
        )


@dataclass(frozen=True)
class RetrainRule(Rule):
    """The risk model's mean prediction is outside the observed failure rate's interval."""

    name = "retrain"
    category = "data"
    why = (
        "retrain: on the window's deployed changes the risk model's mean probability falls "
        "outside the 90% Wilson interval of the observed failure rate (calibration in the large)"
    )
    needs = ("change_features", "scorer")

    min_changes: int = 50

    def run(self, ctx: Context) -> list[Recommendation]:
        """At most one recommendation: the whole organisation's changes."""
        scorer = ctx.inputs.scorer
        assert scorer is not None
        feats = window_features(ctx)
        done = feats.loc[feats["production_deploy_started_at"].notna().to_numpy(dtype=bool)]
        done = done.loc[(done["production_deploy_started_at"] < ctx.until).to_numpy(dtype=bool)]
        if len(done) < self.min_changes:
            return []
        cols = {
            c: done[c].to_numpy(dtype=np.float64, na_value=np.nan)
            for c in scorer.input_columns
            if c in done.columns
        }
        p = np.asarray(scorer.predict_proba(scorer.matrix(cols)), dtype=np.float64)
        y = done["failed"].fillna(False).astype(bool).to_numpy(dtype=np.float64)
        obs, pred = float(y.mean()), float(p.mean())
        lo, hi = wilson(y.sum(), len(y))
        if lo <= pred <= hi:
            return []
        rng = np.random.default_rng(ctx.seed + 5)
        picks = rng.integers(0, len(y), size=(400, len(y)))
        gaps = np.abs(p[picks].mean(axis=1) - y[picks].mean(axis=1))
        g_lo, g_hi = np.quantile(gaps, [0.05, 0.95])
        gap = abs(pred - obs)
        e_lo, e_hi = prediction_interval(-gap, -float(g_hi), -float(g_lo))
        effect = ExpectedEffect(
            "risk model calibration error",
            -gap,
            e_lo,
            min(e_hi, 0.0),
            "probability",
            "after retraining",
            baseline=max(obs, 1e-3),
            method=f"mean predicted {pred:.3f} against observed {obs:.3f} on {len(y)} changes",
        )
        ids, n_ids = ctx.events.lookup("change.merged", "change_id", done["change_id"].tolist())
        return [
            self.make(
                Target(),
                f"the {ctx.inputs.model_name} model predicts {pred:.0%} failures on average, "
                f"{len(y)} changes of the window failed {obs:.0%} (90% interval {lo:.0%}-{hi:.0%})",
                [
                    Evidence.of(
                        f"{int(y.sum())} of {len(y)} deployed changes failed; mean predicted "
                        f"{pred:.3f}",
                        {"observed": obs, "predicted": pred, "low": lo, "high": hi, "n": len(y)},
                        ctx.since,
                        ctx.until,
                        ids,
                        n_ids,
                    )
                ],
                "retrain_model",
                effect,
                sufficiency(len(y), 4.0 * self.min_changes),
                params={"model": ctx.inputs.model_name},
            )
        ]
