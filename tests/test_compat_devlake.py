"""vsmml.compat reproduces DevLake's DORA tables exactly (DevLake's e2e CSVs in, snapshot out)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vsmml.cli import app
from vsmml.compat import (
    change_lead_time,
    deployment_commits,
    incident_deployments,
    prev_success_deployments,
)
from vsmml.compat.devlake_frames import format_devlake_times, numbers, span_minutes, times
from vsmml.errors import DataError
from vsmml.pipeline.compat import devlake_csv_frame, read_devlake_tables

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "devlake_dora"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "devlake" / "dora"


def _read(case: str, name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / case / f"{name}.csv", dtype="str", keep_default_na=False)


def _frame(csv: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv), dtype="str", keep_default_na=False)


def assert_devlake_table(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    """Every expected column matches: times as UTC instants, everything else as DevLake's text."""
    missing = [c for c in expected.columns if c not in actual.columns]
    assert not missing, f"columns missing from the result: {missing}"
    rendered = devlake_csv_frame(actual).astype("str")
    left = rendered.sort_values(key).reset_index(drop=True)
    right = expected.sort_values(key).reset_index(drop=True)
    assert len(left) == len(right), (left[key].to_dict("list"), right[key].to_dict("list"))
    for column in expected.columns:
        if column.endswith("_date"):
            got = times(left, column, "actual")
            want = times(right, column, "expected")
            pd.testing.assert_series_equal(got, want, check_names=False, obj=column)
        else:
            got_text = left[column].fillna("").replace({"<NA>": "", "nan": ""})
            assert got_text.tolist() == right[column].tolist(), column


# --- the three DevLake e2e cases ------------------------------------------------------------


def test_deployment_commits_reproduce_devlake_e2e() -> None:
    case = "deployment_generator"
    result = deployment_commits(
        _read(case, "cicd_pipelines"),
        _read(case, "cicd_tasks"),
        _read(case, "cicd_pipeline_commits"),
        _read(case, "project_mapping"),
        project_name="project1",
    )
    assert_devlake_table(result, _read(case, "cicd_deployment_commits"), ["id"])
    assert result["started_date"].dtype == "datetime64[us, UTC]"


def test_prev_success_deployments_reproduce_devlake_e2e() -> None:
    case = "prev_success_deployment_commit"
    result = prev_success_deployments(
        _read(case, "cicd_deployment_commits_before"),
        _read(case, "project_mapping"),
        project_name="project1",
    )
    assert_devlake_table(result, _read(case, "cicd_deployment_commits_after"), ["id"])


def test_change_lead_time_reproduces_devlake_e2e() -> None:
    case = "change_lead_time"
    tables = {
        n: _read(case, n)
        for n in (
            "pull_requests",
            "pull_request_commits",
            "pull_request_comments",
            "cicd_deployment_commits",
            "commits_diffs",
            "project_mapping",
        )
    }
    result = change_lead_time(*tables.values(), project_name="project1")
    assert_devlake_table(result, _read(case, "project_pr_metrics"), ["id"])
    # every project computed when none is named: project2 maps repo3, which has no PRs
    assert change_lead_time(*tables.values()).equals(result)


def test_incident_deployments_hand_made_case() -> None:
    case = "incident_deployments"
    result = incident_deployments(
        _read(case, "incidents"),
        _read(case, "cicd_deployment_commits"),
        _read(case, "project_mapping"),
    )
    expected = _read(case, "project_incident_deployment_relationships")
    pd.testing.assert_frame_equal(result, expected)
    only_p2 = incident_deployments(
        _read(case, "incidents"),
        _read(case, "cicd_deployment_commits"),
        _read(case, "project_mapping"),
        project_name="p2",
    )
    assert only_p2.to_dict("records") == [{"id": "i5", "project_name": "p2", "deployment_id": "d5"}]


