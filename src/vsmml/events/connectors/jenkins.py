"""Jenkins builds, Pipeline REST API runs and stages (incl. multibranch jobs) to canonical events.

Raw input is a list of records (or `(location, record)` pairs). A record is a Jenkins API object
as it comes, or a wrapper `{"type": "build"|"stage"|"run"|"job", "job": ..., "build": ...,
"data": <object or JSON text>}` such as the file reader builds from DevLake's raw tables, where
`job` is the job's full name (`folder/job` or `org/repo/branch` for multibranch jobs) and `build`
the build's full name (`job#number`). What is read:

- a build (`job/N/api/json`): `pipeline.started` and `.finished`; its sha is the git
  `lastBuiltRevision`, else the newest `changeSets[].items[].commitId` (the change it built);
- a run (`job/N/wfapi/describe`, an item of `job/wfapi/runs`): the run's own
  `pipeline.started` / `.finished` (status, times, queue) and each stage's;
- a stage node (`…/execution/node/M/wfapi/describe`): `stage.started` and `.finished`;
- a job (`job/api/json` with `builds` / `allBuilds`): each build listed in full; a build listed
  by `number` and `url` only is a reference and is counted as skipped, as is a job or folder
  listed without builds.

A list of runs (`wfapi/runs`) is read run by run. Deploy jobs and stages are described in
`vsmml.events.connectors.jenkins_rows`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlparse

import pandas as pd

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.jenkins_rows import (
    BUILD_STATUS,
    JenkinsRules,
    build_from_href,
    job_from_url,
    millis,
    run_rows,
    seconds,
    stage_rows,
    wfapi_run,
)
from vsmml.events.connectors.kit import (
    Collector,
    RecordError,
    Row,
    SkipRecord,
    dig,
    epoch_time,
    load_json,
    located,
    text_of,
)

SOURCE: Final = "jenkins"
__all__ = ["SOURCE", "JenkinsRules", "to_events"]
_REFERENCE_KEYS: Final = frozenset({"_class", "number", "url"})


def to_events(raw: Any, rules: JenkinsRules | None = None) -> Conversion:
    """Convert Jenkins build/run/stage records to canonical events (pure; bad records rejected,
    references and job listings counted as skipped)."""
    rules = rules or JenkinsRules()
    sink = Collector(SOURCE)
    for location, record in located(raw):
        try:
            value = load_json(record, "payload", max_bytes=rules.max_payload_bytes)
        except RecordError as exc:
            sink.reject(location, exc.field, exc.reason, record)
            continue
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):  # `wfapi/runs`: a list of runs
                sink.run(f"{location}[{i}]", item, lambda r: _convert(r, rules))
            continue
        builds = _job_builds(value)
        if builds is None:
            sink.run(location, value, lambda r: _convert(r, rules))
            continue
        job = text_of(value.get("fullName")) or job_from_url(text_of(value.get("url")))
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
        if set(data) <= _REFERENCE_KEYS and "number" in data:
            raise SkipRecord("build reference (number and url only)")
        return _build(data, job, rules)
    if kind == "stage":
        return stage_rows(data, build or build_from_href(data), rules)
    if kind == "run":
        return wfapi_run(data, build or build_from_href(data), rules)
    if kind == "job":
        raise SkipRecord("job (a listing without builds)")
    raise RecordError("type", f"is not a Jenkins build, run or stage, got {kind!r}")


def _guess_type(data: Mapping[str, Any]) -> str:
    cls = str(data.get("_class") or "")
    if "stages" in data:
        return "run"
    if "startTimeMillis" in data and "number" not in data:
        return "stage"
    if cls.endswith(("Job", "Project", "Folder")) or "jobs" in data or "runCount" in data:
        return "job"
    if "number" in data or "timestamp" in data or cls.endswith(("Run", "Build")):
        return "build"
    return "unknown"


def _build(data: Mapping[str, Any], job: str | None, rules: JenkinsRules) -> list[Row]:
    number = data.get("number")
    if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).strip():
        raise RecordError("number", f"is required (build number), got {number!r}")
    job = job or job_from_url(text_of(data.get("url"))) or _job_from_display(data)
    if not job:
        raise RecordError("job", "is required (no job name, url or fullDisplayName)")
    start = epoch_time(data.get("timestamp"), "timestamp", bounds=rules.bounds)
    duration_ms = millis(data.get("duration"), "duration")
    result = text_of(data.get("result"))
    building = bool(data.get("building")) or result is None
    sha, branch, repo_url = _revision(data)
    commits = _commits(data)
    attrs: dict[str, Any] = {
        "job": job,
        "number": str(number),
        "class": text_of(data.get("_class")),
        "result": result,
        "duration_s": None if building else duration_ms / 1000,
        "estimated_duration_s": seconds(data.get("estimatedDuration")),
        "branch": branch,
        "repo_url": repo_url,
        "cause": _cause(data),
        "display_name": text_of(data.get("fullDisplayName")),
        "commits": commits[-50:] or None,
    }
    base: Row = {
        "repo": _repo_name(repo_url),
        "sha": sha or (commits[-1] if commits else None),
        "pipeline_id": f"{job}#{number}",
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }
    end = None
    if not building:
        end = rules.bounds.check(start + pd.Timedelta(milliseconds=duration_ms), "duration")
    status = BUILD_STATUS.get(result or "", (result or "").lower() or None)
    return run_rows(base, rules, start, end, status)


def _commits(data: Mapping[str, Any]) -> list[str]:
    """The commit ids of a build's change sets, oldest first (`changeSets` of a Pipeline run,
    `changeSet` of a freestyle build)."""
    sets = data.get("changeSets")
    if not isinstance(sets, list):
        sets = [data.get("changeSet")]
    out: list[str] = []
    for change_set in sets:
        items = dig(change_set, "items")
        for item in items if isinstance(items, list) else []:
            sha = text_of(dig(item, "commitId")) or text_of(dig(item, "id"))
            if sha and re.fullmatch(r"[0-9a-fA-F]{7,64}", sha):
                out.append(sha.lower())
    return out


def _revision(data: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(sha, branch, remote URL) of the git checkout that built the change: the `BuildData`
    action whose revision is the newest change-set commit, else the first one."""
    actions = data.get("actions")
    found = [
        (text_of(dig(a, "lastBuiltRevision", "SHA1")), a)
        for a in (actions if isinstance(actions, list) else [])
        if isinstance(dig(a, "lastBuiltRevision"), Mapping)
    ]
    if not found:
        return None, None, None
    commits = _commits(data)
    newest = commits[-1] if commits else None
    sha, action = next(((s, a) for s, a in found if s and newest and s.lower() == newest), found[0])
    branch = text_of(dig(action, "lastBuiltRevision", "branch", 0, "name"))
    return sha, branch, text_of(dig(action, "remoteUrls", 0))


def _cause(data: Mapping[str, Any]) -> str | None:
    actions = data.get("actions")
    for action in actions if isinstance(actions, list) else []:
        cause = text_of(dig(action, "causes", 0, "shortDescription"))
        if cause:
            return cause
    return None


def _job_from_display(data: Mapping[str, Any]) -> str | None:
    display = text_of(data.get("fullDisplayName"))
    if not display or " #" not in display:
        return None
    return "/".join(p.strip() for p in display.rsplit(" #", 1)[0].split("»"))


def _repo_name(url: str | None) -> str | None:
    """`owner/name` from a git remote URL (https or scp-like ssh); None when absent."""
    if not url:
        return None
    path = url.split(":", 1)[1] if re.match(r"^[\w.-]+@[\w.-]+:", url) else urlparse(url).path
    path = path.strip("/")
    path = path.removesuffix(".git")
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[-2:]) if parts else None
