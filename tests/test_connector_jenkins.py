"""Jenkins connector: DevLake's API payloads in, events out, checked against its snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vsmml.events.connectors.jenkins import JenkinsRules, to_events
from vsmml.events.connectors.kit import TimeBounds
from vsmml.events.schema import attrs_of, validate_events
from vsmml.pipeline.ingest import jenkins as reader


@pytest.fixture(scope="module")
def events(fixtures_dir: Path) -> pd.DataFrame:
    conv = reader.read([fixtures_dir / "jenkins" / "raw_tables"])
    assert conv.rejects == []
    result = validate_events(conv.events)
    assert result.ok, result.messages()[:3]
    return result.events


def _build(**overrides: object) -> dict[str, object]:
    build: dict[str, object] = {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "number": 7,
        "result": "SUCCESS",
        "building": False,
        "timestamp": 1711277551963,
        "duration": 30415,
        "url": "https://ci.example/job/shop/job/checkout/job/main/7/",
        "actions": [
            {
                "lastBuiltRevision": {"SHA1": "c83ae020", "branch": [{"name": "main"}]},
                "remoteUrls": ["git@github.com:acme/checkout.git"],
            }
        ],
    }
    build.update(overrides)
    return build


def test_build_becomes_started_and_finished_rows() -> None:
    conv = to_events([_build()])
    got = validate_events(conv.events).events
    assert list(got["kind"]) == ["pipeline.started", "pipeline.finished"]
    assert list(got["event_id"]) == [
        "jenkins:shop/checkout/main#7:started",
        "jenkins:shop/checkout/main#7:finished",
    ]
    assert list(got["ts"]) == [
        pd.Timestamp("2024-03-24T10:52:31.963Z"),
        pd.Timestamp("2024-03-24T10:53:02.378Z"),
    ]
    assert list(got["status"].astype(str)) == ["started", "success"]
    assert set(got["repo"].astype(str)) == {"acme/checkout"}
    assert set(got["sha"]) == {"c83ae020"}
    assert attrs_of(got, "duration_s").iloc[1] == pytest.approx(30.415)
    assert attrs_of(got, "branch").iloc[0] == "main"


def test_running_build_has_no_finish_and_aborted_is_cancelled() -> None:
    running = to_events([_build(building=True, result=None)]).events
    assert list(running["kind"]) == ["pipeline.started"]
    aborted = to_events([_build(result="ABORTED")]).events
    assert aborted["status"].iloc[1] == "cancelled"


def test_deploy_rules_mark_jobs_and_stages() -> None:
    job = _build(url="https://ci.example/job/deploy-prod/3/")
    kinds = list(to_events([job]).events["kind"])
    assert kinds.count("deploy.finished") == 1
    envs = to_events([job]).events.dropna(subset=["env"])["env"]
    assert set(envs) == {"production"}
    none = to_events([job], JenkinsRules(deploy_pattern=None)).events
    assert "deploy.finished" not in set(none["kind"])
    stage = {
        "type": "stage",
        "build": "shop/checkout#4",
        "data": {
            "id": "31",
            "name": "Deploy staging",
            "status": "SUCCESS",
            "startTimeMillis": 1711277320947,
            "durationMillis": 1000,
        },
    }
    rows = to_events([stage]).events
    assert list(rows["kind"]) == [
        "stage.started",
        "stage.finished",
        "deploy.started",
        "deploy.finished",
    ]
    assert rows["env"].iloc[3] == "staging"
    assert rows["deploy_id"].iloc[3] == "shop/checkout#4:31"


def test_wfapi_run_and_job_listing_expand() -> None:
    run = {
        "id": "2",
        "_links": {"self": {"href": "/job/shop/job/api/2/wfapi/describe"}},
        "stages": [
            {
                "id": "6",
                "name": "build",
                "status": "SUCCESS",
                "startTimeMillis": 1711277302838,
                "durationMillis": 2299,
            },
            {
                "id": "9",
                "name": "test",
                "status": "IN_PROGRESS",
                "startTimeMillis": 1711277305172,
                "durationMillis": 10,
            },
        ],
    }
    rows = to_events([run]).events
    assert list(rows["kind"]) == ["stage.started", "stage.finished", "stage.started"]
    assert set(rows["pipeline_id"]) == {"shop/api#2"}
    listing = {"fullName": "shop/api", "allBuilds": [_build(number=1), _build(number=2)]}
    built = to_events([("job.json", listing)]).events
    assert set(built["pipeline_id"]) == {"shop/api#1", "shop/api#2"}


def test_bad_records_are_rejected_with_location_and_field() -> None:
    good = _build()
    raw = [
        ("builds.jsonl:1", json.dumps(good)),
        ("builds.jsonl:2", json.dumps(good)[:40]),
        ("builds.jsonl:3", _build(number=None)),
        ("builds.jsonl:4", _build(timestamp=315532800000)),
        ("builds.jsonl:5", _build(timestamp="yesterday")),
        ("builds.jsonl:6", {"type": "stage", "data": {"name": "x", "startTimeMillis": 1}}),
        ("builds.jsonl:7", [1, 2]),
        ("builds.jsonl:8", _build(duration=-5)),
    ]
    conv = to_events(raw, JenkinsRules(bounds=TimeBounds(now=pd.Timestamp("2025-01-01", tz="UTC"))))
    assert len(conv.events) == 2
    by_loc = {r.location: r for r in conv.rejects}
    assert set(by_loc) == {f"builds.jsonl:{i}" for i in range(2, 9)}
    assert "not valid JSON" in by_loc["builds.jsonl:2"].reason
    assert by_loc["builds.jsonl:3"].field == "number"
    assert by_loc["builds.jsonl:4"].field == "timestamp"
    assert "absurd" in by_loc["builds.jsonl:4"].reason
    assert by_loc["builds.jsonl:5"].field == "timestamp"
    assert by_loc["builds.jsonl:6"].field == "build"
    assert by_loc["builds.jsonl:8"].field == "duration"


def test_pipelines_match_devlake_snapshot(events: pd.DataFrame, fixtures_dir: Path) -> None:
    snap = pd.read_csv(fixtures_dir / "jenkins/snapshot_tables/cicd_pipelines_multibranch.csv")
    finished = events[events["kind"] == "pipeline.finished"].set_index("pipeline_id")
    started = events[events["kind"] == "pipeline.started"].set_index("pipeline_id")
    for row in snap.itertuples():
        assert row.name in finished.index, row.name
        expected_status = {"SUCCESS": "success", "FAILURE": "failure", "ABORTED": "cancelled"}
        assert finished.loc[row.name, "status"] == expected_status[row.original_result]
        attrs = json.loads(finished.loc[row.name, "attrs"])
        assert attrs["duration_s"] == pytest.approx(row.duration_sec)
        created = pd.Timestamp(row.created_date)
        assert started.loc[row.name, "ts"].floor("s") == created


def test_pipeline_commits_match_devlake_snapshot(events: pd.DataFrame, fixtures_dir: Path) -> None:
    snap = pd.read_csv(
        fixtures_dir / "jenkins/snapshot_tables/cicd_pipeline_commits_multibranch.csv"
    )
    started = events[events["kind"] == "pipeline.started"].set_index("pipeline_id")
    for row in snap.itertuples():
        pid = row.pipeline_id.removeprefix("jenkins:JenkinsBuild:1:")
        assert started.loc[pid, "sha"] == row.commit_sha


def test_stages_match_devlake_snapshot(events: pd.DataFrame, fixtures_dir: Path) -> None:
    snap = pd.read_csv(
        fixtures_dir / "jenkins/snapshot_tables/_tool_jenkins_stages_multibranch.csv"
    )
    stages = events[events["kind"] == "stage.started"]
    ours = {
        (p, s): ts
        for p, s, ts in zip(stages["pipeline_id"], stages["stage"], stages["ts"], strict=True)
    }
    assert len(snap) == 65
    for row in snap.itertuples():
        ts = ours[(row.build_name, row.name)]
        assert ts == pd.Timestamp(row.start_time_millis, unit="ms", tz="UTC")
    done = events[events["kind"] == "stage.finished"]
    durations = attrs_of(done, "duration_s") * 1000
    assert sorted(durations.round().astype(int)) == sorted(snap["duration_millis"])


def test_reader_rejects_csv_without_data_column(tmp_path: Path) -> None:
    path = tmp_path / "_raw_jenkins_api_builds.csv"
    path.write_text("id,name\n1,x\n")
    conv = reader.read([path])
    assert len(conv.events) == 0
    assert conv.rejects[0].field == "file"


def _read(path: Path) -> tuple[pd.DataFrame, dict[str, int], list[str]]:
    conv = reader.read([path])
    assert conv.rejects == [], [r.message() for r in conv.rejects]
    result = validate_events(conv.events)
    assert result.ok, result.messages()[:3]
    return result.events, conv.skipped, conv.locations or []


def test_wfapi_runs_give_the_run_itself_and_its_stages(fixtures_dir: Path) -> None:
    """`wfapi/runs` (documented sample): each run's status and times, not only its stages."""
    ev, skipped, _ = _read(fixtures_dir / "jenkins/wfapi/runs.json")
    runs = ev[ev["kind"].astype(str).str.startswith("pipeline.")]
    assert sorted(zip(runs["pipeline_id"], runs["kind"].astype(str), strict=True)) == [
        ("Test Workflow#15", "pipeline.finished"),
        ("Test Workflow#15", "pipeline.started"),
        ("Test Workflow#16", "pipeline.started"),  # PAUSED_PENDING_INPUT: not finished
    ]
    done = runs[runs["kind"] == "pipeline.finished"].iloc[0]
    assert done["status"] == "success"
    assert done["ts"] == pd.Timestamp(1413459937070, unit="ms", tz="UTC")
    assert json.loads(done["attrs"])["duration_s"] == 26.781
    stages = ev[ev["kind"] == "stage.finished"]
    assert len(ev[ev["kind"] == "stage.started"]) == 6 and len(stages) == 5
    deploys = ev[ev["kind"].astype(str).str.startswith("deploy.")]
    assert sorted(deploys["deploy_id"].unique()) == ["Test Workflow#15:10", "Test Workflow#16:10"]
    assert skipped == {}