def test_incident_deployments_match_devlake_e2e_dates() -> None:
    """The created dates and scopes of DevLake's own e2e incidents give its snapshot's links."""
    incidents = _frame(
        "id,created_date,table,scope_id\n"
        "a,2022-11-13 23:37:21,repos,repo1\n"
        "b,2022-11-13 01:07:21,repos,repo1\n"
        "c,2022-11-02 08:21:09,repos,repo1\n"
        "d,2022-11-28 01:46:47,repos,repo2\n"
        "e,2022-11-16 21:34:01,repos,repo2\n"
        "f,2022-09-15 01:56:06,repos,repo3\n"
        "g,2022-09-15 01:56:16,boards,board1\n"
    )
    case = "prev_success_deployment_commit"
    result = incident_deployments(
        incidents,
        _read(case, "cicd_deployment_commits_after"),
        _read(case, "project_mapping"),
        project_name="project1",
    )
    assert dict(zip(result["id"], result["deployment_id"], strict=True)) == {
        "a": "pipeline7",
        "b": "pipeline7",
        "c": "pipeline7",
        "d": "pipeline7",
        "e": "pipeline7",
        "g": "pipeline2",
    }


# --- the CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "case", "renames", "expected", "project"),
    [
        ("deployment-commits", "deployment_generator", {}, "cicd_deployment_commits", "project1"),
        (
            "prev-deployments",
            "prev_success_deployment_commit",
            {"cicd_deployment_commits_before": "cicd_deployment_commits"},
            "cicd_deployment_commits_after",
            "project1",
        ),
        ("change-lead-time", "change_lead_time", {}, "project_pr_metrics", "project1"),
        (
            "incident-deployments",
            "incident_deployments",
            {},
            "project_incident_deployment_relationships",
            None,
        ),
    ],
)
def test_cli_writes_devlake_table(
    tmp_path: Path,
    task: str,
    case: str,
    renames: dict[str, str],
    expected: str,
    project: str | None,
) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    for path in (FIXTURES / case).glob("*.csv"):
        if path.stem == expected:
            continue
        shutil.copy(path, tables / f"{renames.get(path.stem, path.stem)}.csv")
    out = tmp_path / "out" / "result.csv"
    args = ["compat", "devlake", task, "--tables", str(tables), "--out", str(out)]
    if project is not None:
        args += ["--project", project]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype="str", keep_default_na=False)
    assert_devlake_table(written, _read(case, expected), ["id"])


