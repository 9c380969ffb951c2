"""The demo's tour of a populated store: DORA with bands, bottlenecks, SLO budgets, risky changes.

Each step reads what it needs from the store, hands frames to the pure core and returns a small
frame for people; `vsmml demo` prints them and the tests check them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vsmml.correlate import correlate
from vsmml.events.schema import DELIVERY_KINDS
from vsmml.features.change_features import change_features
from vsmml.graph.constraint import constraints
from vsmml.graph.flow import flow_data
from vsmml.metrics.bands import dora_summary
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.queries.observe import budgets_by_service
from vsmml.store import Store


@dataclass
class Tour:
    """What the tour found, one frame per section, and how long each section took."""

    dora: pd.DataFrame
    bottlenecks: pd.DataFrame
    slo: pd.DataFrame
    risky_changes: pd.DataFrame
    risk_model: str
    seconds: dict[str, float] = field(default_factory=dict)


def run_tour(store: Store, *, objective: float = 0.999, recent_days: int = 7) -> Tour:
    """Compute every section of the tour from the events in `store`."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    events = store.read_events(kinds=DELIVERY_KINDS)
    corr = correlate(events)
    seconds["correlate"] = time.perf_counter() - t

    t = time.perf_counter()
    dora = dora_table(dora_summary(corr, "service"))
    seconds["dora"] = time.perf_counter() - t

    t = time.perf_counter()
    flow = flow_data(corr.changes, events)
    bottlenecks = bottleneck_table(
        constraints(flow, "service", None), constraints(flow, None, None)
    )
    seconds["bottlenecks"] = time.perf_counter() - t

    t = time.perf_counter()
    last = events.loc[events["kind"] == "deploy.finished", "ts"].max()
    samples = store.read_slo_samples(since=last - pd.Timedelta(days=30))
    slo = slo_table(samples, objective)
    seconds["slo"] = time.perf_counter() - t

    t = time.perf_counter()
    since = corr.changes["merged_at"].max() - pd.Timedelta(days=recent_days)
    risky, model = risky_changes(corr.changes, events, corr.deployments, since=since)
    seconds["risk"] = time.perf_counter() - t
    return Tour(dora, bottlenecks, slo, risky, model, seconds)


def dora_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The four keys per service, each followed by its 2023 DORA band, rounded for reading."""
    out = pd.DataFrame({"service": summary["service"]})
    for label, metric, digits in (
        ("deploys/day", "deployments_per_day", 2),
        ("lead time h", "lead_time_median_h", 1),
        ("CFR", "change_failure_rate", 3),
        ("recovery h", "recovery_time_median_h", 2),
    ):
        out[label] = summary[metric].round(digits)
        out[f"{label.split()[0].split('/')[0]} band"] = summary[f"band_{metric}_2023"]
    return out.sort_values("service").reset_index(drop=True)


def bottleneck_table(per_service: pd.DataFrame, org: pd.DataFrame) -> pd.DataFrame:
    """The constraint stage of each service and of the organisation, with its wait share."""
    frame = pd.concat([per_service, org.assign(service="(organisation)")], ignore_index=True)
    keep = [c for c in ("service", "constraint", "wait_share", "longest") if c in frame]
    out = frame[keep].copy()
    if "wait_share" in out:
        out["wait_share"] = out["wait_share"].round(3)
    return out.reset_index(drop=True)


def slo_table(samples: pd.DataFrame, objective: float) -> pd.DataFrame:
    """Error budget left over the last 30 days, 1 h burn rate and alerts, per service."""
    frame = budgets_by_service(samples, objective, 30)
    if frame.empty:
        return pd.DataFrame(columns=["service", "budget left", "burn 1h", "page", "ticket"])
    return pd.DataFrame(
        {
            "service": frame["service"],
            "budget left": frame["budget_remaining"].round(3),
            "burn 1h": frame["burn_1h"].round(2),
            "page": frame["page"],
            "ticket": frame["ticket"],
        }
    )


def feature_columns(feats: pd.DataFrame, scorer: RiskScorer) -> dict[str, np.ndarray]:
    """The scorer's input columns found in `feats` (a `change_features` frame), as floats."""
    return {c: feats[c].to_numpy(dtype=float) for c in scorer.input_columns if c in feats}


def risky_changes(
    changes: pd.DataFrame,
    events: pd.DataFrame,
    deployments: pd.DataFrame,
    *,
    since: pd.Timestamp,
    top: int = 5,
) -> tuple[pd.DataFrame, str]:
    """Score the changes merged since `since` with the champion (or default) risk model, from
    the same features it was trained on (`vsmml.features.change_features`)."""
    scorer, location = load_risk_scorer()
    feats = change_features(changes, events, deployments)
    recent = feats.loc[feats["merged_at"] >= since].reset_index(drop=True)
    model = f"{location.name} v{location.version} ({location.source})"
    if recent.empty:
        return pd.DataFrame(columns=["change", "service", "risk", "top reason"]), model
    columns = feature_columns(recent, scorer)
    proba = scorer.predict_proba(scorer.matrix(columns))
    worst = np.argsort(-proba, kind="stable")[:top]
    # Explanations (TreeSHAP) cost far more than scores: explain only the changes shown.
    explained = scorer.score({c: v[worst] for c, v in columns.items()}, top=1)
    out = pd.DataFrame(
        {
            "change": recent["change_id"].to_numpy()[worst],
            "service": recent["service"].to_numpy()[worst],
            "risk": np.round(proba[worst], 3),
            "top reason": [s.reasons[0].text if s.reasons else "" for s in explained],
        }
    )
    return out, model
