"""Build the recommender's `Inputs` from canonical events with the pure core (no I/O).

One pass: correlation, stage times, pipeline runs, SLO samples, link coverage, change features
(when a scorer is given), wait change points and gate waivers. The caller passes what the events
cannot give: the quarantine, the scorer, a burn model's outlook, further anomaly scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate import correlate, link_coverage
from vsmml.events.schema import STR_DTYPE
from vsmml.features.change_features import change_features
from vsmml.graph.flow import flow_data
from vsmml.metrics.pipeline import pipeline_runs
from vsmml.recommend.counterfactual import Scorer
from vsmml.recommend.inputs import DEFAULT_OBJECTIVE, DEFAULT_WEEKS, Inputs, window_of
from vsmml.recommend.rules.anomalies import ANOMALY_COLUMNS, wait_shifts
from vsmml.slo import samples_from_events

WAIVER_KIND: Final[str] = "gate.waived"
WORK_KINDS: Final[tuple[str, ...]] = ("commit", "change.opened")
WAIVER_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "ts",
    "service",
    "change_id",
    "sha",
    "actor",
    "reason",
    "probability",
)


def latest_work(events: pd.DataFrame) -> pd.Timestamp | None:
    """The time of the latest commit or opened change (else of any event; None if empty)."""
    if events.empty:
        return None
    work = events.loc[events["kind"].astype(STR_DTYPE).isin(WORK_KINDS).to_numpy(dtype=bool)]
    ts = (work if not work.empty else events)["ts"].max()
    return None if pd.isna(ts) else pd.Timestamp(ts)


def waivers_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """`gate.waived` events → one row per waiver (actor, reason, probability from attrs)."""
    rows = events.loc[(events["kind"].astype(STR_DTYPE) == WAIVER_KIND).to_numpy(dtype=bool)]
    attrs = [json.loads(a) if isinstance(a, str) and a else {} for a in rows["attrs"]]
    return pd.DataFrame(
        {
            "event_id": rows["event_id"].astype(STR_DTYPE).to_numpy(),
            "ts": rows["ts"].to_numpy(),
            "service": rows["service"].astype(STR_DTYPE).to_numpy(),
            "change_id": rows["change_id"].astype(STR_DTYPE).to_numpy(),
            "sha": rows["sha"].astype(STR_DTYPE).to_numpy(),
            "actor": pd.array([a.get("actor") for a in attrs], dtype=STR_DTYPE),
            "reason": pd.array([a.get("reason") for a in attrs], dtype=STR_DTYPE),
            "probability": np.array(
                [
                    float(a["probability"]) if a.get("probability") is not None else np.nan
                    for a in attrs
                ]
            ),
        },
        columns=list(WAIVER_COLUMNS),
    ).astype({"ts": "datetime64[us, UTC]"})


def gather(
    events: pd.DataFrame,
    *,
    since: pd.Timestamp | str | None = None,
    until: pd.Timestamp | str | None = None,
    weeks: int = DEFAULT_WEEKS,
    quarantine: pd.DataFrame | None = None,
    scorer: Scorer | None = None,
    model_name: str = "risk",
    slo_objectives: Mapping[str, float] | None = None,
    default_objective: float = DEFAULT_OBJECTIVE,
    burn_outlook: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
    slo_samples: pd.DataFrame | None = None,
) -> Inputs:
    """Everything the rules read, computed from canonical `events` (see the module docstring).

    Args:
        events: canonical events (every kind; `slo.sample` rows give the SLO inputs).
        since, until: the window (default: the last `weeks` complete weeks of work).
        weeks: window length when `since` is not given.
        quarantine: the store's quarantine rows (source, field, reason, received_at ...).
        scorer: the change-risk scorer; without it the risk rules do not run.
        model_name: how findings name the model.
        slo_objectives: objective per service (others use `default_objective`).
        burn_outlook: the burn model's outlook rows (`BurnOutlookRule`).
        anomalies: further anomaly rows (`vsmml.recommend.rules.anomalies`), added to the
            wait change points computed here.
        slo_samples: SLO samples (timestamp, service, good, total, event_id) when the caller
            has them already (a store query is much faster than parsing `slo.sample` attrs);
            else they are read from the `slo.sample` events.
    """
    start, end = window_of(latest_work(events), since, until, weeks)
    kind = events["kind"].astype(STR_DTYPE)
    is_slo = (kind == "slo.sample").to_numpy(dtype=bool)
    delivery = events.loc[~is_slo].reset_index(drop=True)
    notes: dict[str, str] = {}
    corr = correlate(delivery)
    flow = flow_data(corr.changes, delivery)
    runs = pipeline_runs(delivery)
    samples = slo_samples
    if samples is None and is_slo.any():
        slo_rows = events.loc[is_slo]
        samples = samples_from_events(slo_rows)  # in the rows' order
        samples["event_id"] = slo_rows["event_id"].astype(STR_DTYPE).to_numpy()
    window_events = delivery.loc[
        ((delivery["ts"] >= start) & (delivery["ts"] < end)).to_numpy(bool)
    ]
    coverage = link_coverage(window_events, corr) if not window_events.empty else None
    feats = (
        change_features(corr.changes, delivery, corr.deployments) if scorer is not None else None
    )
    shifts = wait_shifts(flow, start, end) if not flow.changes.empty else None
    parts = [p for p in (shifts, anomalies) if p is not None and not p.empty]
    found = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=list(ANOMALY_COLUMNS))
    )
    waivers = waivers_from_events(delivery)
    if scorer is None:
        notes["risk"] = "no risk scorer given"
    return Inputs(
        since=start,
        until=end,
        events=delivery,
        flow=flow,
        changes=corr.changes,
        deployments=corr.deployments,
        incidents=corr.incidents,
        pipeline_runs=runs,
        slo_samples=samples,
        slo_objectives=dict(slo_objectives or {}),
        default_objective=default_objective,
        burn_outlook=burn_outlook,
        anomalies=found,
        coverage=coverage,
        quarantine=quarantine,
        change_features=feats,
        scorer=scorer,
        model_name=model_name,
        waivers=waivers,
        notes=notes,
    )
