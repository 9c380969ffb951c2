"""`vsmml report weekly`: read the store once, gather each section's frames, write the report.

The week defaults to the latest complete ISO week that has events (complete: the data's latest
commit or opened change lies in a later week). `--service` or `--team` narrows every section to
that scope. The HTML file is self-contained (inline CSS and SVG); a Markdown summary sits
beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from vsmml.config import Settings, get_settings
from vsmml.errors import DataError
from vsmml.events.schema import DELIVERY_KINDS, STR_DTYPE
from vsmml.pipeline.report_data import WeekFrames, gather_weekly
from vsmml.recommend.gather import latest_work
from vsmml.report import IsoWeek, Report, latest_complete_week, weekly_report
from vsmml.store import Store

__all__ = ["ReportRequest", "WeeklyResult", "choose_week", "report_weekly", "weekly_from_store"]

SLO_HISTORY: Final = pd.Timedelta(days=38)
"""SLO samples read before the week's end: a 30-day budget at the week's start needs 37 days."""


@dataclass(frozen=True)
class ReportRequest:
    """What to report on: the week (None: the latest complete one), one service or team, the
    folder to write to (None: build only), the SLO every service is held to, records shown."""

    week: str | None = None
    service: str | None = None
    team: str | None = None
    out: Path | None = None
    objective: float = 0.999
    window_days: int = 30
    top: int = 5


@dataclass
class WeeklyResult:
    """The report, the files written (None when not asked) and how long each part took."""

    report: Report
    html: Path | None = None
    markdown: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def report_weekly(request: ReportRequest, settings: Settings | None = None) -> WeeklyResult:
    """Open the store under VSMML_HOME read-only and build (and write) the weekly report."""
    s = settings or get_settings()
    with Store.from_settings(s, read_only=True) as store:
        return weekly_from_store(store, request, settings=s)


def _scope(events: pd.DataFrame, request: ReportRequest) -> tuple[pd.DataFrame, str, list[str]]:
    """The events of the requested service or team, the scope's name and its services."""
    if request.service is not None and request.team is not None:
        raise DataError("give --service or --team, not both")
    services = events["service"].astype(STR_DTYPE)
    known = sorted(set(services.dropna()))
    if request.service is not None:
        if request.service not in known:
            raise DataError(f"--service: no events for {request.service!r}; services: {known}")
        keep = services == request.service
        return events.loc[keep.to_numpy(bool)], f"service {request.service}", [request.service]
    if request.team is not None:
        teams = events["team"].astype(STR_DTYPE)
        mine = sorted(set(services.loc[(teams == request.team).to_numpy(bool)].dropna()))
        if not mine:
            raise DataError(
                f"--team: no events for {request.team!r}; teams: {sorted(set(teams.dropna()))}"
            )
        keep = services.isin(mine)
        return events.loc[keep.to_numpy(bool)], f"team {request.team}", mine
    return events, "organisation", known


def choose_week(events: pd.DataFrame, week: str | None, now: pd.Timestamp | None = None) -> IsoWeek:
    """`week` parsed, else the latest complete ISO week that has events (see the module)."""
    ts = events["ts"]
    first, last = ts.min(), ts.max()
    if week is not None:
        chosen = IsoWeek.parse(week)
        inside = ((ts >= chosen.start) & (ts < chosen.end)).any()
        if not inside:
            raise DataError(
                f"--week {chosen.label}: no events in that week; the store holds "
                f"{IsoWeek.of(first).label} .. {IsoWeek.of(last).label}"
            )
        return chosen
    work = latest_work(events)
    assert work is not None
    chosen = latest_complete_week(work, now or pd.Timestamp.now(tz="UTC"))
    before = ts.loc[(ts < chosen.end).to_numpy(bool)]
    if before.empty:
        raise DataError(
            f"no complete week yet: the events cover {first:%Y-%m-%d} .. {last:%Y-%m-%d} "
            f"({IsoWeek.of(first).label}); give --week"
        )
    return min(chosen, IsoWeek.of(before.max()))


def report_name(week: IsoWeek, scope: str) -> str:
    """``vsmml-report-2026-W26`` (``-service-checkout`` for a scope), a safe file stem."""
    tail = "" if scope == "organisation" else "-" + "-".join(scope.split())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tail)
    return f"vsmml-report-{week.label}{safe}"


def weekly_from_store(
    store: Store, request: ReportRequest, *, settings: Settings | None = None
) -> WeeklyResult:
    """Build the weekly report from an open store (the demo passes the store it wrote)."""
    s = settings or get_settings()
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    events = store.read_events(kinds=DELIVERY_KINDS)
    if events.empty:
        raise DataError("store: no events; run `vsmml demo` or `vsmml ingest` first")
    every = events
    events, scope, services = _scope(events, request)
    week = choose_week(events, request.week)
    samples = store.read_events(
        kinds=["slo.sample"], services=services, since=week.end - SLO_HISTORY, until=week.end
    )
    quarantine = store.read_quarantine(include_resolved=True)
    raw = store.read_raw() if store.counts()["raw_payloads"] else pd.DataFrame()
    seconds["read"] = time.perf_counter() - t
    frames = WeekFrames(
        week=week,
        scope=scope,
        events=events,
        slo_events=samples,
        quarantine=quarantine,
        raw=raw,
        objective=request.objective,
        window_days=request.window_days,
        top=request.top,
        service=request.service,
        team=request.team,
        all_events=None if scope == "organisation" else every,
    )
    data = gather_weekly(frames, settings=s, seconds=seconds, store_path=store.path)
    t = time.perf_counter()
    report = weekly_report(data)
    seconds["build"] = time.perf_counter() - t
    result = WeeklyResult(report, seconds=seconds)
    if request.out is not None:
        t = time.perf_counter()
        out = request.out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"--out {out}: cannot create the folder ({exc.strerror})") from exc
        stem = report_name(week, scope)
        result.html = report.save_html(out / f"{stem}.html")
        result.markdown = report.save_markdown(out / f"{stem}.md")
        seconds["render"] = time.perf_counter() - t
    return result
