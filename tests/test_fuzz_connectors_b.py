"""Fuzz the Jenkins, PagerDuty, DevLake, git and catalogue converters: nothing but VsmmlError."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsmml.errors import VsmmlError
from vsmml.events.catalog import parse_catalog
from vsmml.events.connectors import devlake, git, jenkins, pagerduty
from vsmml.events.schema import validate_events

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2024-01-01T00:00:00Z", "2024-1-1 3:04:05", "SUCCESS", "DONE", "resolved"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)

GOOD_BUILD = {"number": 3, "timestamp": 1_700_000_000_000, "duration": 1000, "result": "SUCCESS",
              "url": "https://ci/job/a/3/"}  # fmt: skip
GOOD_INCIDENT = {"id": "Q1", "created_at": "2024-01-01T00:00:00Z", "status": "triggered"}
GOOD_COMMIT = {"sha": "abcd1234", "parents": [], "author_time": 1_700_000_000, "message": "m"}
BUILD_KEYS = ["number", "timestamp", "duration", "result", "url", "building", "actions", "type",
              "data", "job", "stages", "startTimeMillis", "allBuilds"]  # fmt: skip
INCIDENT_KEYS = ["id", "created_at", "status", "resolved_at", "service", "event", "incidents",
                 "incident", "teams", "assignments", "last_status_change_at"]  # fmt: skip


def _mutate(base: dict[str, Any], keys: list[str], data: st.DataObject) -> Any:
    record = dict(base)
    for key in data.draw(st.lists(st.sampled_from(keys), max_size=4)):
        if data.draw(st.booleans()):
            record.pop(key, None)
        else:
            record[key] = data.draw(json_values)
    if data.draw(st.booleans()):
        text = json.dumps(record, default=str)
        return text[: data.draw(st.integers(min_value=0, max_value=len(text)))]
    return record


def _check(conversion: Any, good: int) -> None:
    """The good records' events are all there, and the frame is something validation accepts."""
    frame = conversion.events
    assert len(frame) >= good
    validate_events(frame, tz="UTC")


@FUZZ
@given(st.data())
def test_jenkins_never_raises_and_keeps_good_records(data: st.DataObject) -> None:
    junk = data.draw(st.lists(st.one_of(json_values, st.builds(lambda: None)), max_size=4))
    mutated = [_mutate(GOOD_BUILD, BUILD_KEYS, data) for _ in range(3)]
    _check(jenkins.to_events([GOOD_BUILD, *junk, *mutated]), 2)


@FUZZ
@given(st.data())
def test_pagerduty_never_raises_and_keeps_good_records(data: st.DataObject) -> None:
    junk = data.draw(st.lists(json_values, max_size=4))
    mutated = [_mutate(GOOD_INCIDENT, INCIDENT_KEYS, data) for _ in range(3)]
    webhook = {"event": _mutate({"event_type": "incident.resolved", "occurred_at":
                                 "2024-01-02T00:00:00Z", "data": GOOD_INCIDENT},
                                ["event_type", "occurred_at", "data", "id"], data)}  # fmt: skip
    _check(pagerduty.to_events([GOOD_INCIDENT, *junk, *mutated, webhook]), 1)


TABLES = ["cicd_pipelines", "cicd_tasks", "cicd_deployment_commits", "pull_requests", "commits",
          "pull_request_commits", "pull_request_comments", "incidents", "issues", "commits_diffs",
          "project_mapping", "repos", "cicd_pipeline_commits", "board_issues"]  # fmt: skip
COLUMNS = ["id", "created_date", "finished_date", "started_date", "result", "status", "type",
           "duration_sec", "pipeline_id", "name", "commit_sha", "sha", "merged_date",
           "authored_date", "resolution_date", "environment", "pull_request_id", "table",
           "row_id", "project_name", "new_commit_sha", "commit_authored_date"]  # fmt: skip


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(TABLES),
        st.lists(st.dictionaries(st.sampled_from(COLUMNS), scalars, max_size=8), max_size=4),
        max_size=5,
    ),
    st.booleans(),
)
def test_devlake_never_raises(tables: dict[str, list[dict[str, Any]]], as_frames: bool) -> None:
    raw: dict[str, Any] = {k: pd.DataFrame(v) if as_frames else v for k, v in tables.items()}
    raw["incidents"] = [*tables.get("incidents", []),
                        {"id": "i", "created_date": "2024-01-01 00:00:00"}]  # fmt: skip
    _check(devlake.to_events(raw), 1)


@FUZZ
@given(st.data())
def test_git_never_raises(data: st.DataObject) -> None:
    keys = ["sha", "parents", "author_time", "commit_time", "message", "author_name"]
    commits = [GOOD_COMMIT, *[_mutate(GOOD_COMMIT, keys, data) for _ in range(4)]]
    history = {"repo": data.draw(json_values), "commits": commits,
               "tags": data.draw(st.lists(json_values, max_size=3)),
               "metrics": data.draw(json_values),
               "bug_inducing": data.draw(json_values)}  # fmt: skip
    _check(git.to_events(history), 1)


@FUZZ
@given(st.one_of(st.text(max_size=200), json_values.map(lambda v: json.dumps(v, default=str))))
def test_catalog_raises_only_schema_errors(text: str) -> None:
    with contextlib.suppress(VsmmlError):
        parse_catalog(text)
