"""Training jobs behind `vsmml train`: data in, time-ordered evaluation, tracked and promoted.

`risk_data_synthetic`, `risk_data_events` (a store's events) and `risk_data_file` build the
training frame (JIT metrics, delivery context when the source has it, ``committed_at``,
``bug``); `train_risk` fits
`ChangeRiskModel` on the earlier 80 % by time, evaluates it and the LR-JIT / LApredict
baselines on the later 20 % (the published within-project protocol), then hands the result to
`vsmml.tracking.track`, which promotes it only if it beats the champion on that same held-out
data. Pipeline layer: reads data and settings, calls the pure core.
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
from vsmml.events.change_metrics import JIT_COLUMNS as KAMEI_JIT
from vsmml.features.change_features import CONTEXT_FEATURES
from vsmml.models.risk_scoring import DEFAULT_THRESHOLD
from vsmml.pipeline.training.common import TRAIN_FRACTION, data_hash
from vsmml.tracking import TrackResult, TrainedModel, git_commit, track

JIT_COLUMNS: Final[tuple[str, ...]] = KAMEI_JIT
CONTEXT_COLUMNS: Final[tuple[str, ...]] = CONTEXT_FEATURES
"""Delivery context known when a change's production deploy starts (`change_features`)."""
MODEL_NAME: Final[str] = "risk"


@dataclass(frozen=True)
class RiskData:
    """A training frame (features, ``committed_at``, ``bug``) and where it came from."""

    frame: pd.DataFrame
    source: str
    features: tuple[str, ...]


def risk_data_synthetic(seed: int, **overrides: Any) -> RiskData:
    """The synthetic organisation's changes as a store would see them (`risk_data_events` on
    its events), so the model trained here reads what `vsmml score` and the tour give it.

    The generator's truth columns (exact context, per-change failures, ``p_fail``) stay for
    research: bench/eval_risk.py --synth-days scores against them.
    """
    from vsmml.synth import SynthConfig, generate

    events = generate(SynthConfig(seed=seed, **overrides)).events
    described = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    source = f"synthetic organisation (seed {seed}{', ' + described if described else ''})"
    return risk_data_events(events, source)


def risk_data_events(events: pd.DataFrame, source: str) -> RiskData:
    """Changes correlated from canonical events, with the features a gate sees at deploy time.

    The features come from `vsmml.features.change_features` (JIT metrics of the last commit,
    delivery context), the label from correlation (the change shipped in a production deploy
    that failed: incident or rollback). Only changes that reached production have an outcome.
    """
    from vsmml.correlate import correlate
    from vsmml.features.change_features import change_features

    corr = correlate(events)
    feats = change_features(corr.changes, events, corr.deployments)
    feats = feats.dropna(subset=["production_deploy_started_at"]).reset_index(drop=True)
    features = (*JIT_COLUMNS, *CONTEXT_COLUMNS)
    frame = feats[list(features)].astype(np.float64)
    frame["committed_at"] = feats["merged_at"]
    frame["bug"] = feats["failed"].fillna(False).astype(np.int64)
    return RiskData(frame, f"{source}, {len(frame):,} changes that reached production", features)


def risk_data_file(path: Path, fmt: str) -> RiskData:
    """A JIT dataset file (``issta21``, ``kamei`` or ``vsmml`` format) as a training frame."""
    from vsmml.pipeline.datasets.jit import load_jit

    frame = load_jit(path, fmt)
    return RiskData(frame, f"{path.name} ({fmt})", JIT_COLUMNS)


def _period(ts: pd.Series) -> list[str]:
    return [ts.min().isoformat(), ts.max().isoformat()]


@dataclass
class _Fitted:
    """Holds the model the evaluation scorer trained, so it can be tracked afterwards."""

    model: Any = None


