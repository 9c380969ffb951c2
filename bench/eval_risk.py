"""Evaluate ChangeRiskModel against LR-JIT and LApredict on the ISSTA'21 projects (WP and CP).

Run: ``.venv/bin/python bench/eval_risk.py [--protocol wp cp timewise drift] [--quick]``.
Reads ../shared/data/jit/issta21 (jdt, platform, gerrit, go only: qt and openstack are reserved
for independent evaluation) and prints one table per protocol plus the paper's AUCs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vsmml.models import evaluation as ev
from vsmml.models.baselines import PAPER_AUC, lapredict, lr_jit
from vsmml.models.risk import ChangeRiskModel
from vsmml.pipeline.datasets.jit import CHANGE_METRICS, load_jit
from vsmml.pipeline.training.risk import CONTEXT_COLUMNS

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "jit" / "issta21"
PROJECTS = ("jdt", "platform", "gerrit", "go")
X_COLUMNS = [*CHANGE_METRICS, "committed_at"]


def ours(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Our default model: fit on the training frame, calibrated probabilities for the test."""
    model = ChangeRiskModel().fit(train[X_COLUMNS], train["bug"])
    return model.predict_proba(test[X_COLUMNS])[:, 1]


SCORERS = {"vsmml": ours, "lr_jit": lr_jit, "lapredict": lapredict}
PROTOCOLS = {
    "wp": ev.within_project,
    "cp": ev.cross_project,
    "timewise": ev.timewise,
    "drift": ev.drift,
}


def synthetic(days: int, services: int) -> None:
    """Our model on the synthetic organisation, whose failure function is known: AUC and ECE
    on the last 20 % by time, beside the true probabilities' own AUC (the ceiling)."""
    from vsmml.synth import SynthConfig, generate

    truth = generate(SynthConfig(days=days, n_services=services)).truth.changes
    context = list(CONTEXT_COLUMNS)
    frame = truth.assign(committed_at=truth["merged_at"], bug=truth["failed"].astype(int))
    frame = frame.dropna(subset=["committed_at"]).sort_values("committed_at", kind="stable")
    k = int(len(frame) * 0.8)
    train, test = frame.iloc[:k], frame.iloc[k:]
    y = test["bug"].to_numpy(float)
    rows = []
    for name, cols in (("jit only", X_COLUMNS), ("jit + context", [*X_COLUMNS, *context])):
        model = ChangeRiskModel().fit(train[cols], train["bug"])
        p = model.predict_proba(test[cols])[:, 1]
        rows.append(
            {
                "model": f"vsmml ({name})",
                "auc": ev.auc(y, p),
                "ece": ev.expected_calibration_error(y, p),
                "brier": ev.brier(y, p),
            }
        )
    la = lapredict(train, test)
    rows.append(
        {
            "model": "lapredict",
            "auc": ev.auc(y, la),
            "ece": ev.expected_calibration_error(y, la),
            "brier": ev.brier(y, la),
        }
    )
    truth_p = test["p_fail"].to_numpy(float)
    rows.append(
        {
            "model": "true p_fail (ceiling)",
            "auc": ev.auc(y, truth_p),
            "ece": ev.expected_calibration_error(y, truth_p),
            "brier": ev.brier(y, truth_p),
        }
    )
    print(
        f"\n== synthetic organisation: {len(train)} train / {len(test)} test changes, "
        f"failure rate {train['bug'].mean():.3f} -> {test['bug'].mean():.3f}"
    )
    print(pd.DataFrame(rows).round(4).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--protocol", nargs="*", default=["wp", "cp"], choices=list(PROTOCOLS))
    parser.add_argument("--quick", action="store_true", help="jdt and gerrit only")
    parser.add_argument("--synth-days", type=int, default=0, help="also the synthetic org")
    args = parser.parse_args()
    projects = ("jdt", "gerrit") if args.quick else PROJECTS
    if args.synth_days:
        synthetic(args.synth_days, 12)
    frames = {p: load_jit(DATA / f"{p}_k_feature.csv", "issta21") for p in projects}
    pd.set_option("display.width", 200)
    for protocol in args.protocol:
        start = time.perf_counter()
        table = PROTOCOLS[protocol](frames, SCORERS)
        print(f"\n== {protocol} ({time.perf_counter() - start:.1f} s)")
        if protocol in ("wp", "cp"):
            key = "lr_jit_wp" if protocol == "wp" else "lr_jit_cp"
            table["paper_auc"] = [
                PAPER_AUC[p][key]
                if m == "lr_jit"
                else PAPER_AUC[p]["lapredict"]
                if m == "lapredict"
                else np.nan
                for p, m in zip(table["project"], table["model"], strict=True)
            ]
        print(table.round(4).to_string(index=False))
        if protocol != "drift":
            print(table.groupby("model")[["auc", "pr_auc", "brier", "popt", "ece"]].mean().round(4))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
