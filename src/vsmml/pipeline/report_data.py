"""Gather the weekly report's frames from what the store returned: one correlation, then each
section's data from the core's functions (the same ones `vsmml metrics`, `bottlenecks`,
`slo status`, `anomalies`, `score` and `recommend` use)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import Correlation, correlate, link_coverage
from vsmml.errors import VsmmlError
from vsmml.events.schema import STR_DTYPE
from vsmml.features.change_features import change_features
from vsmml.graph.build import graph_for, stage_summary
from vsmml.graph.constraint import find_constraints
from vsmml.graph.flow import FlowData, flow_data
from vsmml.metrics.dora import dora
from vsmml.metrics.ops import ingest_latency
from vsmml.metrics.pipeline import pipeline_runs
from vsmml.metrics.profiles import get_profile
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import load_risk_scorer
from vsmml.pipeline.queries.metrics import window
from vsmml.pipeline.recommend import SLO_LEAD
from vsmml.pipeline.report_quality import skipped_by_type
from vsmml.pipeline.report_risk import risk_week
from vsmml.pipeline.report_slo import slo_samples, slo_week
from vsmml.recommend.engine import recommend
from vsmml.recommend.gather import gather, latest_work, waivers_from_events
from vsmml.recommend.inputs import Inputs, window_of
from vsmml.recommend.rules.anomalies import ANOMALY_COLUMNS, wait_shifts
from vsmml.report.sections.flow import FlowWeek
from vsmml.report.sections.quality import QualityWeek
from vsmml.report.week import TREND_WEEKS, IsoWeek
from vsmml.report.weekly import WeeklyData

DORA_WEEKS: Final[int] = 8
"""Weeks of DORA metrics gathered: the report week and seven before it (the trend plot)."""


@dataclass(frozen=True)
class WeekFrames:
    """What the store returned for the report, and the request's parameters."""

    week: IsoWeek
    scope: str
    events: pd.DataFrame
    slo_events: pd.DataFrame
    quarantine: pd.DataFrame
    raw: pd.DataFrame
    objective: float
    window_days: int
    top: int
    service: str | None = None
    team: str | None = None
    all_events: pd.DataFrame | None = None
    """Every delivery event when `events` holds one service's or team's (recommendations are
    gathered over the organisation, as `vsmml recommend` does, then kept for the scope)."""


def _between(ts: pd.Series, since: pd.Timestamp, until: pd.Timestamp) -> np.ndarray:
    return ((ts >= since) & (ts < until)).to_numpy(dtype=bool)


def dora_frames(corr: Correlation, week: IsoWeek) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weekly DORA keys of the scope and per service over the report week and the seven before
    (`vsmml metrics` computes the same with the default profile; `window` keeps the weeks)."""
    prof = get_profile("vsmml")
    since, until = week.shifted(1 - DORA_WEEKS).start, week.end
    scope = window(dora(corr, None, "W", prof), since, until)
    services = window(dora(corr, "service", "W", prof), since, until)
    return scope, services


def deployed_between(flow: FlowData, since: pd.Timestamp, until: pd.Timestamp) -> FlowData:
    """The changes deployed to production in [since, until) and their stage times."""
    keep = _between(flow.changes["deployed_at"], since, until)
    changes = flow.changes.loc[keep].reset_index(drop=True)
    ids = set(changes["change_id"])
    stages = flow.stages.loc[flow.stages["change_id"].isin(ids).to_numpy(bool)]
    return FlowData(changes, stages.reset_index(drop=True), flow.stage_order, flow.ci_stages)


def _constraints(flow: FlowData) -> pd.DataFrame:
    if flow.changes.empty:
        return pd.DataFrame(columns=["service", "constraint"])
    per = find_constraints(stage_summary(flow, "service", None))
    org = find_constraints(stage_summary(flow, None, None)).assign(service=None)
    return pd.concat([per, org], ignore_index=True)


def flow_week(flow: FlowData, week: IsoWeek, lead_median: dict[str, float]) -> FlowWeek:
    """The Lead time and Constraint sections' data: changes deployed in the week."""
    this = deployed_between(flow, week.start, week.end)
    last = deployed_between(flow, week.shifted(-1).start, week.start)
    empty = this.changes.empty
    return FlowWeek(
        by_service=stage_summary(this, "service", None) if not empty else pd.DataFrame(),
        scope=stage_summary(this, None, None) if not empty else pd.DataFrame(),
        constraints=_constraints(this),
        previous=_constraints(last),
        lead_median=lead_median,
        graph=graph_for(this) if not empty else None,
        stage_order=flow.stage_order,
        changes=len(this.changes),
    )


