"""Leave one corpus out: NAB v1.1 scores of the anomaly detectors on three labelled corpora.

Corpora (../shared/data/anomaly, see its README): Microsoft cloud monitoring (60 series), the
AIOps 2018 KPIs (21) and SMD per-metric series (12, scored on their labelled test half with the
training half as history). For each left-out corpus: the likelihood candidate with the best
standard-profile score on the two other corpora is selected, every detector's threshold is
chosen (per profile) on those two corpora, and the left-out corpus is scored at that threshold.
Scorer: `vsmml.anomaly.nab` (NAB v1.1's rules). On two corpora, "best" means the best mean of
the two corpora's normalised scores at one threshold swept over every distinct score of both
(each corpus weighs the same: pooled as one NAB corpus, the 538 AIOps windows would outvote
the others). Everything is deterministic (no randomness anywhere), so a rerun prints the same
tables. Run:

    .venv/bin/python bench/eval_anomaly.py [--root DIR] [--detectors a,b] [--markdown]

About 3-5 minutes on 2 cores (2.7 M rows scored once per detector and candidate).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vsmml.anomaly import build_detector
from vsmml.anomaly.nab import PROFILES, STANDARD, Profile, ScoredFile, Sweep, score_file, sweep
from vsmml.pipeline.datasets.anomaly import ANOMALY_ROOT, CORPORA, LabelledSeries, load_corpus

# The detectors reported in every table (the default is the likelihood with its defaults).
DETECTORS: dict[str, dict[str, Any]] = {
    "default": {"name": "default"},
    "windowed_gaussian": {"name": "windowed_gaussian"},
    "mstl_ensemble (former default)": {"name": "mstl_ensemble"},
    "seasonal_zscore": {"name": "seasonal_zscore"},
    "robust_zscore": {"name": "robust_zscore"},
}
# What the protocol selects from on the two training corpora: the default and one-knob changes.
CANDIDATES: dict[str, dict[str, Any]] = {
    "likelihood (defaults)": {"name": "likelihood"},
    "no seasonal view": {"name": "likelihood", "seasons": 0},
    "span 3": {"name": "likelihood", "span": 3},
    "tail q 0.9/0.99": {"name": "likelihood", "q_high": 0.99},
    "seasonal margin 2": {"name": "likelihood", "seasonal_margin": 2.0},
    "history 30000": {"name": "likelihood", "history": 30000},
    "repeat 20 rows": {"name": "likelihood", "repeat_rows": 20},
}
SHORT = {"msft_cloud_monitoring": "MSFT", "aiops2018_kpi": "AIOps", "smd_per_metric": "SMD"}
BAR = 15.0


def score_corpora(
    spec: dict[str, Any], corpora: dict[str, list[LabelledSeries]]
) -> tuple[dict[str, dict[str, np.ndarray]], float]:
    """Scores of one detector on every series of every corpus, and its points per second."""
    det = build_detector(spec)
    out: dict[str, dict[str, np.ndarray]] = {}
    rows, secs = 0, 0.0
    for name, series in corpora.items():
        out[name] = {}
        for s in series:
            t0 = time.perf_counter()
            out[name][s.name] = det.score(s.frame[["timestamp", "value"]])
            secs += time.perf_counter() - t0
            rows += len(s.frame)
    return out, rows / secs


def scored_files(
    scores: dict[str, dict[str, np.ndarray]],
    corpora: dict[str, list[LabelledSeries]],
    profile: Profile,
) -> dict[str, list[ScoredFile]]:
    """NAB-ready files per corpus for one profile."""
    return {
        c: [
            score_file(scores[c][s.name], s.frame["label"].to_numpy(), profile, name=s.name,
                       start=s.start)
            for s in series
        ]
        for c, series in corpora.items()
    }  # fmt: skip


def balanced_best(sweeps: list[Sweep]) -> tuple[float, float]:
    """The threshold (over every distinct score of the corpora) with the best mean normalised
    score of the corpora, each corpus weighing the same; ties keep the highest threshold."""
    thresholds = np.unique(np.concatenate([s.thresholds for s in sweeps]))[::-1]
    total = np.zeros(thresholds.size)
    for s in sweeps:
        i = np.searchsorted(-s.thresholds, -thresholds, side="right") - 1
        total += 100.0 * (s.raw[np.maximum(i, 0)] - s.null) / (s.perfect - s.null)
    k = int(np.argmax(total))
    return float(thresholds[k]), float(total[k] / len(sweeps))


def fold(files: dict[str, list[ScoredFile]], left_out: str) -> tuple[float, float, float]:
    """(threshold chosen on the other corpora, left-out score at it, left-out own best score)."""
    threshold, _ = balanced_best([sweep(fs) for c, fs in files.items() if c != left_out])
    test = sweep(files[left_out])
    return threshold, test.at(threshold).score, test.best().score


def evaluate(
    corpora: dict[str, list[LabelledSeries]], detectors: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Every table of the protocol (see the module docstring)."""
    names = list(corpora)
    results: dict[str, dict[str, Any]] = {}
    for label, spec in {
        **{f"candidate: {k}": v for k, v in CANDIDATES.items()},
        **detectors,
    }.items():
        scores, pps = score_corpora(spec, corpora)
        per_profile = {p: scored_files(scores, corpora, prof) for p, prof in PROFILES.items()}
        sweeps = {c: sweep(fs) for c, fs in per_profile[STANDARD.name].items()}
        pooled = {c: balanced_best([sweeps[o] for o in names if o != c])[1] for c in names}
        every = balanced_best(list(sweeps.values()))
        results[label] = {
            "pps": pps,
            "folds": {c: {p: fold(per_profile[p], c) for p in PROFILES} for c in names},
            "train_score": pooled,
            "all_threshold": every[0],
            "all_score": every[1],
        }
        print(f"  scored {label} ({pps:,.0f} points/s)", flush=True)
    selected = {}
    for c in names:
        best = max(CANDIDATES, key=lambda k: results[f"candidate: {k}"]["train_score"][c])
        selected[c] = best
    return {"results": results, "selected": selected, "corpora": names}


