"""The on-call dashboard: active incidents by severity with their linked deployment, the last
24 hours' deployments and rollbacks, error-budget burn per service, recent alerts by service."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table
from vsmml.report.pages.model import Links, Page


@dataclass(frozen=True)
class OncallData:
    """What is happening now.

    Attributes:
        as_of: the instant shown (the latest event, never after the wall clock).
        incidents: incidents open at `as_of`: incident_id, service, severity, opened_at,
            deploy_id_linked, link_confidence.
        deploys: deployments and rollbacks finished in the last `hours`: deploy_id, service,
            env, status, finished_at, n_changes, is_rollback, rolled_back, incident_id.
        budgets: `vsmml slo status` rows at `as_of`.
        alerts: burn-rate alert episodes of the last `hours` (`slo_week.alert_episodes`).
        services, service: the filter.
        hours: the look-back of the deploys and alerts.
    """

    as_of: pd.Timestamp
    incidents: pd.DataFrame
    deploys: pd.DataFrame
    budgets: pd.DataFrame
    alerts: pd.DataFrame
    services: tuple[str, ...]
    service: str | None
    hours: int = 24


def _incidents(data: OncallData, links: Links) -> Section:
    inc = data.incidents.copy()
    if inc.empty:
        return Section("incidents", "Active incidents", ("No incident is open.",))
    inc["age_h"] = (data.as_of - inc["opened_at"]).dt.total_seconds() / 3600
    inc = inc.sort_values(["severity", "opened_at"], kind="stable")
    counts = inc.groupby("severity").size()
    summary = "Open: " + ", ".join(f"{n} {sev}" for sev, n in counts.items()) + "."
    table = Table.from_frame(
        "Open incidents, most severe first",
        inc,
        {
            "incident_id": "incident",
            "severity": "severity",
            "service": "service",
            "opened_at": "opened",
            "age_h": "open for",
            "deploy_id_linked": "linked deploy",
            "link_confidence": "link confidence",
        },
        {"age_h": fmt.hours, "link_confidence": lambda v: fmt.number(v, 2)},
        links={"deploy_id_linked": links.deploy, "service": links.service},
    )
    table = replace(table, anchors=tuple(f"incident-{i}" for i in inc["incident_id"]))
    open_ids = inc["incident_id"].astype(str).tolist()
    return Section("incidents", "Active incidents", (summary,), {"open": open_ids}, (table,))


def _deploys(data: OncallData, links: Links) -> Section:
    d = data.deploys.sort_values("finished_at", ascending=False, kind="stable")
    if d.empty:
        return Section("deploys", f"Deployments, last {data.hours} h", ("None.",))
    d = d.assign(
        what=["rollback" if r else "deploy" for r in d["is_rollback"]],
        outcome=[
            "rolled back" if rb else ("incident " + str(i)) if isinstance(i, str) else "–"
            for rb, i in zip(d["rolled_back"], d["incident_id"], strict=True)
        ],
    )
    prod = d.loc[d["env"].astype(str) == "production"]
    rollbacks = int(d["is_rollback"].sum())
    summary = (
        f"{len(prod)} production and {len(d) - len(prod)} other deployment(s), "
        f"{rollbacks} rollback(s) in the last {data.hours} h.",
    )
    table = Table.from_frame(
        "Deployments and rollbacks, newest first",
        d,
        {
            "deploy_id": "deploy",
            "what": "what",
            "service": "service",
            "env": "env",
            "status": "status",
            "finished_at": "finished",
            "n_changes": "changes",
            "outcome": "outcome",
        },
        links={"deploy_id": links.deploy, "service": links.service},
    )
    return Section("deploys", f"Deployments, last {data.hours} h", summary, {}, (table,))


def _burn(data: OncallData, links: Links) -> Section:
    b = data.budgets
    if b.empty:
        return Section("burn", "Error-budget burn", ("No slo.sample data.",))
    b = b.assign(
        alerting=[
            "page" if p else "ticket" if t else ""
            for p, t in zip(b["page"], b["ticket"], strict=True)
        ],
        projected=float("nan"),
    )
    paging = b.loc[b["page"], "service"].astype(str).tolist()
    summary = (f"Paging now: {', '.join(paging)}." if paging else "No page alert is firing now.",)
    table = Table.from_frame(
        "Burn per service now",
        b.sort_values("burn_1h", ascending=False, kind="stable"),
        {
            "service": "service",
            "budget_remaining": "budget left",
            "burn_1h": "burn 1 h",
            "burn_6h": "burn 6 h",
            "burn_1d": "burn 1 d",
            "alerting": "alert",
        },
        {
            "budget_remaining": fmt.rate,
            "burn_1h": lambda v: f"{fmt.number(v)}×",
            "burn_6h": lambda v: f"{fmt.number(v)}×",
            "burn_1d": lambda v: f"{fmt.number(v)}×",
        },
        links={"service": links.service},
    )
    plot = Plot(
        "oncall-budgets",
        "Error budget left (30 days)",
        plots.slo_budgets(
            b[["service", "budget_remaining", "projected", "alerting"]], key="oncall-budgets"
        ),
    )
    return Section("burn", "Error-budget burn", summary, {}, (table,), (plot,))


def _alerts(data: OncallData) -> Section:
    a = data.alerts
    if a.empty:
        return Section("alerts", f"Alerts, last {data.hours} h", ("No burn-rate alert fired.",))
    rows = []
    for name, g in a.groupby("service", sort=True):
        last = g.sort_values("start").iloc[-1]
        rows.append(
            (
                str(name),
                int((g["severity"] == "page").sum()),
                int((g["severity"] == "ticket").sum()),
                last["severity"],
                last["start"],
                last["end"],
            )
        )
    frame = pd.DataFrame(rows, columns=["service", "pages", "tickets", "last", "from", "to"])
    frame = frame.sort_values(["pages", "tickets"], ascending=False, kind="stable")
    return Section(
        "alerts",
        f"Alerts, last {data.hours} h",
        (f"{len(a)} alert episode(s) in {len(frame)} service(s).",),
        {},
        (
            Table.from_frame(
                "Alerts grouped by service",
                frame,
                {
                    "service": "service",
                    "pages": "page episodes",
                    "tickets": "ticket episodes",
                    "last": "latest",
                    "from": "from",
                    "to": "to",
                },
            ),
        ),
    )


def oncall_page(data: OncallData, links: Links) -> Page:
    """Build the on-call page."""
    return Page(
        "oncall",
        f"On-call: {data.service or 'all services'}",
        f"as of {data.as_of:%Y-%m-%d %H:%M} UTC (the latest deployment or incident event)",
        (_incidents(data, links), _deploys(data, links), _burn(data, links), _alerts(data)),
        refresh_s=60,
        services=data.services,
        service=data.service,
        params={"service": data.service} if data.service else {},
    )
