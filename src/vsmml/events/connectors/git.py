"""Parsed git history to canonical events: commits with JIT metrics, merges, releases, reverts.

Raw input is a mapping (what `vsmml.pipeline.ingest.git_repo` produces from `git log`):
`{"repo": "acme/shop", "commits": [...], "tags": [...], "metrics": {sha: {...}},
"bug_inducing": {sha: [fix shas]}}`. A commit is a dict with `sha`, `parents`, `author_name`,
`author_email`, `author_time` and `commit_time` (epoch seconds), `message` and `files`; a tag
has `name`, `sha` (the commit) and `time` (tagger or commit time, epoch seconds).

- every non-merge commit → `commit` (ts = author time, `committed_at` in attrs; the 14 Kamei
  metrics, author and, when SZZ ran, `bug_inducing`); a commit a merge brought in carries the
  merge's change id (see `git_history.landing`);
- a merge commit on the main line, or a squash-merged commit whose subject ends in `(#123)` →
  `change.merged` (change_id `repo#123` when the message names a pull request, else the merge
  sha); a merge inside a merged branch is part of the outer change (counted as skipped);
- a revert (`This reverts commit <sha>`) → `rollback` known by its commit (sha = the revert,
  attrs `reverted_sha` = the full sha of the reverted commit): correlation fails the release
  that shipped the reverted change and counts the release that shipped the revert as rework;
- a release tag (`git_history.DEFAULT_RELEASE_PATTERN`: `vX.Y.Z`, `X.Y.Z`, `X.Y`,
  `release-…`, `rel/…`, `<name>-X.Y.Z`; pre-releases only with `prereleases`) →
  `deploy.finished` in production at the tag's date (tagger date of an annotated tag, else the
  commit date; deploy_id `repo@tag`). Other tags are counted as skipped, and the conversion's
  notes say how many tags are releases, with examples of the others and the rule that takes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pandas as pd

from vsmml.errors import ConversionError
from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.git_history import (
    DEFAULT_RELEASE_PATTERN,
    ShaIndex,
    classify_tags,
    landing,
)
from vsmml.events.connectors.git_kamei import DEFAULT_FIX_PATTERN, KAMEI_COLUMNS
from vsmml.events.connectors.kit import (
    Collector,
    RecordError,
    Row,
    SkipRecord,
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
        release_pattern: tags matching it (`re.search`) are production releases (deploys); a
            named group `pre` that matches marks a pre-release.
        prereleases: count pre-release tags (`v1.2.0-rc1`) as releases too.
        tag_date: date a release by its tag (`tagger`: the tagger date of an annotated tag, the
            commit date of a lightweight one) or always by its commit (`commit`: for tags
            re-created in bulk, as a repository conversion does).
        fix_pattern: commit messages matching it are fixes (Kamei's FIX, SZZ's fix commits).
        szz: label bug-inducing commits with SZZ (blame the lines fix commits changed).
        szz_max_lines: skip a file of a fix commit that deletes more lines than this (noise).
        all_refs: mine every branch and tag, not only the history of HEAD.
        bounds: plausible time range.
    """

    repo: str | None = None
    release_pattern: str = DEFAULT_RELEASE_PATTERN
    prereleases: bool = False
    tag_date: Literal["tagger", "commit"] = "tagger"
    fix_pattern: str = DEFAULT_FIX_PATTERN
    szz: bool = False
    szz_max_lines: int = 1000
    all_refs: bool = False
    bounds: TimeBounds = field(default_factory=TimeBounds)


