"""GitHub webhook events (push, pull_request, reviews, workflow runs/jobs, deployments, issues,
releases) → canonical rows; the dispatch and REST paths live in `vsmml.events.connectors.github`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from vsmml.events.connectors.github_objects import (
    GitHubRules,
    Row,
    issue_rows,
    job_rows,
    login,
    pr_rows,
    review_row,
    run_rows,
)
from vsmml.events.connectors.kit import Collector, dig, text_of
from vsmml.events.connectors.source_rules import matches


def add_all(col: Collector, rows: list[Row], location: str, record: Any) -> None:
    """Add every row (each checked for its correlation keys) with the same location."""
    for row in rows:
        col.add(row, location=location, record=record)


def _repo(doc: dict[str, Any]) -> str | None:
    return text_of(dig(doc, "repository", "full_name"))


def _on_push(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    repo, ref = _repo(doc), text_of(doc.get("ref")) or ""
    branch = ref.removeprefix("refs/heads/")
    if not doc.get("commits"):
        col.skip("push (no commits: a tag, or a branch created or deleted)")
        return
    for i, commit in enumerate(doc.get("commits") or []):
        if not isinstance(commit, dict):
            col.reject(f"{location}.commits[{i}]", "commits", "must be objects", commit)
            continue
        sha = text_of(commit.get("id"))
        files = {k: len(commit.get(k) or []) for k in ("added", "removed", "modified")}
        message = text_of(commit.get("message")) or ""
        row = {
            "kind": "commit",
            "ts": commit.get("timestamp"),
            "repo": repo,
            "sha": sha,
            "service": rules.service,
            "team": rules.team,
            "event_id": f"github:push:{repo}:{sha}",
            "attrs": {
                "author": dig(commit, "author", "username") or dig(commit, "author", "name"),
                "message": message.split("\n", 1)[0][:200],
                "branch": branch,
                "pusher": dig(doc, "pusher", "name"),
                **files,
            },
        }
        col.add(row, location=f"{location}.commits[{i}]", record=commit)


def _on_pull_request(
    doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector
) -> None:
    action, pr = doc.get("action"), doc.get("pull_request") or {}
    rows = pr_rows(pr, _repo(doc), rules)
    wanted = {
        "opened": ("change.opened",),
        "reopened": ("change.opened",),
        "ready_for_review": ("change.opened",),
        "closed": ("change.merged", "change.closed"),
    }.get(str(action), ())
    if not wanted:
        col.skip(f"pull_request.{action}")
        return
    add_all(col, [r for r in rows if r["kind"] in wanted], location, doc)


def _on_review(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    if doc.get("action") != "submitted":
        col.skip(f"pull_request_review.{doc.get('action')}")
        return
    repo = _repo(doc)
    number = text_of(dig(doc, "pull_request", "number"))
    row = review_row(doc.get("review") or {}, repo, f"{repo}#{number}" if number else None)
    row["attrs"]["author"] = login(dig(doc, "pull_request", "user"))
    col.add(row, location=location, record=doc)


def _on_workflow_run(
    doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector
) -> None:
    rows = run_rows(doc.get("workflow_run") or {}, _repo(doc), rules)
    if doc.get("action") == "completed":
        rows = [r for r in rows if r["kind"] != "pipeline.started"]
    add_all(col, rows, location, doc)


def _on_workflow_job(
    doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector
) -> None:
    if doc.get("action") in ("queued", "waiting"):
        col.skip(f"workflow_job.{doc.get('action')}")  # its started_at is the queue time
        return
    rows = job_rows(doc.get("workflow_job") or {}, _repo(doc), rules)
    if doc.get("action") == "completed":
        rows = [r for r in rows if r["kind"] != "stage.started"]
    add_all(col, rows, location, doc)


def _deploy_base(doc: dict[str, Any], rules: GitHubRules) -> Row:
    """The keys of a deployment; one made by Actions names its workflow run (the pipeline)."""
    dep = doc.get("deployment") or {}
    return {
        "repo": _repo(doc),
        "sha": text_of(dep.get("sha")),
        "env": rules.env_of(dep.get("environment")),
        "deploy_id": text_of(dep.get("id")),
        "pipeline_id": text_of(dig(doc, "workflow_run", "id")),
        "service": rules.service,
        "team": rules.team,
    }


def _workflow(doc: dict[str, Any]) -> dict[str, Any]:
    run = doc.get("workflow_run")
    if not isinstance(run, dict):
        return {}
    return {"workflow": text_of(run.get("name")), "run_id": text_of(run.get("id"))}


def _on_deployment(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    dep = doc.get("deployment") or {}
    row = {
        **_deploy_base(doc, rules),
        "kind": "deploy.started",
        "ts": dep.get("created_at"),
        "status": "started",
        "event_id": f"github:deployment:{text_of(dep.get('id'))}:created",
        "attrs": {
            "environment": dep.get("environment"),
            "ref": dep.get("ref"),
            "task": dep.get("task"),
            "creator": login(dep.get("creator")),
            **_workflow(doc),
        },
    }
    col.add(row, location=location, record=doc)


def _on_deployment_status(
    doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector
) -> None:
    status = doc.get("deployment_status") or {}
    state = (text_of(status.get("state")) or "").lower()
    if state not in ("success", "failure", "error"):
        col.skip(f"deployment_status.{state or 'unknown'}")
        return
    row = {
        **_deploy_base(doc, rules),
        "kind": "deploy.finished",
        "ts": status.get("created_at") or status.get("updated_at"),
        "status": "success" if state == "success" else "failure",
        "event_id": f"github:deployment_status:{text_of(status.get('id'))}",
        "attrs": {
            "environment": dig(doc, "deployment", "environment"),
            "state": state,
            "ref": dig(doc, "deployment", "ref"),
            "deployment_created_at": dig(doc, "deployment", "created_at"),
            **_workflow(doc),
        },
    }
    col.add(row, location=location, record=doc)


def _on_issues(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    action = doc.get("action")
    rows = issue_rows(doc.get("issue") or {}, _repo(doc), rules)
    if action in ("opened", "labeled", "reopened"):
        rows = rows[:1]
    elif action == "closed":
        rows = rows[1:]
    else:
        col.skip(f"issues.{action}")
        return
    if not rows:
        col.skip("issues of a pull request" if dig(doc, "issue", "pull_request") else "issues")
        return
    add_all(col, rows, location, doc)


def _on_release(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    if doc.get("action") not in ("published", "released"):
        col.skip(f"release.{doc.get('action')}")
        return
    rel, repo = doc.get("release") or {}, _repo(doc)
    tag = text_of(rel.get("tag_name"))
    commitish = text_of(rel.get("target_commitish"))
    sha = commitish if commitish and re.fullmatch(r"[0-9a-f]{40}", commitish) else None
    ts = rel.get("published_at") or rel.get("created_at")
    attrs = {
        "tag": tag,
        "name": rel.get("name"),
        "target": commitish,
        "prerelease": rel.get("prerelease"),
        "author": login(rel.get("author")),
    }
    base: Row = {"repo": repo, "sha": sha, "ts": ts, "service": rules.service, "team": rules.team}
    rid = text_of(rel.get("id"))
    col.add(
        {
            **base,
            "kind": "artifact.published",
            "artifact_id": f"{repo}@{tag}" if tag else None,
            "status": "published",
            "event_id": f"github:release:{rid}:published",
            "attrs": attrs,
        },
        location=location,
        record=doc,
    )
    deploys = rules.release_as_deploy and not rel.get("prerelease")
    if deploys and tag and matches(rules.release_tag_pattern, tag):
        col.add(
            {
                **base,
                "kind": "deploy.finished",
                "env": "production",
                "deploy_id": f"release:{rid}",
                "artifact_id": f"{repo}@{tag}",
                "status": "success",
                "event_id": f"github:release:{rid}:deploy",
                "attrs": {**attrs, "deployed_by": "release"},
            },
            location=location,
            record=doc,
        )


Handler = Callable[[dict[str, Any], str, GitHubRules, Collector], None]
WEBHOOK_EVENTS: Final[dict[str, Handler]] = {
    "push": _on_push,
    "pull_request": _on_pull_request,
    "pull_request_review": _on_review,
    "workflow_run": _on_workflow_run,
    "workflow_job": _on_workflow_job,
    "deployment": _on_deployment,
    "deployment_status": _on_deployment_status,
    "issues": _on_issues,
    "release": _on_release,
}
