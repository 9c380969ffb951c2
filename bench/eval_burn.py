"""Evaluate the SLO burn model against the multiwindow burn-rate page rule.

Synthetic organisation (ground truth planted): time-ordered split of the period into train
(first 60 %), validation (next 15 %: the warning threshold is chosen there to match the rule's
precision) and test (last 25 %, reported). Burn events are runs where the planted 1 h burn rate
(from the truth's episodes) exceeds 14.4x. Deploy risk comes from a ChangeRiskModel trained on
the changes first committed in the training period.

Usage: .venv/bin/python bench/eval_burn.py [--quick] [--seed N] [--detector NAME]
(about 4-6 minutes on 2 cores; --quick swaps the default anomaly detector for a robust z-score)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from vsmml.features.burn_features import (
    BURN_FEATURES,
    burn_features,
    burn_grid,
    page_condition,
    page_within,
)
from vsmml.models.burn import BurnRiskModel
from vsmml.models.burn_eval import (
    AlertScore,
    choose_threshold,
    paired_lead_gain,
    planted_burn,
    runs,
    score_alerts,
)
from vsmml.models.risk import ChangeRiskModel
from vsmml.slo import samples_from_events
from vsmml.synth import SynthConfig, generate
from vsmml.synth.events import JIT

FACTOR = 14.4


def deploy_risk(org: object, train_end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Production deploys with risk = 1 - prod(1 - p) over their changes' model scores."""
    ch = org.truth.changes  # type: ignore[attr-defined]
    X = ch[list(JIT)].assign(committed_at=ch["first_commit_at"])  # noqa: N806
    train = (ch["first_commit_at"] < train_end).to_numpy()
    model = ChangeRiskModel(random_state=seed).fit(X[train], ch["failed"][train].astype(int))
    p = model.predict_proba(X)[:, 1]
    log_ok = pd.Series(np.log1p(-np.clip(p, 0, 0.999)), index=ch.index)
    per = log_ok.groupby(ch["production_deploy_id"]).sum()
    dep = org.truth.deploys  # type: ignore[attr-defined]
    dep = dep.loc[dep["env"] == "production"]
    return pd.DataFrame(
        {
            "service": dep["service"].to_numpy(),
            "timestamp": dep["finished_at"].to_numpy(),
            "risk": 1.0 - np.exp(dep["deploy_id"].map(per).fillna(0.0).to_numpy()),
        }
    )


def rule_alerts(feats: pd.DataFrame, both_pages: bool) -> pd.Series:
    """The SRE workbook page rule (1h/5m at 14.4x; with `both_pages` also 6h/30m at 6x)."""
    fired = page_condition(feats, FACTOR)
    if both_pages:
        fired = fired | ((feats["burn_6h"] > 6.0) & (feats["burn_30m"] > 6.0))
    return fired


def events_in(events: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Events starting in [lo, hi)."""
    return events.loc[(events["start"] >= lo) & (events["start"] < hi)].reset_index(drop=True)


def run(preset: str, seed: int, detector: str | None) -> dict[str, object]:
    """Generate, featurise, train, choose the threshold on validation, score on test."""
    t0 = time.perf_counter()
    cfg = SynthConfig.preset(preset, seed=seed)
    org = generate(cfg)
    grid = burn_grid(samples_from_events(org.events))
    span = cfg.end - cfg.start
    t_train, t_val = cfg.start + span * 0.6, cfg.start + span * 0.75
    deps = deploy_risk(org, t_train, seed)
    feats = burn_features(grid, objective=cfg.slo_target, deploys=deps, detector=detector)
    y = page_within(feats, "1h")
    planted = feats[["service", "timestamp"]].assign(
        on=planted_burn(org.truth.slo_episodes, feats, "1h").to_numpy() >= FACTOR
    )
    events = runs(planted, "on")
    t_feat = time.perf_counter() - t0
    ts = feats["timestamp"]
    tr, va, te = (ts < t_train), (ts >= t_train) & (ts < t_val), (ts >= t_val)
    ev_va, ev_te = events_in(events, t_train, t_val), events_in(events, t_val, cfg.end)
    out: dict[str, object] = {"rows": len(feats), "events_test": len(ev_te)}
    rule_cols = {"page 1h/5m (14.4x)": False, "page 1h/5m + 6h/30m": True}
    scores: dict[str, AlertScore] = {}
    target = 0.0
    for name, both in rule_cols.items():
        fired = rule_alerts(feats, both)
        alerts = feats[["service", "timestamp"]].assign(alert=fired.to_numpy())
        if not both:
            target = score_alerts(alerts[va], ev_va).precision
        scores[name] = score_alerts(alerts[te], ev_te)
    variants = {
        "BurnRiskModel": list(BURN_FEATURES),
        "BurnRiskModel (SLI only)": [
            c
            for c in BURN_FEATURES
            if c not in ("minutes_since_deploy", "last_deploy_risk", "deploy_risk_1h", "deploys_1h")
        ],
    }
    t1 = time.perf_counter()
    for name, cols in variants.items():
        X = feats[["timestamp", *cols]]  # noqa: N806
        model = BurnRiskModel(random_state=seed).fit(X[tr], y[tr])
        p_va = model.predict_proba(X[va])[:, 1]
        thr = choose_threshold(p_va, feats.loc[va, ["service", "timestamp"]], ev_va, target)
        p_te = model.predict_proba(X[te])[:, 1]
        alerts = feats.loc[te, ["service", "timestamp"]].assign(alert=p_te >= thr)
        scores[name] = score_alerts(alerts, ev_te)
        out[f"threshold {name}"] = thr
        if name == "BurnRiskModel":
            out["brier_test"] = float(np.mean((p_te - y[te].to_numpy()) ** 2))
            out["explain_example"] = model.explain(X[te].iloc[[int(np.argmax(p_te))]], top=3)
    out["fit_seconds"] = time.perf_counter() - t1
    out["feature_seconds"] = t_feat
    out["rule_val_precision"] = target
    base = scores["page 1h/5m (14.4x)"]
    table = pd.DataFrame([s.as_row(k) for k, s in scores.items()])
    table["paired_lead_gain_min"] = [paired_lead_gain(s, base) for s in scores.values()]
    out["table"] = table
    return out


def main() -> None:
    """Command line entry point: prints the results table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--quick", action="store_true", help="fast robust z-score detector instead of the default"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--detector", default="default", help="anomaly detector ('none' to skip)")
    args = ap.parse_args()
    det = None if args.detector == "none" else args.detector
    if args.quick:
        det = "robust_zscore"
    preset = "demo"  # the tiny preset has too few pages for a time-ordered split
    res = run(preset, args.seed, det)
    pd.set_option("display.width", 200)
    print(f"preset={preset} seed={args.seed} detector={det}")
    for k, v in res.items():
        if k not in ("table", "explain_example"):
            print(f"{k}: {v}")
    print(res["table"].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(res["explain_example"][["feature", "text"]].to_string(index=False))


if __name__ == "__main__":
    main()
