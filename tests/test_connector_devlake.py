"""DevLake domain tables in (DevLake's own e2e inputs), canonical events out, row by row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import ConversionError, DataError
from vsmml.events.connectors.devlake import DevLakeRules, to_events
from vsmml.events.schema import attrs_of, validate_events
from vsmml.pipeline.ingest import devlake as reader


def _events(path: Path, rules: DevLakeRules | None = None) -> pd.DataFrame:
    conv = reader.read([path], rules)
    assert conv.rejects == []
    result = validate_events(conv.events, tz="UTC")
    assert result.ok, result.messages()[:3]
    return result.events


def test_deployments_derived_like_devlakes_generator(fixtures_dir: Path) -> None:
    base = fixtures_dir / "devlake_tables" / "deployment_generator"
    got = _events(base / "input")
    expected = pd.read_csv(base / "expected" / "cicd_deployment_commits.csv")
    finished = got[got["kind"] == "deploy.finished"].set_index("deploy_id")
    started = got[got["kind"] == "deploy.started"].set_index("deploy_id")
    assert set(started.index) == set(expected["cicd_deployment_id"])
    for row in expected.itertuples():
        env = None if pd.isna(row.environment) else row.environment.lower()
        assert started.loc[row.cicd_deployment_id, "sha"] == row.commit_sha
        if pd.isna(row.finished_date):
            assert row.cicd_deployment_id not in finished.index
            continue
        hit = finished.loc[row.cicd_deployment_id]
        assert hit["ts"] == pd.Timestamp(row.finished_date)
        assert started.loc[row.cicd_deployment_id, "ts"] == pd.Timestamp(row.started_date)
        assert hit["status"] == row.result.lower()
        assert (None if pd.isna(hit["env"]) else hit["env"]) == env
        assert json.loads(hit["attrs"])["deployment_commit_id"] == row.id
    assert set(got["service"].dropna().astype(str)) == {"project1"}


def test_pipelines_and_tasks(fixtures_dir: Path) -> None:
    got = _events(fixtures_dir / "devlake_tables" / "deployment_generator" / "input")
    pipes = pd.read_csv(
        fixtures_dir / "devlake_tables/deployment_generator/input/cicd_pipelines.csv"
    )
    fin = got[got["kind"] == "pipeline.finished"].set_index("pipeline_id")
    assert len(fin) == (pipes["status"] == "DONE").sum()
    row = pipes.set_index("id").loc["gitlab:GitlabPipeline:1:485817670"]
    assert fin.loc[row.name, "ts"] == pd.Timestamp(row["finished_date"])
    assert fin.loc[row.name, "sha"] == "5b95c5aebce1eae6a1b95ecf6fbc870851455375"
    stages = got[got["kind"] == "stage.finished"]
    assert len(stages) == 12
    assert set(stages["stage"]) == {"compile", "format"}


def test_change_lead_time_inputs(fixtures_dir: Path) -> None:
    base = fixtures_dir / "devlake_tables" / "change_lead_time"
    got = _events(base)
    prs = pd.read_csv(base / "pull_requests.csv")
    opened = got[got["kind"] == "change.opened"].set_index("change_id")
    merged = got[got["kind"] == "change.merged"].set_index("change_id")
    for row in prs.itertuples():
        assert opened.loc[row.id, "ts"] == pd.Timestamp(row.created_date, tz="UTC")
        if isinstance(row.merged_date, str):
            assert merged.loc[row.id, "ts"] == pd.Timestamp(row.merged_date, tz="UTC")
            assert merged.loc[row.id, "sha"] == row.merge_commit_sha
    assert set(opened["service"].astype(str)) == {"project1"}
    comments = got[got["kind"] == "change.reviewed"]
    assert len(comments) == len(pd.read_csv(base / "pull_request_comments.csv"))
    by_author = attrs_of(comments[comments["change_id"] == "pr1"], "by_author")
    assert list(by_author) == [True, False, False]
    commits = got[got["kind"] == "commit"]
    assert commits["sha"].is_unique
    assert len(commits) == len(pd.read_csv(base / "pull_request_commits.csv"))
    deploys = got[got["kind"] == "deploy.finished"]
    shipped = deploys[deploys["sha"] == "commit5"]
    assert attrs_of(shipped, "commits").iloc[0] == ["pr_merge_commit1", "pr_merge_commit2"]


def test_issues_become_incidents_with_project_attribution(fixtures_dir: Path) -> None:
    got = _events(fixtures_dir / "devlake_tables" / "incidents")
    opened = got[got["kind"] == "incident.opened"].set_index("incident_id")
    assert len(opened) == 3
    assert opened.loc["pagerduty:Incident:1:4", "service"] == "checkout"
    assert pd.isna(opened.loc["pagerduty:Incident:1:6", "service"])
    resolved = got[got["kind"] == "incident.resolved"]
    assert list(resolved["ts"]) == [pd.Timestamp("2022-11-03T06:51:44Z")]
    team = _events(fixtures_dir / "devlake_tables" / "incidents", DevLakeRules(project_as="team"))
    assert "checkout" in set(team["team"].dropna().astype(str))


def test_work_items_commits_and_closed_prs() -> None:
    tables = {
        "issues": [
            {
                "id": "i1",
                "type": "REQUIREMENT",
                "created_date": "2024-01-01 10:00:00",
                "resolution_date": "2024-01-03T10:00:00+00:00",
                "title": "Add search",
            },
        ],
        "commits": [{"sha": "abc", "authored_date": "2024-01-01T09:00:00Z", "additions": "3"}],
        "pull_request_commits": [
            {"commit_sha": "abc", "pull_request_id": "p1", "commit_authored_date": "2024-01-01"},
        ],
        "pull_requests": [
            {
                "id": "p1",
                "created_date": "2024-01-01T11:00:00Z",
                "closed_date": "2024-01-02T11:00:00Z",
            }
        ],
    }
    got = validate_events(to_events(tables).events, tz="UTC").events
    assert sorted(got["kind"].astype(str)) == [
        "change.closed",
        "change.opened",
        "commit",
        "work.created",
        "work.done",
    ]
    assert got.loc[got["kind"] == "work.created", "ts"].iloc[0] == pd.Timestamp("2024-01-01T10:00Z")


def test_bad_rows_are_rejected_by_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "cicd_pipelines.csv").write_text(
        "id,result,status,created_date,finished_date,duration_sec\n"
        "p1,SUCCESS,DONE,2024-01-01T00:00:00Z,2024-01-01T00:10:00Z,600\n"
        "p2,SUCCESS,DONE,not a date,,\n"
        "p3,SUCCESS,DONE,1990-01-01T00:00:00Z,,\n"
        ",SUCCESS,DONE,2024-01-01T00:00:00Z,,\n"
        "p5,SUCCESS,DONE,2024-01-01T00:00:00Z,,ten\n"
        "p6,SUCCESS,DONE,,,\n"
    )
    (tmp_path / "unrelated.csv").write_text("a\n1\n")
    conv = reader.read([tmp_path])
    assert list(conv.events["pipeline_id"].unique()) == ["p1"]
    found = {(r.location, r.field) for r in conv.rejects}
    assert found == {
        ("cicd_pipelines.csv:3", "created_date"),
        ("cicd_pipelines.csv:4", "created_date"),
        ("cicd_pipelines.csv:5", "id"),
        ("cicd_pipelines.csv:6", "duration_sec"),
        ("cicd_pipelines.csv:7", "created_date"),
    }


def test_input_shape_errors() -> None:
    with pytest.raises(ConversionError):
        to_events([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ConversionError):
        to_events({"cicd_pipelines": 3})
    frame = pd.DataFrame({"id": ["x"], "created_date": [np.nan]})
    assert to_events({"cicd_pipelines": frame}).rejects[0].field == "created_date"


def test_reader_needs_tables(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("a\n1\n")
    with pytest.raises(DataError):
        reader.read([tmp_path])
    with pytest.raises(DataError):
        reader.read([tmp_path / "missing"])
