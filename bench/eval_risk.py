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

from vsmml.datasets.jit import CHANGE_METRICS, load_jit
from vsmml.models import evaluation as ev
from vsmml.models.baselines import PAPER_AUC, lapredict, lr_jit
from vsmml.models.risk import ChangeRiskModel

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--protocol", nargs="+", default=["wp", "cp"], choices=list(PROTOCOLS))
    parser.add_argument("--quick", action="store_true", help="jdt and gerrit only")
    args = parser.parse_args()
    projects = ("jdt", "gerrit") if args.quick else PROJECTS
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
