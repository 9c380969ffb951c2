"""Evaluate the bottleneck model against the trailing-median baseline on the synthetic org.

Waits come from the canonical events (`stage_waits`), features from `period_features` (causal
at each week's start), labels from `dominant_stages`. Time-ordered split: the first 60 % of the
weeks train (the model early-stops on the last 20 % of those), the rest are the test.
Baselines: the stage with the largest trailing 4-week median wait (the stated baseline), the
same with a 1-week median, and the stage with the largest share last week (a stronger naive
forecast, for reference). `--move-every N` generates an organisation in flux (the planted
bottleneck of a moving service moves about every N weeks; `bottleneck_move_every_weeks`).

Usage: .venv/bin/python bench/eval_bottleneck.py [--quick] [--preset year50] [--seeds 42,5,7]
       [--move-every 8] [--moving-share 0.4] [--save DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from vsmml.features import dominant_stages, period_features, stage_waits
from vsmml.models.bottleneck import BottleneckModel
from vsmml.models.bottleneck_eval import periods_since_move, pinball_table, top1_table
from vsmml.synth import WAIT_STAGES, SynthConfig, generate
from vsmml.synth.org import plan_org, ramp_stage


def ramp_periods(cfg: SynthConfig) -> pd.DataFrame:
    """Per (service, week) of the plan: whether the next bottleneck is building up (a ramp)."""
    plan = plan_org(cfg)
    rows = []
    for svc in plan.services:
        ramping = ramp_stage(svc, plan.n_weeks) >= 0
        for w in range(plan.n_weeks):
            rows.append((svc.name, cfg.start + pd.Timedelta(weeks=w), bool(ramping[w])))
    out = pd.DataFrame(rows, columns=["service", "period_start", "in_ramp"])
    out["period_start"] = out["period_start"].astype("datetime64[us, UTC]")
    return out.astype({"service": "str"})


PREDICTORS = ("model", "baseline_median", "baseline_median1", "last_week_leader")


def _leader(test: pd.DataFrame, stages: list[str], stat: str) -> npt.NDArray[np.str_]:
    """Per row, the stage with the largest ``<stage>__<stat>`` (NaN counts as lowest)."""
    v = test[[f"{s}__{stat}" for s in stages]].to_numpy(dtype=np.float64)
    out: npt.NDArray[np.str_] = np.array(stages)[np.argmax(np.nan_to_num(v, nan=-1.0), axis=1)]
    return out


def run(
    preset: str,
    seed: int,
    train_share: float = 0.6,
    move_every: int | None = None,
    moving_share: float | None = None,
) -> dict[str, object]:
    """Generate, featurise, fit on the earlier weeks and score the later ones."""
    t0 = time.perf_counter()
    extra: dict[str, object] = {"bottleneck_move_every_weeks": move_every}
    if moving_share is not None:
        extra["moving_bottleneck_share"] = moving_share
    cfg = SynthConfig.preset(preset, seed=seed, **extra)
    org = generate(cfg)
    stages = list(WAIT_STAGES)
    waits = stage_waits(org.events)
    feats = period_features(waits, stages=stages, next_period=False)
    labels = dominant_stages(waits, stages=stages)[["service", "period_start", "stage"]]
    data = feats.merge(labels, on=["service", "period_start"], how="inner")
    data = data.merge(periods_since_move(org.truth.bottlenecks), on=["service", "period_start"])
    data = data.merge(ramp_periods(cfg), on=["service", "period_start"], how="left")
    data["in_ramp"] = data["in_ramp"].fillna(False).astype(bool)
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
    test = test.copy().assign(
        model=model.predict(test),
        baseline_median=test["baseline_stage"],
        baseline_median1=_leader(test, stages, "med1"),
        last_week_leader=_leader(test, stages, "share1"),
    )
    acc = top1_table(test, list(PREDICTORS))
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
        "test": test[["service", "period_start", "stage", "since_move", "in_ramp", *PREDICTORS]],
    }


def main() -> None:
    """Command line entry point: prints the accuracy and pinball tables (per seed and pooled)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="demo preset (12 services, 26 weeks)")
    ap.add_argument("--preset", default="year50")
    ap.add_argument("--seeds", default="42", help="comma-separated seeds, e.g. 42,5,7")
    ap.add_argument("--move-every", type=int, default=None, help="organisation in flux: N weeks")
    ap.add_argument("--moving-share", type=float, default=None, help="share of moving services")
    ap.add_argument("--save", default=None, help="write each seed's test predictions here")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    tests = []
    for seed in [int(x) for x in args.seeds.split(",")]:
        res = run(
            "demo" if args.quick else args.preset,
            seed,
            move_every=args.move_every,
            moving_share=args.moving_share,
        )
        print(f"== seed {seed} (move every {args.move_every}, moving share {args.moving_share})")
        for k, v in res.items():
            if not isinstance(v, pd.DataFrame):
                print(f"{k}: {v}")
        print(res["accuracy"].to_string(**fmt))  # type: ignore[union-attr]
        pin = res["pinball"]
        print(pin[pin["stage"] == "all"].to_string(**fmt))  # type: ignore[index]
        print(res["explain"].to_string(**fmt))  # type: ignore[union-attr]
        tests.append(res["test"].assign(seed=seed))  # type: ignore[union-attr]
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            tests[-1].to_csv(Path(args.save) / f"test_{seed}.csv", index=False)
            pin.to_csv(Path(args.save) / f"pinball_{seed}.csv", index=False)  # type: ignore[union-attr]
    if len(tests) > 1:
        print("== pooled over seeds")
        print(top1_table(pd.concat(tests, ignore_index=True), list(PREDICTORS)).to_string(**fmt))


if __name__ == "__main__":
    main()
