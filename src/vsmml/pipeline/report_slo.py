"""The weekly report's SLO data: samples with their ids, budgets, alerts, burn, outlook,
SLI anomalies and change points of the week (`vsmml slo status` and `vsmml anomalies` compute
the same numbers with the same functions)."""

from __future__ import annotations

import io
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.anomaly import DEFAULT_THRESHOLD, get_detector
from vsmml.events.schema import STR_DTYPE
from vsmml.graph.flow import FlowData
from vsmml.pipeline.queries.observe import budgets_by_service, score_series
from vsmml.recommend.rules.anomalies import ANOMALY_COLUMNS, SLI_METRIC, wait_shifts
from vsmml.report.sections.slo import SloWeek
from vsmml.report.slo_week import (
    alert_episodes,
    budget_outlook,
    budgets_at,
    hourly_error_ratio,
    score_episodes,
    week_burn,
)
from vsmml.report.week import IsoWeek
from vsmml.slo import samples_from_events

ANOMALY_WARMUP: Final = pd.Timedelta(weeks=4)
DETECTOR: Final[dict[str, Any]] = {"name": "default"}
"""Anomalies of the hourly SLI error ratio: the calibrated default detector and its alert
threshold, as `vsmml anomalies` scores."""
ANOMALY_THRESHOLD: Final[float] = DEFAULT_THRESHOLD
CHANGE_DETECTOR: Final[dict[str, Any]] = {"name": "cusum", "direction": "up", "window": 168}
CHANGE_THRESHOLD: Final[float] = 0.75


def _parse_samples(slo_events: pd.DataFrame) -> pd.DataFrame:
    """`vsmml.slo.samples_from_events`, with its JSON parsed in one vectorised pass; any row
    it cannot read goes through `samples_from_events`, which names the event."""
    attrs = slo_events["attrs"].astype(STR_DTYPE)
    try:
        parsed = pd.read_json(io.StringIO("\n".join(attrs.fillna("{}"))), lines=True)
    except ValueError:
        return samples_from_events(slo_events)
    if len(parsed) != len(slo_events) or not {"good", "total"} <= set(parsed.columns):
        return samples_from_events(slo_events)
    good = pd.to_numeric(parsed["good"], errors="coerce").to_numpy(dtype=float)
    total = pd.to_numeric(parsed["total"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(good).any() or np.isnan(total).any():
        return samples_from_events(slo_events)
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(slo_events["ts"], utc=True).to_numpy(),
            "service": slo_events["service"].astype(STR_DTYPE).to_numpy(),
            "good": good,
            "total": total,
        }
    )


def slo_samples(slo_events: pd.DataFrame) -> pd.DataFrame:
    """`slo.sample` events as samples with their event ids (recommendations cite them)."""
    if slo_events.empty:
        return pd.DataFrame(columns=["timestamp", "service", "good", "total", "event_id"])
    samples = _parse_samples(slo_events)
    samples["event_id"] = slo_events["event_id"].astype(STR_DTYPE).to_numpy()
    samples["service"] = samples["service"].astype(STR_DTYPE)
    return samples


def slo_week(
    samples: pd.DataFrame, flow: FlowData, week: IsoWeek, objective: float, window_days: int
) -> SloWeek:
    """Budgets (as `vsmml slo status` computes them) at the week's start and end, alerts,
    burn, outlook, SLI anomalies and change points of the week."""
    end = samples.loc[(samples["timestamp"] < week.end).to_numpy(bool)]
    start = samples.loc[(samples["timestamp"] < week.start).to_numpy(bool)]
    recent = end.loc[(end["timestamp"] >= week.start - ANOMALY_WARMUP).to_numpy(bool)]
    hourly = hourly_error_ratio(recent)
    det = get_detector(DETECTOR["name"], **{k: v for k, v in DETECTOR.items() if k != "name"})
    scored = {a.name: a.scored for a in score_series(hourly, det, ANOMALY_THRESHOLD, 1)}
    cus = get_detector(
        CHANGE_DETECTOR["name"], **{k: v for k, v in CHANGE_DETECTOR.items() if k != "name"}
    )
    shifted = {a.name: a.scored for a in score_series(hourly, cus, CHANGE_THRESHOLD, 1)}
    level = score_episodes(shifted, CHANGE_THRESHOLD, week.start, week.end)
    sli_points = pd.DataFrame(
        {
            "service": level["service"],
            "metric": SLI_METRIC,
            "ts": level["start"],
            "value": level["value"],
            "baseline": level["baseline"],
            "score": level["peak"],
            "kind": "change_point",
        },
        columns=list(ANOMALY_COLUMNS),
    )
    waits = wait_shifts(flow, week.start, week.end) if not flow.changes.empty else None
    points = pd.concat(
        [p for p in (sli_points, waits) if p is not None and not p.empty]
        or [pd.DataFrame(columns=list(ANOMALY_COLUMNS))],
        ignore_index=True,
    )
    return SloWeek(
        objective=objective,
        window_days=window_days,
        since=week.start,
        until=week.end,
        budgets=budgets_by_service(end, objective, window_days),
        budgets_start=budgets_at(start, objective, window_days, week.start),
        burn=week_burn(end, objective, week.start, week.end),
        alerts=alert_episodes(end, objective, window_days, week.start, week.end),
        outlook=budget_outlook(end, objective, window_days, week.end),
        anomalies=score_episodes(scored, ANOMALY_THRESHOLD, week.start, week.end),
        change_points=points,
        series=hourly,
        detector=f"the {DETECTOR['name']} detector on the hourly error ratio, score ≥ "
        f"{ANOMALY_THRESHOLD:g}",
    )