def train_risk(
    data: RiskData,
    *,
    settings: Settings | None = None,
    model_factory: Callable[[], Any] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    extra_metadata: dict[str, Any] | None = None,
) -> tuple[TrackResult, pd.DataFrame]:
    """Fit, evaluate against the baselines on the later 20 %, log, register and maybe promote.

    Returns the tracking result and the evaluation table (one row per model).
    """
    from vsmml.models.base import time_ordered_split
    from vsmml.models.baselines import lapredict, lr_jit
    from vsmml.models.evaluation import within_project
    from vsmml.models.risk import ChangeRiskModel

    frame = data.frame
    factory = model_factory or ChangeRiskModel
    if len(frame) < 50 or frame["bug"].nunique() < 2:
        raise DataError(
            f"{data.source}: need at least 50 changes with both outcomes, got {len(frame)} rows "
            f"and labels {sorted(frame['bug'].unique().tolist())}"
        )
    columns = [*data.features, "committed_at"]
    fitted = _Fitted()

    def ours(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        fitted.model = factory().fit(train[columns], train["bug"])
        return np.asarray(fitted.model.predict_proba(test[columns])[:, 1], dtype=np.float64)

    table = within_project(
        {MODEL_NAME: frame},
        {"vsmml-risk": ours, "lr_jit": lr_jit, "lapredict": lapredict},
        TRAIN_FRACTION,
    )
    tr_idx, te_idx = time_ordered_split(frame["committed_at"], TRAIN_FRACTION)
    train, test = frame.iloc[tr_idx], frame.iloc[te_idx]
    result = register_risk(
        fitted.model,
        table,
        test,
        data_source=data.source,
        features=data.features,
        digest=data_hash(frame),
        train=TrainSide(_period(train["committed_at"]), len(train), float(train["bug"].mean())),
        settings=settings,
        threshold=threshold,
        extra_metadata=extra_metadata,
    )
    return result, table


@dataclass(frozen=True)
class TrainSide:
    """What model metadata records of the training rows: their time span, count, failure rate."""

    period: list[str]
    rows: int
    failure_rate: float


def register_risk(
    model: Any,
    table: pd.DataFrame,
    test: pd.DataFrame,
    *,
    data_source: str,
    features: tuple[str, ...],
    digest: str,
    train: TrainSide,
    settings: Settings | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    extra_metadata: dict[str, Any] | None = None,
) -> TrackResult:
    """Log, register and maybe promote a fitted risk model with its evaluation table; the
    champion is compared on the same held-out `test` rows (features and ``bug``).

    Shared by `train_risk` and the Dask training job (which fits the trees on a cluster).
    """
    from vsmml.models.evaluation import auc
    from vsmml.models.risk_scoring import RiskScorer

    rows = {str(r["model"]): r for r in table.to_dict(orient="records")}
    keys = ("auc", "pr_auc", "brier", "f1", "recall@20%", "popt", "ece")
    metrics = {k: float(rows["vsmml-risk"][k]) for k in keys}
    for name in ("lr_jit", "lapredict"):
        metrics[f"{name}_auc"] = float(rows[name]["auc"])
    y_test = test["bug"].to_numpy(np.float64)
    test_columns = {c: test[c].to_numpy(np.float64) for c in features}

    def champion_auc(folder: Path) -> float:
        scorer = RiskScorer.from_dir(folder)
        return auc(y_test, scorer.predict_proba(scorer.matrix(test_columns)))

    metadata = {
        "model": "vsmml.models.risk.ChangeRiskModel",
        "data_source": data_source,
        "data_hash": digest,
        "features": list(features),
        "feature_names": list(getattr(model, "feature_names_", features)),
        "training_period": train.period,
        "test_period": _period(test["committed_at"]),
        "n_train": train.rows,
        "n_test": len(test),
        "failure_rate_train": train.failure_rate,
        "failure_rate_test": float(test["bug"].mean()),
        "threshold": threshold,
        "git_commit": git_commit(),
        **(extra_metadata or {}),
    }
    params = {**model.get_params(), **getattr(model, "best_params_", {})}
    trained = TrainedModel(
        name=MODEL_NAME,
        save=model.save,
        params=params,
        metrics=metrics,
        primary_metric="auc",
        tables={"evaluation": table},
        metadata=metadata,
    )
    return track(trained, settings=settings or get_settings(), champion_scorer=champion_auc)