def _lead_median(services: pd.DataFrame, week: IsoWeek) -> dict[str, float]:
    rows = services.loc[
        (services["metric"] == "lead_time_median").to_numpy(bool)
        & (services["period"] == week.start).to_numpy(bool)
    ]
    return {str(s): float(v) for s, v in zip(rows["service"], rows["value"], strict=True)}


def latency_by_source(events: pd.DataFrame) -> pd.DataFrame:
    """Per source: events and received_at − ts (median and p85 as `vsmml metrics` computes
    ingest latency, and the maximum), in seconds."""
    rows = []
    for source, g in events.groupby(events["source"].astype(STR_DTYPE), sort=True):
        tidy = ingest_latency(g, None, None).set_index("metric")["value"]
        age = (g["received_at"] - g["ts"]).dt.total_seconds()
        rows.append(
            (
                str(source),
                len(g),
                tidy.get("ingest_latency_seconds_median", np.nan),
                tidy.get("ingest_latency_seconds_p85", np.nan),
                float(age.max()),
            )
        )
    return pd.DataFrame(rows, columns=["source", "events", "median_s", "p85_s", "max_s"])


def quality_week(
    events: pd.DataFrame,
    corr: Correlation,
    quarantine: pd.DataFrame,
    raw: pd.DataFrame,
    week: IsoWeek,
) -> QualityWeek:
    """Link coverage of the week's events, quarantine, skipped records and ingest latency."""
    inside = events.loc[_between(events["ts"], week.start, week.end)]
    received = pd.to_datetime(quarantine["received_at"]).dt.tz_localize("UTC")
    q_week = quarantine.loc[_between(received, week.start, week.end)]
    open_q = quarantine.loc[quarantine["resolved_at"].isna().to_numpy(bool)]
    skipped, note = skipped_by_type(raw, week.start, week.end)
    return QualityWeek(
        coverage=link_coverage(inside, corr) if not inside.empty else pd.DataFrame(),
        quarantine=q_week,
        open_quarantine=len(open_q),
        open_reasons=open_q,
        skipped=skipped,
        skipped_note=note,
        latency=latency_by_source(inside) if not inside.empty else pd.DataFrame(),
    )


def _inputs_from_frames(
    f: WeekFrames,
    corr: Correlation,
    flow: FlowData,
    feats: pd.DataFrame | None,
    samples: pd.DataFrame,
    scorer: RiskScorer | None,
    model: str,
) -> Inputs:
    """What `vsmml.recommend.gather.gather` builds for the four weeks ending with the report
    week, from the correlation, flow and features computed once for the whole report (gather
    would compute them again; tests check the two agree)."""
    start, end = window_of(latest_work(f.events), None, f.week.end, TREND_WEEKS)
    delivery = f.events.reset_index(drop=True)
    inside = delivery.loc[_between(delivery["ts"], start, end)]
    shifts = wait_shifts(flow, start, end) if not flow.changes.empty else None
    found = (
        shifts
        if shifts is not None and not shifts.empty
        else pd.DataFrame(columns=list(ANOMALY_COLUMNS))
    )
    return Inputs(
        since=start,
        until=end,
        events=delivery,
        flow=flow,
        changes=corr.changes,
        deployments=corr.deployments,
        incidents=corr.incidents,
        pipeline_runs=pipeline_runs(delivery),
        slo_samples=samples,
        default_objective=f.objective,
        anomalies=found,
        coverage=link_coverage(inside, corr) if not inside.empty else None,
        quarantine=f.quarantine.loc[f.quarantine["resolved_at"].isna().to_numpy(bool)],
        change_features=feats if scorer is not None else None,
        scorer=scorer,
        model_name=model,
        waivers=waivers_from_events(delivery),
        notes={} if scorer is not None else {"risk": "no risk scorer given"},
    )


