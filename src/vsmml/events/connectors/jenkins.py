"""Jenkins builds and pipeline stages (REST API JSON, incl. multibranch jobs) to canonical events.

Raw input is a list of records (or `(location, record)` pairs). A record is either a Jenkins API
object as it comes (a build from `api/json`, a run from `wfapi/describe` with its `stages`, a
single stage node) or a wrapper `{"type": "build"|"stage"|"run", "job": ..., "build": ...,
"data": <object or JSON text>}` such as the file reader builds from DevLake's raw tables, where
`job` is the job's full name (`folder/job` or `org/repo/branch` for multibranch jobs) and `build`
the build's full name (`job#number`).

A build becomes `pipeline.started` and, once finished, `pipeline.finished` (duration in attrs);
a stage becomes `stage.started` and `stage.finished`. Jobs or stages whose name matches the
deploy pattern also yield `deploy.started`/`deploy.finished`, in production when the name
matches the production pattern (DevLake's `deploymentPattern` / `productionPattern`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote, urlparse

import pandas as pd

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.kit import (
    Collector,
    RecordError,
    Row,
    TimeBounds,
    dig,
    epoch_time,
    load_json,
    located,
    text_of,
)
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES

SOURCE: Final = "jenkins"

_BUILD_STATUS: Final = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "UNSTABLE": "failure",
    "ABORTED": "cancelled",
    "NOT_BUILT": "skipped",
    "NOT_BUILD": "skipped",
}
_STAGE_STATUS: Final = {
    "SUCCESS": "success",
    "FAILED": "failure",
    "FAILURE": "failure",
    "UNSTABLE": "failure",
    "ABORTED": "cancelled",
    "NOT_EXECUTED": "skipped",
    "SKIPPED": "skipped",
}
_RUNNING: Final = frozenset({"IN_PROGRESS", "PAUSED_PENDING_INPUT", "QUEUED", "NOT_STARTED"})


@dataclass(frozen=True)
class JenkinsRules:
    """Per-instance settings: which jobs/stages deploy, which of them reach production.

    Attributes:
        deploy_pattern: regex on job or stage names marking a deployment (None: none do).
        production_pattern: regex on the same names marking the production environment;
            other deployments get `other_env`.
        other_env: environment of deployments that do not match the production pattern.
        instance: prefix for event ids when several Jenkins servers feed one store.
        max_payload_bytes: larger JSON texts are quarantined unread (the same limit, and
            default, as every other source: `VSMML_MAX_PAYLOAD_BYTES`).
        bounds: plausible time range.
    """

    deploy_pattern: str | None = r"(?i)deploy"
    production_pattern: str = r"(?i)prod"
    other_env: str = "staging"
    instance: str = ""
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    bounds: TimeBounds = field(default_factory=TimeBounds)


def to_events(raw: Any, rules: JenkinsRules | None = None) -> Conversion:
    """Convert Jenkins build/stage records to canonical events (pure; bad records rejected)."""
    rules = rules or JenkinsRules()
    sink = Collector(SOURCE)
    for location, record in located(raw):
        try:
            value = load_json(record, "payload", max_bytes=rules.max_payload_bytes)
        except RecordError as exc:
            sink.reject(location, exc.field, exc.reason, record)
            continue
        builds = _job_builds(value)
        if builds is None:
            sink.run(location, value, lambda r: _convert(r, rules))
            continue
        job = text_of(value.get("fullName")) or _job_from_url(text_of(value.get("url")))
        for i, build in enumerate(builds):
            wrapped = {"type": "build", "job": job, "data": build}
            sink.run(f"{location} builds[{i}]", wrapped, lambda r: _convert(r, rules))
    return sink.result()


def _job_builds(value: Any) -> list[Any] | None:
    """The builds of a job object (`api/json?tree=allBuilds[...]`), or None for other records."""
    if not isinstance(value, Mapping) or "number" in value or "data" in value:
        return None
    for key in ("allBuilds", "builds"):
        if isinstance(value.get(key), list):
            return list(value[key])
    return None


def _convert(record: Any, rules: JenkinsRules) -> Iterable[Row]:
    wrapper = load_json(record, "payload", max_bytes=rules.max_payload_bytes)
    if not isinstance(wrapper, Mapping):
        raise RecordError("payload", f"must be a JSON object, got {type(wrapper).__name__}")
    if "data" in wrapper and ("type" in wrapper or "job" in wrapper or "build" in wrapper):
        data = load_json(wrapper["data"], "data", max_bytes=rules.max_payload_bytes)
        if not isinstance(data, Mapping):
            raise RecordError("data", f"must be a JSON object, got {type(data).__name__}")
        kind = text_of(wrapper.get("type")) or _guess_type(data)
        job, build = text_of(wrapper.get("job")), text_of(wrapper.get("build"))
    else:
        data, kind, job, build = wrapper, _guess_type(wrapper), None, None
    if kind == "build":
        return _build(data, job, rules)
    if kind == "stage":
        return _stage(data, build or _build_from_href(data), rules)
    if kind == "run":
        stages = data.get("stages")
        if not isinstance(stages, list):
            raise RecordError("stages", "must be a list of stage nodes")
        name = build or _build_from_href(data)
        return [row for s in stages for row in _stage(_mapping(s, "stages[]"), name, rules)]
    if kind == "job":
        return []  # job listings carry no event; builds do
    raise RecordError("type", f"is not a Jenkins build, run or stage, got {kind!r}")


def _guess_type(data: Mapping[str, Any]) -> str:
    cls = str(data.get("_class") or "")
    if "stages" in data:
        return "run"
    if "startTimeMillis" in data and "number" not in data:
        return "stage"
    if cls.endswith(("Job", "Project", "Folder")) or "jobs" in data:
        return "job"
    if "number" in data or "timestamp" in data or cls.endswith(("Run", "Build")):
        return "build"
    return "unknown"


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(field, f"must be an object, got {type(value).__name__}")
    return value


def _build(data: Mapping[str, Any], job: str | None, rules: JenkinsRules) -> list[Row]:
    number = data.get("number")
    if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).strip():
        raise RecordError("number", f"is required (build number), got {number!r}")
    job = job or _job_from_url(text_of(data.get("url"))) or _job_from_display(data)
    if not job:
        raise RecordError("job", "is required (no job name, url or fullDisplayName)")
    pipeline_id = f"{job}#{number}"
    start = epoch_time(data.get("timestamp"), "timestamp", bounds=rules.bounds)
    duration_ms = _number(data.get("duration"), "duration")
    result = text_of(data.get("result"))
    building = bool(data.get("building")) or result is None
    sha, branch, repo_url = _revision(data)
    attrs: dict[str, Any] = {
        "job": job,
        "number": str(number),
        "class": text_of(data.get("_class")),
        "result": result,
        "duration_s": None if building else duration_ms / 1000,
        "estimated_duration_s": _seconds(data.get("estimatedDuration")),
        "branch": branch,
        "repo_url": repo_url,
        "cause": _cause(data),
        "display_name": text_of(data.get("fullDisplayName")),
    }
    base: Row = {
        "repo": _repo_name(repo_url),
        "sha": sha,
        "pipeline_id": pipeline_id,
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }
    prefix = _id_prefix(rules, pipeline_id)
    rows: list[Row] = [
        {
            **base,
            "event_id": f"{prefix}:started",
            "kind": "pipeline.started",
            "ts": start,
            "status": "started",
        }
    ]
    status = _BUILD_STATUS.get(result or "", (result or "").lower() or None)
    end = start + pd.Timedelta(milliseconds=duration_ms)
    if not building:
        end = rules.bounds.check(end, "duration")
        rows.append(
            {
                **base,
                "event_id": f"{prefix}:finished",
                "kind": "pipeline.finished",
                "ts": end,
                "status": status,
            }
        )
    env = _deploy_env(rules, job)
    if env is not None:
        deploy = {**base, "deploy_id": pipeline_id, "env": env}
        rows.append(
            {
                **deploy,
                "event_id": f"{prefix}:deploy.started",
                "kind": "deploy.started",
                "ts": start,
                "status": "started",
            }
        )
        if not building:
            rows.append(
                {
                    **deploy,
                    "event_id": f"{prefix}:deploy.finished",
                    "kind": "deploy.finished",
                    "ts": end,
                    "status": status,
                }
            )
    return rows


def _stage(data: Mapping[str, Any], build: str | None, rules: JenkinsRules) -> list[Row]:
    if not build:
        raise RecordError("build", "is required (the stage's build, `job#number`)")
    name = text_of(data.get("name"))
    if not name:
        raise RecordError("name", "is required (stage name)")
    node = text_of(data.get("id")) or name
    start = epoch_time(data.get("startTimeMillis"), "startTimeMillis", bounds=rules.bounds)
    duration_ms = _number(data.get("durationMillis"), "durationMillis")
    raw_status = (text_of(data.get("status")) or "").upper()
    attrs = {
        "stage_node": node,
        "result": raw_status or None,
        "pause_duration_s": _seconds(data.get("pauseDurationMillis")),
        "job": build.rsplit("#", 1)[0],
    }
    base: Row = {"pipeline_id": build, "stage": name}
    prefix = f"{_id_prefix(rules, build)}:{node}"
    rows: list[Row] = [
        {
            **base,
            "event_id": f"{prefix}:started",
            "kind": "stage.started",
            "ts": start,
            "status": "started",
            "attrs": {k: v for k, v in attrs.items() if v is not None},
        }
    ]
    running = raw_status in _RUNNING or not raw_status
    status = _STAGE_STATUS.get(raw_status, raw_status.lower())
    end = start + pd.Timedelta(milliseconds=duration_ms)
    if not running:
        end = rules.bounds.check(end, "durationMillis")
        done = {**attrs, "duration_s": duration_ms / 1000}
        rows.append(
            {
                **base,
                "event_id": f"{prefix}:finished",
                "kind": "stage.finished",
                "ts": end,
                "status": status,
                "attrs": {k: v for k, v in done.items() if v is not None},
            }
        )
    env = _deploy_env(rules, name, build.rsplit("#", 1)[0])
    if env is not None:
        deploy = {**base, "deploy_id": f"{build}:{node}", "env": env}
        rows.append(
            {
                **deploy,
                "event_id": f"{prefix}:deploy.started",
                "kind": "deploy.started",
                "ts": start,
                "status": "started",
            }
        )
        if not running:
            rows.append(
                {
                    **deploy,
                    "event_id": f"{prefix}:deploy.finished",
                    "kind": "deploy.finished",
                    "ts": end,
                    "status": status,
                }
            )
    return rows


def _id_prefix(rules: JenkinsRules, name: str) -> str:
    return f"jenkins:{rules.instance}/{name}" if rules.instance else f"jenkins:{name}"


def _deploy_env(rules: JenkinsRules, name: str, job: str | None = None) -> str | None:
    if rules.deploy_pattern is None or not re.search(rules.deploy_pattern, name):
        return None
    names = [name] if job is None else [name, job]
    if any(re.search(rules.production_pattern, n) for n in names):
        return "production"
    return rules.other_env


def _number(value: Any, field: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RecordError(field, f"must be a number of milliseconds, got {value!r}")
    if not 0 <= value < 10 * 365 * 86_400_000:
        raise RecordError(field, f"is out of range, got {value!r}")
    return float(value)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value) / 1000


def _revision(data: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    actions = data.get("actions")
    for action in actions if isinstance(actions, list) else []:
        rev = dig(action, "lastBuiltRevision")
        if isinstance(rev, Mapping):
            sha = text_of(rev.get("SHA1"))
            branch = text_of(dig(rev, "branch", 0, "name"))
            url = text_of(dig(action, "remoteUrls", 0))
            return sha, branch, url
    return None, None, None


def _cause(data: Mapping[str, Any]) -> str | None:
    actions = data.get("actions")
    for action in actions if isinstance(actions, list) else []:
        cause = text_of(dig(action, "causes", 0, "shortDescription"))
        if cause:
            return cause
    return None


def _job_from_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = [unquote(p) for p in urlparse(url).path.split("/") if p]
    names = [parts[i + 1] for i, p in enumerate(parts[:-1]) if p == "job"]
    return "/".join(names) or None


def _job_from_display(data: Mapping[str, Any]) -> str | None:
    display = text_of(data.get("fullDisplayName"))
    if not display or " #" not in display:
        return None
    return "/".join(p.strip() for p in display.rsplit(" #", 1)[0].split("»"))


def _build_from_href(data: Mapping[str, Any]) -> str | None:
    href = text_of(dig(data, "_links", "self", "href"))
    if not href:
        return None
    match = re.search(r"^(.*?)/(\d+)/(?:execution|wfapi)", urlparse(href).path)
    if not match:
        return None
    job = _job_from_url(match.group(1) + "/")
    return f"{job}#{match.group(2)}" if job else None


def _repo_name(url: str | None) -> str | None:
    """`owner/name` from a git remote URL (https or scp-like ssh); None when absent."""
    if not url:
        return None
    path = url.split(":", 1)[1] if re.match(r"^[\w.-]+@[\w.-]+:", url) else urlparse(url).path
    path = path.strip("/")
    path = path.removesuffix(".git")
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[-2:]) if parts else None
