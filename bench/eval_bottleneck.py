"""Evaluate the bottleneck model against the trailing-median baseline on the synthetic org.

Waits come from the canonical events (`stage_waits`), features from `period_features` (causal
at each week's start), labels from `dominant_stages`. Time-ordered split: the first 60 % of the
weeks train (the model early-stops on the last 20 % of those), the rest are the test.
Baselines: the stage with the largest trailing 4-week median wait (the stated baseline) and the
stage with the largest share last week (a stronger naive forecast, for reference).

Usage: .venv/bin/python bench/eval_bottleneck.py [--quick] [--preset year50] [--seed N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from vsmml.features import dominant_stages, period_features, stage_waits
from vsmml.models.bottleneck import BottleneckModel
from vsmml.models.bottleneck_eval import periods_since_move, pinball_table, top1_table
from vsmml.synth import WAIT_STAGES, SynthConfig, generate


def run(preset: str, seed: int, train_share: float = 0.6) -> dict[str, object]:
    """Generate, featurise, fit on the earlier weeks and score the later ones."""
    t0 = time.perf_counter()
    cfg = SynthConfig.preset(preset, seed=seed)
    org = generate(cfg)
    stages = list(WAIT_STAGES)
    waits = stage_waits(org.events)
    feats = period_features(waits, stages=stages, next_period=False)
    labels = dominant_stages(waits, stages=stages)[["service", "period_start", "stage"]]
    data = feats.merge(labels, on=["service", "period_start"], how="inner")
    data = data.merge(periods_since_move(org.truth.bottlenecks), on=["service", "period_start"])
    t_feat = time.perf_counter() - t0
    weeks = np.sort(data["period_start"].unique())
    cut = weeks[int(len(weeks) * train_share)]
    train, test = data[data["period_start"] < cut], data[data["period_start"] >= cut]
    train = train.reset_index(drop=True)
    test = test.reset_index(drop=True)
    t1 = time.perf_counter()
    model = BottleneckModel(stages=stages, random_state=seed, n_jobs=1)
    model.fit(train, train["stage"], waits=waits)
    t_fit = time.perf_counter() - t1
    share1 = test[[f"{s}__share1" for s in stages]].to_numpy()
    test = test.assign(
        model=model.predict(test),
        baseline_median=test["baseline_stage"],
        last_week_leader=np.array(stages)[np.nanargmax(np.nan_to_num(share1, nan=-1.0), axis=1)],
    )
    acc = top1_table(test, ["model", "baseline_median", "last_week_leader"])
    pin = pinball_table(test, waits, model.predict_quantiles(test), stages)
    return {
        "preset": preset,
        "service_weeks_train": len(train),
        "service_weeks_test": len(test),
        "feature_seconds": t_feat,
        "fit_seconds": t_fit,
        "trees": model.n_estimators_,
        "accuracy": acc,
        "pinball": pin,
        "explain": model.explain(test.iloc[:1], top=3),
    }


def main() -> None:
    """Command line entry point: prints the accuracy and pinball tables."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="demo preset (12 services, 26 weeks)")
    ap.add_argument("--preset", default="year50")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    res = run("demo" if args.quick else args.preset, args.seed)
    pd.set_option("display.width", 200)
    for k, v in res.items():
        if not isinstance(v, pd.DataFrame):
            print(f"{k}: {v}")
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    print(res["accuracy"].to_string(**fmt))  # type: ignore[union-attr]
    pin = res["pinball"]
    print(pin[pin["stage"] == "all"].to_string(**fmt))  # type: ignore[index]
    print(res["explain"].to_string(**fmt))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
