"""Train the committed default change-risk model into models/risk/ (reproducible).

Run: ``.venv/bin/python bench/train_risk_default.py``. Trains `ChangeRiskModel()` (seed 0) on
every row of the ISSTA'21 jdt, platform, gerrit and go files, both periods (`<p>_k_feature.csv`
and `<p>_old_k_feature.csv`; qt and openstack are reserved for independent evaluation and not
used), and writes ``model.txt`` (LightGBM text), ``model.json`` (calibration, linear part,
features) and ``metadata.json`` (data hash, features, git commit, metrics, command).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from vsmml.models import evaluation as ev
from vsmml.models.risk import ChangeRiskModel
from vsmml.pipeline.datasets.jit import CHANGE_METRICS, load_jit

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "jit" / "issta21"
OUT = REPO / "models" / "risk"
PROJECTS = ("jdt", "platform", "gerrit", "go")
COMMAND = ".venv/bin/python bench/train_risk_default.py"


def main() -> None:
    files = [DATA / f"{p}{s}_k_feature.csv" for p in PROJECTS for s in ("_old", "")]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    frame = pd.concat([load_jit(f, "issta21") for f in files], ignore_index=True)
    x, y = frame[[*CHANGE_METRICS, "committed_at"]], frame["bug"]
    start = time.perf_counter()
    model = ChangeRiskModel(random_state=0).fit(x, y)
    seconds = time.perf_counter() - start
    prob = model.predict_proba(x)[:, 1]
    model.save(OUT)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    meta = {
        "name": "risk",
        "version": "default-1",
        "format": "vsmml-risk/1",
        "training_command": COMMAND,
        "git_commit": commit,
        "data": [str(f.relative_to(REPO.parent)) for f in files],
        "data_sha256": digest.hexdigest(),
        "rows": len(frame),
        "failure_rate": float(y.mean()),
        "training_period": list(model.training_period_),
        "features": model.feature_names_,
        "input_columns": model.input_columns_,
        "best_params": model.best_params_,
        "metrics": {
            "validation_auc": model.best_params_["validation_auc"],
            "training_auc": ev.auc(y, prob),
            "training_ece": ev.expected_calibration_error(y, prob),
            "fit_seconds": round(seconds, 1),
        },
        "note": "Held-out results per project (WP/CP) are in bench/RESULTS.md "
        "('Change-failure risk').",
    }
    (OUT / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta["metrics"], indent=2), file=sys.stdout)


if __name__ == "__main__":
    main()
