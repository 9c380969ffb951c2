"""GitLab webhook and REST objects (push, merge requests, pipelines, jobs, deployments) → rows.

Times: GitLab writes ISO-8601 or `2021-04-28 21:50:00 +0200` / `... UTC`; `gitlab_time`
normalises both to ISO-8601 with an offset. A merge request's change id is `group/project!iid`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from pydantic import Field

from vsmml.events.connectors.kit import dig, text_of
from vsmml.events.connectors.source_rules import SourceRules

Row = dict[str, Any]
_TIME_RE: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*(UTC|Z|[+-]\d{2}:?\d{2})?$"
)
_DONE: Final = {"success": "success", "failed": "failure", "canceled": "cancelled"}


class GitLabRules(SourceRules):
    """GitLab rules: environments (shared) and whether jobs with an environment are deploys."""

    deployments_from_jobs: bool = Field(
        default=False,
        description="Count finished jobs that declare an environment as deployments (off by "
        "default: GitLab's deployment events and /deployments already carry them).",
    )


def gitlab_time(value: Any) -> Any:
    """GitLab's time formats → ISO-8601 with an offset (anything else is returned unchanged)."""
    if not isinstance(value, str):
        return value
    m = _TIME_RE.match(value.strip())
    if m is None:
        return value
    zone = m.group(3)
    if zone is None:
        return value
    if zone in ("UTC", "Z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{m.group(1)}T{m.group(2)}{zone}"


def repo_of(*urls: Any, project: Any = None) -> str | None:
    """`group/project` from a project object or from a GitLab web URL."""
    path = text_of(dig(project, "path_with_namespace"))
    if path:
        return path
    for url in urls:
        if isinstance(url, str):
            m = re.match(r"^https?://[^/]+/(.+?)(?:/-/|\.git$|/?$)", url)
            if m:
                return m.group(1)
    return None


def _push(doc: dict[str, Any], rules: GitLabRules) -> list[Row]:
    repo = repo_of(dig(doc, "project", "web_url"), project=doc.get("project"))
    branch = (text_of(doc.get("ref")) or "").removeprefix("refs/heads/")
    rows = []
    for commit in doc.get("commits") or []:
        if not isinstance(commit, dict):
            continue
        sha = text_of(commit.get("id"))
        rows.append(
            {
                "kind": "commit",
                "ts": commit.get("timestamp"),
                "repo": repo,
                "sha": sha,
                "event_id": f"gitlab:push:{repo}:{sha}",
                "attrs": {
                    "author": dig(commit, "author", "name"),
                    "message": (text_of(commit.get("title")) or "")[:200],
                    "branch": branch,
                    "added": len(commit.get("added") or []),
                    "modified": len(commit.get("modified") or []),
                    "removed": len(commit.get("removed") or []),
                },
            }
        )
    return rows


def _mr_rows(mr: dict[str, Any], repo: str | None, action: str | None) -> list[Row]:
    """A merge request (webhook `object_attributes` or REST object) → change events."""
    iid = text_of(mr.get("iid"))
    change = f"{repo}!{iid}" if iid else None
    author = dig(mr, "author", "username") or text_of(mr.get("author_id"))
    attrs = {
        "title": mr.get("title"),
        "author": author,
        "source_branch": mr.get("source_branch"),
        "target_branch": mr.get("target_branch"),
        "labels": [x.get("title") if isinstance(x, dict) else x for x in mr.get("labels") or []],
    }
    base: Row = {"repo": repo, "change_id": change}
    head = text_of(mr.get("sha")) or text_of(dig(mr, "last_commit", "id"))
    opened: Row = {
        **base,
        "kind": "change.opened",
        "ts": mr.get("created_at"),
        "sha": head,
        "status": "open",
        "event_id": f"gitlab:mr:{change}:opened",
        "attrs": attrs,
    }
    state = text_of(mr.get("state"))
    merged: Row = {
        **base,
        "kind": "change.merged",
        "ts": mr.get("merged_at") or (mr.get("updated_at") if action == "merge" else None),
        "sha": text_of(mr.get("merge_commit_sha")) or text_of(mr.get("squash_commit_sha")),
        "status": "merged",
        "event_id": f"gitlab:mr:{change}:merged",
        "attrs": {**attrs, "merged_by": dig(mr, "merge_user", "username")},
    }
    closed: Row = {
        **base,
        "kind": "change.closed",
        "ts": mr.get("closed_at") or mr.get("updated_at"),
        "status": "closed",
        "event_id": f"gitlab:mr:{change}:closed",
        "attrs": attrs,
    }
    if action is not None:
        if action in ("open", "reopen"):
            return [opened]
        if action == "merge":
            return [merged]
        if action == "close":
            return [closed]
        if action == "approved":
            return [
                {
                    **base,
                    "kind": "change.reviewed",
                    "ts": mr.get("updated_at"),
                    "status": "approved",
                    "event_id": f"gitlab:mr:{change}:approved:{mr.get('updated_at')}",
                    "attrs": attrs,
                }
            ]
        return []
    if state == "merged":
        return [opened, merged]
    if state == "closed":
        return [opened, closed]
    return [opened]


def _merge_request(doc: dict[str, Any], rules: GitLabRules) -> list[Row]:
    mr = doc.get("object_attributes") or {}
    repo = repo_of(dig(mr, "target", "web_url"), project=doc.get("project"))
    rows = _mr_rows(mr, repo, text_of(mr.get("action")) or "open")
    for row in rows:
        if row["kind"] == "change.reviewed":
            row["attrs"] = {**row["attrs"], "reviewer": dig(doc, "user", "username")}
    return rows


def _pipeline_rows(p: dict[str, Any], repo: str | None, mr_iid: Any) -> list[Row]:
    pid = text_of(p.get("id"))
    status = (text_of(p.get("status")) or "").lower()
    change = f"{repo}!{mr_iid}" if mr_iid is not None else None
    base: Row = {"repo": repo, "sha": text_of(p.get("sha")), "pipeline_id": pid}
    attrs = {"ref": p.get("ref"), "source": p.get("source"), "original_status": p.get("status")}
    if change:
        base["change_id"] = change
    started = p.get("started_at") or p.get("created_at")
    rows: list[Row] = []
    if started:
        rows.append(
            {
                **base,
                "kind": "pipeline.started",
                "ts": started,
                "status": "started",
                "event_id": f"gitlab:pipeline:{pid}:started",
                "attrs": attrs,
            }
        )
    if status in _DONE and (p.get("finished_at") or p.get("updated_at")):
        rows.append(
            {
                **base,
                "kind": "pipeline.finished",
                "ts": p.get("finished_at") or p.get("updated_at"),
                "status": _DONE[status],
                "event_id": f"gitlab:pipeline:{pid}:finished",
                "attrs": {
                    **attrs,
                    "duration_s": p.get("duration"),
                    "queued_s": p.get("queued_duration"),
                },
            }
        )
    return rows


def _pipeline(doc: dict[str, Any], rules: GitLabRules) -> list[Row]:
    p = doc.get("object_attributes") or {}
    repo = repo_of(dig(doc, "project", "web_url"), project=doc.get("project"))
    rows = _pipeline_rows(p, repo, dig(doc, "merge_request", "iid"))
    for build in doc.get("builds") or []:
        if isinstance(build, dict):
            job = {**build, "pipeline": {"id": p.get("id")}, "commit": {"id": p.get("sha")}}
            rows.extend(_job_rows(job, repo, rules))
    return rows


def _job_rows(job: dict[str, Any], repo: str | None, rules: GitLabRules) -> list[Row]:
    """A job (REST object, or a pipeline hook's build with its pipeline/commit) → stage rows."""
    jid = text_of(job.get("id"))
    name = text_of(job.get("name"))
    status = (text_of(job.get("status")) or "").lower()
    env = job.get("environment")
    env_name = dig(env, "name") if isinstance(env, dict) else text_of(env)
    base: Row = {
        "repo": repo,
        "sha": text_of(dig(job, "commit", "id")) or text_of(dig(job, "pipeline", "sha")),
        "pipeline_id": text_of(dig(job, "pipeline", "id")),
        "stage": name,
    }
    attrs = {"job_id": jid, "gitlab_stage": job.get("stage")}
    rows: list[Row] = []
    if job.get("started_at"):
        rows.append(
            {
                **base,
                "kind": "stage.started",
                "ts": gitlab_time(job.get("started_at")),
                "status": "started",
                "event_id": f"gitlab:job:{jid}:started",
                "attrs": attrs,
            }
        )
    if status in _DONE and job.get("finished_at"):
        done = {**attrs, "duration_s": job.get("duration"), "queued_s": job.get("queued_duration")}
        rows.append(
            {
                **base,
                "kind": "stage.finished",
                "ts": gitlab_time(job.get("finished_at")),
                "status": _DONE[status],
                "event_id": f"gitlab:job:{jid}:finished",
                "attrs": done,
            }
        )
        if rules.deployments_from_jobs and env_name and status != "canceled":
            rows.append(
                {
                    **base,
                    "kind": "deploy.finished",
                    "ts": gitlab_time(job.get("finished_at")),
                    "status": _DONE[status],
                    "env": rules.env_of(env_name),
                    "deploy_id": f"job:{jid}",
                    "event_id": f"gitlab:job:{jid}:deploy",
                    "attrs": {**done, "environment": env_name},
                }
            )
    return rows


def _build(doc: dict[str, Any], rules: GitLabRules) -> list[Row]:
    """Job hook (`object_kind: build`): fields are prefixed with `build_`."""
    job = {
        "id": doc.get("build_id"),
        "name": doc.get("build_name"),
        "stage": doc.get("build_stage"),
        "status": doc.get("build_status"),
        "started_at": doc.get("build_started_at"),
        "finished_at": doc.get("build_finished_at"),
        "duration": doc.get("build_duration"),
        "queued_duration": doc.get("build_queued_duration"),
        "environment": doc.get("environment"),
        "pipeline": {"id": doc.get("pipeline_id")},
        "commit": {"id": doc.get("sha") or dig(doc, "commit", "sha")},
    }
    repo = repo_of(dig(doc, "repository", "homepage"), project=doc.get("project"))
    return _job_rows(job, repo, rules)


def _sha_from_url(url: Any) -> str | None:
    m = re.search(r"/commit/([0-9a-f]{40})", url) if isinstance(url, str) else None
    return m.group(1) if m else None


def _deployment(doc: dict[str, Any], rules: GitLabRules) -> list[Row]:
    """Deployment hook: running → deploy.started; success/failed/canceled → deploy.finished."""
    status = (text_of(doc.get("status")) or "").lower()
    did = text_of(doc.get("deployment_id"))
    tier = text_of(doc.get("environment_tier"))
    row: Row = {
        "repo": repo_of(dig(doc, "project", "web_url"), project=doc.get("project")),
        "sha": _sha_from_url(doc.get("commit_url")),
        "env": "production" if tier == "production" else rules.env_of(doc.get("environment")),
        "deploy_id": did,
        "ts": doc.get("status_changed_at"),
        "attrs": {
            "environment": doc.get("environment"),
            "tier": tier,
            "short_sha": doc.get("short_sha"),
            "ref": doc.get("ref"),
            "job_id": doc.get("deployable_id"),
            "user": dig(doc, "user", "username"),
        },
    }
    if status in ("running", "created"):
        return [
            {
                **row,
                "kind": "deploy.started",
                "status": "started",
                "event_id": f"gitlab:deployment:{did}:started",
            }
        ]
    if status in _DONE:
        return [
            {
                **row,
                "kind": "deploy.finished",
                "status": _DONE[status],
                "event_id": f"gitlab:deployment:{did}:finished",
            }
        ]
    return []


def _rest_deployment(d: dict[str, Any], rules: GitLabRules) -> list[Row]:
    did = text_of(d.get("id"))
    status = (text_of(d.get("status")) or "").lower()
    env = d.get("environment") or {}
    deployable = d.get("deployable") or {}
    repo = repo_of(dig(deployable, "pipeline", "web_url"), dig(deployable, "commit", "web_url"))
    row: Row = {
        "repo": repo,
        "sha": text_of(d.get("sha")),
        "env": "production" if env.get("tier") == "production" else rules.env_of(env.get("name")),
        "deploy_id": did,
        "pipeline_id": text_of(dig(deployable, "pipeline", "id")),
        "attrs": {"environment": env.get("name"), "ref": d.get("ref"), "iid": d.get("iid")},
    }
    rows = [
        {
            **row,
            "kind": "deploy.started",
            "ts": d.get("created_at"),
            "status": "started",
            "event_id": f"gitlab:deployment:{did}:started",
        }
    ]
    if status in _DONE:
        rows.append(
            {
                **row,
                "kind": "deploy.finished",
                "ts": d.get("finished_at") or deployable.get("finished_at") or d.get("updated_at"),
                "status": _DONE[status],
                "event_id": f"gitlab:deployment:{did}:finished",
            }
        )
    return rows


def _rest_mr(mr: dict[str, Any], rules: GitLabRules) -> list[Row]:
    return _mr_rows(mr, repo_of(mr.get("web_url")), None)


def _rest_pipeline(p: dict[str, Any], rules: GitLabRules) -> list[Row]:
    return _pipeline_rows(p, repo_of(p.get("web_url")), None)


def _rest_job(job: dict[str, Any], rules: GitLabRules) -> list[Row]:
    return _job_rows(job, repo_of(job.get("web_url"), dig(job, "pipeline", "web_url")), rules)


Handler = Callable[[dict[str, Any], GitLabRules], list[Row]]
WEBHOOKS: Final[dict[str, Handler]] = {
    "push": _push,
    "merge_request": _merge_request,
    "pipeline": _pipeline,
    "build": _build,
    "deployment": _deployment,
}
REST: Final[dict[str, Handler]] = {
    "deployment": _rest_deployment,
    "merge_request": _rest_mr,
    "pipeline": _rest_pipeline,
    "job": _rest_job,
}
