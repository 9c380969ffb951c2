"""Evaluate every anomaly detector on Microsoft's labelled cloud-monitoring series (NAB-style).

The 60 series are split in two halves by alternating within each group (sorted by name): the
tuning half A and the held-out half B. For each detector the alert threshold is chosen on A (as
NAB chooses one threshold per detector) and applied unchanged to B; the score with B's own best
threshold and over all 60 series are reported too. Run:

    .venv/bin/python bench/eval_anomaly.py [--root PATH] [--detectors a,b,...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsmml.anomaly import build_detector
from vsmml.anomaly.nab import (
    STANDARD,
    PreparedSeries,
    Profile,
    best_threshold,
    candidate_thresholds,
    prepare,
    score_at,
)
from vsmml.pipeline.datasets.anomaly import DEFAULT_MSFT_ROOT, load_msft_corpus

DETECTORS: dict[str, dict[str, Any]] = {
    "default": {"name": "default"},
    "seasonal_zscore": {"name": "seasonal_zscore"},
    "robust_zscore": {"name": "robust_zscore"},
    "stl": {"name": "stl"},
    "mstl": {"name": "mstl"},
    "cusum": {"name": "cusum"},
    "ensemble (max of 3)": {"name": "ensemble"},
    "windowed_gaussian": {"name": "windowed_gaussian"},
}


def split_halves(names: list[str]) -> tuple[list[str], list[str]]:
    """Alternate series within each group: even positions → A (tuning), odd → B (held out)."""
    a: list[str] = []
    b: list[str] = []
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(name.split("/")[0], []).append(name)
    for members in groups.values():
        for i, name in enumerate(members):
            (a if i % 2 == 0 else b).append(name)
    return a, b


def score_corpus(spec: dict[str, Any], corpus: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Scores of one detector on every series."""
    det = build_detector(spec)
    return {k: det.score(f[["timestamp", "value"]]) for k, f in corpus.items()}


def evaluate(
    spec: dict[str, Any], corpus: dict[str, pd.DataFrame], profile: Profile = STANDARD
) -> dict[str, float]:
    """NAB-style scores of one detector: tuned on A, applied to B, plus B's and all's optimum."""
    t0 = time.perf_counter()
    scores = score_corpus(spec, corpus)
    secs = time.perf_counter() - t0
    prepared: dict[str, PreparedSeries] = {
        k: prepare(scores[k], corpus[k]["label"].to_numpy(), profile) for k in corpus
    }
    half_a, half_b = split_halves(list(corpus))
    cands = candidate_thresholds(np.concatenate(list(scores.values())))
    on_a = best_threshold([prepared[k] for k in half_a], cands)
    b_at_a = score_at([prepared[k] for k in half_b], on_a.threshold)
    on_b = best_threshold([prepared[k] for k in half_b], cands)
    on_all = best_threshold(list(prepared.values()), cands)
    rows = sum(len(f) for f in corpus.values())
    return {
        "A (tuned)": on_a.score,
        "B @ A's threshold": b_at_a.score,
        "B (own threshold)": on_b.score,
        "all 60": on_all.score,
        "threshold": on_a.threshold,
        "points/s": rows / secs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=DEFAULT_MSFT_ROOT)
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    args = parser.parse_args()
    corpus = load_msft_corpus(args.root)
    rows = []
    for name in args.detectors.split(","):
        res = evaluate(DETECTORS[name], corpus)
        rows.append({"detector": name, **res})
    table = pd.DataFrame(rows).set_index("detector")
    print(table.to_string(float_format=lambda v: f"{v:,.1f}" if abs(v) >= 2 else f"{v:.4f}"))


if __name__ == "__main__":
    main()