def _week_inputs(
    f: WeekFrames,
    corr: Correlation,
    flow: FlowData,
    feats: pd.DataFrame | None,
    samples: pd.DataFrame,
    scorer: RiskScorer | None,
    model: str,
) -> Inputs:
    """The inputs `vsmml recommend --until <week end>` builds: the organisation's events (the
    engine keeps the scope's records), the window's SLO samples from `SLO_LEAD` before it."""
    since = f.week.end - pd.Timedelta(weeks=TREND_WEEKS)
    ts = samples["timestamp"]
    window = samples.loc[((ts >= since - SLO_LEAD) & (ts < f.week.end)).to_numpy(bool)]
    window = window.reset_index(drop=True)
    if f.all_events is None:
        return _inputs_from_frames(f, corr, flow, feats, window, scorer, model)
    open_q = f.quarantine.loc[f.quarantine["resolved_at"].isna().to_numpy(bool)]
    return gather(
        f.all_events,
        since=since,
        until=f.week.end,
        quarantine=open_q,
        scorer=scorer,
        model_name=model,
        default_objective=f.objective,
        slo_samples=window,
    )


def gather_weekly(
    f: WeekFrames, *, settings: Settings, seconds: dict[str, float], store_path: Path
) -> WeeklyData:
    """Every section's data for the week (`seconds` collects the time each part took)."""
    t = time.perf_counter()
    corr = correlate(f.events)
    flow = flow_data(corr.changes, f.events)
    seconds["correlate"] = time.perf_counter() - t
    t = time.perf_counter()
    scope, services = dora_frames(corr, f.week)
    flow_w = flow_week(flow, f.week, _lead_median(services, f.week))
    seconds["dora+flow"] = time.perf_counter() - t
    t = time.perf_counter()
    samples = slo_samples(f.slo_events)
    slo = slo_week(samples, flow, f.week, f.objective, f.window_days)
    seconds["slo"] = time.perf_counter() - t
    t = time.perf_counter()
    scorer: RiskScorer | None = None
    feats: pd.DataFrame | None = None
    risk, risk_note, model, rec_model = None, "", "no model", "risk"
    try:
        scorer, loc = load_risk_scorer(settings=settings)
    except VsmmlError as exc:
        risk_note = f"No change-risk model could be loaded: {exc}"
    else:
        model = f"{loc.name} v{loc.version} ({loc.source})"
        rec_model = f"risk v{loc.version}"  # as `vsmml recommend` names it
        feats = change_features(corr.changes, f.events, corr.deployments)
        risk = risk_week(corr, feats, f.events, f.week, scorer, model)
    seconds["risk"] = time.perf_counter() - t
    t = time.perf_counter()
    recs = recommend(
        _week_inputs(f, corr, flow, feats, samples, scorer, rec_model),
        service=f.service,
        team=f.team,
        top=f.top,
    )
    seconds["recommend"] = time.perf_counter() - t
    t = time.perf_counter()
    quality = quality_week(f.events, corr, f.quarantine, f.raw, f.week)
    seconds["quality"] = time.perf_counter() - t
    provenance = {
        "store": store_path,
        "events read": f"{len(f.events):,} delivery, {len(f.slo_events):,} SLO samples",
        "risk model": model,
        "SLO": f"{f.objective * 100:g} % over {f.window_days} days",
    }
    return WeeklyData(
        week=f.week,
        scope=f.scope,
        dora_scope=scope,
        dora_services=services,
        flow=flow_w,
        slo=slo,
        quality=quality,
        risk=risk,
        risk_note=risk_note,
        recommendations=recs,
        provenance=provenance,
    )
