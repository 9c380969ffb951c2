"""Parsed git history to canonical events: commits with JIT metrics, merges, releases, reverts.

Raw input is a mapping (what `vsmml.pipeline.ingest.git_repo` produces from `git log`):
`{"repo": "acme/shop", "commits": [...], "tags": [...], "metrics": {sha: {...}},
"bug_inducing": {sha: [fix shas]}}`. A commit is a dict with `sha`, `parents`, `author_name`,
`author_email`, `author_time` and `commit_time` (epoch seconds), `message` and `files`; a tag
has `name`, `sha` (the commit) and `time` (tagger or commit time, epoch seconds).

- every non-merge commit → `commit` (ts = author time; the 14 Kamei metrics, author and, when
  SZZ ran, `bug_inducing` in attrs);
- a merge commit, or a squash-merged commit whose subject ends in `(#123)` → `change.merged`
  (change_id `repo#123` when the message names a pull request, else the merge sha);
- a revert (`This reverts commit <sha>`) → `rollback` (attrs: `reverted_sha`);
- a tag matching the release pattern → `deploy.finished` in production (deploy_id `repo@tag`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from vsmml.errors import ConversionError
from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.git_kamei import DEFAULT_FIX_PATTERN, KAMEI_COLUMNS
from vsmml.events.connectors.kit import (
    Collector,
    RecordError,
    Row,
    TimeBounds,
    epoch_time,
    text_of,
)

SOURCE: Final = "git"
_PR_MERGE: Final = re.compile(r"^Merge pull request #(\d+)")
_MR_MERGE: Final = re.compile(r"See merge request [\w./-]*!(\d+)")
_SQUASH: Final = re.compile(r"\(#(\d+)\)\s*$")
_REVERT: Final = re.compile(r"This reverts commit ([0-9a-fA-F]{7,40})")
_SHA: Final = re.compile(r"^[0-9a-fA-F]{4,64}$")


@dataclass(frozen=True)
class GitRules:
    """Per-repository rules.

    Attributes:
        repo: the repository's name in events (None: from the input, else the folder name).
        release_pattern: tags matching it are production releases (deploys).
        fix_pattern: commit messages matching it are fixes (Kamei's FIX, SZZ's fix commits).
        szz: label bug-inducing commits with SZZ (blame the lines fix commits changed).
        szz_max_lines: skip a file of a fix commit that deletes more lines than this (noise).
        all_refs: mine every branch and tag, not only the history of HEAD.
        bounds: plausible time range.
    """

    repo: str | None = None
    release_pattern: str = r"^v?\d+\.\d+\.\d+$"
    fix_pattern: str = DEFAULT_FIX_PATTERN
    szz: bool = False
    szz_max_lines: int = 1000
    all_refs: bool = False
    bounds: TimeBounds = field(default_factory=TimeBounds)


def to_events(raw: Mapping[str, Any], rules: GitRules | None = None) -> Conversion:
    """Convert parsed history to canonical events (pure; commits with absurd dates rejected)."""
    if not isinstance(raw, Mapping):
        raise ConversionError(f"git input must be a mapping of history, got {type(raw).__name__}")
    rules = rules or GitRules()
    repo = rules.repo or text_of(raw.get("repo")) or "repo"
    found = raw.get("metrics")
    metrics: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    labels = raw.get("bug_inducing")
    sink = Collector(SOURCE)
    commits = raw.get("commits") or []
    for i, commit in enumerate(commits if isinstance(commits, list) else []):
        sha = text_of(commit.get("sha")) if isinstance(commit, Mapping) else None
        location = f"{repo}@{sha}" if sha else f"{repo} commit {i}"
        sink.run(location, commit, lambda c: _commit(c, repo, metrics, labels, rules))
    release = re.compile(rules.release_pattern)
    tags = raw.get("tags") or []
    for tag in tags if isinstance(tags, list) else []:
        name = text_of(tag.get("name")) if isinstance(tag, Mapping) else None
        if name and release.search(name):
            sink.run(f"{repo} tag {name}", tag, lambda t: _release(t, repo, rules))
    return sink.result()


def _commit(
    commit: Any,
    repo: str,
    metrics: Mapping[str, Any],
    labels: Any,
    rules: GitRules,
) -> Iterable[Row]:
    if not isinstance(commit, Mapping):
        raise RecordError("commit", f"must be an object, got {type(commit).__name__}")
    sha = text_of(commit.get("sha"))
    if not sha or not _SHA.match(sha):
        raise RecordError("sha", f"must be a hex commit id, got {commit.get('sha')!r}")
    parents = commit.get("parents") or []
    if not isinstance(parents, list | tuple):
        raise RecordError("parents", "must be a list of shas")
    authored = epoch_time(commit.get("author_time"), "author_time", unit="s", bounds=rules.bounds)
    committed = epoch_time(
        commit.get("commit_time", commit.get("author_time")),
        "commit_time",
        unit="s",
        bounds=rules.bounds,
    )
    message = str(commit.get("message") or "")
    subject = message.split("\n", 1)[0][:200]
    base: Row = {"repo": repo, "sha": sha}
    who = {
        "author": text_of(commit.get("author_name")),
        "author_email": text_of(commit.get("author_email")),
        "subject": subject,
    }
    key = f"git:{repo}:{sha}"
    rows: list[Row] = []
    if len(parents) > 1:
        change = _change_id(message, repo) or sha
        attrs = {**who, "parents": [str(p) for p in parents], "merge": True}
        rows.append(_row(base, f"{key}:merged", "change.merged", committed, change, attrs))
        return rows
    attrs = {**who, "committed_at": committed.isoformat()}
    found = metrics.get(sha) if isinstance(metrics, Mapping) else None
    if isinstance(found, Mapping):
        attrs.update({k: found[k] for k in KAMEI_COLUMNS if k in found})
    if isinstance(labels, Mapping):
        fixes = labels.get(sha)
        attrs["bug_inducing"] = bool(fixes)
        if fixes:
            attrs["fixed_by"] = [str(f) for f in fixes][:20]
    rows.append(_row(base, f"{key}:commit", "commit", authored, None, attrs))
    squash = _SQUASH.search(subject)
    if squash:
        change = f"{repo}#{squash.group(1)}"
        rows.append(
            _row(base, f"{key}:merged", "change.merged", committed, change, {**who, "squash": True})
        )
    revert = _REVERT.search(message)
    if revert:
        extra = {**who, "reverted_sha": revert.group(1).lower()}
        rows.append(_row(base, f"{key}:rollback", "rollback", committed, None, extra))
    return rows


def _release(tag: Mapping[str, Any], repo: str, rules: GitRules) -> Iterable[Row]:
    name = str(tag["name"])
    sha = text_of(tag.get("sha"))
    if not sha:
        raise RecordError("sha", f"is required (the commit tag {name!r} points to)")
    ts = epoch_time(tag.get("time"), "time", unit="s", bounds=rules.bounds)
    attrs = {"tag": name, "annotated": bool(tag.get("annotated"))}
    row = _row(
        {"repo": repo, "sha": sha}, f"git:{repo}:tag:{name}", "deploy.finished", ts, None, attrs
    )
    row.update(
        deploy_id=f"{repo}@{name}", artifact_id=f"{repo}@{name}", env="production", status="success"
    )
    return [row]


def _change_id(message: str, repo: str) -> str | None:
    for rx in (_PR_MERGE, _MR_MERGE):
        match = rx.search(message)
        if match:
            return f"{repo}#{match.group(1)}"
    return None


def _row(
    base: Row, event_id: str, kind: str, ts: pd.Timestamp, change: str | None, attrs: dict[str, Any]
) -> Row:
    return {
        **base,
        "event_id": event_id,
        "kind": kind,
        "ts": ts,
        "change_id": change,
        "status": "success" if kind == "change.merged" else None,
        "attrs": {k: v for k, v in attrs.items() if v is not None},
    }