def test_wfapi_describe_and_stage_nodes_dedupe_with_runs(fixtures_dir: Path) -> None:
    runs, _, _ = _read(fixtures_dir / "jenkins/wfapi/runs.json")
    one, _, _ = _read(fixtures_dir / "jenkins/wfapi/describe.json")
    assert set(one["event_id"]) <= set(runs["event_id"])
    assert "jenkins:Test Workflow#16:started" in set(one["event_id"])
    node, _, _ = _read(fixtures_dir / "jenkins/wfapi/node_8.json")
    assert list(node["kind"].astype(str)) == ["stage.started", "stage.finished"]
    assert (node["pipeline_id"].iloc[0], node["status"].iloc[1]) == ("Test Workflow#17", "failure")
    _, skipped, _ = _read(fixtures_dir / "jenkins/wfapi/job.json")
    assert skipped == {"job (a listing without builds)": 1}


def test_a_build_is_linked_to_the_change_it_built(fixtures_dir: Path) -> None:
    """`changeSets[].items[].commitId`: the build's sha is the checkout of its change, not the
    pipeline library's; a freestyle build without git data takes its newest change-set commit."""
    ev, _, _ = _read(fixtures_dir / "jenkins/api/pipeline_build.json")
    assert set(ev["sha"]) == {"e3b9a6f0c4d2e1f7a8b5c6d9e0f1a2b3c4d5e6f7"}
    assert set(ev["repo"].astype(str)) == {"acme/checkout"}
    assert set(ev["pipeline_id"]) == {"shop/checkout/main#42"}
    attrs = json.loads(ev["attrs"].iloc[0])
    assert attrs["commits"] == [
        "a41f0c9e2b7d85316e4f0a9b8c7d6e5f4a3b2c1d",
        "e3b9a6f0c4d2e1f7a8b5c6d9e0f1a2b3c4d5e6f7",
    ]
    assert attrs["branch"] == "main"
    free, _, _ = _read(fixtures_dir / "jenkins/api/freestyle_build.json")
    assert set(free["sha"]) == {"0b1c2d3e4f5a69788796a5b4c3d2e1f0a9b8c7d6"}
    prod = free[free["kind"] == "deploy.finished"]
    assert list(zip(prod["env"], prod["status"], strict=True)) == [("production", "failure")]


def test_builds_listed_by_number_and_url_are_references_not_errors(fixtures_dir: Path) -> None:
    ev, skipped, _ = _read(fixtures_dir / "jenkins/api/job.json")
    assert ev.empty
    assert skipped == {"build reference (number and url only)": 2}
