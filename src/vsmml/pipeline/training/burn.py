"""The SLO burn training job behind `vsmml train burn`.

Builds its data from the synthetic organisation (the ground truth it plants gives the burn
events), fits `BurnRiskModel` on the causal SLI and deploy-timing features, and evaluates on the
later 20 % against the multiwindow page rule (1 h and 5 min burn above 14.4x). Its warning
threshold is chosen on the first 80 % of the period by `cross_validated_threshold` (pooled
expanding-window out-of-fold predictions; the lowest threshold whose precision minus one
standard error reaches the page rule's on the same rows, as in bench/eval_burn.py); the model is
refitted on that 80 % and scored on the last 20 %. Primary metric: event-level F1. The result goes
to `vsmml.tracking.track`, which logs, registers, compares with the champion and exports.
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
from vsmml.features.burn_features import BURN_FEATURES
from vsmml.pipeline.training.common import (
    TRAIN_FRACTION,
    data_hash,
    describe_synthetic,
    span,
    synthetic_org,
)
from vsmml.tracking import TrackResult, TrainedModel, git_commit, track

BURN_NAME: Final[str] = "burn"
BURN_SYNTH: dict[str, Any] = {"preset": "demo", "detector": "default"}
"""Default synthetic organisation of the burn job (12 services, 180 days, ~10 s of features)."""
DEPLOY_RISK_COLUMNS: Final[tuple[str, ...]] = ("last_deploy_risk", "deploy_risk_1h")
BURN_FEATURE_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for c in BURN_FEATURES if c not in DEPLOY_RISK_COLUMNS
)
"""`BURN_FEATURES` without the deploy-risk columns (they need a change-risk model)."""


@dataclass(frozen=True)
class BurnData:
    """Burn features on a 5-minute grid, the label, the planted burn events and the period."""

    features: pd.DataFrame
    label: pd.Series
    events: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    source: str
    settings: dict[str, Any]


def burn_data_synthetic(seed: int, **overrides: Any) -> BurnData:
    """Features, `page_within` label and planted burn events (1 h burn above 14.4x).

    `overrides` change `BURN_SYNTH` (``preset``, ``detector``, any `SynthConfig` field).
    """
    from vsmml.features.burn_features import burn_features, burn_grid, page_within
    from vsmml.models.burn_eval import PAGE_FACTOR, planted_burn, runs
    from vsmml.slo import samples_from_events

    settings = {**BURN_SYNTH, **overrides}
    detector = settings.pop("detector", None)
    config, org = synthetic_org(seed, settings)
    dep = org.truth.deploys
    dep = dep.loc[dep["env"] == "production"]
    deploys = pd.DataFrame({"service": dep["service"], "timestamp": dep["finished_at"]})
    grid = burn_grid(samples_from_events(org.events))
    feats = burn_features(
        grid, objective=config.slo_target, deploys=deploys, detector=detector or None
    )
    planted = planted_burn(org.truth.slo_episodes, feats, "1h").to_numpy()
    events = runs(feats[["service", "timestamp"]].assign(on=planted >= PAGE_FACTOR), "on")
    described = {**settings, "detector": detector}
    return BurnData(
        features=feats,
        label=page_within(feats, "1h"),
        events=events,
        start=config.start,
        end=config.end,
        seed=seed,
        source=describe_synthetic(seed, described),
        settings=described,
    )


def _f1(precision: float, recall: float) -> float:
    p, r = float(np.nan_to_num(precision)), float(np.nan_to_num(recall))
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def train_burn(
    data: BurnData,
    *,
    settings: Settings | None = None,
    model_factory: Callable[[], Any] | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> tuple[TrackResult, pd.DataFrame]:
    """Fit, choose the warning threshold, score against the page rule, track and maybe promote.

    Returns the tracking result and the evaluation table (model and rule on the held-out 20 %).
    """
    from vsmml.features.burn_features import page_condition
    from vsmml.models.burn import BurnRiskModel
    from vsmml.models.burn_eval import cross_validated_threshold, paired_lead_gain, score_alerts

    feats, y = data.features, data.label
    t_test = data.start + (data.end - data.start) * TRAIN_FRACTION
    ts = feats["timestamp"]
    dev, test = (ts < t_test), (ts >= t_test)
    starts = data.events["start"]
    ev_dev = data.events.loc[starts < t_test].reset_index(drop=True)
    ev_test = data.events.loc[starts >= t_test].reset_index(drop=True)
    if int(y[dev].sum()) < 10 or ev_dev.empty or ev_test.empty:
        raise DataError(
            f"{data.source}: too few pages to train and evaluate the burn model: "
            f"{int(y[dev].sum())} positive rows in the first 80 % (need 10), {len(ev_dev)} burn "
            f"events there and {len(ev_test)} in the held-out period (need 1 each)"
        )
    keys = feats[["service", "timestamp"]]
    page = page_condition(feats).to_numpy()
    rule_score = score_alerts(keys[test].assign(alert=page[test.to_numpy()]), ev_test)
    x = feats[["timestamp", *BURN_FEATURE_COLUMNS]]
    factory = model_factory or (lambda: BurnRiskModel(random_state=data.seed))
    choice = cross_validated_threshold(
        factory, x[dev], y[dev], keys[dev], ev_dev, page[dev.to_numpy()]
    )
    thr = choice.threshold
    model = factory().fit(x[dev], y[dev])
    model.threshold = thr
    x_test, keys_test = x[test], keys[test]
    p_test = model.predict_proba(x_test)[:, 1]
    score = score_alerts(keys_test.assign(alert=p_test >= thr), ev_test)
    table = pd.DataFrame(
        [score.as_row("BurnRiskModel"), rule_score.as_row("page rule 1h/5m at 14.4x")]
    )
    table["f1"] = [_f1(s.precision, s.recall) for s in (score, rule_score)]
    table["paired_lead_gain_min"] = [paired_lead_gain(score, rule_score), 0.0]
    metrics = {
        "f1": _f1(score.precision, score.recall),
        "precision": score.precision,
        "recall": score.recall,
        "median_lead_min": score.median_lead_min,
        "paired_lead_gain_min": paired_lead_gain(score, rule_score),
        "brier": float(np.mean((p_test - y[test].to_numpy()) ** 2)),
        "rule_f1": _f1(rule_score.precision, rule_score.recall),
        "rule_precision": rule_score.precision,
        "rule_recall": rule_score.recall,
        "rule_median_lead_min": rule_score.median_lead_min,
        "rule_oof_precision": choice.target_precision,
        "oof_precision": choice.precision,
        "threshold": thr,
    }

    def champion_f1(folder: Path) -> float:
        """The champion's F1 with its own threshold; NaN if it cannot read these features."""
        try:
            old = BurnRiskModel.load(folder)
            p = old.predict_proba(x_test)[:, 1]
        except DataError:
            return float("nan")
        s = score_alerts(keys_test.assign(alert=p >= old.threshold), ev_test)
        return _f1(s.precision, s.recall)

    periods = {"training_period": dev, "test_period": test}
    metadata = {
        "model": "vsmml.models.burn.BurnRiskModel",
        "data_source": data.source,
        "data_hash": data_hash(feats.assign(label=y)),
        "features": list(BURN_FEATURE_COLUMNS),
        "feature_names": list(getattr(model, "feature_names_", BURN_FEATURE_COLUMNS)),
        **{k: span(ts[m]) for k, m in periods.items()},
        "n_train": int(dev.sum()),
        "n_test": int(test.sum()),
        "events_train": len(ev_dev),
        "events_threshold_oof": choice.n_events,
        "events_test": len(ev_test),
        "page_rate_train": float(y[dev].mean()),
        "threshold": thr,
        "baseline": "multiwindow page rule: 1 h and 5 min burn above 14.4x",
        "git_commit": git_commit(),
        **(extra_metadata or {}),
    }
    params = {
        **model.get_params(),
        "n_estimators_": getattr(model, "n_estimators_", None),
        "synthetic": data.settings,
        "threshold_procedure": "cross_validated_threshold (5 expanding folds, z = 1)",
        "test_fraction": round(1.0 - TRAIN_FRACTION, 6),
    }
    trained = TrainedModel(
        name=BURN_NAME,
        save=model.save,
        params=params,
        metrics=metrics,
        primary_metric="f1",
        tables={"evaluation": table},
        metadata=metadata,
    )
    result = track(trained, settings=settings or get_settings(), champion_scorer=champion_f1)
    return result, table