def to_events(raw: Mapping[str, Any], rules: GitRules | None = None) -> Conversion:
    """Convert parsed history to canonical events (pure; commits with absurd dates rejected,
    tags that are not releases counted as skipped and reported in the notes)."""
    if not isinstance(raw, Mapping):
        raise ConversionError(f"git input must be a mapping of history, got {type(raw).__name__}")
    rules = rules or GitRules()
    repo = rules.repo or text_of(raw.get("repo")) or "repo"
    found = raw.get("metrics")
    metrics: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    raw_commits = raw.get("commits") or []
    listed = raw_commits if isinstance(raw_commits, list) else []
    commits = [c for c in listed if isinstance(c, Mapping)]
    history = _History(
        repo=repo,
        metrics=metrics,
        labels=raw.get("bug_inducing"),
        landed=landing(commits),
        by_sha={str(c.get("sha")): c for c in commits},
        shas=ShaIndex(str(c.get("sha")) for c in commits if c.get("sha")),
    )
    sink = Collector(SOURCE)
    for i, commit in enumerate(listed):
        sha = text_of(commit.get("sha")) if isinstance(commit, Mapping) else None
        location = f"{repo}@{sha}" if sha else f"{repo} commit {i}"
        sink.run(location, commit, lambda c: _commit(c, history, rules))
    tags = raw.get("tags") or []
    named = [t for t in (tags if isinstance(tags, list) else []) if isinstance(t, Mapping)]
    report = classify_tags(
        [text_of(t.get("name")) or "" for t in named],
        rules.release_pattern,
        prereleases=rules.prereleases,
    )
    releases = set(report.releases)
    for tag in named:
        name = text_of(tag.get("name")) or ""
        if name in releases:
            sink.run(f"{repo} tag {name}", tag, lambda t: _release(t, repo, rules, history))
        elif name in report.prereleases:
            sink.skip("tag (pre-release)")
        else:
            sink.skip("tag (not a release)")
    sink.notes.extend(report.notes(repo))
    bulk = _bulk_tagged([t for t in named if text_of(t.get("name")) in releases])
    if bulk and rules.tag_date == "tagger":
        sink.notes.append(
            f"{repo}: {bulk} annotated release tags carry tagger dates within one minute of each "
            "other (tags re-created in bulk, e.g. by a repository conversion?); to date them by "
            "their commits: git rule `tag_date: commit`"
        )
    return sink.result()


def _bulk_tagged(tags: list[Mapping[str, Any]], least: int = 5) -> int:
    """How many annotated tags share a tagger date within a minute, when at least `least` do."""
    times = sorted(
        t["time"] for t in tags if t.get("annotated") and isinstance(t.get("time"), int | float)
    )
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] > 60:
            start += 1
        best = max(best, end - start + 1)
    return best if best >= least else 0


@dataclass(frozen=True)
class _History:
    """What every commit's conversion needs to know about the whole history."""

    repo: str
    metrics: Mapping[str, Any]
    labels: Any
    landed: Mapping[str, str]
    by_sha: Mapping[str, Mapping[str, Any]]
    shas: ShaIndex

    def change_of_merge(self, merge_sha: str) -> str:
        """The change id of a main-line merge: the pull/merge request it names, else its sha."""
        merge = self.by_sha.get(merge_sha) or {}
        return _change_id(str(merge.get("message") or ""), self.repo) or merge_sha


def _commit(commit: Any, history: _History, rules: GitRules) -> Iterable[Row]:
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
    repo, metrics, labels = history.repo, history.metrics, history.labels
    landed_with = history.landed.get(sha, sha)
    on_main_line = landed_with == sha
    if len(parents) > 1 and not on_main_line:
        raise SkipRecord("merge inside a merged branch (part of the outer change)")
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
        merged = history.change_of_merge(sha)
        attrs = {**who, "parents": [str(p) for p in parents], "merge": True}
        rows.append(_row(base, f"{key}:merged", "change.merged", committed, merged, attrs))
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
    change: str | None = None if on_main_line else history.change_of_merge(landed_with)
    rows.append(_row(base, f"{key}:commit", "commit", authored, change, attrs))
    squash = _SQUASH.search(subject) if on_main_line else None
    if squash:
        rows.append(
            _row(
                base,
                f"{key}:merged",
                "change.merged",
                committed,
                f"{repo}#{squash.group(1)}",
                {**who, "squash": True},
            )
        )
    revert = _REVERT.search(message)
    if revert:
        named = revert.group(1).lower()
        extra = {**who, "reverted_sha": history.shas.full(named) or named}
        rows.append(_row(base, f"{key}:rollback", "rollback", committed, change, extra))
    return rows


def _release(
    tag: Mapping[str, Any], repo: str, rules: GitRules, history: _History
) -> Iterable[Row]:
    name = str(tag["name"])
    sha = text_of(tag.get("sha"))
    if not sha:
        raise RecordError("sha", f"is required (the commit tag {name!r} points to)")
    when = tag.get("time")
    commit = history.by_sha.get(sha)
    if rules.tag_date == "commit" and commit is not None and commit.get("commit_time") is not None:
        when = commit.get("commit_time")
    ts = epoch_time(when, "time", unit="s", bounds=rules.bounds)
    attrs = {"tag": name, "annotated": bool(tag.get("annotated")), "dated_by": rules.tag_date}
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
