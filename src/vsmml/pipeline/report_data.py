"""Gather the weekly report's frames from what the store returned: one correlation, then each
section's data from the core's functions (the same ones `vsmml metrics`, `bottlenecks`,
`slo status`, `anomalies`, `score` and `recommend` use)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from vsmml.anomaly import get_detector
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
from vsmml.pipeline.queries.observe import budgets_by_service, score_series
from vsmml.pipeline.recommend import SLO_LEAD
from vsmml.pipeline.report_quality import skipped_by_type
from vsmml.pipeline.tour import feature_columns
from vsmml.recommend.engine import recommend
from vsmml.recommend.gather import gather, latest_work, waivers_from_events
from vsmml.recommend.inputs import Inputs, window_of
from vsmml.recommend.rules.anomalies import ANOMALY_COLUMNS, SLI_METRIC, wait_shifts
from vsmml.report.sections.flow import FlowWeek
from vsmml.report.sections.quality import QualityWeek
from vsmml.report.sections.risk import RiskWeek
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
from vsmml.report.weekly import WeeklyData
from vsmml.slo import samples_from_events

DORA_WEEKS: Final[int] = 8
"""Weeks of DORA metrics gathered: the report week and seven before it (the trend plot)."""
TREND_WEEKS: Final[int] = 4
"""The recommendations and the calibration look at the four weeks ending with the report week."""
ANOMALY_WARMUP: Final = pd.Timedelta(weeks=4)
DETECTOR: Final[dict[str, Any]] = {"name": "seasonal_zscore", "direction": "up", "refractory": 6}
"""Anomalies of the hourly SLI error ratio: the seasonal robust z-score (daily season), rises
only, one alert per burst; the tuned `default` ensemble costs ~3 s a series (MSTL)."""
ANOMALY_THRESHOLD: Final[float] = 0.5
CHANGE_DETECTOR: Final[dict[str, Any]] = {"name": "cusum", "direction": "up", "window": 168}
CHANGE_THRESHOLD: Final[float] = 0.75
TOP_RISKY: Final[int] = 5


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
        detector=f"{DETECTOR['name']} (hourly, rises only), score ≥ {ANOMALY_THRESHOLD}",
    )


def _outcomes(corr: Correlation) -> pd.DataFrame:
    """Per change: when it reached production and what happened to that deployment."""
    ch = corr.changes[
        ["change_id", "production_deploy_id", "production_deployed_at", "failed", "incident_id"]
    ]
    deps = corr.deployments.set_index("deploy_id")["rolled_back"]
    rolled = ch["production_deploy_id"].map(deps).fillna(False).astype(bool)
    text = []
    for failed, inc, back, dep in zip(
        ch["failed"].fillna(False),
        ch["incident_id"],
        rolled,
        ch["production_deploy_id"],
        strict=True,
    ):
        if back and isinstance(inc, str):
            text.append(f"failed: deploy {dep} rolled back, incident {inc}")
        elif back:
            text.append(f"failed: deploy {dep} rolled back")
        elif isinstance(inc, str):
            text.append(f"failed: incident {inc} linked to deploy {dep}")
        elif failed:
            text.append(f"failed: deploy {dep}")
        else:
            text.append("no incident or rollback seen")
    return pd.DataFrame(
        {
            "change_id": ch["change_id"].to_numpy(),
            "deployed_at": ch["production_deployed_at"].to_numpy(),
            "failed": ch["failed"].fillna(False).astype(bool).to_numpy(),
            "outcome": text,
        }
    )


def risk_week(
    corr: Correlation,
    feats: pd.DataFrame,
    events: pd.DataFrame,
    week: IsoWeek,
    scorer: RiskScorer,
    model: str,
) -> RiskWeek:
    """Every change deployed in the calibration window scored (`vsmml score`'s scorer, the
    tour's feature columns), the week's riskiest with their main reason and outcome."""
    feats = feats.drop(columns=["failed"]).merge(_outcomes(corr), on="change_id", how="left")
    since = week.shifted(1 - TREND_WEEKS).start
    window_rows = feats.loc[_between(feats["deployed_at"], since, week.end)].reset_index(drop=True)
    risk = (
        scorer.predict_proba(scorer.matrix(feature_columns(window_rows, scorer)))
        if not window_rows.empty
        else np.array([])
    )
    window_rows["risk"] = risk
    this = window_rows.loc[_between(window_rows["deployed_at"], week.start, week.end)]
    top = this.sort_values("risk", ascending=False, kind="stable").head(TOP_RISKY)
    reasons = scorer.score(feature_columns(top, scorer), top=1) if not top.empty else []
    top = top.assign(reason=[r.reasons[0].text if r.reasons else "" for r in reasons])
    waivers = waivers_from_events(events)
    waivers = waivers.loc[_between(waivers["ts"], week.start, week.end)]
    cols = ["change_id", "service", "risk", "failed", "outcome"]
    return RiskWeek(
        week=this[cols].reset_index(drop=True),
        top=top[[*cols, "reason"]].reset_index(drop=True),
        history=window_rows[["risk", "failed"]],
        threshold=float(scorer.threshold),
        model=model,
        waivers=waivers.reset_index(drop=True),
        calibration_window=f"the four weeks {since:%Y-%m-%d} .. {week.end:%Y-%m-%d}",
    )


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


def recommend_inputs(
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


def _recommend_inputs(
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
        return recommend_inputs(f, corr, flow, feats, window, scorer, model)
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
        _recommend_inputs(f, corr, flow, feats, samples, scorer, rec_model),
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
