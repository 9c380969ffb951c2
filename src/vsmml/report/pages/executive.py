"""The executive dashboard: lead-time trend by service, deployment frequency and success rate,
change failure rate and time to restore, and a risk heatmap (services × weeks: risk, SLO burn)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vsmml.metrics.bands import band
from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table
from vsmml.report.pages.model import Links, Page


@dataclass(frozen=True)
class ExecutiveData:
    """The weeks shown and the frames behind them.

    Attributes:
        weeks: the Mondays of the weeks shown, oldest first.
        lead: service, period, value: median lead time (hours) per service-week.
        org: period, metric, value: the scope's weekly DORA keys (`vsmml.metrics.dora.dora`).
        deploys: production deployments (service, finished_at, status, is_rollback).
        risk: service, period, value: mean change risk of the changes deployed that week.
        burn: service, period, value: the week's SLO burn rate (error ratio ÷ budget).
        latest: service → its latest production deployment id.
        services, service: the services (for the filter) and the one shown (None: all).
        as_of: the last complete week's end.
        model: which risk model scored the changes.
    """

    weeks: list[pd.Timestamp]
    lead: pd.DataFrame
    org: pd.DataFrame
    deploys: pd.DataFrame
    risk: pd.DataFrame
    burn: pd.DataFrame
    latest: dict[str, str]
    services: tuple[str, ...]
    service: str | None
    as_of: pd.Timestamp
    model: str


def _org(data: ExecutiveData, metric: str) -> pd.Series:
    rows = data.org.loc[data.org["metric"] == metric].set_index("period")["value"]
    return rows.reindex(data.weeks)


def delivery_frame(data: ExecutiveData) -> pd.DataFrame:
    """Per week: deployments per day, deploy success rate, change failure rate, time to
    restore and failed-deployment recovery (medians, hours)."""
    d = data.deploys.loc[~data.deploys["is_rollback"].astype(bool)]
    week = d["finished_at"].dt.tz_convert("UTC").dt.floor("D")
    week = week - pd.to_timedelta(week.dt.day_of_week, unit="D")
    ok = (d["status"].astype(str) == "success").groupby(week.to_numpy()).mean()
    return pd.DataFrame(
        {
            "period": data.weeks,
            "deploys_per_day": (_org(data, "deployments").fillna(0.0) / 7).to_numpy(),
            "success_rate": ok.reindex(data.weeks).to_numpy(),
            "change_failure_rate": _org(data, "change_failure_rate").to_numpy(),
            "time_to_restore_h": _org(data, "time_to_restore_median").to_numpy(),
            "recovery_h": _org(data, "recovery_time_median").to_numpy(),
        }
    )


def executive_page(data: ExecutiveData, links: Links) -> Page:
    """Build the executive page."""
    scope = data.service or "all services"
    weekly = delivery_frame(data)
    last = weekly.iloc[-1]
    lead_plot = Plot(
        "exec-lead",
        "Lead time for changes, median per week",
        plots.lines_by_group(
            data.lead.rename(columns={"service": "group"}), ylabel="hours", key="exec-lead"
        ),
        data={"rows": data.lead.to_dict("records")},
    )
    long = weekly.melt("period", var_name="group", value_name="value")
    freq_plot = Plot(
        "exec-deploys",
        "Deployment frequency (per day) and success rate",
        plots.lines_by_group(
            long.loc[long["group"].isin(["deploys_per_day"])], ylabel="per day", key="exec-freq"
        ),
        data={"rows": weekly[["period", "deploys_per_day", "success_rate"]].to_dict("records")},
    )
    cfr_plot = Plot(
        "exec-cfr",
        "Change failure rate and deploy success rate (%)",
        plots.lines_by_group(
            long.loc[long["group"].isin(["change_failure_rate", "success_rate"])],
            ylabel="%",
            key="exec-cfr",
            percent=True,
        ),
    )
    restore_plot = Plot(
        "exec-restore",
        "Time to restore service and failed-deployment recovery (median hours)",
        plots.lines_by_group(
            long.loc[long["group"].isin(["time_to_restore_h", "recovery_h"])],
            ylabel="hours",
            key="exec-restore",
        ),
    )
    delivery = Section(
        "delivery",
        "Delivery",
        (
            f"Last complete week ({data.weeks[-1]:%d %b}): {fmt.per_day(last['deploys_per_day'])} "
            f"({band('deployments_per_day', float(last['deploys_per_day']))}), "
            f"{fmt.rate(last['success_rate'])} of deploys succeeded, change failure rate "
            f"{fmt.rate(last['change_failure_rate'])}, time to restore "
            f"{fmt.hours(last['time_to_restore_h'])}.",
        ),
        {"weekly": weekly.to_dict("records")},
        (
            Table.from_frame(
                "Week by week",
                weekly.assign(week=[p.strftime("%G-W%V") for p in weekly["period"]]),
                {
                    "week": "week",
                    "deploys_per_day": "deploys/day",
                    "success_rate": "succeeded",
                    "change_failure_rate": "change failure rate",
                    "time_to_restore_h": "time to restore",
                    "recovery_h": "recovery",
                },
                {
                    "deploys_per_day": fmt.per_day,
                    "success_rate": fmt.rate,
                    "change_failure_rate": fmt.rate,
                    "time_to_restore_h": fmt.hours,
                    "recovery_h": fmt.hours,
                },
            ),
        ),
        (freq_plot, cfr_plot, restore_plot),
    )
    lead = Section(
        "lead",
        "Lead time by service",
        (_lead_sentence(data),),
        {},
        (_services_table(data, links),),
        (lead_plot,),
    )
    risk_plots = []
    if not data.risk.empty:
        risk_plots.append(
            Plot(
                "exec-risk",
                "Mean change risk of the changes deployed, services × weeks (%)",
                plots.heatmap(
                    data.risk.rename(columns={"service": "row", "period": "col"}),
                    title="",
                    key="exec-risk",
                    vmax=1.0,
                    percent=True,
                ),
                caption=f"scored by {data.model}",
            )
        )
    if not data.burn.empty:
        risk_plots.append(
            Plot(
                "exec-burn",
                "SLO burn rate, services × weeks (1 = spends the budget exactly)",
                plots.heatmap(
                    data.burn.rename(columns={"service": "row", "period": "col"}),
                    title="",
                    key="exec-burn",
                ),
            )
        )
    heat = Section(
        "risk",
        "Risk heatmap",
        (
            "Where risk and SLO burn concentrate: darker cells are the services and weeks to "
            "ask about.",
        ),
        {},
        (),
        tuple(risk_plots),
    )
    return Page(
        "executive",
        f"Executive: {scope}",
        f"{len(data.weeks)} weeks to {data.as_of:%Y-%m-%d} (UTC)",
        (delivery, lead, heat),
        refresh_s=300,
        services=data.services,
        service=data.service,
        params={"service": data.service} if data.service else {},
    )


def _lead_sentence(data: ExecutiveData) -> str:
    last = data.lead.loc[data.lead["period"] == data.weeks[-1]].sort_values("value")
    if last.empty:
        return "No change reached production in the last week."
    slow = last.iloc[-1]
    return (
        f"Slowest last week: {slow['service']} ({fmt.hours(slow['value'])} median); fastest: "
        f"{last.iloc[0]['service']} ({fmt.hours(last.iloc[0]['value'])})."
    )


def _services_table(data: ExecutiveData, links: Links) -> Table:
    last, prev = data.weeks[-1], data.weeks[-2] if len(data.weeks) > 1 else data.weeks[-1]
    lead = data.lead.set_index(["service", "period"])["value"]
    rows = []
    for s in sorted(set(data.lead["service"]) | set(data.latest)):
        rows.append(
            {
                "service": s,
                "lead": lead.get((s, last), float("nan")),
                "prev": lead.get((s, prev), float("nan")),
                "latest": data.latest.get(s),
            }
        )
    frame = pd.DataFrame(rows, columns=["service", "lead", "prev", "latest"])
    frame["band"] = [band("lead_time_median_h", float(v)) or "–" for v in frame["lead"]]
    return Table.from_frame(
        "Per service",
        frame,
        {
            "service": "service",
            "lead": "median lead time, last week",
            "band": "band",
            "prev": "the week before",
            "latest": "latest production deploy",
        },
        {"lead": fmt.hours, "prev": fmt.hours},
        links={"service": links.service, "latest": links.deploy},
    )
