"""GitHub REST objects (workflow runs, jobs, pull requests, commits, reviews, issues) → rows.

Webhooks embed the same objects (`workflow_run`, `workflow_job`, `pull_request`, `issue`), so the
webhook and REST paths of `vsmml.events.connectors.github` share these builders. Each builder
returns the rows it derives; the caller adds them to a `Collector` (which checks the keys).
"""

from __future__ import annotations

import re
from typing import Any, Final

import pandas as pd
from pydantic import Field, field_validator

from vsmml.events.connectors.kit import dig, stable_id, text_of
from vsmml.events.connectors.source_rules import SourceRules, check_regex, matches

SOURCE: Final = "github"
_DONE: Final = frozenset(
    {"completed", "success", "failure", "cancelled", "timed_out", "startup_failure"}
)
_CONCLUSION: Final = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "cancelled",
}
Row = dict[str, Any]


class GitHubRules(SourceRules):
    """Which GitHub workflows, jobs and releases count as deployments, and where they deploy."""

    deployment_pattern: str | None = Field(
        default=r"(?i)deploy",
        description="Regex (search) on a workflow run's or job's name marking a deployment.",
    )
    production_pattern: str | None = Field(
        default=None,
        description="Regex (search) on the workflow/job name or branch marking a production "
        "deployment; None: every deployment counts as production (DevLake's default).",
    )
    release_tag_pattern: str = Field(
        default=r"^v?\d+(\.\d+)*([-+].*)?$",
        description="Regex (match) on a release tag that counts as a release.",
    )
    release_as_deploy: bool = Field(
        default=True, description="A published release matching the tag pattern is a deploy."
    )

    @field_validator("deployment_pattern", "production_pattern", "release_tag_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    def deploy_env(self, *texts: Any) -> str:
        """The environment of a deployment run/job named by `texts` (name, branch)."""
        if self.production_pattern is None or matches(self.production_pattern, *texts):
            return "production"
        return "other"


def login(obj: Any) -> str | None:
    """The login of a user object."""
    return text_of(dig(obj, "login"))


def repo_from_url(url: Any) -> str | None:
    """`owner/name` from an api.github.com or github.com URL."""
    if not isinstance(url, str):
        return None
    m = re.search(r"github\.com/(?:repos/)?([^/]+/[^/?#]+)", url)
    return m.group(1) if m else None


def _seconds(start: Any, end: Any) -> float | None:
    try:
        a, b = pd.Timestamp(start), pd.Timestamp(end)
    except (ValueError, TypeError):
        return None
    if pd.isna(a) or pd.isna(b) or a.tzinfo is None or b.tzinfo is None:
        return None
    return float((b - a).total_seconds())


def run_rows(run: dict[str, Any], repo: str | None, rules: GitHubRules) -> list[Row]:
    """A workflow run → pipeline.started, pipeline.finished and (if a deploy) deploy.finished."""
    rid = text_of(run.get("id"))
    name = text_of(run.get("name"))
    branch = text_of(run.get("head_branch"))
    status = (text_of(run.get("status")) or "").lower()
    conclusion = (text_of(run.get("conclusion")) or "").lower()
    attempt = run.get("run_attempt") or 1
    started = run.get("run_started_at") or run.get("created_at")
    prs = run.get("pull_requests") or []
    change = f"{repo}#{prs[0]['number']}" if prs and isinstance(prs[0], dict) else None
    base: Row = {
        "repo": repo,
        "sha": text_of(run.get("head_sha")),
        "pipeline_id": rid,
        "change_id": change,
        "service": rules.service,
        "team": rules.team,
    }
    attrs = {
        "workflow": name,
        "branch": branch,
        "trigger": run.get("event"),
        "attempt": attempt,
        "run_number": run.get("run_number"),
        "original_status": run.get("status"),
        "url": run.get("html_url"),
    }
    rows: list[Row] = [
        {
            **base,
            "kind": "pipeline.started",
            "ts": started,
            "status": "started",
            "event_id": f"github:run:{rid}:{attempt}:started",
            "attrs": attrs,
        }
    ]
    if status in _DONE and conclusion:
        result = _CONCLUSION.get(conclusion, conclusion)
        duration = _seconds(started, run.get("updated_at"))
        done = {**attrs, "conclusion": conclusion, "duration_s": duration}
        rows.append(
            {
                **base,
                "kind": "pipeline.finished",
                "ts": run.get("updated_at"),
                "status": result,
                "event_id": f"github:run:{rid}:{attempt}:finished",
                "attrs": done,
            }
        )
        if result in ("success", "failure") and matches(rules.deployment_pattern, name):
            rows.append(
                {
                    **base,
                    "kind": "deploy.finished",
                    "ts": run.get("updated_at"),
                    "status": result,
                    "env": rules.deploy_env(name, branch),
                    "deploy_id": f"run:{rid}",
                    "event_id": f"github:run:{rid}:{attempt}:deploy",
                    "attrs": {**done, "deployed_by": "workflow_run"},
                }
            )
    return rows


def job_rows(job: dict[str, Any], repo: str | None, rules: GitHubRules) -> list[Row]:
    """A workflow job → stage.started, stage.finished and (if a deploy job) deploy.finished."""
    jid = text_of(job.get("id"))
    name = text_of(job.get("name"))
    status = (text_of(job.get("status")) or "").lower()
    conclusion = (text_of(job.get("conclusion")) or "").lower()
    base: Row = {
        "repo": repo or repo_from_url(job.get("run_url")),
        "sha": text_of(job.get("head_sha")),
        "pipeline_id": text_of(job.get("run_id")),
        "stage": name,
        "service": rules.service,
        "team": rules.team,
    }
    attrs = {
        "job_id": jid,
        "attempt": job.get("run_attempt"),
        "runner": job.get("runner_name"),
        "original_status": job.get("status"),
        "steps": len(job.get("steps") or []),
    }
    rows: list[Row] = []
    if job.get("started_at"):
        rows.append(
            {
                **base,
                "kind": "stage.started",
                "ts": job.get("started_at"),
                "status": "started",
                "event_id": f"github:job:{jid}:started",
                "attrs": attrs,
            }
        )
    if status in _DONE and conclusion and job.get("completed_at"):
        result = _CONCLUSION.get(conclusion, conclusion)
        done = {
            **attrs,
            "conclusion": conclusion,
            "duration_s": _seconds(job.get("started_at"), job.get("completed_at")),
        }
        rows.append(
            {
                **base,
                "kind": "stage.finished",
                "ts": job.get("completed_at"),
                "status": result,
                "event_id": f"github:job:{jid}:finished",
                "attrs": done,
            }
        )
        if result in ("success", "failure") and matches(rules.deployment_pattern, name):
            rows.append(
                {
                    **base,
                    "kind": "deploy.finished",
                    "ts": job.get("completed_at"),
                    "status": result,
                    "env": rules.deploy_env(name),
                    "deploy_id": f"job:{jid}",
                    "event_id": f"github:job:{jid}:deploy",
                    "attrs": {**done, "deployed_by": "workflow_job"},
                }
            )
    return rows


def pr_rows(pr: dict[str, Any], repo: str | None, rules: GitHubRules) -> list[Row]:
    """A pull request → change.opened and, once closed, change.merged or change.closed."""
    repo = repo or text_of(dig(pr, "base", "repo", "full_name")) or repo_from_url(pr.get("url"))
    number = text_of(pr.get("number"))
    change = f"{repo}#{number}" if number else None
    labels = [text_of(dig(x, "name")) for x in pr.get("labels") or [] if isinstance(x, dict)]
    attrs = {
        "title": pr.get("title"),
        "author": login(pr.get("user")),
        "additions": pr.get("additions"),
        "deletions": pr.get("deletions"),
        "changed_files": pr.get("changed_files"),
        "commits": pr.get("commits"),
        "base": dig(pr, "base", "ref"),
        "head": dig(pr, "head", "ref"),
        "labels": labels,
        "draft": pr.get("draft"),
    }
    base: Row = {"repo": repo, "change_id": change, "service": rules.service, "team": rules.team}
    rows: list[Row] = [
        {
            **base,
            "kind": "change.opened",
            "ts": pr.get("created_at"),
            "sha": text_of(dig(pr, "head", "sha")),
            "status": "open",
            "event_id": f"github:pr:{repo}#{number}:opened",
            "attrs": attrs,
        }
    ]
    if pr.get("merged_at"):
        rows.append(
            {
                **base,
                "kind": "change.merged",
                "ts": pr.get("merged_at"),
                "sha": text_of(pr.get("merge_commit_sha")),
                "status": "merged",
                "event_id": f"github:pr:{repo}#{number}:merged",
                "attrs": {**attrs, "merged_by": login(pr.get("merged_by"))},
            }
        )
    elif pr.get("closed_at"):
        rows.append(
            {
                **base,
                "kind": "change.closed",
                "ts": pr.get("closed_at"),
                "status": "closed",
                "event_id": f"github:pr:{repo}#{number}:closed",
                "attrs": attrs,
            }
        )
    return rows


def commit_row(commit: dict[str, Any], repo: str | None, change: str | None) -> Row:
    """A commit of a pull request (REST `pulls/N/commits` item) → a commit event."""
    sha = text_of(commit.get("sha"))
    message = text_of(dig(commit, "commit", "message")) or ""
    return {
        "kind": "commit",
        "ts": dig(commit, "commit", "author", "date") or dig(commit, "commit", "committer", "date"),
        "repo": repo or repo_from_url(commit.get("url")),
        "sha": sha,
        "change_id": change,
        "event_id": f"github:commit:{repo}:{change}:{sha}",
        "attrs": {
            "author": login(commit.get("author")) or dig(commit, "commit", "author", "name"),
            "message": message.split("\n", 1)[0][:200],
            "parents": len(commit.get("parents") or []),
            "committed_at": dig(commit, "commit", "committer", "date"),
        },
    }


def review_row(review: dict[str, Any], repo: str | None, change: str | None) -> Row:
    """A pull request review → change.reviewed."""
    rid = text_of(review.get("id"))
    return {
        "kind": "change.reviewed",
        "ts": review.get("submitted_at"),
        "repo": repo,
        "change_id": change,
        "sha": text_of(review.get("commit_id")),
        "status": (text_of(review.get("state")) or "").lower() or None,
        "event_id": f"github:review:{rid}",
        "attrs": {"reviewer": login(review.get("user")), "review_kind": "review"},
    }


def comment_row(comment: dict[str, Any], repo: str | None) -> Row | None:
    """An issue comment on a pull request → change.reviewed (a comment); None for plain issues."""
    url = text_of(comment.get("html_url")) or ""
    m = re.search(r"/pull/(\d+)", url)
    if not m:
        return None
    repo = repo or repo_from_url(url)
    return {
        "kind": "change.reviewed",
        "ts": comment.get("created_at"),
        "repo": repo,
        "change_id": f"{repo}#{m.group(1)}",
        "status": "commented",
        "event_id": stable_id("github", "comment", url, comment.get("id")),
        "attrs": {
            "reviewer": login(comment.get("user")),
            "review_kind": "comment",
            "author_type": dig(comment, "user", "type"),
        },
    }


def issue_rows(issue: dict[str, Any], repo: str | None, rules: GitHubRules) -> list[Row]:
    """An issue → incident.opened/resolved when labelled as an incident, else work.created/done.

    Issues that are pull requests are skipped (the pull request carries the change)."""
    if issue.get("pull_request"):
        return []
    repo = repo or repo_from_url(issue.get("repository_url") or issue.get("url"))
    number = text_of(issue.get("number"))
    key = f"{repo}#{number}"
    labels = [text_of(dig(x, "name")) for x in issue.get("labels") or [] if isinstance(x, dict)]
    attrs = {"title": issue.get("title"), "labels": labels, "author": login(issue.get("user"))}
    base: Row = {"repo": repo, "service": rules.service, "team": rules.team}
    if rules.is_incident(issue.get("labels")):
        opened, done, idcol = "incident.opened", "incident.resolved", "incident_id"
    else:
        opened, done, idcol = "work.created", "work.done", ""
        attrs["work_id"] = key
    rows: list[Row] = [
        {
            **base,
            "kind": opened,
            "ts": issue.get("created_at"),
            "status": "open",
            "event_id": stable_id("github", "issue", key, opened),
            "attrs": attrs,
        }
    ]
    if issue.get("closed_at"):
        rows.append(
            {
                **base,
                "kind": done,
                "ts": issue.get("closed_at"),
                "status": "resolved" if idcol else "done",
                "event_id": stable_id("github", "issue", key, done),
                "attrs": {**attrs, "state_reason": issue.get("state_reason")},
            }
        )
    if idcol:
        for row in rows:
            row[idcol] = key
    return rows
