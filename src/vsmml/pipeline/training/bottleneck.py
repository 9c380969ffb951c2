"""The bottleneck training job behind `vsmml train bottleneck`.

Builds per service-week features from the synthetic organisation (its ground truth plants the
bottleneck moves), fits `BottleneckModel` on the first 80 % of the weeks and scores the rest
against the trailing 4-week median stage (primary metric: top-1 accuracy), then hands the result
to `vsmml.tracking.track`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.pipeline.training.common import (
    TRAIN_FRACTION,
    data_hash,
    describe_synthetic,
    span,
    synthetic_org,
)
from vsmml.tracking import TrackResult, TrainedModel, git_commit, track

BOTTLENECK_NAME: Final[str] = "bottleneck"
BOTTLENECK_SYNTH: dict[str, Any] = {
    "preset": "year50",
    "n_services": 12,
    "n_teams": 4,
    "slo_interval_minutes": 60,
}
"""Default synthetic organisation of the bottleneck job: 12 services over 52 weeks (SLI
samples hourly, since the bottleneck model does not read them)."""


@dataclass(frozen=True)
class BottleneckData:
    """Per service-week features with the dominant-stage label, and the per-change waits."""

    frame: pd.DataFrame
    waits: pd.DataFrame
    stages: tuple[str, ...]
    seed: int
    source: str
    settings: dict[str, Any]


def bottleneck_data_synthetic(seed: int, **overrides: Any) -> BottleneckData:
    """`period_features` + `stage` label + `since_move` (planted moves) per service-week.

    `overrides` change `BOTTLENECK_SYNTH` (``preset`` or any `SynthConfig` field).
    """
    from vsmml.features import dominant_stages, period_features, stage_waits
    from vsmml.models.bottleneck_eval import periods_since_move
    from vsmml.synth import WAIT_STAGES

    settings = {**BOTTLENECK_SYNTH, **overrides}
    _, org = synthetic_org(seed, settings)
    stages = list(WAIT_STAGES)
    waits = stage_waits(org.events)
    feats = period_features(waits, stages=stages, next_period=False)
    labels = dominant_stages(waits, stages=stages)[["service", "period_start", "stage"]]
    frame = feats.merge(labels, on=["service", "period_start"], how="inner")
    moves = periods_since_move(org.truth.bottlenecks)
    frame = frame.merge(moves, on=["service", "period_start"], how="left")
    return BottleneckData(
        frame.reset_index(drop=True).copy(),  # copy: one block per dtype (merges fragment)
        waits,
        tuple(stages),
        seed,
        describe_synthetic(seed, settings),
        settings,
    )


def train_bottleneck(
    data: BottleneckData,
    *,
    settings: Settings | None = None,
    model_factory: Callable[[], Any] | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> tuple[TrackResult, pd.DataFrame]:
    """Fit on the earlier 80 % of the weeks, score against the trailing-median stage on the rest,
    track and maybe promote. Returns the tracking result and the top-1 accuracy table."""
    from vsmml.models.bottleneck import BottleneckModel
    from vsmml.models.bottleneck_eval import pinball_table, top1_table

    frame, stages = data.frame, list(data.stages)
    weeks = np.sort(frame["period_start"].unique())
    if len(weeks) < 8:
        raise DataError(
            f"{data.source}: need at least 8 weeks of service-periods to train and evaluate "
            f"the bottleneck model, got {len(weeks)}"
        )
    cut = weeks[int(len(weeks) * TRAIN_FRACTION)]
    train = frame[frame["period_start"] < cut].reset_index(drop=True)
    test = frame[frame["period_start"] >= cut].reset_index(drop=True)
    factory = model_factory or (
        lambda: BottleneckModel(stages=stages, random_state=data.seed, n_jobs=1)
    )
    model = factory().fit(train, train["stage"], waits=data.waits)
    share1 = np.nan_to_num(test[[f"{s}__share1" for s in stages]].to_numpy(), nan=-1.0)
    scored = test.assign(
        model=model.predict(test),
        baseline_median=test["baseline_stage"],
        last_week_leader=np.array(stages)[np.argmax(share1, axis=1)],
    )
    predictors = ["model", "baseline_median", "last_week_leader"]
    table = top1_table(scored, predictors)
    pin = pinball_table(test, data.waits, model.predict_quantiles(test), stages)
    groups = {str(r["periods"]): r for r in table.to_dict(orient="records")}
    metrics = {
        "top1": float(groups["all"]["model"]),
        "baseline_top1": float(groups["all"]["baseline_median"]),
        "last_week_leader_top1": float(groups["all"]["last_week_leader"]),
    }
    for group, key in (("move period (0)", "move"), ("after move (1-3)", "after_move")):
        if group in groups:
            metrics[f"top1_{key}"] = float(groups[group]["model"])
            metrics[f"baseline_top1_{key}"] = float(groups[group]["baseline_median"])
    for row in pin.loc[pin["stage"] == "all"].to_dict(orient="records"):
        level = f"q{round(float(row['quantile']) * 100)}"
        metrics[f"pinball_{level}"] = float(row["model"])
        metrics[f"baseline_pinball_{level}"] = float(row["baseline"])
    truth = test["stage"].astype("str").to_numpy()

    def champion_top1(folder: Path) -> float:
        """The champion's top-1 accuracy here; NaN if it cannot read these features."""
        try:
            old = BottleneckModel.load(folder)
            return float(np.mean(old.predict(test).astype("str") == truth))
        except DataError:
            return float("nan")

    metadata = {
        "model": "vsmml.models.bottleneck.BottleneckModel",
        "data_source": data.source,
        "data_hash": data_hash(frame),
        "stages": stages,
        "feature_names": list(getattr(model, "feature_names_", [])),
        "training_period": span(train["period_start"]),
        "test_period": span(test["period_start"]),
        "n_train": len(train),
        "n_test": len(test),
        "n_waits": len(data.waits),
        "baseline": "stage with the largest trailing 4-week median wait",
        "git_commit": git_commit(),
        **(extra_metadata or {}),
    }
    params = {
        **model.get_params(),
        "n_estimators_": getattr(model, "n_estimators_", None),
        "synthetic": data.settings,
        "train_fraction": TRAIN_FRACTION,
    }
    trained = TrainedModel(
        name=BOTTLENECK_NAME,
        save=model.save,
        params=params,
        metrics=metrics,
        primary_metric="top1",
        tables={"accuracy": table, "pinball": pin},
        metadata=metadata,
    )
    result = track(trained, settings=settings or get_settings(), champion_scorer=champion_top1)
    return result, table
