"""The risk model on features derived from events (what a real store holds), on the synthetic org.

Generates the organisation, correlates its events, derives every change's features with
`vsmml.features.change_features` and its label from correlation (shipped in a production deploy
that failed), then: (1) how far each derived feature is from the generator's truth column, and
(2) ChangeRiskModel on JIT metrics alone vs JIT + derived delivery context, trained on the first
80 % by merge time, scored on the rest against the observed labels and against the truth's.

Run: ``.venv/bin/python bench/eval_risk_events.py [--days 365] [--services 12] [--seed 42]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from vsmml.correlate import correlate
from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS
from vsmml.features.change_features import CONTEXT_FEATURES, change_features
from vsmml.models import evaluation as ev
from vsmml.models.baselines import lapredict
from vsmml.models.risk import ChangeRiskModel
from vsmml.synth import SynthConfig, generate


def agreement(feats: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per derived column: rows compared, share equal to the truth (1e-3), correlation."""
    rows = []
    for col in (*CONTEXT_FEATURES, "la", "failed"):
        a, b = feats[col].astype(float), truth[col].astype(float)
        ok = (a.notna() & b.notna()).to_numpy()
        x, y = a.to_numpy()[ok], b.to_numpy()[ok]
        rows.append(
            {
                "feature": col,
                "rows": int(ok.sum()),
                "equal": float(np.isclose(x, y, atol=1e-3).mean()),
                "corr": float(np.corrcoef(x, y)[0, 1]),
                "missing": float(a.isna().mean()),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--services", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    org = generate(SynthConfig(days=args.days, n_services=args.services, seed=args.seed))
    t = time.perf_counter()
    corr = correlate(org.events)
    feats = change_features(corr.changes, org.events, corr.deployments)
    seconds = time.perf_counter() - t
    feats = feats.dropna(subset=["production_deploy_started_at"])
    truth = org.truth.changes.set_index("change_id").loc[feats["change_id"]]
    print(f"{len(org.events):,} events -> {len(feats):,} shipped changes; correlate + features")
    print(f"{seconds:.1f} s\n")
    print(agreement(feats.set_index("change_id"), truth).round(3).to_string(index=False))

    frame = feats.assign(
        committed_at=feats["merged_at"],
        bug=feats["failed"].fillna(False).astype(int),
        truth_bug=truth["failed"].astype(int).to_numpy(),
    ).sort_values("committed_at", kind="stable")
    k = int(len(frame) * 0.8)
    train, test = frame.iloc[:k], frame.iloc[k:]
    rows = []
    jit = [*KAMEI_COLUMNS, "committed_at"]
    for name, cols in (("jit only", jit), ("jit + derived context", [*jit, *CONTEXT_FEATURES])):
        p = ChangeRiskModel().fit(train[cols], train["bug"]).predict_proba(test[cols])[:, 1]
        rows.append((f"vsmml ({name})", p))
    rows.append(("lapredict", lapredict(train, test)))
    table = pd.DataFrame(
        [
            {
                "model": name,
                "auc (observed labels)": ev.auc(test["bug"], p),
                "ece (observed)": ev.expected_calibration_error(test["bug"], p),
                "auc (truth labels)": ev.auc(test["truth_bug"], p),
            }
            for name, p in rows
        ]
    )
    print(f"\ntrain {len(train):,} / test {len(test):,} changes by merge time; observed failure")
    print(f"rate {train['bug'].mean():.3f} -> {test['bug'].mean():.3f}\n")
    print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
