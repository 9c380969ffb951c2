"""GitHub webhooks as GitHub sends them (octokit/webhooks' recorded deliveries): every event the
connector claims, with the `X-GitHub-Event` header and typed by shape alone, gives the same
events; every other delivery is counted as skipped by type, never lost and never quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vsmml.events.connectors import github
from vsmml.events.connectors.github_shapes import event_of_shape
from vsmml.events.schema import validate_events

OCTOKIT = Path(__file__).parents[1] / "data/fixtures/github_octokit"
FILES = sorted(OCTOKIT.glob("*.json"))

# file → (kinds of the events it gives, skipped counts)
EXPECTED: dict[str, tuple[list[str], dict[str, int]]] = {
    "check_run.completed": ([], {"check_run": 1}),
    "create.payload": ([], {"create": 1}),
    "deployment.gh-pages": (["deploy.started"], {}),
    "deployment.payload": (["deploy.started"], {}),
    "deployment_status.gh-pages": ([], {"deployment_status.in_progress": 1}),
    "deployment_status.payload": (["deploy.finished"], {}),
    "issue_comment.created": ([], {"issue_comment": 1}),
    "issues.edited": ([], {"issues.edited": 1}),
    "issues.labeled": (["work.created"], {}),
    "issues.opened": (["work.created"], {}),
    "ping.payload": ([], {"ping": 1}),
    "pull_request.closed": (["change.closed"], {}),
    "pull_request.labeled": ([], {"pull_request.labeled": 1}),
    "pull_request.opened": (["change.opened"], {}),
    "pull_request_review.dismissed": ([], {"pull_request_review.dismissed": 1}),
    "pull_request_review.submitted": (["change.reviewed"], {}),
    "push.payload": ([], {"push (no commits: a tag, or a branch created or deleted)": 1}),
    "push.with-new-branch": (["commit"], {}),
    "release.prereleased": ([], {"release.prereleased": 1}),
    "release.published": (["artifact.published", "deploy.finished"], {}),
    "star.created": ([], {"star": 1}),
    "status.payload": ([], {"status": 1}),
    "workflow_job.completed.success.with-organization": (["stage.finished"], {}),
    "workflow_job.queued.with-deployment": ([], {"workflow_job.queued": 1}),
    "workflow_run.completed": (["pipeline.finished"], {}),
    "workflow_run.requested": (["pipeline.started"], {}),
}


def _event(path: Path) -> str:
    return path.name.split(".", 1)[0]


def test_the_fixtures_cover_every_converted_event() -> None:
    assert {p.name.removesuffix(".json") for p in FILES} == set(EXPECTED)
    converted = {_event(p) for p in FILES if EXPECTED[p.name.removesuffix(".json")][0]}
    assert converted == set(github.WEBHOOK_EVENTS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_with_and_without_the_header(path: Path) -> None:
    body = path.read_text()
    kinds, skipped = EXPECTED[path.stem]
    assert event_of_shape(json.loads(body)) == _event(path)
    with_header = github.from_http({"X-GitHub-Event": _event(path)}, body, location=path.name)
    by_shape = github.to_events(body, location=path.name)
    for conv in (with_header, by_shape):
        assert conv.rejects == [], [r.message() for r in conv.rejects]
        assert sorted(conv.events["kind"]) == kinds
        assert conv.skipped == skipped
        assert [loc.split(".json")[0] + ".json" for loc in conv.locations or []] == [
            path.name
        ] * len(kinds)
        assert validate_events(conv.events).ok
    pd.testing.assert_frame_equal(with_header.events, by_shape.events)


def test_an_actions_deployment_is_a_deployment_linked_to_its_run() -> None:
    ev = github.to_frame((OCTOKIT / "deployment.gh-pages.json").read_text())
    row = ev.iloc[0]
    assert (row["kind"], row["deploy_id"], row["pipeline_id"]) == (
        "deploy.started",
        "145988746",
        "289782451",
    )
    assert row["sha"] == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert row["ts"] == pd.Timestamp("2022-01-03T01:28:30Z")
    assert json.loads(row["attrs"])["workflow"] == "pages build and deployment"


def test_a_status_is_not_read_as_a_commit() -> None:
    conv = github.to_events((OCTOKIT / "status.payload.json").read_text())
    assert conv.events.empty and conv.rejects == [] and conv.skipped == {"status": 1}


def test_a_hook_subscribed_to_everything_fills_no_quarantine() -> None:
    """One batch of every delivery: each record is converted or counted as skipped."""
    located = [(p.name, p.read_text()) for p in FILES]
    conv = github.to_events(located)
    assert conv.rejects == []
    converted = {loc.split(".json")[0] for loc in conv.locations or []}
    assert len(converted) + sum(conv.skipped.values()) == len(FILES)
