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
