"""GitHub connector: documented webhook fixtures, DevLake's real REST payloads, and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from connector_expect import assert_expected
from vsmml.events.connectors import github
from vsmml.events.schema import validate_events

FIXTURES = Path(__file__).parents[1] / "data/fixtures"
WEBHOOKS = sorted((FIXTURES / "github").glob("*.json"))
DEVLAKE_RULES = github.GitHubRules(
    deployment_pattern="CodeQL|deploywindows", production_pattern="CodeQL|deploywindows"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_three_fixtures_per_webhook_event() -> None:
    events = [json.loads(p.read_text())["event"] for p in WEBHOOKS]
    assert {e: events.count(e) for e in github.WEBHOOK_EVENTS} == dict.fromkeys(
        github.WEBHOOK_EVENTS, 3
    )


@pytest.mark.parametrize("path", WEBHOOKS, ids=lambda p: p.stem)
def test_webhook_fixture_gives_expected_rows(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert_expected(
        github.to_events(path.read_text(), location=path.name), doc["_expected"], path.name
    )


@pytest.mark.parametrize("path", WEBHOOKS[:9], ids=lambda p: p.stem)
def test_http_delivery_and_shape_inference_agree(path: Path) -> None:
    doc = json.loads(path.read_text())
    body = json.dumps(doc["payload"])
    via_header = github.from_http({"X-GitHub-Event": doc["event"]}, body).events
    inferred = github.to_events(body).events
    pd.testing.assert_frame_equal(via_header, inferred)


def test_devlake_runs_and_jobs_match_devlake_snapshots() -> None:
    base = FIXTURES / "devlake_github"
    raw = _rows(base / "_raw_github_api_runs.csv") + _rows(base / "_raw_github_api_jobs.csv")
    conv = github.to_events(raw, DEVLAKE_RULES, location="devlake")
    assert conv.rejects == []
    ev = validate_events(conv.events).events
    ours = {"success": "SUCCESS", "failure": "FAILURE", "cancelled": "FAILURE"}

    pipes = pd.read_csv(base / "cicd_pipelines.csv", dtype=str)
    pipes["rid"] = pipes["id"].str.rsplit(":", n=1).str[-1]
    finished = ev[ev["kind"] == "pipeline.finished"].set_index("pipeline_id")
    assert set(ev.loc[ev["kind"] == "pipeline.started", "pipeline_id"]) == set(pipes["rid"])
    done = pipes[pipes["status"] == "DONE"].set_index("rid")
    assert set(finished.index) == set(done.index)
    got = finished["status"].astype(str).map(ours)
    assert (got.loc[done.index] == done["result"]).all()
    seconds = finished["attrs"].map(lambda a: json.loads(a)["duration_s"])
    assert (seconds.loc[done.index].astype(int) == done["duration_sec"].astype(int)).all()

    tasks = pd.read_csv(base / "cicd_tasks.csv", dtype=str)
    tasks["jid"] = tasks["id"].str.rsplit(":", n=1).str[-1]
    stages = ev[ev["kind"] == "stage.finished"].copy()
    stages["jid"] = stages["attrs"].map(lambda a: json.loads(a)["job_id"])
    stages = stages.set_index("jid")
    done_tasks = tasks[tasks["status"] == "DONE"].set_index("jid")
    assert set(stages.index) == set(done_tasks.index)
    assert (
        stages["status"].astype(str).map(ours).loc[done_tasks.index] == done_tasks["result"]
    ).all()
    assert (stages["stage"].loc[done_tasks.index] == done_tasks["name"]).all()

    # deployment commits: DevLake's deployment pipelines (type DEPLOYMENT, SUCCESS/FAILURE) with
    # their commit. DevLake counts a cancelled deployment as FAILURE; vsmml does not count it.
    commits = pd.read_csv(base / "cicd_pipeline_commits.csv", dtype=str)
    commits["rid"] = commits["pipeline_id"].str.rsplit(":", n=1).str[-1]
    deploys = pipes[(pipes["type"] == "DEPLOYMENT") & pipes["result"].notna()]
    deploys = deploys[deploys["original_result"] != "cancelled"].merge(commits, on="rid")
    want = set(zip(deploys["rid"], deploys["commit_sha"], deploys["result"], strict=True))
    ours_dep = ev[(ev["kind"] == "deploy.finished") & ev["deploy_id"].str.startswith("run:")]
    got_dep = {
        (d.removeprefix("run:"), s, ours[str(st)])
        for d, s, st in zip(ours_dep["deploy_id"], ours_dep["sha"], ours_dep["status"], strict=True)
    }
    assert got_dep == want
    assert set(ours_dep["env"].astype(str)) == {"production"}


def _shared_rows(shared: Path, table: str) -> list[dict[str, str]]:
    return _rows(shared / "devlake/github/raw_tables" / f"_raw_github_api_{table}.csv")


def test_devlake_pull_requests_reviews_commits_and_issues(shared_data: Path) -> None:
    raw: list[Any] = []
    for table in (
        "pull_requests",
        "pull_request_commits",
        "pull_request_reviews",
        "comments",
        "issues",
    ):
        raw.extend(_shared_rows(shared_data, table))
    conv = github.to_events(raw)
    assert conv.rejects == []
    result = validate_events(conv.events)
    assert result.ok, result.messages()[:3]
    ev = result.events
    snap = pd.read_csv(shared_data / "devlake/github/snapshot_tables/pull_requests.csv", dtype=str)
    merged = ev[ev["kind"] == "change.merged"]
    numbers = set(merged["change_id"].str.split("#").str[-1])
    snap_merged = snap[snap["merged_date"].notna()]
    assert numbers <= set(snap_merged["pull_request_key"])
    commits = ev[ev["kind"] == "commit"]
    assert commits["change_id"].str.startswith("panjf2000/ants#").all()
    assert len(ev[ev["kind"] == "change.reviewed"]) > 30


def test_ignored_endpoints_and_unknown_objects(shared_data: Path) -> None:
    conv = github.to_events(
        _shared_rows(shared_data, "accounts") + _shared_rows(shared_data, "events")
    )
    assert conv.events.empty and conv.rejects == []
    conv = github.to_events({"hello": "world"}, location="odd.json")
    assert conv.rejects[0].field == "payload"
    assert "hello" in conv.rejects[0].reason


def test_unknown_event_header_and_wrong_content_type() -> None:
    conv = github.from_http({"X-GitHub-Event": "no_such_event"}, "{}")
    assert conv.rejects[0].field == "X-GitHub-Event"
    star = github.from_http({"X-GitHub-Event": "star"}, "{}")
    assert (star.rejects, star.skipped) == ([], {"star": 1})
    ping = github.from_http({"X-GitHub-Event": "ping"}, '{"zen": "x"}')
    assert (ping.rejects, ping.skipped) == ([], {"ping": 1})
    conv = github.from_http({"Content-Type": "application/x-www-form-urlencoded"}, "payload=%7B%7D")
    assert conv.rejects[0].field == "content-type"


def test_missing_correlation_key_is_rejected() -> None:
    doc = json.loads((FIXTURES / "github/workflow_run_2.json").read_text())
    del doc["payload"]["workflow_run"]["id"]
    conv = github.to_events(doc, location="run.json")
    assert conv.events.empty
    assert {r.field for r in conv.rejects} == {"pipeline_id"}
    assert all(r.location == "run.json" for r in conv.rejects)


def test_rules_move_deployments_and_incidents() -> None:
    doc = json.loads((FIXTURES / "github/workflow_run_3.json").read_text())
    staging = github.GitHubRules(production_pattern="^prod-only$")
    frame = github.to_frame(doc, staging)
    assert list(frame.loc[frame["kind"] == "deploy.finished", "env"].astype(str)) == ["other"]
    none = github.GitHubRules(deployment_pattern=None)
    assert "deploy.finished" not in set(github.to_frame(doc, none)["kind"])
    issue = json.loads((FIXTURES / "github/issues_3.json").read_text())
    bugs = github.GitHubRules(incident_labels=("bug",))
    assert list(github.to_frame(issue, bugs)["kind"]) == ["incident.opened"]


def test_envelope_with_headers_and_body() -> None:
    doc = json.loads((FIXTURES / "github/push_2.json").read_text())
    wrapped = {"headers": {"X-GitHub-Event": "push"}, "body": json.dumps(doc["payload"])}
    assert len(github.to_frame(wrapped)) == 2
    assert github.to_events({"headers": {}, "body": "{oops"}).rejects[0].field == "body"