def test_cli_change_lead_time_is_byte_identical_to_devlake(tmp_path: Path) -> None:
    tables = FIXTURES / "change_lead_time"
    args = ["compat", "devlake", "change-lead-time", "--tables", str(tables), "--out", "-"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    want = (tables / "project_pr_metrics.csv").read_text()
    assert result.stdout.strip() == want.strip()


def test_cli_reports_missing_table(tmp_path: Path) -> None:
    args = ["compat", "devlake", "change-lead-time", "--tables", str(tmp_path), "--out", "-"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2  # every failure exits 2
    assert "pull_requests" in result.output


def test_read_devlake_tables_optional_table_absent(tmp_path: Path) -> None:
    (tmp_path / "cicd_deployment_commits.csv").write_text("id\n1\n")
    tables = read_devlake_tables(tmp_path, ("cicd_deployment_commits",), ("project_mapping",))
    assert tables["project_mapping"] is None
    frame = tables["cicd_deployment_commits"]
    assert frame is not None
    assert frame["id"].tolist() == ["1"]


def test_fixture_copies_equal_shared_data() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared DevLake data absent at {SHARED}")
    for case in ("change_lead_time", "deployment_generator", "prev_success_deployment_commit"):
        for path in (SHARED / case).glob("*.csv"):
            assert (FIXTURES / case / path.name).read_bytes() == path.read_bytes(), path


# --- DevLake details, on tiny inline frames ---------------------------------------------------


def _utc(*values: str) -> pd.Series:
    parsed = pd.to_datetime(list(values), utc=True, format="ISO8601")
    return pd.Series(parsed).astype("datetime64[us, UTC]")


def test_span_minutes_follows_go_ceil() -> None:
    start = _utc(*["2024-01-01T00:00:00Z"] * 6)
    end = _utc(
        "2024-01-01T00:00:00Z",  # 0 s      → 0
        "2024-01-01T00:00:01Z",  # 1 s      → 1
        "2024-01-01T00:01:00Z",  # 60 s     → 1
        "2024-01-01T00:01:00.000001Z",  # 60 s + 1 µs → 2
        "2023-12-31T23:59:30Z",  # −30 s: ceil(−0.5) = −0 → 0, kept
        "2023-12-31T23:59:00Z",  # −60 s    → −1 → NULL
    )
    assert span_minutes(start, end).tolist() == [0, 1, 1, 2, 0, pd.NA]


def test_span_minutes_missing_end_is_null() -> None:
    start = _utc("2024-01-01T00:00:00Z")
    end = pd.Series([pd.NaT], dtype="datetime64[us, UTC]")
    assert span_minutes(start, end).isna().all()


def test_times_reads_devlake_styles_and_rejects_garbage() -> None:
    frame = _frame(
        "t\n2023-4-11 4:51:47\n2023-04-10T06:51:47.000+00:00\n2024-01-01T01:00:00+01:00\n\n"
    )
    parsed = times(frame, "t", "x")
    assert parsed.tolist()[:3] == [
        pd.Timestamp("2023-04-11 04:51:47", tz="UTC"),
        pd.Timestamp("2023-04-10 06:51:47", tz="UTC"),
        pd.Timestamp("2024-01-01 00:00:00", tz="UTC"),
    ]
    assert len(parsed) == 3 or parsed.iloc[3] is pd.NaT
    with pytest.raises(DataError, match=r"'t'.*row 1.*'yesterday'"):
        times(_frame("t\n2024-01-01\nyesterday\n"), "t", "x")


def _pipelines(rows: str) -> pd.DataFrame:
    head = "id,name,result,status,type,duration_sec,environment,created_date,finished_date,"
    return _frame(head + "cicd_scope_id\n" + rows)


def test_deployment_environment_inferred_from_tasks_and_duration_truncated() -> None:
    pipelines = _pipelines(
        "p1,n,SUCCESS,DONE,DEPLOYMENT,10.9,,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,s\n"
        "p2,n,FAILURE,DONE,,,,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,s\n"
        "p3,n,SUCCESS,DONE,,5,,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,s\n"
        "p4,n,ABORT,DONE,DEPLOYMENT,5,,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,s\n"
    )
    tasks = _frame(
        "pipeline_id,result,type,environment\n"
        "p1,SUCCESS,BUILD,STAGING\n"
        "p1,SKIPPED,BUILD,PRODUCTION\n"
        "p2,FAILURE,DEPLOYMENT,TESTING\n"
        "p3,SKIPPED,DEPLOYMENT,PRODUCTION\n"
    )
    commits = _frame(
        "pipeline_id,commit_sha,branch,repo_id,repo_url\n"
        "p1,a,main,r,u\np2,b,main,r,u\np3,c,main,r,u\np4,d,main,r,u\n"
    )
    result = deployment_commits(pipelines, tasks, commits)
    assert result["id"].tolist() == ["p1:u", "p2:u"]
    assert result["environment"].tolist() == ["STAGING", "TESTING"]
    # Go's time.Duration(10.9) is 10: started = finished − 10 s; no duration → no start
    assert result["started_date"].iloc[0] == pd.Timestamp("2024-01-01T00:59:50Z")
    assert pd.isna(result["started_date"].iloc[1])


def test_deployment_commits_errors_name_table_and_column() -> None:
    commits = _frame("pipeline_id,commit_sha,repo_url\n")
    tasks = _frame("pipeline_id,result,type,environment\n")
    with pytest.raises(DataError, match=r"cicd_pipelines.*'type'"):
        deployment_commits(_frame("id,result\n"), tasks, commits)
    twice = _pipelines(
        "p1,n,SUCCESS,DONE,DEPLOYMENT,1,,2024-01-01T00:00:00Z,,s\n"
        "p1,n,SUCCESS,DONE,DEPLOYMENT,1,,2024-01-01T00:00:00Z,,s\n"
    )
    with pytest.raises(DataError, match="'p1' appears more than once"):
        deployment_commits(twice, tasks, commits)
    bad_number = _pipelines("p1,n,SUCCESS,DONE,DEPLOYMENT,ten,,2024-01-01T00:00:00Z,,s\n")
    with pytest.raises(DataError, match=r"duration_sec.*'ten'"):
        deployment_commits(bad_number, tasks, commits)


def test_prev_keeps_value_of_rows_it_does_not_read_and_breaks_ties() -> None:
    rows = _frame(
        "id,result,finished_date,cicd_scope_id,repo_url,environment,"
        "prev_success_deployment_commit_id\n"
        "a,SUCCESS,2024-01-02T00:00:00Z,s,u,PRODUCTION,\n"
        "b,SUCCESS,2024-01-01T00:00:00Z,s,u,PRODUCTION,stale\n"
        "c,FAILURE,2024-01-03T00:00:00Z,s,u,PRODUCTION,kept\n"
        "d,SUCCESS,2024-01-02T00:00:00Z,s,u,PRODUCTION,\n"
    )
    result = prev_success_deployments(rows)
    assert dict(zip(result["id"], result["prev_success_deployment_commit_id"], strict=True)) == {
        "a": "b",
        "b": "",
        "c": "kept",
        "d": "a",
    }


def test_change_lead_time_needs_project_mapping_and_ignores_unfinished_deployment() -> None:
    prs = _frame(
        "id,base_repo_id,author_id,merge_commit_sha,created_date,merged_date\n"
        "pr,r,me,m,2024-01-01T00:00:00Z,2024-01-01T01:00:00Z\n"
    )
    commits = _frame("commit_sha,pull_request_id,commit_authored_date\n")
    comments = _frame("id,pull_request_id,created_date,account_id\nc1,pr,2024-01-01T00:10:00Z,me\n")
    deployments = _frame(
        "id,commit_sha,result,environment,cicd_scope_id,started_date,finished_date,"
        "prev_success_deployment_commit_id\n"
        "d0,x0,SUCCESS,PRODUCTION,s,2023-12-01T00:00:00Z,2023-12-01T00:01:00Z,\n"
        "d1,x1,SUCCESS,PRODUCTION,s,2024-01-02T00:00:00Z,,d0\n"
    )
    diffs = _frame("old_commit_sha,new_commit_sha,commit_sha\nx0,x1,m\n")
    mapping = _frame("project_name,table,row_id\nP,repos,r\nP,cicd_scopes,s\n")
    result = change_lead_time(prs, commits, comments, deployments, diffs, mapping)
    row = result.iloc[0]
    assert row["deployment_commit_id"] == ""  # found, but DevLake drops it without a finish
    assert pd.isna(row["pr_deploy_time"])
    assert row["first_review_id"] == ""  # the only comment is the author's own
    assert row["pr_cycle_time"] == 60  # no first commit: cycle = merged − created
    with pytest.raises(DataError, match="project_mapping"):
        change_lead_time(prs, commits, comments, deployments, diffs, None)  # type: ignore[arg-type]


def test_typed_inputs_pass_through() -> None:
    """Frames that already hold times and numbers (not DevLake's CSV text) are accepted."""
    frame = pd.DataFrame(
        {
            "aware": pd.to_datetime(["2024-01-01T01:00:00+01:00"], utc=True),
            "naive": pd.to_datetime(["2024-01-01T00:00:00"]),
            "n": [4.0],
        }
    )
    want = pd.Timestamp("2024-01-01T00:00:00Z")
    assert times(frame, "aware", "x").iloc[0] == want
    assert times(frame, "naive", "x").iloc[0] == want
    assert times(frame, "absent", "x").isna().all()
    assert numbers(frame, "n", "x").tolist() == [4.0]
    assert numbers(frame, "absent", "x").isna().all()
    rendered = format_devlake_times(frame, ["aware", "absent"])
    assert rendered["aware"].tolist() == ["2024-01-01T00:00:00.000+00:00"]


def test_incident_with_unmapped_scope_and_no_deployments_gives_empty_table() -> None:
    incidents = _frame("id,created_date,table,scope_id\ni,2024-01-01T00:00:00Z,repos,nowhere\n")
    deployments = _frame("cicd_deployment_id,cicd_scope_id,result,environment,finished_date\n")
    mapping = _frame("project_name,table,row_id\nP,repos,r\n")
    result = incident_deployments(incidents, deployments, mapping)
    assert list(result.columns) == ["id", "project_name", "deployment_id"]
    assert result.empty
