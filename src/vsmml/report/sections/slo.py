"""The SLO section: budgets, the week's burn, alerts, the outlook, anomalies and change points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vsmml.report import fmt, plots
from vsmml.report.model import Plot, Section, Table

MAX_SERIES_PLOTTED = 4
SLI_METRIC = "sli_error_ratio"


@dataclass(frozen=True)
class SloWeek:
    """What the pipeline computed for the week's SLOs (every frame may be empty).

    Attributes:
        objective, window_days: the SLO every service is held to.
        since, until: the week.
        budgets: `vsmml slo status` rows at the end of the week (service, budget_remaining,
            burn_1h, burn_6h, page, ticket, exhausted_at ...).
        budgets_start: service, budget_remaining at the start of the week.
        burn: `slo_week.week_burn` rows; alerts: `slo_week.alert_episodes` rows;
        outlook: `slo_week.budget_outlook` rows.
        anomalies: SLI anomaly episodes (`slo_week.score_episodes` of the detector's scores).
        change_points: rows service, metric, ts, value, baseline, score (SLI level shifts and
            stage-wait shifts).
        series: service → hourly (timestamp, value) error ratio, for the plot.
        detector: the anomaly detector's name and threshold, for the notes.
    """

    objective: float
    window_days: int
    since: pd.Timestamp
    until: pd.Timestamp
    budgets: pd.DataFrame
    budgets_start: pd.DataFrame
    burn: pd.DataFrame
    alerts: pd.DataFrame
    outlook: pd.DataFrame
    anomalies: pd.DataFrame
    change_points: pd.DataFrame
    series: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    detector: str = ""


def _table_frame(slo: SloWeek) -> pd.DataFrame:
    b = slo.budgets[["service", "budget_remaining", "burn_1h", "page", "ticket"]].copy()
    b["service"] = b["service"].astype(str)
    start = slo.budgets_start.set_index(slo.budgets_start["service"].astype(str))
    b["budget_start"] = b["service"].map(start["budget_remaining"]) if not start.empty else None
    burn = slo.burn.set_index("service")
    b["burn_week"] = b["service"].map(burn["burn"]) if not burn.empty else None
    out = slo.outlook.set_index("service")
    b["projected"] = b["service"].map(out["projected"]) if not out.empty else float("nan")
    counts = slo.alerts.groupby(["service", "severity"]).size().unstack(fill_value=0)
    for sev in ("page", "ticket"):
        col = counts[sev] if sev in counts else pd.Series(dtype="int64")
        b[f"{sev}_alerts"] = b["service"].map(col).fillna(0).astype("int64")
    n_anom = slo.anomalies.groupby("service").size()
    b["anomalies"] = b["service"].map(n_anom).fillna(0).astype("int64")
    b["alerting"] = [
        "page" if p else "ticket" if t else "" for p, t in zip(b["page"], b["ticket"], strict=True)
    ]
    return b.sort_values("budget_remaining", kind="stable").reset_index(drop=True)


def _summary(slo: SloWeek, t: pd.DataFrame) -> list[str]:
    spent = t.loc[t["budget_remaining"] <= 0, "service"].tolist()
    lines = [
        f"{len(t) - len(spent)} of {len(t)} services end the week with error budget left "
        f"({slo.objective * 100:g} % over {slo.window_days} days)"
        + (f"; overspent: {', '.join(spent)}." if spent else ".")
    ]
    if t["burn_week"].notna().any():
        worst = t.iloc[int(t["burn_week"].to_numpy(dtype=float).argmax())]
        lines.append(
            f"Fastest burn this week: {worst['service']} at {fmt.number(worst['burn_week'])}× "
            f"the sustainable rate (budget {fmt.rate(worst['budget_start'])} → "
            f"{fmt.rate(worst['budget_remaining'])})."
        )
    pages = slo.alerts.loc[slo.alerts["severity"] == "page"]
    tickets = slo.alerts.loc[slo.alerts["severity"] == "ticket"]
    if slo.alerts.empty:
        lines.append("No burn-rate alert fired this week.")
    else:
        who = sorted(set(pages["service"])) or sorted(set(tickets["service"]))
        lines.append(
            f"Alerts this week: {len(pages)} page and {len(tickets)} ticket episode(s); "
            f"{'paging' if len(pages) else 'ticketing'}: {', '.join(who)}."
        )
    at_risk = t.loc[(t["projected"] <= 0) & (t["budget_remaining"] > 0), "service"].tolist()
    if at_risk:
        lines.append(
            f"Outlook: if this week repeats, {', '.join(at_risk)} overspend within a week."
        )
    elif t["projected"].notna().any():
        lines.append("Outlook: if this week repeats, no service with budget left overspends.")
    if not slo.anomalies.empty or not slo.change_points.empty:
        lines.append(
            f"{len(slo.anomalies)} SLI anomaly episode(s) in "
            f"{slo.anomalies['service'].nunique()} service(s) and {len(slo.change_points)} "
            "change point(s) this week."
        )
    return lines


def slo_section(slo: SloWeek) -> Section:
    """Build the SLO section (a short note when the store holds no SLO samples)."""
    if slo.budgets.empty:
        return Section(
            "slo", "SLO", ("No slo.sample events cover this week: no budgets to report.",)
        )
    t = _table_frame(slo)
    budgets = Table.from_frame(
        "Error budgets per service",
        t,
        {
            "service": "service",
            "budget_start": "budget at start",
            "budget_remaining": "budget at end",
            "burn_week": "burn this week",
            "burn_1h": "burn last hour",
            "page_alerts": "page alerts",
            "ticket_alerts": "ticket alerts",
            "anomalies": "SLI anomalies",
            "projected": "outlook in a week",
        },
        {
            "budget_start": fmt.rate,
            "budget_remaining": fmt.rate,
            "burn_week": lambda v: f"{fmt.number(v)}×",
            "burn_1h": lambda v: f"{fmt.number(v)}×",
            "projected": fmt.rate,
        },
        note="burn = error ratio ÷ error budget (1× spends the budget exactly over the window); "
        "outlook: the budget a week on if the last seven days repeat",
    )
    tables = [budgets]
    if not slo.alerts.empty:
        tables.append(
            Table.from_frame(
                "Burn-rate alerts this week, per service",
                _alerts_frame(slo.alerts),
                {
                    "service": "service",
                    "page": "page episodes",
                    "page_h": "hours paging",
                    "ticket": "ticket episodes",
                    "ticket_h": "hours ticketing",
                    "first": "first alert",
                },
                {"page_h": lambda v: fmt.number(v, 1), "ticket_h": lambda v: fmt.number(v, 1)},
                note="multiwindow burn-rate alerts (page: 1 h & 5 min at 14.4×, 6 h & 30 min at "
                "6×; ticket: 1 d & 2 h at 3×, 3 d & 6 h at 1×), evaluated at every sample",
            )
        )
    if not slo.anomalies.empty:
        a = slo.anomalies.sort_values("peak", ascending=False, kind="stable")
        a = a.assign(hours=(a["end"] - a["start"]).dt.total_seconds() / 3600.0 + 1.0)
        tables.append(
            Table.from_frame(
                "Strongest SLI anomalies this week",
                a.head(MAX_ROWS),
                {
                    "service": "service",
                    "peak_at": "at",
                    "value": "error ratio",
                    "baseline": "7-day median before",
                    "hours": "hours",
                    "peak": "score",
                },
                {
                    "value": lambda v: fmt.number(v, 4),
                    "baseline": lambda v: fmt.number(v, 4),
                    "hours": lambda v: fmt.number(v, 0),
                    "peak": lambda v: fmt.number(v, 2),
                },
                note=f"{slo.detector}" + _more(len(a)),
            )
        )
    if not slo.change_points.empty:
        c = slo.change_points.sort_values("score", ascending=False, kind="stable")
        c = c.assign(
            what=[_metric_name(m) for m in c["metric"]],
            before=[_value(m, v) for m, v in zip(c["metric"], c["baseline"], strict=True)],
            after=[_value(m, v) for m, v in zip(c["metric"], c["value"], strict=True)],
        )
        tables.append(
            Table.from_frame(
                "Change points this week (level shifts)",
                c.head(MAX_ROWS),
                {
                    "service": "service",
                    "what": "what shifted",
                    "ts": "from",
                    "before": "before",
                    "after": "after",
                    "score": "score",
                },
                {"score": lambda v: fmt.number(v, 2), "ts": lambda v: fmt_day(v)},
                note="CUSUM of the hourly error ratio and of each stage's daily mean wait; "
                "before: the mean of the 28 days before, after: since the shift" + _more(len(c)),
            )
        )
    plot_frame = t[["service", "budget_remaining", "projected", "alerting"]]
    plot_list = [
        Plot(
            "slo-budgets",
            "Error budget left at the end of the week, and the outlook",
            plots.slo_budgets(plot_frame),
            caption="Bars: budget left; red: overspent or paging, amber: ticket alert; "
            "black tick: the budget a week on if this week repeats.",
            data={"rows": plot_frame.to_dict("records")},
        )
    ]
    shown = _plotted(slo)
    if shown:
        plot_list.append(_series_plot(slo, shown))
    facts: dict[str, Any] = {
        "objective": slo.objective,
        "window_days": slo.window_days,
        "budgets": t.to_dict("records"),
        "alerts": slo.alerts.to_dict("records"),
        "anomalies": slo.anomalies.to_dict("records"),
        "change_points": slo.change_points.to_dict("records"),
    }
    return Section("slo", "SLO", tuple(_summary(slo, t)), facts, tuple(tables), tuple(plot_list))


MAX_ROWS = 10


def _more(n: int) -> str:
    return f"; {n - MAX_ROWS} more not shown (to_dict has them all)" if n > MAX_ROWS else ""


def _metric_name(metric: str) -> str:
    if metric.startswith("wait:"):
        return f"wait before {metric[len('wait:') :]}"
    return "SLI error ratio" if metric == SLI_METRIC else metric


def _value(metric: str, v: Any) -> str:
    return fmt.hours(v) if str(metric).startswith("wait:") else fmt.number(v, 4)


def fmt_day(v: Any) -> str:
    """A change point's time: the day, and the hour when it is not midnight."""
    ts = pd.Timestamp(v)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def _alerts_frame(alerts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, g in alerts.groupby("service", sort=True):
        page, ticket = g.loc[g["severity"] == "page"], g.loc[g["severity"] == "ticket"]
        rows.append(
            (
                str(name),
                len(page),
                float(page["hours"].sum()),
                len(ticket),
                float(ticket["hours"].sum()),
                g["start"].min(),
            )
        )
    out = pd.DataFrame(rows, columns=["service", "page", "page_h", "ticket", "ticket_h", "first"])
    return out.sort_values(["page_h", "ticket_h"], ascending=False, kind="stable")


def _plotted(slo: SloWeek) -> list[str]:
    if slo.anomalies.empty:
        return []
    top = slo.anomalies.groupby("service")["peak"].max().sort_values(ascending=False)
    return [str(s) for s in top.index[:MAX_SERIES_PLOTTED] if str(s) in slo.series]


def _series_plot(slo: SloWeek, shown: list[str]) -> Plot:
    inside = {
        s: slo.series[s].loc[
            (
                (slo.series[s]["timestamp"] >= slo.since) & (slo.series[s]["timestamp"] < slo.until)
            ).to_numpy(bool)
        ]
        for s in shown
    }
    a = slo.anomalies
    marks = {
        s: pd.DataFrame(
            {
                "timestamp": a.loc[a["service"] == s, "peak_at"],
                "value": a.loc[a["service"] == s, "value"],
            }
        )
        for s in shown
    }
    return Plot(
        "sli-anomalies",
        "Hourly error ratio of the services with anomalies",
        plots.series_panel(inside, marks, slo.since, slo.until, ylabel="error ratio", key="sli"),
        caption="Circles: the peak of each anomaly episode the detector flagged.",
        data={"services": shown},
    )