def tables(out: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """One table per left-out corpus, plus the mean over the three."""
    res, names = out["results"], out["corpora"]
    frames: dict[str, pd.DataFrame] = {}
    for c in names:
        rows = []
        sel = out["selected"][c]
        for label in [f"candidate: {sel}", *[k for k in res if not k.startswith("candidate")]]:
            r = res[label]["folds"][c]
            name = "selected on the other two" if label.startswith("candidate") else label
            rows.append(
                {
                    "detector": name,
                    "standard": r["standard"][1],
                    "low FP": r["reward_low_FP_rate"][1],
                    "low FN": r["reward_low_FN_rate"][1],
                    "threshold (standard)": r["standard"][0],
                    "own best (standard)": r["standard"][2],
                }
            )
        frames[c] = pd.DataFrame(rows).set_index("detector")
    numeric = [f.drop(columns=["threshold (standard)"]) for f in frames.values()]
    frames["mean"] = pd.concat(numeric).groupby(level=0, sort=False).mean()
    return frames


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub table with one decimal (thresholds with four)."""
    cols = [frame.index.name or "", *frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in frame.iterrows():
        cells = [
            f"{v:.4f}" if str(c).startswith("threshold") else f"{v:.1f}" for c, v in row.items()
        ]
        lines.append("| " + " | ".join([str(idx), *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ANOMALY_ROOT)
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--markdown", action="store_true", help="print tables as markdown")
    args = parser.parse_args()
    t0 = time.perf_counter()
    corpora = {c: load_corpus(c, args.root / c) for c in CORPORA}
    for c, series in corpora.items():
        print(f"{c}: {len(series)} series, {sum(len(s.frame) for s in series):,} rows")
    wanted = {k: DETECTORS[k] for k in args.detectors.split(",")}
    out = evaluate(corpora, wanted)
    for c, frame in tables(out).items():
        if c == "mean":
            print("\n## mean of the three left-out corpora")
        else:
            print(f"\n## left out: {SHORT[c]} (selected on the other two: {out['selected'][c]})")
        print(markdown(frame) if args.markdown else frame.to_string(float_format="{:.4g}".format))
    res = out["results"]
    if "default" in res and "windowed_gaussian" in res:
        gaps = {
            SHORT[c]: res["default"]["folds"][c]["standard"][1]
            - res["windowed_gaussian"]["folds"][c]["standard"][1]
            for c in out["corpora"]
        }
        verdict = "met" if all(g >= BAR for g in gaps.values()) else "NOT met"
        print(
            f"\nbar (default - windowed Gaussian >= {BAR:.0f} on every left-out corpus): "
            f"{verdict}; gaps " + ", ".join(f"{k} {v:+.1f}" for k, v in gaps.items())
        )
        d = res["default"]
        print(
            f"default threshold chosen on all three corpora: {d['all_threshold']:.4f} "
            f"(mean standard score there {d['all_score']:.1f})"
        )
    print(
        "points/s: "
        + ", ".join(f"{k} {v['pps']:,.0f}" for k, v in res.items() if not k.startswith("candidate"))
    )
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
