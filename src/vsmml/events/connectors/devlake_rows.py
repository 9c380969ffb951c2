"""Row converters for DevLake domain tables, with the cross-table lookups they need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pandas as pd

from vsmml.events.connectors.kit import RecordError, Row, TimeBounds, iso_time
from vsmml.events.connectors.kit import text_of as _text

Table = list[dict[str, Any]]
_DEPLOY_RESULTS: Final = frozenset({"SUCCESS", "FAILURE"})


@dataclass(frozen=True)
class DevLakeRules:
    """How DevLake's projects and times map onto ours.

    Attributes:
        project_as: a DevLake project names our `service` (default) or our `team`.
        derive_deployments: without `cicd_deployment_commits`, derive deployments from pipelines
            and tasks of type DEPLOYMENT the way DevLake's deployment generator does.
        naive_tz: the zone of naive times (DevLake writes UTC).
        bounds: plausible time range.
    """

    project_as: Literal["service", "team"] = "service"
    derive_deployments: bool = True
    naive_tz: str = "UTC"
    bounds: TimeBounds = field(default_factory=TimeBounds)


def upper(value: Any) -> str:
    return (_text(value) or "").upper()


class Context:
    """Lookups across tables (commits of a pipeline, project of a scope, author of a PR)."""

    def __init__(self, tables: dict[str, Table], rules: DevLakeRules) -> None:
        self.rules = rules
        self.project: dict[tuple[str, str], str] = {}
        for row in tables.get("project_mapping", []):
            table, row_id, name = (
                _text(row.get("table")),
                _text(row.get("row_id")),
                _text(row.get("project_name")),
            )
            if table and row_id and name:
                self.project.setdefault((table, row_id), name)
        self.repo_names = {
            str(r["id"]): _text(r.get("url")) or _text(r.get("name")) or str(r["id"])
            for r in tables.get("repos", [])
            if _text(r.get("id"))
        }
        self.pipeline_commits: dict[str, list[dict[str, Any]]] = {}
        for row in tables.get("cicd_pipeline_commits", []):
            pid = _text(row.get("pipeline_id"))
            if pid:
                self.pipeline_commits.setdefault(pid, []).append(row)
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        for row in tables.get("cicd_tasks", []):
            pid = _text(row.get("pipeline_id"))
            if pid:
                self.tasks.setdefault(pid, []).append(row)
        self.diffs: dict[str, list[str]] = {}
        for row in tables.get("commits_diffs", []):
            new, sha = _text(row.get("new_commit_sha")), _text(row.get("commit_sha"))
            if new and sha:
                self.diffs.setdefault(new, []).append(sha)
        self.pr_author = {
            str(r["id"]): _text(r.get("author_id"))
            for r in tables.get("pull_requests", [])
            if _text(r.get("id"))
        }
        self.pr_repo = {
            str(r["id"]): _text(r.get("base_repo_id"))
            for r in tables.get("pull_requests", [])
            if _text(r.get("id"))
        }
        self.issue_board = {
            str(r["issue_id"]): str(r["board_id"])
            for r in tables.get("board_issues", [])
            if _text(r.get("issue_id")) and _text(r.get("board_id"))
        }
        self.incident_ids = {_text(r.get("id")) for r in tables.get("incidents", [])}
        self.commit_shas = {_text(r.get("sha")) for r in tables.get("commits", [])}

    # -- helpers -----------------------------------------------------------------------------
    def time(self, row: Mapping[str, Any], column: str) -> pd.Timestamp:
        return iso_time(
            row.get(column), column, naive_tz=self.rules.naive_tz, bounds=self.rules.bounds
        )

    def opt_time(self, row: Mapping[str, Any], column: str) -> pd.Timestamp | None:
        return None if _text(row.get(column)) is None else self.time(row, column)

    def owner(self, table: str, row_id: str | None) -> dict[str, str]:
        name = self.project.get((table, row_id or ""))
        return {self.rules.project_as: name} if name else {}

    def repo(self, repo_id: str | None, url: str | None = None) -> str | None:
        return self.repo_names.get(repo_id or "") or url or repo_id

    # -- CI/CD -------------------------------------------------------------------------------
    def pipeline(self, row: dict[str, Any]) -> list[Row]:
        pid = need(row, "id")
        finished = self.opt_time(row, "finished_date")
        created = self.opt_time(row, "created_date")
        duration = _float(row.get("duration_sec"), "duration_sec")
        if created is None and finished is not None and duration is not None:
            created = finished - pd.Timedelta(seconds=duration)
        if created is None:
            raise RecordError("created_date", "is required (or finished_date and duration_sec)")
        commit = (self.pipeline_commits.get(pid) or [{}])[0]
        base: Row = {
            "pipeline_id": pid,
            "env": _text(row.get("environment")),
            "sha": _text(commit.get("commit_sha")),
            "repo": self.repo(_text(commit.get("repo_id")), _text(commit.get("repo_url"))),
            **self.owner("cicd_scopes", _text(row.get("cicd_scope_id"))),
        }
        attrs = attrs_of(
            row, "name", "type", "duration_sec", "cicd_scope_id", "status", "original_status"
        )
        attrs["branch"] = _text(commit.get("branch"))
        rows = [
            event(base, f"pipeline:{pid}:started", "pipeline.started", created, "started", attrs)
        ]
        if finished is not None and upper(row.get("status")) != "IN_PROGRESS":
            status = _text(row.get("result"))
            rows.append(
                event(
                    base, f"pipeline:{pid}:finished", "pipeline.finished", finished, status, attrs
                )
            )
        return rows

    def task(self, row: dict[str, Any]) -> list[Row]:
        tid, pid, name = need(row, "id"), need(row, "pipeline_id"), need(row, "name")
        started, finished = self.opt_time(row, "started_date"), self.opt_time(row, "finished_date")
        duration = _float(row.get("duration_sec"), "duration_sec")
        if started is None and finished is not None and duration is not None:
            started = finished - pd.Timedelta(seconds=duration)
        if started is None:
            raise RecordError("started_date", "is required (or finished_date and duration_sec)")
        base: Row = {
            "pipeline_id": pid,
            "stage": name,
            "env": _text(row.get("environment")),
            **self.owner("cicd_scopes", _text(row.get("cicd_scope_id"))),
        }
        attrs = attrs_of(row, "id", "type", "duration_sec", "cicd_scope_id")
        rows = [event(base, f"task:{tid}:started", "stage.started", started, "started", attrs)]
        if finished is not None and upper(row.get("status")) != "IN_PROGRESS":
            rows.append(
                event(
                    base,
                    f"task:{tid}:finished",
                    "stage.finished",
                    finished,
                    _text(row.get("result")),
                    attrs,
                )
            )
        return rows

    def deployment_commit(self, row: dict[str, Any]) -> list[Row]:
        rid, sha = need(row, "id"), need(row, "commit_sha")
        deploy_id = _text(row.get("cicd_deployment_id")) or rid
        started, finished = self.opt_time(row, "started_date"), self.opt_time(row, "finished_date")
        if started is None and finished is None:
            raise RecordError(
                "finished_date", "is required (neither started_date nor finished_date)"
            )
        base: Row = {
            "deploy_id": deploy_id,
            "pipeline_id": deploy_id,
            "sha": sha,
            "env": _text(row.get("environment")),
            "repo": self.repo(_text(row.get("repo_id")), _text(row.get("repo_url"))),
            **self.owner("cicd_scopes", _text(row.get("cicd_scope_id"))),
        }
        attrs = attrs_of(
            row, "id", "cicd_scope_id", "prev_success_deployment_commit_id", "duration_sec", "name"
        )
        attrs["commits"] = self.diffs.get(sha)
        rows = []
        if started is not None:
            rows.append(
                event(
                    base,
                    f"deployment_commit:{rid}:started",
                    "deploy.started",
                    started,
                    "started",
                    attrs,
                )
            )
        if finished is not None:
            status = _text(row.get("result"))
            rows.append(
                event(
                    base,
                    f"deployment_commit:{rid}:finished",
                    "deploy.finished",
                    finished,
                    status,
                    attrs,
                )
            )
        return rows

    def derived_deployments(self, row: dict[str, Any]) -> list[Row]:
        """DevLake's deployment generator: a pipeline (or one of its tasks) of type DEPLOYMENT."""
        pid = need(row, "id")
        result = upper(row.get("result"))
        tasks = self.tasks.get(pid, [])
        deploying = upper(row.get("type")) == "DEPLOYMENT" or any(
            upper(t.get("type")) == "DEPLOYMENT" and upper(t.get("result")) in _DEPLOY_RESULTS
            for t in tasks
        )
        if result not in _DEPLOY_RESULTS or not deploying:
            return []
        env = _text(row.get("environment")) or _env_from_tasks(tasks)
        finished = self.opt_time(row, "finished_date")
        duration = _float(row.get("duration_sec"), "duration_sec") or 0.0
        rows: list[Row] = []
        for commit in self.pipeline_commits.get(pid, []) or [{}]:
            url = _text(commit.get("repo_url"))
            rid = f"{pid}:{url}" if url else pid
            base: Row = {
                "deploy_id": pid,
                "pipeline_id": pid,
                "sha": _text(commit.get("commit_sha")),
                "env": env,
                "repo": self.repo(_text(commit.get("repo_id")), url),
                **self.owner("cicd_scopes", _text(row.get("cicd_scope_id"))),
            }
            attrs = {"deployment_commit_id": rid, "derived_from": "cicd_pipelines"}
            if finished is None:
                created = self.time(row, "created_date")
                rows.append(
                    event(
                        base,
                        f"deployment_commit:{rid}:started",
                        "deploy.started",
                        created,
                        "started",
                        attrs,
                    )
                )
                continue
            started = finished - pd.Timedelta(seconds=duration)
            rows.append(
                event(
                    base,
                    f"deployment_commit:{rid}:started",
                    "deploy.started",
                    started,
                    "started",
                    attrs,
                )
            )
            rows.append(
                event(
                    base,
                    f"deployment_commit:{rid}:finished",
                    "deploy.finished",
                    finished,
                    result,
                    attrs,
                )
            )
        return rows


def need(row: Mapping[str, Any], column: str) -> str:
    value = _text(row.get(column))
    if value is None:
        raise RecordError(column, "is required")
    return value


def _float(value: Any, column: str) -> float | None:
    if _text(value) is None:
        return None
    try:
        out = float(str(value))
    except ValueError:
        raise RecordError(column, f"must be a number, got {value!r}") from None
    if not 0 <= out < 10 * 365 * 86_400:
        raise RecordError(column, f"is out of range, got {value!r}")
    return out


def _env_from_tasks(tasks: list[dict[str, Any]]) -> str | None:
    envs = {upper(t.get("environment")) for t in tasks}
    for env in ("PRODUCTION", "STAGING", "TESTING"):
        if env in envs:
            return env
    return None


def attrs_of(row: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    return {c: _text(row.get(c)) for c in columns}


def event(
    base: Row, key: str, kind: str, ts: pd.Timestamp, status: str | None, attrs: dict[str, Any]
) -> Row:
    clean = {k: v for k, v in attrs.items() if v is not None}
    return {
        **{k: v for k, v in base.items() if v is not None},
        "event_id": f"devlake:{key}",
        "kind": kind,
        "ts": ts,
        "status": status,
        "attrs": clean,
    }
