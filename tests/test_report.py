"""The weekly report over a real store: sections, files, and numbers equal to the pipeline's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from report_store import build_store, slo_csv
from vsmml.config import Settings
from vsmml.errors import DataError
from vsmml.pipeline.queries.flow import BottleneckQuery, bottlenecks
from vsmml.pipeline.queries.metrics import MetricsQuery, metrics_report
from vsmml.pipeline.queries.observe import SloQuery, slo_status
from vsmml.pipeline.queries.reads import delivery_flow
from vsmml.pipeline.report import ReportRequest, WeeklyResult, report_weekly
from vsmml.report import IsoWeek

pytestmark = pytest.mark.slow  # a synthetic store and the whole report

HEADINGS = ["DORA", "Lead time", "Constraint", "SLO", "Risk", "Recommendations", "Data quality"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_store(tmp_path_factory.mktemp("report") / "home")


@pytest.fixture(scope="module")
def weekly(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> WeeklyResult:
    out = tmp_path_factory.mktemp("report-out")
    return report_weekly(ReportRequest(out=out), settings)


def _facts(result: WeeklyResult, key: str) -> dict:  # type: ignore[type-arg]
    return dict(result.report.section(key).facts)


def test_sections_have_the_issue_headings_in_order_and_four_plots(weekly: WeeklyResult) -> None:
    r = weekly.report
    assert [s.heading for s in r.sections] == HEADINGS
    assert len(r.plots) >= 4
    for p in r.plots:
        assert p.svg.startswith("<svg"), p.key
        assert "<script" not in p.svg
    assert len(r.highlights) >= 5


def test_the_default_week_is_the_latest_complete_week(settings: Settings) -> None:
    from vsmml.store import Store

    with Store.from_settings(settings, read_only=True) as store:
        events = store.read_events(kinds=["commit", "change.opened"])
    last_work = events["ts"].max()
    result = report_weekly(ReportRequest(), settings)
    week = IsoWeek.parse(result.report.period)
    assert week.end <= last_work  # complete: work continued after it ended
    assert IsoWeek.of(last_work) == week.shifted(1)  # and it is the latest such week
    assert result.html is None  # nothing written without --out


def test_files_are_written_and_self_contained(weekly: WeeklyResult) -> None:
    assert weekly.html is not None and weekly.markdown is not None
    html = weekly.html.read_text(encoding="utf-8")
    assert weekly.html.name == f"vsmml-report-{weekly.report.period}.html"
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert html.count("<svg") >= 4
    # nothing to fetch: no scripts, stylesheets, fonts or images from elsewhere
    for needle in ("<script", "<link", "@import", "url(http", 'src="http', "@font-face"):
        assert needle not in html, needle
    assert "Content-Security-Policy" in html
    md = weekly.markdown.read_text(encoding="utf-8")
    assert md.startswith("# vsmml weekly report")
    for heading in HEADINGS:
        assert f"## {heading}" in md


def test_to_dict_is_json_and_repr_html_is_a_fragment(weekly: WeeklyResult) -> None:
    d = weekly.report.to_dict()
    text = json.dumps(d)  # plain JSON values only
    assert [s["heading"] for s in d["sections"]] == HEADINGS
    assert "NaN" not in text
    frag = weekly.report._repr_html_()
    assert "<html" not in frag and "<h2>DORA</h2>" in frag and "<style>" in frag


def test_dora_numbers_equal_vsmml_metrics(weekly: WeeklyResult, settings: Settings) -> None:
    week = IsoWeek.parse(weekly.report.period)
    tidy = metrics_report(MetricsQuery(by=None, freq="W"), settings).tidy
    facts = _facts(weekly, "dora")

    def value(metric: str, start: pd.Timestamp) -> float:
        row = tidy.loc[(tidy["metric"] == metric) & (tidy["period"] == start), "value"]
        return float(row.iloc[0]) if len(row) else math.nan

    for metric, scale in (
        ("deployments", 1 / 7),
        ("lead_time_median", 1.0),
        ("change_failure_rate", 1.0),
        ("recovery_time_median", 1.0),
    ):
        this, last = value(metric, week.start), value(metric, week.shifted(-1).start)
        assert facts[metric]["this_week"] == pytest.approx(this * scale, nan_ok=True)
        assert facts[metric]["last_week"] == pytest.approx(last * scale, nan_ok=True)
        four = [value(metric, week.shifted(-i).start) * scale for i in (3, 2, 1, 0)]
        assert facts[metric]["four_weeks"] == pytest.approx(four, nan_ok=True)
    assert facts["deployments"]["band"] in {"elite", "high", "medium", "low"}


def test_lead_time_and_constraint_equal_the_flow_of_the_weeks_deploys(
    weekly: WeeklyResult, settings: Settings
) -> None:
    from vsmml.graph.constraint import constraints

    week = IsoWeek.parse(weekly.report.period)
    flow = delivery_flow(settings)
    deployed = flow.changes["deployed_at"]
    ids = set(flow.changes.loc[(deployed >= week.start) & (deployed < week.end), "change_id"])
    lead = _facts(weekly, "lead_time")
    assert lead["changes"] == len(ids)
    mine = flow.changes.loc[flow.changes["change_id"].isin(ids)]
    per = mine.groupby("service").size()
    shown = {r["service"]: r["changes"] for r in lead["by_service"]}
    assert shown == {str(k): int(v) for k, v in per.items()}

    from vsmml.graph.flow import FlowData

    stages = flow.stages.loc[flow.stages["change_id"].isin(ids)]
    week_flow = FlowData(mine, stages, flow.stage_order, flow.ci_stages)
    org = constraints(week_flow, None, None).iloc[0]
    c = _facts(weekly, "constraint")
    assert c["constraint"] == org["constraint"]
    assert c["wait_share"] == pytest.approx(org["wait_share"])
    # the same function `vsmml bottlenecks` runs: its whole-range answer over the same flow
    whole = bottlenecks(BottleneckQuery(by="org"), settings)
    assert whole.iloc[0]["constraint"] in set(flow.stage_order)


def test_slo_budgets_equal_vsmml_slo_status_at_the_end_of_the_week(
    weekly: WeeklyResult, settings: Settings, tmp_path: Path
) -> None:
    week = IsoWeek.parse(weekly.report.period)
    csv = slo_csv(settings, week.end, tmp_path / "samples.csv")
    status = slo_status(SloQuery(file=csv)).set_index("service")
    budgets = {r["service"]: r for r in _facts(weekly, "slo")["budgets"]}
    assert set(budgets) == set(status.index)
    for service, row in status.iterrows():
        assert budgets[service]["budget_remaining"] == pytest.approx(row["budget_remaining"])
        assert budgets[service]["burn_1h"] == pytest.approx(row["burn_1h"])
        assert budgets[service]["page"] == bool(row["page"])


def test_risk_section_scores_the_weeks_shipped_changes(weekly: WeeklyResult) -> None:
    risk = _facts(weekly, "risk")
    assert risk["changes"] == _facts(weekly, "lead_time")["changes"]
    top = risk["top"]
    assert 0 < len(top) <= 5
    probs = [t["risk"] for t in top]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    for t in top:
        assert t["outcome"].startswith("failed") == t["failed"]
        assert t["reason"]
    cal = risk["calibration"]
    assert sum(b["n"] for b in cal["bins"]) >= risk["changes"]
    assert 0 <= cal["ece"] <= 1 and 0 <= cal["brier"] <= 1
    assert risk["waivers"] == []
    assert "Waived gates this week: none recorded." in weekly.report.section("risk").summary


def test_recommendations_equal_vsmml_recommend(weekly: WeeklyResult, settings: Settings) -> None:
    """The report builds the recommender's inputs from frames it computed once; `vsmml
    recommend --until <week end>` gathers them from the store: the records must be the same."""
    from vsmml.pipeline.recommend import RecommendRequest, recommendations

    week = IsoWeek.parse(weekly.report.period)
    want = recommendations(RecommendRequest(until=week.end.isoformat(), top=5), settings)
    got = _facts(weekly, "recommendations")["records"]
    assert got, "the demo organisation has findings"
    assert json.dumps(got, default=str) == json.dumps(want.to_list(), default=str)
    assert len(weekly.report.section("recommendations").cards) == len(got)


def test_data_quality_counts_the_quarantine_and_links(
    weekly: WeeklyResult, settings: Settings
) -> None:
    from vsmml.store import Store

    with Store.from_settings(settings, read_only=True) as store:
        open_q = store.counts()["quarantine"]
    q = _facts(weekly, "data_quality")
    assert q["open_quarantine"] == open_q == 3
    totals = [c for c in q["coverage"] if c["kind"] == "*"]
    assert totals and all(0 <= c["share"] <= 1 for c in totals)
    assert {r["source"] for r in q["latency"]} == {c["source"] for c in totals}
    assert q["skipped"] == []  # the synthetic store keeps no raw payloads


def test_a_service_scope_narrows_every_section(settings: Settings) -> None:
    from vsmml.pipeline.recommend import RecommendRequest, recommendations

    result = report_weekly(ReportRequest(service="checkout"), settings)
    r = result.report
    week = IsoWeek.parse(r.period)
    want = recommendations(
        RecommendRequest(service="checkout", until=week.end.isoformat(), top=5), settings
    )
    got = _facts(result, "recommendations")["records"]
    assert [g["action_text"] for g in got] == [w["action_text"] for w in want.to_list()]
    assert r.scope == "service checkout"
    assert [b["service"] for b in _facts(result, "slo")["budgets"]] == ["checkout"]
    assert {t["service"] for t in _facts(result, "risk")["top"]} == {"checkout"}
    for rec in _facts(result, "recommendations")["records"]:
        assert rec["target"]["service"] == "checkout"


def test_a_team_scope_and_bad_requests(settings: Settings) -> None:
    from vsmml.store import Store

    with Store.from_settings(settings, read_only=True) as store:
        events = store.read_events(kinds=["deploy.finished"])
    team = str(events["team"].dropna().iloc[0])
    mine = set(events.loc[events["team"] == team, "service"].astype(str))
    result = report_weekly(ReportRequest(team=team), settings)
    assert {b["service"] for b in _facts(result, "slo")["budgets"]} == mine
    with pytest.raises(DataError, match="--team: no events for 'nobody'"):
        report_weekly(ReportRequest(team="nobody"), settings)
    with pytest.raises(DataError, match="no events in that week"):
        report_weekly(ReportRequest(week="2020-W10"), settings)
    with pytest.raises(DataError, match="ISO week like"):
        report_weekly(ReportRequest(week="last week"), settings)


def test_every_text_from_data_is_escaped(tmp_path: Path) -> None:
    """A service named like markup (and with a dollar sign for matplotlib's math parser)
    shows as text in the HTML, the SVG and the Markdown: nothing executes, nothing breaks."""
    evil = "<script>alert(1)</script>$x$"
    settings = build_store(tmp_path / "home", rename={"checkout": evil})
    from vsmml.pipeline.report import choose_week
    from vsmml.store import Store

    with Store.from_settings(settings) as store:
        week = choose_week(store.read_events(kinds=["commit", "change.opened"]), None)
        waiver = {
            "event_id": "vsmml:gate.waived:test",
            "kind": "gate.waived",
            "ts": week.start + pd.Timedelta(days=2),
            "source": "vsmml",
            "service": evil,
            "sha": "abc123",
            "change_id": "c-1",
            "status": "success",
            "attrs": json.dumps(
                {"actor": "<img src=x onerror=alert(2)>", "reason": "hotfix", "probability": 0.81}
            ),
        }
        assert store.write_events(pd.DataFrame([waiver])).accepted == 1
    result = report_weekly(ReportRequest(out=tmp_path / "out"), settings)
    waived = _facts(result, "risk")["waivers"]
    assert [w["reason"] for w in waived] == ["hotfix"] and waived[0]["probability"] == 0.81
    assert "Waived gates this week: 1." in result.report.section("risk").summary
    assert result.html is not None and result.markdown is not None
    html = result.html.read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the waiver's actor, as text
    assert "\\<script\\>" in result.markdown.read_text(encoding="utf-8")
    budgets = [b["service"] for b in _facts(result, "slo")["budgets"]]
    assert evil in budgets


def test_demo_writes_the_report_and_prints_its_path(vsmml_home: Path) -> None:
    from typer.testing import CliRunner

    from vsmml.cli import app

    out = CliRunner().invoke(app, ["demo", "--days", "21", "--services", "2", "--no-train"])
    assert out.exit_code == 0, out.stdout
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.parent == vsmml_home / "reports" and path.is_file()
    assert "<h2>Recommendations</h2>" in path.read_text(encoding="utf-8")
    assert path.with_suffix(".md").is_file()
