"""`vsmml risk`: score every stored change with the champion risk model (batch scoring).

Changes are correlated from the stored delivery events, given the features the model was
trained on (`vsmml.features.change_features`: JIT metrics of the last commit and the delivery
context a gate sees when the production deploy starts) and scored with the lightgbm-free
`RiskScorer`. `scored_changes` is the one function both engines call: here on the whole store,
on Dask once per partition of the lake (`vsmml.pipeline.distributed.scoring`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import correlate
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS, STR_DTYPE, TS_DTYPE
from vsmml.features.change_features import change_features
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import ModelLocation, load_risk_scorer
from vsmml.pipeline.queries.reads import read_events

OUTPUT_COLUMNS: Final[tuple[str, ...]] = (
    "change_id",
    "service",
    "merged_at",
    "production_deploy_started_at",
    "failed",
    "risk",
    "raw",
    "gate",
)
"""One row per scored change: ids, when it merged and shipped, whether its production deploy
failed (the outcome, once known), the calibrated probability, the raw log-odds and the gate
decision at the model's threshold."""


@dataclass(frozen=True)
class RiskQuery:
    """Which changes (merged in [since, until), of one service or all), the model folder (None:
    the champion, else the shipped default), and how many of the riskiest to explain."""

    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    service: str | None = None
    model: Path | None = None
    top: int = 10


@dataclass(frozen=True)
class RiskReport:
    """Every scored change (`OUTPUT_COLUMNS`, by merge time), the riskiest with their top
    reason, the model used and its threshold."""

    scored: pd.DataFrame
    riskiest: pd.DataFrame
    model: str
    threshold: float


def scored_changes(
    events: pd.DataFrame,
    scorer: RiskScorer,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    service: str | None = None,
) -> pd.DataFrame:
    """Correlate `events`, build each change's features and score them (plus the model inputs,
    which `explain_riskiest` reads)."""
    corr = correlate(events)
    feats = change_features(corr.changes, events, corr.deployments)
    keep = pd.Series(True, index=feats.index)
    if since is not None:
        keep &= feats["merged_at"] >= since
    if until is not None:
        keep &= feats["merged_at"] < until
    if service is not None:
        keep &= feats["service"].astype(STR_DTYPE) == service
    feats = feats.loc[keep.fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)
    inputs = [c for c in scorer.input_columns if c in feats]
    m = scorer.matrix({c: feats[c].to_numpy(dtype=float) for c in inputs})
    raw = scorer.raw(m)
    risk = scorer.calibrator.transform(raw)
    out = pd.DataFrame(
        {
            "change_id": feats["change_id"].astype(STR_DTYPE).to_numpy(),
            "service": feats["service"].astype(STR_DTYPE).to_numpy(),
            "merged_at": feats["merged_at"].astype(TS_DTYPE).array,
            "production_deploy_started_at": feats["production_deploy_started_at"]
            .astype(TS_DTYPE)
            .array,
            "failed": feats["failed"].astype("boolean").to_numpy(),
            "risk": risk,
            "raw": raw,
            "gate": np.where(risk >= scorer.threshold, "fail", "pass"),
        }
    )
    for c in inputs:
        out[f"in:{c}"] = feats[c].to_numpy(dtype=float)
    return out


def finish_scores(parts: list[pd.DataFrame], scorer: RiskScorer, top: int) -> RiskReport:
    """One frame from per-partition scores (ordered by merge time, then change id), and the
    `top` riskiest explained by their largest contribution."""
    kept = [p for p in parts if len(p)]
    frame = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    if frame.empty:
        raise DataError("risk: no changes to score (none merged in the window?)")
    frame = frame.sort_values(["merged_at", "change_id"], kind="stable").reset_index(drop=True)
    order = np.argsort(-frame["risk"].to_numpy(), kind="stable")[: max(top, 0)]
    worst = frame.iloc[order]
    inputs = {c[3:]: worst[c].to_numpy(dtype=float) for c in frame.columns if c.startswith("in:")}
    explained = scorer.score(inputs, top=1) if len(worst) else []
    riskiest = pd.DataFrame(
        {
            "change": worst["change_id"].to_numpy(),
            "service": worst["service"].to_numpy(),
            "merged": worst["merged_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "risk": np.round(worst["risk"].to_numpy(dtype=float), 3),
            "failed": worst["failed"].to_numpy(),
            "top reason": [s.reasons[0].text if s.reasons else "" for s in explained],
        }
    )
    return RiskReport(
        scored=frame[list(OUTPUT_COLUMNS)],
        riskiest=riskiest,
        model="",
        threshold=scorer.threshold,
    )


def describe_model(location: ModelLocation) -> str:
    """The model's name, version and where it came from, for output headings."""
    return f"{location.name} v{location.version} ({location.source})"


def score_stored(query: RiskQuery, settings: Settings | None = None) -> RiskReport:
    """Score every stored change in the query's window with the champion (or given) model."""
    scorer, location = load_risk_scorer(path=query.model, settings=settings)
    events = read_events(settings, kinds=DELIVERY_KINDS)
    part = scored_changes(events, scorer, query.since, query.until, query.service)
    report = finish_scores([part], scorer, query.top)
    return RiskReport(report.scored, report.riskiest, describe_model(location), report.threshold)
