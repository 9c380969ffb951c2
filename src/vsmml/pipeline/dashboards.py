"""The dashboards' data: each page's frames from an open store, then its page object and HTML.

`executive`, `oncall` and `debug` take a `Store` (the server passes its reader) and return the
page object (`vsmml.report.pages`); `render_page` turns it into a document. The same core
functions as the weekly report compute the numbers (DORA, SLO status, burn alerts, risk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from vsmml.config import Settings
from vsmml.correlate import Correlation, correlate
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS, STR_DTYPE
from vsmml.features.change_features import change_features
from vsmml.metrics.dora import dora
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.dashboard_debug import debug
from vsmml.pipeline.models import ModelLocation, load_risk_scorer
from vsmml.pipeline.queries.metrics import window
from vsmml.pipeline.queries.observe import budgets_by_service
from vsmml.pipeline.report import choose_week
from vsmml.pipeline.tour import feature_columns
from vsmml.report.pages import Links, Page, render_page
from vsmml.report.pages.executive import ExecutiveData, executive_page
from vsmml.report.pages.oncall import OncallData, oncall_page
from vsmml.report.slo_week import alert_episodes, week_burn
from vsmml.store import Store

__all__ = ["Links", "Page", "debug", "executive", "model_label", "oncall", "render_page"]

RECENT: Final = pd.Timedelta(days=14)
"""The on-call page correlates the last two weeks (incidents and deploys of now)."""


def _delivery(store: Store, since: pd.Timestamp | None = None) -> pd.DataFrame:
    events = store.read_events(kinds=DELIVERY_KINDS, since=since)
    if events.empty:
        raise DataError("store: no events; run `vsmml demo` or `vsmml ingest` first")
    return events


def _services(events: pd.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(events["service"].astype(STR_DTYPE).dropna())))


def _only(events: pd.DataFrame, service: str | None, known: Sequence[str]) -> pd.DataFrame:
    if service is None:
        return events
    if service not in known:
        raise DataError(f"service: no events for {service!r}; services: {list(known)}")
    return events.loc[(events["service"].astype(STR_DTYPE) == service).to_numpy(bool)]


def model_label(location: ModelLocation) -> str:
    """How the pages name the risk model that scored them."""
    return f"{location.name} v{location.version} ({location.source})"


def _scorer(scorer: RiskScorer | None, settings: Settings | None) -> tuple[RiskScorer, str]:
    if scorer is not None:
        return scorer, "the server's risk model"
    loaded, loc = load_risk_scorer(settings=settings)
    return loaded, model_label(loc)


def _risk(corr: Correlation, events: pd.DataFrame, scorer: RiskScorer) -> pd.DataFrame:
    """Every change with a production deployment, scored: change_id, service, deployed_at, risk."""
    feats = change_features(corr.changes, events, corr.deployments)
    when = corr.changes.set_index("change_id")["production_deployed_at"]
    feats = feats.assign(deployed_at=feats["change_id"].map(when))
    feats = feats.loc[feats["deployed_at"].notna().to_numpy(bool)].reset_index(drop=True)
    risk = (
        scorer.predict_proba(scorer.matrix(feature_columns(feats, scorer)))
        if not feats.empty
        else np.array([])
    )
    return feats.assign(risk=risk)


def _week(ts: pd.Series) -> pd.Series:
    day = ts.dt.tz_convert("UTC").dt.floor("D")
    monday: pd.Series = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return monday


def executive(
    store: Store,
    *,
    service: str | None = None,
    weeks: int = 8,
    settings: Settings | None = None,
    scorer: RiskScorer | None = None,
    model: str | None = None,
) -> Page:
    """The executive page over the `weeks` complete weeks up to the latest one (risk scored
    by `scorer`, named `model`; default: the champion or default model under `settings`)."""
    every = _delivery(store)
    known = _services(every)
    events = _only(every, service, known)
    last = choose_week(events, None)
    corr = correlate(events)
    first = corr.deployments["finished_at"].min()
    mondays = [
        m
        for m in (last.shifted(-i).start for i in range(weeks - 1, -1, -1))
        if pd.isna(first) or m + pd.Timedelta(days=7) > first
    ]
    since, until = mondays[0], last.end
    org = window(dora(corr, None, "W"), since, until)
    per = window(dora(corr, "service", "W"), since, until)
    lead = per.loc[per["metric"] == "lead_time_median", ["service", "period", "value"]]
    deps = corr.deployments
    prod = deps.loc[(deps["env"].astype(STR_DTYPE) == "production").to_numpy(bool)]
    inside = prod.loc[
        ((prod["finished_at"] >= since) & (prod["finished_at"] < until)).to_numpy(bool)
    ]
    model_scorer, label = _scorer(scorer, settings)
    scored = _risk(corr, events, model_scorer)
    scored = scored.loc[
        ((scored["deployed_at"] >= since) & (scored["deployed_at"] < until)).to_numpy(bool)
    ]
    risk = (
        scored.assign(period=_week(scored["deployed_at"]))
        .groupby(["service", "period"], observed=True)["risk"]
        .mean()
        .rename("value")
        .reset_index()
    )
    samples = store.read_slo_samples(since=since, services=[service] if service else None)
    burn = pd.concat(
        [week_burn(samples, 0.999, m, m + pd.Timedelta(days=7)).assign(period=m) for m in mondays],
        ignore_index=True,
    ).rename(columns={"burn": "value"})[["service", "period", "value"]]
    ok = prod.loc[~prod["is_rollback"].astype(bool)].sort_values("finished_at")
    latest = {str(s): str(g["deploy_id"].iloc[-1]) for s, g in ok.groupby("service", observed=True)}
    data = ExecutiveData(
        weeks=mondays,
        lead=lead.assign(service=lead["service"].astype(str)),
        org=org,
        deploys=inside[["service", "finished_at", "status", "is_rollback"]],
        risk=risk.assign(service=risk["service"].astype(str)),
        burn=burn.dropna(subset=["value"]),
        latest=latest,
        services=known,
        service=service,
        as_of=until,
        model=model or label,
    )
    return executive_page(data, Links())


OPS_KINDS: Final = ("deploy.finished", "rollback", "incident.opened", "incident.resolved")


def _as_of(store: Store, now: pd.Timestamp | None) -> pd.Timestamp:
    """The latest deployment, rollback or incident event (never after the wall clock): a
    store fed by a live system is as of now; a replayed or synthetic one as of its end."""
    wall = now if now is not None else pd.Timestamp.now(tz="UTC")
    ops = store.read_events(kinds=OPS_KINDS, until=wall + pd.Timedelta(1, "us"))
    if ops.empty:
        raise DataError("store: no deployments or incidents; run `vsmml demo` or `vsmml ingest`")
    return min(pd.Timestamp(ops["ts"].max()), wall)


def oncall(
    store: Store,
    *,
    service: str | None = None,
    hours: int = 24,
    now: pd.Timestamp | None = None,
    objective: float = 0.999,
    window_days: int = 30,
) -> Page:
    """The on-call page as of the latest deployment or incident event (never after `now`)."""
    as_of = _as_of(store, now)
    recent = _delivery(store, since=as_of - RECENT)
    known = _services(recent)
    events = _only(recent, service, known)
    events = events.loc[(events["ts"] <= as_of).to_numpy(bool)]
    corr = correlate(events)
    inc = corr.incidents
    open_now = inc.loc[
        ((inc["opened_at"] <= as_of) & ~(inc["resolved_at"] <= as_of)).to_numpy(bool)
    ]
    start = as_of - pd.Timedelta(hours=hours)
    deps = corr.deployments
    latest = deps.loc[
        ((deps["finished_at"] > start) & (deps["finished_at"] <= as_of)).to_numpy(bool)
    ]
    samples = store.read_slo_samples(
        since=as_of - pd.Timedelta(days=window_days + 1), services=[service] if service else None
    )
    samples = samples.loc[(samples["timestamp"] <= as_of).to_numpy(bool)]
    budgets = budgets_by_service(samples, objective, window_days)
    alerts = alert_episodes(samples, objective, window_days, start, as_of + pd.Timedelta(1, "us"))
    data = OncallData(
        as_of=as_of,
        incidents=open_now[
            [
                "incident_id",
                "service",
                "severity",
                "opened_at",
                "deploy_id_linked",
                "link_confidence",
            ]
        ].assign(service=lambda f: f["service"].astype(str)),
        deploys=latest[
            [
                "deploy_id",
                "service",
                "env",
                "status",
                "finished_at",
                "n_changes",
                "is_rollback",
                "rolled_back",
                "incident_id",
            ]
        ],
        budgets=budgets,
        alerts=alerts,
        services=known,
        service=service,
        hours=hours,
    )
    return oncall_page(data, Links())
